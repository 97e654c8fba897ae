//! REGISTER requests for the application to decide on ([`SipStack::take_registrations`]):
//! switchyard is the registrar of its extensions. The stack parses what a registrar needs and
//! hands over a [`RegisterReply`]; it keeps no state (a retransmitted REGISTER is decided
//! again, which a registrar's idempotent bindings allow).

use super::{new_tag, send, Shared};
use crate::message::{self, InboundRequest, ResponseBuilder};
use crate::transport::{Peer, Transport};
use std::net::SocketAddr;
use std::sync::Arc;

/// A REGISTER to decide on.
#[derive(Debug)]
pub struct IncomingRegister {
    /// The user part of the address of record (the To URI).
    pub user: String,
    /// The host of the To URI (the registrar's domain as the phone knows it).
    pub domain: String,
    /// Each Contact value (`<sip:alice@192.0.2.7:5062>;expires=60`), or `*`.
    pub contacts: Vec<String>,
    /// The Expires header.
    pub expires: Option<u32>,
    /// The Authorization header.
    pub authorization: Option<String>,
    pub call_id: String,
    pub cseq: u32,
    /// The User-Agent header.
    pub user_agent: String,
    /// Where it came from, and over what.
    pub source: SocketAddr,
    pub transport: Transport,
    /// Answer it.
    pub reply: RegisterReply,
}

/// Sends the one answer to a REGISTER.
pub struct RegisterReply {
    shared: Arc<Shared>,
    request: InboundRequest,
    peer: Peer,
}

impl std::fmt::Debug for RegisterReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterReply")
            .field("call_id", &self.request.call_id)
            .finish()
    }
}

impl RegisterReply {
    /// Answer with `status` and `headers` (each sent as one header line).
    pub fn respond(self, status: u16, headers: &[(&str, String)]) {
        let mut b = ResponseBuilder::new(&self.request, status, Some(&new_tag()), self.peer.addr())
            .header("Server", &self.shared.config.user_agent);
        for (name, value) in headers {
            b = b.header(name, value);
        }
        send(&self.shared, &self.peer, &b.build());
    }
}

/// Hand `r` to the registrar, or answer it when there is none (405) or it is full (503).
pub(super) fn deliver(shared: &Arc<Shared>, r: InboundRequest, peer: &Peer) {
    let Some(tx) = shared.registrar.get() else {
        let b = ResponseBuilder::new(&r, 405, Some(&new_tag()), peer.addr())
            .header("Allow", message::ALLOW)
            .header("Server", &shared.config.user_agent);
        return send(shared, peer, &b.build());
    };
    let to = message::header_value(&r.req, "To").unwrap_or_default();
    let aor = message::uri_of(&to).unwrap_or_default();
    let (user, domain) = user_and_host(&aor);
    let contacts = r
        .req
        .headers
        .iter()
        .filter_map(|h| {
            let text = h.to_string();
            let (n, v) = text.split_once(':')?;
            let n = n.trim();
            (n.eq_ignore_ascii_case("contact") || n.eq_ignore_ascii_case("m"))
                .then(|| v.trim().to_string())
        })
        .flat_map(|v| message::split_values(&v))
        .collect();
    let register = IncomingRegister {
        user,
        domain,
        contacts,
        expires: message::header_value(&r.req, "Expires").and_then(|v| v.trim().parse().ok()),
        authorization: message::header_value(&r.req, "Authorization"),
        call_id: r.call_id.clone(),
        cseq: r.cseq,
        user_agent: message::header_value(&r.req, "User-Agent").unwrap_or_default(),
        source: peer.addr(),
        transport: peer.transport(),
        reply: RegisterReply {
            shared: shared.clone(),
            request: r,
            peer: peer.clone(),
        },
    };
    if let Err(e) = tx.try_send(register) {
        let register = match e {
            tokio::sync::mpsc::error::TrySendError::Full(r)
            | tokio::sync::mpsc::error::TrySendError::Closed(r) => r,
        };
        register
            .reply
            .respond(503, &[("Retry-After", "5".to_string())]);
    }
}

/// `sip:alice@host:port` → (`alice`, `host`).
fn user_and_host(uri: &str) -> (String, String) {
    let rest = uri.trim_start_matches("sips:").trim_start_matches("sip:");
    let rest = rest.split(';').next().unwrap_or(rest);
    let (user, host) = rest.split_once('@').unwrap_or(("", rest));
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    (user.to_string(), host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_of_record_and_contacts_are_read() {
        assert_eq!(
            user_and_host("sip:alice@127.0.0.1:5060;transport=udp"),
            ("alice".into(), "127.0.0.1".into())
        );
        assert_eq!(
            user_and_host("sip:bob@[::1]:5060"),
            ("bob".into(), "::1".into())
        );
        assert_eq!(
            message::split_values("<sip:a@h;x=1,2>;expires=60, \"B, b\" <sip:b@h>"),
            ["<sip:a@h;x=1,2>;expires=60", "\"B, b\" <sip:b@h>"]
        );
    }
}
