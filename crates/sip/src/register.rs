//! A REGISTER client (RFC 3261 §10): one binding of our Contact at a registrar, refreshed
//! before it expires, retried with backoff when it fails, answered with digest credentials
//! when challenged (§22; 401 and 407), with the interval the registrar demands on 423 (§10.3).
//!
//! A pure state machine like [`crate::uac::UacDialog`]: commands and inputs take `now`,
//! outputs are drained from `poll_output`, the next deadline is `poll_timeout`. The REGISTER
//! is a non-INVITE client transaction (§17.1.2): Timer E resends it on UDP (T1 doubling to
//! T2), Timer F gives up after 64·T1.

use crate::dialog::Local;
use crate::digest::Challenge;
use crate::in_dialog::finish;
use crate::message::{self, InboundResponse};
use crate::timer::{Retransmit, Timers};
use rsipstack::sip::Method;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// First wait after a failed registration; doubled per failure up to [`RETRY_MAX`].
pub const RETRY_BASE: Duration = Duration::from_secs(30);
/// Longest wait between attempts after failures.
pub const RETRY_MAX: Duration = Duration::from_secs(600);

/// What to register, where, as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Request-URI: the registrar (`sip:sip.carrier.example`).
    pub registrar: String,
    /// The address of record, in To and From (`sip:acct@sip.carrier.example`).
    pub aor: String,
    /// A Call-ID kept for every refresh of this binding.
    pub call_id: String,
    /// Digest username and password for challenges.
    pub credentials: Option<(String, String)>,
    /// The interval asked for, in seconds.
    pub expires: u32,
    /// Route headers (an outbound proxy, `<sip:proxy;lr>`).
    pub routes: Vec<String>,
}

/// Where the binding stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// The first REGISTER is on its way.
    Registering,
    /// The registrar holds our binding for `expires` seconds from `since`.
    Registered { expires: u32, since: Instant },
    /// The last attempt failed; another follows at `retry_at`.
    Failed { reason: String, retry_at: Instant },
    /// Removed (after [`Registration::stop`]), or never made.
    Unregistered,
}

/// What the shell does for the registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutput {
    /// Send these bytes to the registrar (or the outbound proxy).
    Send(Vec<u8>),
    /// The state changed.
    State(RegistrationState),
}

/// One binding kept alive. See the module documentation.
#[derive(Debug)]
pub struct Registration {
    local: Local,
    timers: Timers,
    binding: Binding,
    cseq: u32,
    /// The REGISTER in flight (Timer E/F).
    pending: Option<Retransmit>,
    /// The last challenge, answered again (next `nc`) on each refresh.
    challenge: Option<(Challenge, &'static str, u32)>,
    /// Challenges answered in this attempt; a third one is a failure.
    auth_tries: u32,
    /// 423 answered in this attempt.
    interval_tries: u32,
    seed: u64,
    /// When the next REGISTER goes (a refresh, or a retry after a failure).
    next_attempt: Option<Instant>,
    failures: u32,
    /// The un-REGISTER (expires 0) is what is in flight.
    stopping: bool,
    state: RegistrationState,
    outputs: VecDeque<RegisterOutput>,
}

impl Registration {
    /// A binding to keep; nothing is sent until [`Registration::start`].
    pub fn new(binding: Binding, local: Local, timers: Timers, seed: u64) -> Registration {
        Registration {
            local,
            timers,
            binding,
            cseq: 0,
            pending: None,
            challenge: None,
            auth_tries: 0,
            interval_tries: 0,
            seed,
            next_attempt: None,
            failures: 0,
            stopping: false,
            state: RegistrationState::Unregistered,
            outputs: VecDeque::new(),
        }
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    pub fn call_id(&self) -> &str {
        &self.binding.call_id
    }

    pub fn poll_output(&mut self) -> Option<RegisterOutput> {
        self.outputs.pop_front()
    }

    /// The earliest instant `on_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.pending.as_ref().map(Retransmit::deadline),
            self.next_attempt,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Stopped and the un-REGISTER answered (or given up): nothing more will happen.
    pub fn is_finished(&self) -> bool {
        self.stopping && self.pending.is_none()
    }

    /// Send the first REGISTER.
    pub fn start(&mut self, now: Instant) {
        if self.pending.is_none() && !self.stopping {
            self.set_state(RegistrationState::Registering);
            self.send_register(now);
        }
    }

    /// Remove the binding: REGISTER with expires 0 when one may be held, else just stop.
    pub fn stop(&mut self, now: Instant) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.next_attempt = None;
        let held =
            matches!(self.state, RegistrationState::Registered { .. }) || self.pending.is_some();
        if held {
            self.auth_tries = 0;
            self.send_register(now);
        } else {
            self.set_state(RegistrationState::Unregistered);
        }
    }

    /// A response with the binding's Call-ID.
    pub fn on_response(&mut self, now: Instant, resp: InboundResponse) {
        if resp.cseq_method != Method::Register || resp.cseq != self.cseq || self.pending.is_none()
        {
            return; // a retransmission, or an answer to a REGISTER we gave up on
        }
        match resp.status {
            100..=199 => {}
            200..=299 => {
                self.pending = None;
                if self.stopping {
                    self.set_state(RegistrationState::Unregistered);
                    return;
                }
                let expires = self.granted(&resp);
                if expires == 0 {
                    return self.fail(now, "the registrar kept no binding".into());
                }
                self.failures = 0;
                self.auth_tries = 0;
                self.interval_tries = 0;
                self.next_attempt = Some(now + refresh_after(expires));
                self.set_state(RegistrationState::Registered {
                    expires,
                    since: now,
                });
            }
            401 | 407 if self.answer_challenge(&resp) => self.send_register(now),
            423 if self.interval_tries == 0 => {
                let min = message::response_header(&resp.resp, "Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok());
                match min {
                    Some(m) if m > self.binding.expires => {
                        self.interval_tries += 1;
                        self.binding.expires = m;
                        self.send_register(now);
                    }
                    _ => self.fail(now, "423 without a usable Min-Expires".into()),
                }
            }
            status => {
                let phrase = resp.resp.reason_phrase().unwrap_or_default();
                self.fail(now, format!("{status} {phrase}").trim().to_string());
            }
        }
    }

    /// Fire every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        if let Some(r) = self.pending.as_mut() {
            if r.expired(now) {
                self.pending = None;
                self.fail(now, "no response from the registrar (Timer F)".into());
            } else if let Some(bytes) = r.due(now, self.timers.t2) {
                let bytes = bytes.to_vec();
                self.outputs.push_back(RegisterOutput::Send(bytes));
            }
        }
        if self.next_attempt.is_some_and(|t| now >= t) && self.pending.is_none() {
            self.next_attempt = None;
            self.auth_tries = 0;
            self.interval_tries = 0;
            self.send_register(now);
        }
    }

    // ---- internals ----

    fn fail(&mut self, now: Instant, reason: String) {
        self.pending = None;
        if self.stopping {
            self.set_state(RegistrationState::Unregistered);
            return;
        }
        self.failures += 1;
        self.challenge = None;
        let retry_at = now + retry_after(self.failures);
        self.next_attempt = Some(retry_at);
        self.set_state(RegistrationState::Failed { reason, retry_at });
    }

    /// The interval the 2xx grants our Contact: its `expires` parameter, else the Expires
    /// header, else what we asked for.
    fn granted(&self, resp: &InboundResponse) -> u32 {
        let ours = message::uri_of(&self.local.contact).unwrap_or_default();
        let from_contact = message::response_headers(&resp.resp, "Contact")
            .iter()
            .flat_map(|v| v.split(','))
            .filter(|c| message::uri_of(c).is_some_and(|u| u == ours))
            .find_map(contact_expires);
        from_contact
            .or_else(|| {
                message::response_header(&resp.resp, "Expires").and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(self.binding.expires)
    }

    /// Take the challenge in `resp`; false when it cannot be answered (no credentials, a
    /// third challenge in one attempt, a scheme or algorithm we do not support).
    fn answer_challenge(&mut self, resp: &InboundResponse) -> bool {
        if self.binding.credentials.is_none() || self.auth_tries >= 2 {
            return false;
        }
        let (challenge_header, answer_header) = if resp.status == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let Some(challenge) = message::response_headers(&resp.resp, challenge_header)
            .iter()
            .find_map(|v| Challenge::parse(v).ok())
        else {
            return false;
        };
        self.auth_tries += 1;
        self.challenge = Some((challenge, answer_header, 0));
        true
    }

    fn send_register(&mut self, now: Instant) {
        self.cseq += 1;
        let expires = if self.stopping {
            0
        } else {
            self.binding.expires
        };
        let authorization = self.authorization();
        let b = &self.binding;
        let mut s = String::with_capacity(700);
        let _ = write!(s, "REGISTER {} SIP/2.0\r\n", b.registrar);
        let _ = write!(
            s,
            "Via: SIP/2.0/{} {};branch=z9hG4bK{}r{};rport\r\n",
            self.local.transport, self.local.via_sent_by, self.local.tag, self.cseq
        );
        s.push_str("Max-Forwards: 70\r\n");
        let _ = write!(s, "From: <{}>;tag={}\r\n", b.aor, self.local.tag);
        let _ = write!(s, "To: <{}>\r\n", b.aor);
        let _ = write!(s, "Call-ID: {}\r\n", b.call_id);
        let _ = write!(s, "CSeq: {} REGISTER\r\n", self.cseq);
        for r in &b.routes {
            let _ = write!(s, "Route: {r}\r\n");
        }
        let _ = write!(s, "Contact: {};expires={expires}\r\n", self.local.contact);
        let _ = write!(s, "Expires: {expires}\r\n");
        if let Some((name, value)) = authorization {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        s.push_str("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n");
        let _ = write!(s, "User-Agent: {}\r\n", self.local.user_agent);
        let bytes = finish(s, None);
        self.pending = Some(Retransmit::start(
            bytes.clone(),
            now,
            &self.timers,
            !self.local.reliable,
        ));
        self.outputs.push_back(RegisterOutput::Send(bytes));
    }

    /// The credentials for the next REGISTER, from the last challenge (next `nc`).
    fn authorization(&mut self) -> Option<(&'static str, String)> {
        let (user, password) = self.binding.credentials.clone()?;
        self.seed = self.seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let cnonce = format!("{:016x}", self.seed);
        let (challenge, header, nc) = self.challenge.as_mut()?;
        *nc += 1;
        let value = challenge.answer(
            "REGISTER",
            &self.binding.registrar,
            &user,
            &password,
            &cnonce,
            *nc,
        );
        Some((header, value))
    }

    fn set_state(&mut self, state: RegistrationState) {
        if self.state != state {
            self.state = state.clone();
            self.outputs.push_back(RegisterOutput::State(state));
        }
    }
}

/// How long after a grant of `expires` seconds the binding is refreshed: a minute early for
/// long grants, halfway for short ones.
pub fn refresh_after(expires: u32) -> Duration {
    if expires > 120 {
        Duration::from_secs(u64::from(expires) - 60)
    } else {
        Duration::from_millis(u64::from(expires) * 500).max(Duration::from_millis(500))
    }
}

/// How long to wait after the `failures`-th failure in a row.
pub fn retry_after(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(10);
    (RETRY_BASE * 2u32.pow(doublings)).min(RETRY_MAX)
}

/// The `expires` parameter of one Contact value.
fn contact_expires(contact: &str) -> Option<u32> {
    let params = match contact.rfind('>') {
        Some(i) => &contact[i + 1..],
        None => contact,
    };
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("expires")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;
