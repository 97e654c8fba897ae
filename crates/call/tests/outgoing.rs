//! Calls we place (`POST /v1/calls`) with fake time: the flow runs only once answered.

mod support;

use call::{CallOutcome, IoRequest, LegEvent, LegId, Output, PromptSource, SipCommand};
use serde_json::json;
use support::{offer, Rig};

fn talk_flow() -> serde_json::Value {
    json!([{"type": "talk", "option": {"text": "hello ${campaign}"}}])
}

fn ended(rig: &Rig) -> Option<(String, String, CallOutcome)> {
    rig.log.iter().find_map(|o| match o {
        Output::CallEnded { record, outcome } => Some((
            record.hangup_cause.clone().unwrap_or_default(),
            record.hangup_side.clone().unwrap_or_default(),
            *outcome,
        )),
        _ => None,
    })
}

/// The placed leg's media is ready: the INVITE goes out.
fn invite(rig: &mut Rig) {
    assert!(matches!(
        rig.log.first(),
        Some(Output::CallUpdated) | Some(Output::Event(_))
    ));
    assert!(rig
        .log
        .iter()
        .any(|o| matches!(o, Output::Dial { leg, .. } if *leg == LegId::FIRST)));
    rig.core
        .handle_leg_media(LegId::FIRST, support::local(), rig.now);
    rig.drain();
    assert!(matches!(
        rig.sip(LegId::FIRST)[0],
        SipCommand::Invite { .. }
    ));
}

#[test]
fn the_flow_runs_only_once_the_callee_answers() {
    let mut rig = Rig::originate(talk_flow(), 30_000);
    invite(&mut rig);
    assert_eq!(rig.events(), ["call_created"]);
    rig.leg(
        LegId::FIRST,
        LegEvent::Progress {
            status: 180,
            sdp: None,
        },
    );
    assert!(rig.pending_io().is_empty(), "nothing runs while it rings");
    rig.advance(4_000);
    rig.leg(
        LegId::FIRST,
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    assert_eq!(
        rig.events(),
        [
            "call_created",
            "call_ringing",
            "call_answered",
            "activeflow_created"
        ]
    );
    let (_, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::Prompt { source: PromptSource::Speech { ref text, .. }, .. } if text == "hello winter"),
        "{req:?}"
    );
    assert_eq!(rig.var("call.direction"), "outgoing");
    assert_eq!(rig.var("call.destination.target"), "sip:bob@127.0.0.1:5070");
    let record = rig.core.record().unwrap();
    assert_eq!(record.direction, "outgoing");
    assert!(record.answered_at.is_some());
    // The callee hangs up: the call completes, hung up by the callee.
    rig.leg(LegId::FIRST, LegEvent::RemoteBye);
    rig.leg(LegId::FIRST, LegEvent::Terminated);
    assert_eq!(
        ended(&rig),
        Some(("normal".into(), "callee".into(), CallOutcome::Completed))
    );
}

#[test]
fn a_busy_callee_ends_the_call_without_a_flow() {
    let mut rig = Rig::originate(talk_flow(), 30_000);
    invite(&mut rig);
    rig.leg(LegId::FIRST, LegEvent::Refused { status: 486 });
    assert!(rig.core.is_finished());
    assert!(rig.core.snapshot().is_none(), "no activeflow ran");
    assert!(!rig.events().contains(&"activeflow_created"));
    let (cause, side, outcome) = ended(&rig).unwrap();
    assert_eq!((side.as_str(), outcome), ("callee", CallOutcome::Rejected));
    assert_eq!(cause, "busy");
}

#[test]
fn ringing_past_the_ring_timeout_cancels_the_call() {
    let mut rig = Rig::originate(talk_flow(), 30_000);
    invite(&mut rig);
    rig.leg(
        LegId::FIRST,
        LegEvent::Progress {
            status: 180,
            sdp: None,
        },
    );
    rig.advance(29_999);
    assert!(rig.sip(LegId::FIRST).len() == 1, "still ringing");
    rig.advance(1);
    assert!(matches!(
        rig.sip(LegId::FIRST).last(),
        Some(SipCommand::Hangup { .. })
    ));
    assert!(!rig.core.is_finished(), "the CANCEL is awaited");
    rig.leg(LegId::FIRST, LegEvent::Refused { status: 487 });
    rig.leg(LegId::FIRST, LegEvent::Terminated);
    let (cause, side, outcome) = ended(&rig).unwrap();
    assert_eq!(cause, "noanswer");
    assert_eq!(
        (side.as_str(), outcome),
        ("switchyard", CallOutcome::Rejected)
    );
}

#[test]
fn hanging_up_through_the_api_while_it_rings_cancels_it() {
    let mut rig = Rig::originate(talk_flow(), 30_000);
    invite(&mut rig);
    rig.core.stop(rig.now);
    rig.drain();
    assert!(matches!(
        rig.sip(LegId::FIRST).last(),
        Some(SipCommand::Hangup { .. })
    ));
    rig.leg(LegId::FIRST, LegEvent::Refused { status: 487 });
    rig.leg(LegId::FIRST, LegEvent::Terminated);
    let (_, _, outcome) = ended(&rig).unwrap();
    assert_eq!(outcome, CallOutcome::Cancelled);
    assert!(!rig.events().contains(&"activeflow_created"));
}

#[test]
fn a_dialog_that_gives_up_without_a_status_fails_the_call() {
    let mut rig = Rig::originate(talk_flow(), 30_000);
    invite(&mut rig);
    rig.leg(LegId::FIRST, LegEvent::Terminated);
    let (_, _, outcome) = ended(&rig).unwrap();
    assert_eq!(outcome, CallOutcome::Failed);
}

#[test]
fn an_answered_call_is_hung_up_at_the_outbound_duration_limit() {
    let config = call::CoreConfig {
        max_outbound_ms: 10_000,
        ..Rig::config()
    };
    let mut rig = Rig::originate_with(
        json!([{"type": "digits_receive", "option": {"duration": 60000}}]),
        30_000,
        config,
    );
    invite(&mut rig);
    rig.advance(2_000);
    rig.leg(
        LegId::FIRST,
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    rig.advance(9_999);
    assert_eq!(rig.sip(LegId::FIRST).len(), 1, "only the INVITE so far");
    rig.advance(1);
    assert!(matches!(
        rig.sip(LegId::FIRST).last(),
        Some(SipCommand::Hangup { .. })
    ));
    assert!(rig.events().contains(&"activeflow_ended"));
    rig.dialog_ends();
    let (cause, _, _) = ended(&rig).unwrap();
    assert_eq!(cause, "max_duration");
}
