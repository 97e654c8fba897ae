use super::*;
use crate::message::{parse, Inbound};
use std::time::Duration;

const INVITE: &str = "INVITE sip:1000@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-inv;rport\r\n\
From: sipp <sip:sipp@127.0.0.1:5061>;tag=caller\r\n\
To: <sip:1000@127.0.0.1:5060>\r\n\
Call-ID: c1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:sipp@127.0.0.1:5061>\r\n\
Record-Route: <sip:proxy.example;lr>\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n";

fn req(text: &str) -> InboundRequest {
    match parse(text.as_bytes()) {
        Ok(Inbound::Request(r)) => r,
        other => panic!("bad fixture: {other:?}"),
    }
}

fn in_dialog(method: &str, cseq: u32, branch: &str) -> InboundRequest {
    req(&format!(
        "{method} sip:switchyard@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch={branch}\r\n\
From: sipp <sip:sipp@127.0.0.1:5061>;tag=caller\r\n\
To: <sip:1000@127.0.0.1:5060>;tag=ours\r\n\
Call-ID: c1\r\n\
CSeq: {cseq} {method}\r\n\
Content-Length: 0\r\n\r\n"
    ))
}

fn dialog(reliable: bool) -> UasDialog {
    UasDialog::new(
        req(INVITE),
        "127.0.0.1:5061".parse().unwrap(),
        Local {
            tag: "ours".into(),
            contact: "<sip:switchyard@127.0.0.1:5060>".into(),
            via_sent_by: "127.0.0.1:5060".into(),
            transport: if reliable { "TCP" } else { "UDP" },
            user_agent: "switchyard".into(),
            reliable,
        },
        Timers::default(),
        b"SIP/2.0 100 Trying\r\n\r\n".to_vec(),
    )
}

fn drain(d: &mut UasDialog) -> (Vec<String>, Vec<DialogEvent>) {
    let (mut sent, mut events) = (vec![], vec![]);
    while let Some(o) = d.poll_output() {
        match o {
            Output::Send(b) => sent.push(String::from_utf8(b).unwrap()),
            Output::Event(e) => events.push(e),
        }
    }
    (sent, events)
}

#[test]
fn two_hundred_is_retransmitted_on_doubling_intervals_until_ack() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, b"v=0\r\n".to_vec());
    let (sent, _) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK"));
    assert!(sent[0].contains("Record-Route: <sip:proxy.example;lr>"));
    assert!(sent[0].contains("Contact: <sip:switchyard@127.0.0.1:5060>"));
    assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_millis(500)));
    d.on_timeout(t0 + Duration::from_millis(500));
    assert_eq!(drain(&mut d).0.len(), 1);
    // Next after 1 s (doubling).
    assert_eq!(d.poll_timeout(), Some(t0 + Duration::from_millis(1500)));
    d.on_request(
        t0 + Duration::from_millis(600),
        in_dialog("ACK", 1, "z9hG4bK-ack"),
    );
    let (sent, events) = drain(&mut d);
    assert!(sent.is_empty());
    assert_eq!(events, vec![DialogEvent::Acked { sdp: None }]);
    assert_eq!(d.state(), State::Confirmed);
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn missing_ack_times_out_after_64_t1_and_sends_bye() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, b"v=0\r\n".to_vec());
    drain(&mut d);
    let mut now = t0;
    let mut resent = 0;
    while let Some(t) = d.poll_timeout() {
        if t > t0 + Duration::from_secs(32) {
            break;
        }
        now = t;
        d.on_timeout(now);
        let (sent, events) = drain(&mut d);
        resent += sent.iter().filter(|s| s.starts_with("SIP/2.0 200")).count();
        if events.contains(&DialogEvent::AckTimeout) {
            assert!(sent
                .iter()
                .any(|s| s.starts_with("BYE sip:sipp@127.0.0.1:5061")));
            break;
        }
    }
    assert_eq!(now, t0 + Duration::from_secs(32));
    // 0.5, 1.5, 3.5, 7.5, 11.5, ... every 4 s up to 31.5: 10 resends.
    assert_eq!(resent, 10);
}

#[test]
fn retransmitted_invite_gets_the_last_response_not_a_new_call() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.on_request(t0, req(INVITE));
    let (sent, events) = drain(&mut d);
    assert_eq!(sent, vec!["SIP/2.0 100 Trying\r\n\r\n".to_string()]);
    assert!(events.is_empty());
    d.provisional(180, None);
    drain(&mut d);
    d.on_request(t0, req(INVITE));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 180 Ringing"));
}

#[test]
fn cancel_before_answer_gets_200_and_invite_gets_487() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    let cancel = INVITE
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    d.on_request(t0, req(&cancel));
    let (sent, events) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK") && sent[0].contains("CSeq: 1 CANCEL"));
    assert!(sent[1].starts_with("SIP/2.0 487 Request Terminated"));
    assert!(sent[1].contains("CSeq: 1 INVITE"));
    assert_eq!(
        events,
        vec![DialogEvent::Cancelled, DialogEvent::Terminated]
    );
    // 487 is retransmitted (Timer G) until the ACK.
    d.on_timeout(t0 + Duration::from_millis(500));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 487"));
    let ack = INVITE
        .replace("INVITE sip", "ACK sip")
        .replace("1 INVITE", "1 ACK");
    d.on_request(t0 + Duration::from_millis(600), req(&ack));
    assert!(!d.is_finished(t0 + Duration::from_millis(600)));
    assert!(d.is_finished(t0 + Duration::from_secs(6)));
}

#[test]
fn an_ended_dialog_reduces_to_a_tombstone_that_answers_bye_retransmissions() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    assert!(d.tombstone().is_none(), "not ended yet");
    d.on_request(t0, in_dialog("BYE", 2, "b"));
    assert!(d.tombstone().is_none(), "outputs not drained");
    drain(&mut d);
    let t = d.tombstone().expect("ended, nothing pending");
    assert_eq!(t.until, t0 + Duration::from_secs(32));
    let ok = t.response_for(2, Method::Bye).expect("the 200 for the BYE");
    assert!(ok.starts_with(b"SIP/2.0 200 OK"));
    assert!(t.response_for(3, Method::Bye).is_none());
}

#[test]
fn remote_bye_is_answered_and_reported() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, b"v=0\r\n".to_vec());
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    d.on_request(t0, in_dialog("BYE", 2, "b"));
    let (sent, events) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK") && sent[0].contains("CSeq: 2 BYE"));
    assert_eq!(
        events,
        vec![
            DialogEvent::RemoteBye { reason: None },
            DialogEvent::Terminated
        ]
    );
    // A retransmitted BYE gets the same 200.
    d.on_request(t0, in_dialog("BYE", 2, "b"));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 200 OK"));
}

#[test]
fn our_bye_waits_for_the_ack_then_completes_on_200() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, b"v=0\r\n".to_vec());
    drain(&mut d);
    d.hangup(
        t0,
        480,
        Some(Q850 {
            cause: 16,
            text: "Normal Clearing".into(),
        }),
    );
    assert!(drain(&mut d).0.is_empty(), "no BYE before the ACK");
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    let (sent, _) = drain(&mut d);
    let bye = &sent[0];
    assert!(bye.starts_with("BYE sip:sipp@127.0.0.1:5061 SIP/2.0"));
    assert!(bye.contains("Route: <sip:proxy.example;lr>"));
    assert!(bye.contains("From: <sip:1000@127.0.0.1:5060>;tag=ours"));
    assert!(bye.contains("To: sipp <sip:sipp@127.0.0.1:5061>;tag=caller"));
    assert!(bye.contains("Reason: Q.850;cause=16;text=\"Normal Clearing\""));
    assert!(bye.contains("Max-Forwards: 70"));
    let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKoursb1\r\n\
From: <sip:1000@127.0.0.1:5060>;tag=ours\r\nTo: sipp <sip:sipp@127.0.0.1:5061>;tag=caller\r\n\
Call-ID: c1\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n";
    let Ok(Inbound::Response(r)) = parse(ok.as_bytes()) else {
        panic!()
    };
    d.on_response(t0, r);
    let (_, events) = drain(&mut d);
    assert_eq!(
        events,
        vec![
            DialogEvent::ByeCompleted { status: Some(200) },
            DialogEvent::Terminated
        ]
    );
}

#[test]
fn unanswered_bye_gives_up_after_timer_f() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    d.hangup(t0, 480, None);
    drain(&mut d);
    let mut last = vec![];
    while let Some(t) = d.poll_timeout() {
        d.on_timeout(t);
        last = drain(&mut d).1;
        if !last.is_empty() {
            assert_eq!(t, t0 + Duration::from_secs(32));
            break;
        }
    }
    assert_eq!(last[0], DialogEvent::ByeCompleted { status: None });
}

#[test]
fn reinvite_hold_is_offered_to_the_call_and_answer_retransmitted_until_ack() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    let mut re = in_dialog("INVITE", 2, "r1");
    re.req.body = b"v=0\r\na=sendonly\r\n".to_vec();
    d.on_request(t0, re.clone());
    let (_, events) = drain(&mut d);
    assert!(matches!(
        &events[0],
        DialogEvent::ReOffer {
            cseq: 2,
            method: ReOfferMethod::Invite,
            sdp: Some(_)
        }
    ));
    // A second re-INVITE while this one is pending: 500 with Retry-After.
    d.on_request(t0, in_dialog("INVITE", 3, "r2"));
    let (sent, _) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 500") && sent[0].contains("Retry-After"));
    d.answer_reoffer(t0, 2, Ok(b"v=0\r\na=recvonly\r\n".to_vec()));
    let (sent, _) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK") && sent[0].contains("a=recvonly"));
    // The retransmitted re-INVITE gets the same 200.
    d.on_request(t0, re);
    assert!(drain(&mut d).0[0].contains("a=recvonly"));
    d.on_timeout(t0 + Duration::from_millis(500));
    assert_eq!(drain(&mut d).0.len(), 1);
    d.on_request(t0, in_dialog("ACK", 2, "a2"));
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn update_is_answered_once_and_cached_for_retransmissions() {
    let t0 = Instant::now();
    let mut d = dialog(true);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    d.on_request(t0, in_dialog("UPDATE", 2, "u"));
    drain(&mut d);
    d.answer_reoffer(t0, 2, Err(488));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 488"));
    d.on_request(t0, in_dialog("UPDATE", 2, "u"));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 488"));
}

#[test]
fn info_is_acknowledged_and_delivered() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    let mut info = in_dialog("INFO", 2, "i");
    info.req.body = b"Signal=5\r\nDuration=160\r\n".to_vec();
    d.on_request(t0, info);
    let (sent, events) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK"));
    assert!(matches!(&events[0], DialogEvent::Info { body, .. } if body.starts_with(b"Signal=5")));
}

#[test]
fn out_of_order_cseq_gets_500_and_wrong_tag_gets_481() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    d.on_request(t0, in_dialog("INFO", 5, "i5"));
    drain(&mut d);
    d.on_request(t0, in_dialog("INFO", 4, "i4"));
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 500"));
    let mut foreign = in_dialog("BYE", 9, "x");
    foreign.to_tag = Some("other".into());
    d.on_request(t0, foreign);
    assert!(drain(&mut d).0[0].starts_with("SIP/2.0 481"));
}

#[test]
fn reject_sends_final_with_reason_and_ends() {
    let t0 = Instant::now();
    let mut d = dialog(true);
    d.reject(
        t0,
        488,
        Some(Q850 {
            cause: 65,
            text: "Bearer capability not implemented".into(),
        }),
    );
    let (sent, events) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 488 Not Acceptable Here"));
    assert!(sent[0].contains("Reason: Q.850;cause=65"));
    assert_eq!(events, vec![DialogEvent::Terminated]);
    // Reliable transport: no Timer G resends.
    d.on_timeout(t0 + Duration::from_millis(500));
    assert!(drain(&mut d).0.is_empty());
}

#[test]
fn we_can_reinvite_the_caller_and_ack_its_answer() {
    let t0 = Instant::now();
    let mut d = dialog(false);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    d.reinvite(t0, b"v=0\r\na=sendonly\r\n".to_vec());
    let (sent, _) = drain(&mut d);
    let re = &sent[0];
    assert!(
        re.starts_with("INVITE sip:sipp@127.0.0.1:5061 SIP/2.0"),
        "{re}"
    );
    assert!(re.contains("CSeq: 1 INVITE"), "our own CSeq space: {re}");
    assert!(re.contains("Route: <sip:proxy.example;lr>"));
    assert!(re.contains("a=sendonly"));
    // Retransmitted on Timer A until answered.
    d.on_timeout(t0 + Duration::from_millis(500));
    assert_eq!(drain(&mut d).0.len(), 1);
    let answer = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKoursi1\r\n\
         From: <sip:1000@127.0.0.1:5060>;tag=ours\r\nTo: sipp <sip:sipp@127.0.0.1:5061>;tag=caller\r\n\
         Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 17\r\n\r\n\
         v=0\r\na=recvonly\r\n";
    let Ok(Inbound::Response(r)) = parse(answer.as_bytes()) else {
        panic!()
    };
    d.on_response(t0, r.clone());
    let (sent, events) = drain(&mut d);
    assert!(sent[0].starts_with("ACK sip:sipp@127.0.0.1:5061"));
    assert_eq!(
        events,
        [DialogEvent::ReInviteAnswered {
            result: Ok(Some(b"v=0\r\na=recvonly\r\n".to_vec()))
        }]
    );
    d.on_response(t0, r);
    assert!(drain(&mut d).0[0].starts_with("ACK"), "re-ACKed");
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn an_update_without_an_offer_is_a_refresh_answered_without_sdp() {
    let t0 = Instant::now();
    let mut d = dialog(true);
    d.answer(t0, vec![]);
    d.on_request(t0, in_dialog("ACK", 1, "a"));
    drain(&mut d);
    d.on_request(t0, in_dialog("UPDATE", 2, "u"));
    let (_, events) = drain(&mut d);
    assert!(matches!(
        events[0],
        DialogEvent::ReOffer {
            method: ReOfferMethod::Update,
            sdp: None,
            ..
        }
    ));
    d.answer_reoffer(t0, 2, Ok(Vec::new()));
    let (sent, _) = drain(&mut d);
    assert!(sent[0].starts_with("SIP/2.0 200 OK"));
    assert!(
        sent[0].ends_with("Content-Length: 0\r\n\r\n"),
        "{}",
        sent[0]
    );
    assert!(!sent[0].contains("application/sdp"));
}
