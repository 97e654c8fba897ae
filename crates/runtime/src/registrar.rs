//! switchyard as the registrar of its extensions (legs.md §3): REGISTER is answered with a
//! digest challenge (SHA-256 and MD5, `qop=auth`), checked against the extension's password,
//! and its contacts are kept in the store with their expiry, so every node sees them.
//!
//! Nonces are stateless: the time they were issued and an HMAC of it under a key of this
//! process, good for [`NONCE_TTL_S`]; an older one with the right password gets a `stale`
//! challenge (RFC 7616 §3.3), so the phone answers again without asking its user.

use crate::services::Services;
use flow::options::Address;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sip::digest::{Algorithm, Challenge, Credentials};
use sip::IncomingRegister;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// How long a nonce we issued is good for.
pub(crate) const NONCE_TTL_S: u64 = 300;
/// Binding intervals: what a phone gets when it asks for none, and the bounds.
pub(crate) const DEFAULT_EXPIRES: u32 = 3600;
pub(crate) const MIN_EXPIRES: u32 = 60;
pub(crate) const MAX_EXPIRES: u32 = 3600;

/// Issues and checks nonces.
pub(crate) struct Nonces {
    key: [u8; 32],
}

/// What a nonce in an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    Fresh,
    Stale,
    Forged,
}

impl Nonces {
    pub(crate) fn new(key: [u8; 32]) -> Nonces {
        Nonces { key }
    }

    fn mac(&self, issued: u64) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(&issued.to_be_bytes());
        mac.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A nonce issued at `now_s` (seconds since the epoch).
    pub(crate) fn issue(&self, now_s: u64) -> String {
        format!("{now_s:x}.{}", self.mac(now_s))
    }

    pub(crate) fn check(&self, nonce: &str, now_s: u64) -> NonceCheck {
        let Some((issued, mac)) = nonce.split_once('.') else {
            return NonceCheck::Forged;
        };
        let Ok(issued) = u64::from_str_radix(issued, 16) else {
            return NonceCheck::Forged;
        };
        if self.mac(issued) != mac || issued > now_s + 5 {
            return NonceCheck::Forged;
        }
        if now_s - issued.min(now_s) > NONCE_TTL_S {
            NonceCheck::Stale
        } else {
            NonceCheck::Fresh
        }
    }
}

/// Answer every REGISTER from `registers` (each in its own task: the store may be slow).
pub(crate) fn start(services: Arc<Services>, mut registers: mpsc::Receiver<IncomingRegister>) {
    let nonces = Arc::new(Nonces::new(rand::random()));
    tokio::spawn(async move {
        while let Some(r) = registers.recv().await {
            tokio::spawn(register(services.clone(), nonces.clone(), r));
        }
    });
}

/// `[sip] digest_algorithms` as algorithms (names checked at start).
pub(crate) fn algorithms(names: &[String]) -> Vec<Algorithm> {
    names.iter().filter_map(|n| algorithm(n)).collect()
}

/// `MD5` or `SHA-256` (any case).
pub(crate) fn algorithm(name: &str) -> Option<Algorithm> {
    match name.trim().to_ascii_uppercase().as_str() {
        "MD5" => Some(Algorithm::Md5),
        "SHA-256" => Some(Algorithm::Sha256),
        _ => None,
    }
}

/// The outcome of checking a REGISTER's credentials.
enum Auth {
    Ok,
    Challenge { stale: bool },
    Forbidden,
}

fn authenticate(r: &IncomingRegister, password: Option<&str>, nonces: &Nonces, now_s: u64) -> Auth {
    let Some(creds) = r.authorization.as_deref().and_then(Credentials::parse) else {
        return Auth::Challenge { stale: false };
    };
    if creds.realm != r.domain {
        return Auth::Challenge { stale: false };
    }
    let freshness = nonces.check(&creds.nonce, now_s);
    if freshness == NonceCheck::Forged {
        return Auth::Challenge { stale: false };
    }
    let right = creds.username == r.user && password.is_some_and(|p| creds.verify("REGISTER", p));
    match (right, freshness) {
        (true, NonceCheck::Fresh) => Auth::Ok,
        (true, _) => Auth::Challenge { stale: true },
        (false, _) => Auth::Forbidden,
    }
}

async fn register(services: Arc<Services>, nonces: Arc<Nonces>, r: IncomingRegister) {
    let Some(store) = &services.store else {
        return r.reply.respond(500, &[]);
    };
    let now = chrono::Utc::now();
    let now_s = now.timestamp().max(0) as u64;
    // Unknown users are challenged like known ones: the answer does not tell who exists.
    let ext = match store.extension(&r.user).await {
        Ok(e) => e,
        Err(e) => {
            warn!(error = %e, "registrar: cannot read the extension");
            return r.reply.respond(500, &[]);
        }
    };
    match authenticate(
        &r,
        ext.as_ref().map(|e| e.password.as_str()),
        &nonces,
        now_s,
    ) {
        Auth::Ok => {}
        Auth::Challenge { stale } => {
            let nonce = nonces.issue(now_s);
            let challenges: Vec<(&str, String)> =
                algorithms(&services.config.sip.digest_algorithms)
                    .into_iter()
                    .map(|a| {
                        let c = Challenge::new(&r.domain, &nonce, a, stale);
                        ("WWW-Authenticate", c.header_value())
                    })
                    .collect();
            return r.reply.respond(401, &challenges);
        }
        Auth::Forbidden => {
            warn!(user = %r.user, source = %r.source, "registrar: wrong credentials");
            return r.reply.respond(403, &[]);
        }
    }
    match bind(store, &r, now).await {
        Ok(Bound::Interval) => r
            .reply
            .respond(423, &[("Min-Expires", MIN_EXPIRES.to_string())]),
        Ok(Bound::BadWildcard) => r.reply.respond(400, &[]),
        Ok(Bound::Contacts(list)) => {
            let headers: Vec<(&str, String)> = list
                .iter()
                .map(|c| {
                    let left = ((c.expires_at - now).num_milliseconds() + 500).max(0) / 1000;
                    ("Contact", format!("<{}>;expires={left}", c.uri))
                })
                .collect();
            r.reply.respond(200, &headers);
        }
        Err(e) => {
            warn!(error = %e, "registrar: cannot store the contacts");
            r.reply.respond(500, &[]);
        }
    }
}

enum Bound {
    /// The contacts now bound.
    Contacts(Vec<store::Contact>),
    /// An interval below [`MIN_EXPIRES`] (423).
    Interval,
    /// `Contact: *` without `Expires: 0` (400).
    BadWildcard,
}

/// Apply the REGISTER's contacts (RFC 3261 §10.3 steps 6–8).
async fn bind(
    store: &store::Store,
    r: &IncomingRegister,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Bound, store::StoreError> {
    if r.contacts.iter().any(|c| c == "*") {
        if r.expires != Some(0) || r.contacts.len() != 1 {
            return Ok(Bound::BadWildcard);
        }
        store.delete_contacts(&r.user).await?;
        info!(user = %r.user, "unregistered every contact");
        return Ok(Bound::Contacts(Vec::new()));
    }
    let mut wanted = Vec::new();
    for c in &r.contacts {
        let Some(uri) = sip::message::uri_of(c) else {
            continue;
        };
        let expires = contact_expires(c).or(r.expires).unwrap_or(DEFAULT_EXPIRES);
        if expires != 0 && expires < MIN_EXPIRES {
            return Ok(Bound::Interval);
        }
        wanted.push((uri, expires.min(MAX_EXPIRES)));
    }
    for (uri, expires) in wanted {
        if expires == 0 {
            store.delete_contact(&r.user, &uri).await?;
            info!(user = %r.user, contact = %uri, "unregistered");
            continue;
        }
        store
            .put_contact(&store::Contact {
                user: r.user.clone(),
                uri: uri.clone(),
                expires_at: now + chrono::Duration::seconds(i64::from(expires)),
                source: format!(
                    "{}:{}",
                    r.transport.via_name().to_ascii_lowercase(),
                    r.source
                ),
                user_agent: r.user_agent.clone(),
                call_id: r.call_id.clone(),
                cseq: i64::from(r.cseq),
                updated_at: now,
            })
            .await?;
        info!(user = %r.user, contact = %uri, expires, "registered");
    }
    Ok(Bound::Contacts(store.contacts(&r.user, now).await?))
}

/// The `expires` parameter of one Contact value (after the `>`).
fn contact_expires(contact: &str) -> Option<u32> {
    let params = contact.rsplit_once('>').map_or(contact, |(_, p)| p);
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("expires")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// Where `destinations` can be reached now: an `extension` as the `sip` address of each live
/// contact (newest first); an `agent` is not reachable yet; others as given.
pub(crate) async fn reachable(services: &Services, destinations: Vec<Address>) -> Vec<Address> {
    let mut out = Vec::new();
    for d in destinations {
        match d.address_type.as_deref() {
            Some("extension") => {
                let Some(store) = &services.store else {
                    continue;
                };
                match store.contacts(&d.target, chrono::Utc::now()).await {
                    Ok(contacts) => out.extend(contacts.into_iter().map(|c| Address {
                        address_type: Some("sip".into()),
                        target: c.uri,
                        target_name: d.target_name.clone(),
                        name: d.name.clone(),
                        detail: None,
                    })),
                    Err(e) => warn!(extension = %d.target, error = %e, "cannot read contacts"),
                }
            }
            Some("agent") => warn!(agent = %d.target, "agent destinations are not routed yet"),
            _ => out.push(d),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_fresh_then_stale_and_cannot_be_forged() {
        let n = Nonces::new([7; 32]);
        let nonce = n.issue(1_000);
        assert_eq!(n.check(&nonce, 1_000), NonceCheck::Fresh);
        assert_eq!(n.check(&nonce, 1_000 + NONCE_TTL_S), NonceCheck::Fresh);
        assert_eq!(n.check(&nonce, 1_001 + NONCE_TTL_S), NonceCheck::Stale);
        assert_eq!(
            Nonces::new([8; 32]).check(&nonce, 1_000),
            NonceCheck::Forged
        );
        assert_eq!(n.check("3e8.00", 1_000), NonceCheck::Forged);
        assert_eq!(n.check("garbage", 1_000), NonceCheck::Forged);
        assert_eq!(
            n.check(&n.issue(9_000), 1_000),
            NonceCheck::Forged,
            "from the future"
        );
    }

    #[test]
    fn contact_expiry_is_read_from_its_parameters() {
        assert_eq!(contact_expires("<sip:a@h;expires=9>;expires=60"), Some(60));
        assert_eq!(contact_expires("<sip:a@h>"), None);
        assert_eq!(contact_expires("sip:a@h;expires=0"), Some(0));
    }
}
