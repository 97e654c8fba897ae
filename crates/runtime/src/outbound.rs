//! Where an outbound leg goes (legs.md §1): `sip` destinations directly, `tel` numbers
//! through the trunk with the longest matching prefix, fenced by `[outbound] allow` and the
//! trunk's `max_calls`/`max_cps`.

use crate::services::Services;
use crate::trunks::{TrunkLimit, TrunkSeat};
use std::time::Instant;

/// An outbound leg ready to dial: how, and the trunk seat it holds while it lives.
pub(crate) struct Route {
    pub(crate) spec: sip::DialSpec,
    pub(crate) seat: Option<TrunkSeat>,
}

/// Why a leg cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    /// Nothing routes this destination.
    #[error("{0}")]
    NoRoute(String),
    /// `[outbound] allow` does not let this number be dialed.
    #[error("{0} is not allowed by [outbound] allow")]
    Forbidden(String),
    /// The trunk is at a limit.
    #[error("trunk {trunk}: {limit}")]
    Limit { trunk: String, limit: TrunkLimit },
}

impl Refusal {
    /// The status the leg is refused with, as if the far end had answered it.
    pub(crate) fn sip_status(&self) -> u16 {
        match self {
            Refusal::NoRoute(_) => 404,
            Refusal::Forbidden(_) => 403,
            Refusal::Limit { .. } => 503,
        }
    }
}

/// Route a leg to `target` of type `kind`, calling as `caller` (a number or user; `None`
/// = the trunk's `from_user`, or `switchyard`).
pub(crate) fn route(
    services: &Services,
    kind: &str,
    target: &str,
    caller: Option<&str>,
    now: Instant,
) -> Result<Route, Refusal> {
    match kind {
        "sip" => Ok(Route {
            spec: sip::DialSpec {
                target: sip_target(target),
                from_user: caller.map(str::to_string),
                from_name: None,
                outbound_proxy: None,
                credentials: None,
                headers: Vec::new(),
            },
            seat: None,
        }),
        "tel" => {
            let number: String = target
                .trim()
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
                .collect();
            if !crate::trunks::allowed(&services.config.outbound.allow, &number) {
                return Err(Refusal::Forbidden(number));
            }
            let Some(trunk) = services.trunks.route(&number) else {
                return Err(Refusal::NoRoute(format!(
                    "no trunk's prefixes match {number}"
                )));
            };
            let seat = trunk.seat(now).map_err(|limit| Refusal::Limit {
                trunk: trunk.config.name.clone(),
                limit,
            })?;
            Ok(Route {
                spec: trunk.dial_spec(&number, caller),
                seat: Some(seat),
            })
        }
        other => Err(Refusal::NoRoute(format!(
            "{other} destinations are not routed by this server yet"
        ))),
    }
}

/// A `sip` destination as a Request-URI (`sip:` added when the flow left it out).
fn sip_target(destination: &str) -> String {
    let d = destination.trim();
    if d.starts_with("sip:") || d.starts_with("sips:") {
        d.to_string()
    } else {
        format!("sip:{d}")
    }
}
