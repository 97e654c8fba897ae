//! Registration with fake time and a scripted registrar.

use super::*;
use crate::digest::Credentials;
use crate::message::{Inbound, InboundRequest, ResponseBuilder};

fn local() -> Local {
    Local {
        tag: "regtag".into(),
        contact: "<sip:acct@127.0.0.1:5060>".into(),
        via_sent_by: "127.0.0.1:5060".into(),
        transport: "UDP",
        user_agent: "switchyard-test".into(),
        reliable: false,
    }
}

fn binding(expires: u32) -> Binding {
    Binding {
        registrar: "sip:127.0.0.1:5070".into(),
        aor: "sip:acct@127.0.0.1:5070".into(),
        call_id: "reg-1".into(),
        credentials: Some(("acct".into(), "s3cret".into())),
        expires,
        routes: Vec::new(),
    }
}

struct Rig {
    r: Registration,
    now: Instant,
    sent: Vec<String>,
    states: Vec<RegistrationState>,
}

impl Rig {
    fn new(expires: u32) -> Rig {
        let now = Instant::now();
        let mut r = Registration::new(binding(expires), local(), Timers::default(), 9);
        r.start(now);
        let mut rig = Rig {
            r,
            now,
            sent: Vec::new(),
            states: Vec::new(),
        };
        rig.drain();
        rig
    }

    fn drain(&mut self) {
        while let Some(o) = self.r.poll_output() {
            match o {
                RegisterOutput::Send(b) => self.sent.push(String::from_utf8(b).unwrap()),
                RegisterOutput::State(s) => self.states.push(s),
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while let Some(t) = self.r.poll_timeout().filter(|t| *t <= end) {
            self.now = t.max(self.now);
            self.r.on_timeout(self.now);
            self.drain();
        }
        self.now = end;
    }

    fn last(&self) -> InboundRequest {
        let text = self.sent.last().expect("a REGISTER");
        match crate::message::parse(text.as_bytes()) {
            Ok(Inbound::Request(r)) => r,
            other => panic!("{other:?}\n{text}"),
        }
    }

    fn respond(&mut self, status: u16, extra: &[(&str, &str)]) {
        let req = self.last();
        let mut b = ResponseBuilder::new(
            &req,
            status,
            Some("registrar"),
            "127.0.0.1:5060".parse().unwrap(),
        );
        for (n, v) in extra {
            b = b.header(n, v);
        }
        let Ok(Inbound::Response(resp)) = crate::message::parse(&b.build()) else {
            panic!("bad response")
        };
        self.r.on_response(self.now, resp);
        self.drain();
    }

    fn registered(&self) -> Option<u32> {
        match self.r.state() {
            RegistrationState::Registered { expires, .. } => Some(*expires),
            _ => None,
        }
    }
}

const CHALLENGE: (&str, &str) = (
    "WWW-Authenticate",
    "Digest realm=\"carrier\", nonce=\"n0nce\", qop=\"auth\", algorithm=MD5",
);

#[test]
fn a_challenge_is_answered_and_the_grant_is_refreshed_a_minute_before_it_expires() {
    let mut rig = Rig::new(600);
    let first = rig.last();
    assert_eq!(first.cseq, 1);
    assert!(rig.sent[0].contains("Contact: <sip:acct@127.0.0.1:5060>;expires=600"));
    assert_eq!(rig.states, [RegistrationState::Registering]);
    rig.respond(401, &[CHALLENGE]);
    let second = rig.last();
    assert_eq!((second.call_id.as_str(), second.cseq), ("reg-1", 2));
    let auth = crate::message::header_value(&second.req, "Authorization").unwrap();
    let creds = Credentials::parse(&auth).unwrap();
    assert!(creds.verify("REGISTER", "s3cret"), "{auth}");
    assert_eq!(creds.uri, "sip:127.0.0.1:5070");
    rig.respond(200, &[("Contact", "<sip:acct@127.0.0.1:5060>;expires=300")]);
    assert_eq!(rig.registered(), Some(300), "the Contact's grant wins");
    let sent = rig.sent.len();
    rig.advance(239_000);
    assert_eq!(rig.sent.len(), sent, "nothing before the refresh");
    rig.advance(1_000);
    let refresh = rig.last();
    assert_eq!(refresh.cseq, 3);
    let auth = crate::message::header_value(&refresh.req, "Authorization").unwrap();
    assert!(
        auth.contains("nc=00000002"),
        "the refresh reuses the nonce: {auth}"
    );
    rig.respond(200, &[("Expires", "300")]);
    assert_eq!(rig.registered(), Some(300));
}

#[test]
fn timer_e_resends_and_timer_f_fails_then_retries_with_backoff() {
    let mut rig = Rig::new(600);
    rig.advance(500);
    rig.advance(1_000);
    rig.advance(2_000);
    assert_eq!(rig.sent.len(), 4, "0.5, 1, 2 s");
    rig.advance(32_000 - 3_500);
    match rig.r.state() {
        RegistrationState::Failed { reason, retry_at } => {
            assert!(reason.contains("Timer F"), "{reason}");
            assert_eq!(*retry_at - rig.now, RETRY_BASE);
        }
        s => panic!("{s:?}"),
    }
    let sent = rig.sent.len();
    rig.advance(30_000);
    assert_eq!(rig.sent.len(), sent + 1, "a retry after 30 s");
    assert_eq!(retry_after(2), Duration::from_secs(60));
    assert_eq!(retry_after(20), RETRY_MAX);
}

#[test]
fn a_refusal_fails_and_a_wrong_password_is_not_retried_forever() {
    let mut rig = Rig::new(600);
    rig.respond(401, &[CHALLENGE]);
    rig.respond(401, &[CHALLENGE]);
    rig.respond(401, &[CHALLENGE]);
    match rig.r.state() {
        RegistrationState::Failed { reason, .. } => assert!(reason.starts_with("401"), "{reason}"),
        s => panic!("{s:?}"),
    }
    assert_eq!(
        rig.sent.len(),
        3,
        "two answers to challenges, then it gives up"
    );
    let mut rig = Rig::new(600);
    rig.respond(403, &[]);
    assert!(matches!(rig.r.state(), RegistrationState::Failed { .. }));
}

#[test]
fn interval_too_brief_asks_again_with_min_expires() {
    let mut rig = Rig::new(60);
    rig.respond(423, &[("Min-Expires", "3600")]);
    assert!(rig.sent[1].contains("Expires: 3600"));
    rig.respond(200, &[]);
    assert_eq!(rig.registered(), Some(3600));
}

#[test]
fn stopping_removes_the_binding_with_expires_zero() {
    let mut rig = Rig::new(600);
    rig.respond(200, &[]);
    rig.r.stop(rig.now);
    rig.drain();
    assert!(rig.sent.last().unwrap().contains("Expires: 0"));
    assert!(!rig.r.is_finished());
    rig.respond(200, &[]);
    assert!(rig.r.is_finished());
    assert_eq!(rig.r.state(), &RegistrationState::Unregistered);
}

#[test]
fn short_grants_refresh_halfway() {
    assert_eq!(refresh_after(3), Duration::from_millis(1_500));
    assert_eq!(refresh_after(120), Duration::from_secs(60));
    assert_eq!(refresh_after(3600), Duration::from_secs(3540));
}
