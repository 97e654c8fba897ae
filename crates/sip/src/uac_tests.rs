//! UacDialog with fake time and a scripted callee.

use super::*;
use crate::dialog::{DialogEvent, Output};
use crate::digest::Credentials;
use crate::message::{Inbound, ResponseBuilder};
use std::time::Duration;

const OFFER: &[u8] = b"v=0\r\no=switchyard 1 1 IN IP4 127.0.0.1\r\ns=-\r\n";
const ANSWER: &[u8] = b"v=0\r\no=bob 7 7 IN IP4 127.0.0.1\r\ns=-\r\n";

fn peer() -> SocketAddr {
    "127.0.0.1:5070".parse().unwrap()
}

fn local() -> Local {
    Local {
        tag: "ourtag".into(),
        contact: "<sip:switchyard@127.0.0.1:5060>".into(),
        via_sent_by: "127.0.0.1:5060".into(),
        transport: "UDP",
        user_agent: "switchyard-test".into(),
        reliable: false,
    }
}

fn dial(credentials: Option<(&str, &str)>) -> Dial {
    Dial {
        request_uri: "sip:bob@127.0.0.1:5070".into(),
        from: "<sip:alice@127.0.0.1>".into(),
        to: "<sip:bob@127.0.0.1:5070>".into(),
        call_id: "call-uac-1".into(),
        routes: Vec::new(),
        credentials: credentials.map(|(u, p)| (u.to_string(), p.to_string())),
        headers: vec![(
            "P-Asserted-Identity".into(),
            "<sip:+15550001@127.0.0.1>".into(),
        )],
    }
}

struct Rig {
    d: UacDialog,
    now: Instant,
    sent: Vec<String>,
    events: Vec<DialogEvent>,
}

impl Rig {
    fn new(credentials: Option<(&str, &str)>) -> Rig {
        let now = Instant::now();
        let mut d = UacDialog::new(dial(credentials), peer(), local(), Timers::default(), 42);
        d.invite(now, OFFER.to_vec());
        let mut rig = Rig {
            d,
            now,
            sent: Vec::new(),
            events: Vec::new(),
        };
        rig.drain();
        rig
    }

    fn drain(&mut self) {
        while let Some(o) = self.d.poll_output() {
            match o {
                Output::Send(b) => self.sent.push(String::from_utf8(b).unwrap()),
                Output::Event(e) => self.events.push(e),
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while let Some(t) = self.d.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.d.on_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    /// The last request we sent with `method`, parsed.
    fn last(&self, method: &str) -> InboundRequest {
        let text = self
            .sent
            .iter()
            .rev()
            .find(|s| s.starts_with(&format!("{method} ")))
            .unwrap_or_else(|| panic!("no {method} in {:#?}", self.sent));
        match crate::message::parse(text.as_bytes()) {
            Ok(Inbound::Request(r)) => r,
            other => panic!("{other:?}\n{text}"),
        }
    }

    fn count(&self, method: &str) -> usize {
        self.sent
            .iter()
            .filter(|s| s.starts_with(&format!("{method} ")))
            .count()
    }

    /// The callee answers `req` with `status`.
    fn respond(
        &mut self,
        req: &InboundRequest,
        status: u16,
        extra: &[(&str, &str)],
        sdp: Option<&[u8]>,
    ) {
        let mut b = ResponseBuilder::new(
            req,
            status,
            Some("bobtag"),
            "127.0.0.1:5060".parse().unwrap(),
        );
        for (n, v) in extra {
            b = b.header(n, v);
        }
        if let Some(sdp) = sdp {
            b = b.body("application/sdp", sdp.to_vec());
        }
        let Ok(Inbound::Response(r)) = crate::message::parse(&b.build()) else {
            panic!("bad response")
        };
        self.d.on_response(self.now, r);
        self.drain();
    }

    /// The callee sends an in-dialog request.
    fn callee(&mut self, method: &str, cseq: u32, body: Option<&[u8]>) {
        let body = body.unwrap_or_default();
        let text = format!(
            "{method} sip:switchyard@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKcallee{cseq}\r\n\
             From: <sip:bob@127.0.0.1:5070>;tag=bobtag\r\n\
             To: <sip:alice@127.0.0.1>;tag=ourtag\r\n\
             Call-ID: call-uac-1\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:bob@127.0.0.1:5070>\r\n{}Content-Length: {}\r\n\r\n",
            if body.is_empty() {
                ""
            } else {
                "Content-Type: application/sdp\r\n"
            },
            body.len()
        );
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(body);
        let Ok(Inbound::Request(r)) = crate::message::parse(&bytes) else {
            panic!("bad request")
        };
        self.d.on_request(self.now, r);
        self.drain();
    }
}

const CONTACT: (&str, &str) = ("Contact", "<sip:bob@127.0.0.1:5070;transport=udp>");

#[test]
fn the_invite_is_retransmitted_on_timer_a_until_a_provisional_response() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    assert_eq!(invite.cseq, 1);
    assert!(rig.sent[0].contains("P-Asserted-Identity: <sip:+15550001@127.0.0.1>"));
    assert!(rig.sent[0].contains("From: <sip:alice@127.0.0.1>;tag=ourtag"));
    rig.advance(500);
    rig.advance(1000);
    assert_eq!(rig.count("INVITE"), 3, "0.5 s then 1 s");
    rig.respond(&invite, 180, &[CONTACT], None);
    assert_eq!(
        rig.events,
        [DialogEvent::Progress {
            status: 180,
            sdp: None
        }]
    );
    rig.advance(60_000);
    assert_eq!(rig.count("INVITE"), 3, "no retransmission once proceeding");
    assert_eq!(rig.d.state(), UacState::Proceeding);
}

#[test]
fn a_2xx_is_acked_in_a_new_transaction_and_again_for_each_retransmission() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(&invite, 183, &[CONTACT], Some(ANSWER));
    rig.respond(&invite, 200, &[CONTACT], Some(ANSWER));
    assert!(rig.events.contains(&DialogEvent::Answered {
        sdp: Some(ANSWER.to_vec())
    }));
    let ack = rig.last("ACK");
    assert!(rig
        .sent
        .last()
        .unwrap()
        .starts_with("ACK sip:bob@127.0.0.1:5070;transport=udp SIP/2.0"));
    assert_ne!(
        ack.branch, invite.branch,
        "a 2xx ACK is its own transaction"
    );
    assert_eq!(ack.to_tag.as_deref(), Some("bobtag"));
    assert_eq!(ack.cseq, 1);
    rig.respond(&invite, 200, &[CONTACT], Some(ANSWER));
    assert_eq!(rig.count("ACK"), 2);
    assert_eq!(rig.d.state(), UacState::Confirmed);
}

#[test]
fn nobody_answering_ends_with_408_on_timer_b() {
    let mut rig = Rig::new(None);
    rig.advance(31_999);
    assert!(rig.events.is_empty());
    rig.advance(1);
    assert_eq!(
        rig.events,
        [
            DialogEvent::Refused { status: 408 },
            DialogEvent::Terminated
        ]
    );
    assert!(rig.count("INVITE") >= 6);
}

#[test]
fn a_final_refusal_is_acked_in_the_invite_transaction() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(&invite, 486, &[], None);
    let ack = rig.last("ACK");
    assert_eq!(ack.branch, invite.branch, "same transaction");
    assert_eq!(ack.to_tag.as_deref(), Some("bobtag"));
    assert!(rig
        .sent
        .last()
        .unwrap()
        .starts_with("ACK sip:bob@127.0.0.1:5070 SIP/2.0"));
    assert_eq!(
        rig.events,
        [
            DialogEvent::Refused { status: 486 },
            DialogEvent::Terminated
        ]
    );
    // A retransmitted 486 is ACKed again (Timer D).
    rig.respond(&invite, 486, &[], None);
    assert_eq!(rig.count("ACK"), 2);
    assert!(!rig.d.is_finished(rig.now));
    rig.advance(32_000);
    assert!(rig.d.is_finished(rig.now));
}

#[test]
fn hanging_up_while_ringing_cancels_and_the_487_is_acked() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(&invite, 180, &[CONTACT], None);
    rig.d.hangup(rig.now, None);
    rig.drain();
    let cancel = rig.last("CANCEL");
    assert_eq!(cancel.branch, invite.branch);
    assert_eq!(cancel.cseq, 1);
    assert!(rig.sent.last().unwrap().contains("CSeq: 1 CANCEL"));
    rig.respond(&cancel, 200, &[], None);
    rig.respond(&invite, 487, &[], None);
    assert_eq!(rig.last("ACK").branch, invite.branch);
    assert!(rig.events.contains(&DialogEvent::Refused { status: 487 }));
}

#[test]
fn a_cancel_waits_for_the_first_provisional_response() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.d.hangup(rig.now, None);
    rig.drain();
    assert_eq!(rig.count("CANCEL"), 0, "RFC 3261 §9.1");
    rig.respond(&invite, 100, &[], None);
    assert_eq!(rig.count("CANCEL"), 1);
}

#[test]
fn a_2xx_crossing_our_cancel_is_acked_then_byed() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(&invite, 180, &[CONTACT], None);
    rig.d.hangup(rig.now, None);
    rig.drain();
    rig.respond(&invite, 200, &[CONTACT], Some(ANSWER));
    assert_eq!(rig.count("ACK"), 1);
    let bye = rig.last("BYE");
    assert_eq!(bye.to_tag.as_deref(), Some("bobtag"));
    rig.respond(&bye, 200, &[], None);
    assert!(rig
        .events
        .contains(&DialogEvent::ByeCompleted { status: Some(200) }));
    assert!(rig.events.contains(&DialogEvent::Terminated));
}

#[test]
fn a_digest_challenge_is_answered_once_with_credentials() {
    let mut rig = Rig::new(Some(("acct", "s3cret")));
    let invite = rig.last("INVITE");
    let challenge = (
        "WWW-Authenticate",
        r#"Digest realm="carrier", nonce="n0nce", qop="auth""#,
    );
    rig.respond(&invite, 401, &[challenge], None);
    assert_eq!(rig.last("ACK").branch, invite.branch);
    let again = rig.last("INVITE");
    assert_eq!(again.cseq, 2);
    assert_ne!(again.branch, invite.branch);
    let auth = crate::message::header_value(&again.req, "Authorization").unwrap();
    let creds = Credentials::parse(&auth).unwrap();
    assert_eq!(creds.username, "acct");
    assert_eq!(creds.uri, "sip:bob@127.0.0.1:5070");
    assert!(creds.verify("INVITE", "s3cret"));
    assert!(
        rig.events.is_empty(),
        "the challenge is not the caller's business"
    );
    rig.respond(&again, 200, &[CONTACT], Some(ANSWER));
    assert!(rig.events.contains(&DialogEvent::Answered {
        sdp: Some(ANSWER.to_vec())
    }));
    assert!(rig.sent.last().unwrap().contains("Authorization: Digest"));
}

#[test]
fn a_proxy_challenge_gets_proxy_authorization_and_a_repeated_one_is_final() {
    let mut rig = Rig::new(Some(("acct", "wrong")));
    let challenge = (
        "Proxy-Authenticate",
        r#"Digest realm="proxy", nonce="a", algorithm=SHA-256"#,
    );
    let invite = rig.last("INVITE");
    rig.respond(&invite, 407, &[challenge], None);
    let second = rig.last("INVITE");
    let auth = crate::message::header_value(&second.req, "Proxy-Authorization").unwrap();
    assert!(auth.contains("algorithm=SHA-256"), "{auth}");
    rig.respond(&second, 407, &[challenge], None);
    let third = rig.last("INVITE");
    rig.respond(&third, 407, &[challenge], None);
    assert_eq!(rig.count("INVITE"), 3, "two answers, then the 407 is final");
    assert!(rig.events.contains(&DialogEvent::Refused { status: 407 }));
}

#[test]
fn without_credentials_a_challenge_is_a_refusal() {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(
        &invite,
        401,
        &[("WWW-Authenticate", r#"Digest realm="r", nonce="n""#)],
        None,
    );
    assert!(rig.events.contains(&DialogEvent::Refused { status: 401 }));
}

fn answered() -> Rig {
    let mut rig = Rig::new(None);
    let invite = rig.last("INVITE");
    rig.respond(
        &invite,
        200,
        &[CONTACT, ("Record-Route", "<sip:p1;lr>, <sip:p2;lr>")],
        Some(ANSWER),
    );
    rig.events.clear();
    rig
}

#[test]
fn our_requests_follow_the_reversed_record_route() {
    let mut rig = answered();
    let ack = rig.sent.last().unwrap().clone();
    let p2 = ack.find("Route: <sip:p2;lr>").unwrap();
    let p1 = ack.find("Route: <sip:p1;lr>").unwrap();
    assert!(p2 < p1, "{ack}");
    rig.d.hangup(rig.now, Some("Q.850;cause=16".into()));
    rig.drain();
    let bye = rig.sent.last().unwrap().clone();
    assert!(bye.starts_with("BYE sip:bob@127.0.0.1:5070;transport=udp SIP/2.0"));
    assert!(bye.find("Route: <sip:p2;lr>").unwrap() < bye.find("Route: <sip:p1;lr>").unwrap());
    assert!(bye.contains("Reason: Q.850;cause=16"));
    assert!(bye.contains("CSeq: 2 BYE"));
}

#[test]
fn the_callee_hanging_up_is_a_remote_bye() {
    let mut rig = answered();
    rig.callee("BYE", 1, None);
    assert!(rig.sent.last().unwrap().starts_with("SIP/2.0 200 OK"));
    assert_eq!(
        rig.events,
        [
            DialogEvent::RemoteBye { reason: None },
            DialogEvent::Terminated
        ]
    );
}

#[test]
fn our_bye_completes_on_its_200_or_gives_up_on_timer_f() {
    let mut rig = answered();
    rig.d.hangup(rig.now, None);
    rig.drain();
    rig.advance(32_000);
    assert!(rig.count("BYE") > 3, "retransmitted on Timer E");
    assert!(rig
        .events
        .contains(&DialogEvent::ByeCompleted { status: None }));
    assert!(rig.events.contains(&DialogEvent::Terminated));
}

#[test]
fn our_reinvite_is_answered_and_acked() {
    let mut rig = answered();
    rig.d.reinvite(rig.now, OFFER.to_vec());
    rig.drain();
    let re = rig.last("INVITE");
    assert_eq!(re.cseq, 2);
    assert_eq!(re.to_tag.as_deref(), Some("bobtag"));
    rig.respond(&re, 200, &[CONTACT], Some(ANSWER));
    let ack = rig.last("ACK");
    assert_eq!(ack.cseq, 2);
    assert_eq!(
        rig.events,
        [DialogEvent::ReInviteAnswered {
            result: Ok(Some(ANSWER.to_vec()))
        }]
    );
    // A refused one is ACKed in its transaction and reported.
    rig.d.reinvite(rig.now, OFFER.to_vec());
    rig.drain();
    let re = rig.last("INVITE");
    rig.respond(&re, 488, &[], None);
    assert_eq!(rig.last("ACK").branch, re.branch);
    assert!(rig
        .events
        .contains(&DialogEvent::ReInviteAnswered { result: Err(488) }));
}

#[test]
fn the_callees_reinvite_is_a_reoffer_we_answer() {
    let mut rig = answered();
    rig.callee("INVITE", 2, Some(ANSWER));
    assert_eq!(
        rig.events,
        [DialogEvent::ReOffer {
            cseq: 2,
            method: crate::dialog::ReOfferMethod::Invite,
            sdp: Some(ANSWER.to_vec())
        }]
    );
    rig.d.answer_reoffer(rig.now, 2, Ok(OFFER.to_vec()));
    rig.drain();
    assert!(rig.sent.last().unwrap().starts_with("SIP/2.0 200 OK"));
    assert!(rig.sent.last().unwrap().contains("CSeq: 2 INVITE"));
}

#[test]
fn requests_before_the_answer_get_481() {
    let mut rig = Rig::new(None);
    rig.callee("BYE", 1, None);
    assert!(rig.sent.last().unwrap().starts_with("SIP/2.0 481"));
}
