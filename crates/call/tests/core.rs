//! The call core with fake time: a call's life, digits, barge-in, parking, re-offers, legs.
//! Each test runs in microseconds.

mod support;

use call::{
    CallOutcome, HangupCause, IoRequest, IoResult, LegEvent, LegId, Output, PromptSource,
    ResumeError, ResumeEvent, ResumeOutcome, SipCommand,
};
use flow::Completion;
use media::session::{MediaCommand, MediaEvent, PlaybackEnd};
use serde_json::json;
use support::{offer, Rig};

fn types(rig: &Rig) -> Vec<String> {
    rig.path().into_iter().map(|(t, _)| t).collect()
}

fn ended(rig: &Rig) -> Option<(String, CallOutcome)> {
    rig.log.iter().find_map(|o| match o {
        Output::CallEnded { record, outcome } => {
            Some((record.hangup_cause.clone().unwrap_or_default(), *outcome))
        }
        _ => None,
    })
}

// ----- a call's life -----

#[test]
fn answer_then_hangup_ends_the_call_with_normal_clearing() {
    let mut rig = Rig::call(json!([{"type": "answer"}, {"type": "hangup"}]));
    let sip = rig.sip(LegId::FIRST);
    assert!(matches!(sip[0], SipCommand::Answer { .. }), "{sip:?}");
    assert_eq!(
        sip[1],
        SipCommand::Hangup {
            cause: HangupCause::Flow(flow::HangupReason::Normal)
        }
    );
    assert!(!rig.core.is_finished(), "waits for the dialog");
    rig.dialog_ends();
    assert!(rig.core.is_finished());
    assert_eq!(ended(&rig), Some(("normal".into(), CallOutcome::Completed)));
    assert_eq!(
        rig.events(),
        [
            "call_created",
            "activeflow_created",
            "call_answered",
            "activeflow_updated",
            "activeflow_updated",
            "activeflow_ended",
            "call_hangup"
        ]
    );
    let record = rig.core.record().unwrap();
    assert_eq!(record.hangup_side.as_deref(), Some("switchyard"));
    assert_eq!(record.from, "+15550001");
}

#[test]
fn running_off_the_end_hangs_up_with_480_before_the_answer() {
    let mut rig =
        Rig::call(json!([{"type": "variable_set", "option": {"key": "a", "value": "b"}}]));
    assert_eq!(
        rig.sip(LegId::FIRST),
        [SipCommand::Hangup {
            cause: HangupCause::FlowEnded
        }]
    );
    assert_eq!(HangupCause::FlowEnded.sip_status(), 480);
    rig.dialog_ends();
    assert!(rig.core.is_finished());
}

#[test]
fn the_caller_hanging_up_mid_prompt_ends_the_activeflow_with_hangup() {
    let mut rig =
        Rig::call(json!([{"type": "talk", "option": {"text": "hello"}}, {"type": "beep"}]));
    rig.give_prompt(100);
    rig.leg(LegId::FIRST, LegEvent::RemoteBye);
    assert!(rig.core.is_finished(), "nothing to wait for");
    let snap = rig.core.snapshot().unwrap();
    assert_eq!(snap.end_reason, Some(flow::EndReason::Hangup));
    assert_eq!(
        rig.path(),
        [("talk".into(), "failed: the call hung up".into())]
    );
    assert_eq!(ended(&rig), Some(("normal".into(), CallOutcome::Completed)));
    assert_eq!(
        rig.core.record().unwrap().hangup_side.as_deref(),
        Some("caller")
    );
    assert!(rig
        .sip(LegId::FIRST)
        .iter()
        .all(|c| !matches!(c, SipCommand::Hangup { .. })));
}

#[test]
fn cancel_before_the_answer_is_a_cancelled_call() {
    let mut rig =
        Rig::call(json!([{"type": "sleep", "option": {"duration": 5000}}, {"type": "answer"}]));
    assert_eq!(rig.sip(LegId::FIRST), [SipCommand::Ring]);
    rig.advance(1000);
    rig.leg(LegId::FIRST, LegEvent::Cancelled);
    assert_eq!(ended(&rig), Some(("cancel".into(), CallOutcome::Cancelled)));
}

#[test]
fn no_route_and_a_bad_offer_are_refused_without_a_flow() {
    let now = flow::Clock {
        wall: support::epoch(),
        mono_ms: 0,
    };
    let incoming = |offer: Option<Vec<u8>>, admission| call::Incoming {
        call_id: "c".into(),
        activeflow_id: "a".into(),
        sip_call_id: "s".into(),
        from: "<sip:a@b>".into(),
        to: "<sip:1@b>".into(),
        headers: vec![],
        trusted: false,
        variables: vec![],
        offer,
        admission,
    };
    let mut core = call::CallCore::incoming(
        incoming(None, Err(HangupCause::NoRoute)),
        Rig::config(),
        1,
        now,
    );
    core.start(now);
    let out: Vec<Output> = std::iter::from_fn(|| core.poll_output()).collect();
    assert!(out.contains(&Output::Sip {
        leg: LegId::FIRST,
        command: SipCommand::Reject {
            cause: HangupCause::NoRoute
        }
    }));
    assert!(core.is_finished());
    assert!(core.snapshot().is_none());

    let admission = Ok(call::Admission {
        flow_id: "f".into(),
        flow: support::flow(json!([{"type": "answer"}])),
        stop_types: vec![],
        local: support::local(),
    });
    let mut core = call::CallCore::incoming(
        incoming(Some(b"v=0\r\nnonsense".to_vec()), admission),
        Rig::config(),
        1,
        now,
    );
    core.start(now);
    let out: Vec<Output> = std::iter::from_fn(|| core.poll_output()).collect();
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Sip {
            command: SipCommand::Reject {
                cause: HangupCause::BadOffer
            },
            ..
        }
    )));
    assert!(out.iter().any(|o| matches!(
        o,
        Output::CallEnded {
            outcome: CallOutcome::Rejected,
            ..
        }
    )));
}

#[test]
fn the_api_stop_ends_the_activeflow_with_api_and_hangs_up() {
    let mut rig =
        Rig::call(json!([{"type": "answer"}, {"type": "sleep", "option": {"duration": 60000}}]));
    rig.core.stop(rig.now);
    rig.drain();
    assert_eq!(
        rig.core.snapshot().unwrap().end_reason,
        Some(flow::EndReason::Api)
    );
    assert!(rig.sip(LegId::FIRST).contains(&SipCommand::Hangup {
        cause: HangupCause::FlowEnded
    }));
}

#[test]
fn without_an_ack_the_call_fails() {
    let mut rig =
        Rig::call(json!([{"type": "answer"}, {"type": "sleep", "option": {"duration": 60000}}]));
    rig.leg(LegId::FIRST, LegEvent::AckTimeout);
    assert_eq!(ended(&rig), Some(("failed".into(), CallOutcome::Failed)));
}

#[test]
fn an_unanswered_bye_makes_the_call_failed() {
    let mut rig = Rig::call(json!([{"type": "answer"}, {"type": "hangup"}]));
    rig.leg(LegId::FIRST, LegEvent::ByeCompleted { status: None });
    rig.leg(LegId::FIRST, LegEvent::Terminated);
    assert_eq!(ended(&rig), Some(("normal".into(), CallOutcome::Failed)));
}

#[test]
fn a_dialog_that_never_ends_is_given_up_after_40_s() {
    let mut rig = Rig::call(json!([{"type": "answer"}, {"type": "hangup"}]));
    rig.advance(39_999);
    assert!(!rig.core.is_finished());
    rig.advance(1);
    assert!(rig.core.is_finished());
}

// ----- digits -----

#[test]
fn type_ahead_digits_are_counted_first() {
    let mut rig = Rig::call(json!([
        {"type": "talk", "option": {"text": "menu"}},
        {"type": "digits_receive", "option": {"length": 2}},
        {"type": "digits_receive", "option": {"length": 1}}
    ]));
    rig.give_prompt(50);
    rig.digit('1');
    rig.digit('2');
    rig.digit('3');
    rig.playback_ends(PlaybackEnd::Finished);
    // Both collections are served from the buffer at once.
    assert_eq!(
        rig.path(),
        [
            ("talk".into(), "done".into()),
            ("digits_receive".into(), "done".into()),
            ("digits_receive".into(), "done".into())
        ]
    );
    assert_eq!(rig.var("call.digits"), "3");
}

#[test]
fn the_overall_timer_stops_at_the_first_digit_then_inter_digit_governs() {
    let mut rig = Rig::call(json!([
        {"type": "digits_receive", "option": {"length": 5, "duration": 3000, "inter_digit_timeout": 2000}},
        {"type": "hangup"}
    ]));
    rig.advance(2500);
    rig.digit('4');
    rig.advance(1000); // 3.5 s: past `duration`, within the inter-digit timeout
    assert_eq!(types(&rig), Vec::<String>::new(), "still collecting");
    rig.advance(1000); // 4.5 s: 2 s after the digit
    assert_eq!(rig.path()[0], ("digits_receive".into(), "done".into()));
    assert_eq!(rig.var("call.digits"), "4");
    assert_eq!(
        rig.core.snapshot().unwrap().executed_actions[0].duration_ms,
        4500
    );
}

#[test]
fn no_digit_before_duration_is_a_timeout_with_empty_digits() {
    let mut rig = Rig::call(json!([{"type": "digits_receive", "option": {"duration": 1000}}]));
    rig.advance(999);
    assert!(rig.path().is_empty());
    rig.advance(1);
    assert_eq!(rig.path()[0], ("digits_receive".into(), "timeout".into()));
    assert_eq!(rig.var("call.digits"), "");
}

#[test]
fn the_terminator_key_ends_collection_and_is_kept() {
    let mut rig = Rig::call(json!([
        {"type": "digits_receive", "option": {"length": 10, "key": "#"}}
    ]));
    for d in ['1', '2', '#'] {
        rig.digit(d);
    }
    assert_eq!(rig.path()[0], ("digits_receive".into(), "done".into()));
    assert_eq!(rig.var("call.digits"), "12#");
}

#[test]
fn reaching_length_ends_collection() {
    let mut rig = Rig::call(json!([
        {"type": "digits_receive", "option": {"length": 3}},
        {"type": "sleep", "option": {"duration": 100000}}
    ]));
    rig.digit('7');
    rig.digit('8');
    assert!(rig.path().is_empty());
    rig.digit('9');
    assert_eq!(rig.var("call.digits"), "789");
    assert_eq!(rig.var("call.dtmf.last"), "9");
}

#[test]
fn digits_arriving_from_sip_info_go_through_the_media_session() {
    let mut rig = Rig::call(json!([{"type": "digits_receive"}]));
    rig.leg(
        LegId::FIRST,
        LegEvent::Info {
            content_type: "application/dtmf-relay".into(),
            body: b"Signal=5\r\nDuration=100\r\n".to_vec(),
        },
    );
    assert!(rig.media_commands().contains(&MediaCommand::InfoDigit('5')));
}

// ----- barge-in and API-action keys -----

#[test]
fn barge_in_stops_the_prompt_and_the_digit_reaches_the_next_digits_receive() {
    let mut rig = Rig::call(json!([
        {"type": "talk", "option": {"text": "press a key", "digits_handle": "next"}},
        {"type": "digits_receive", "option": {"length": 1}},
        {"type": "hangup"}
    ]));
    rig.give_prompt(200);
    rig.take();
    rig.digit('5');
    assert!(rig.take().contains(&Output::Media {
        leg: LegId::FIRST,
        command: MediaCommand::StopPlayback
    }));
    rig.playback_ends(PlaybackEnd::Stopped);
    assert_eq!(rig.var("call.digits"), "5");
    assert_eq!(types(&rig), ["talk", "digits_receive", "hangup"]);
}

#[test]
fn a_digit_typed_ahead_skips_a_barge_in_prompt_without_playing_it() {
    let mut rig = Rig::call(json!([
        {"type": "answer"},
        {"type": "play", "option": {"stream_urls": ["a", "b"], "digits_handle": "next"}},
        {"type": "digits_receive"}
    ]));
    rig.digit('9');
    rig.give_prompt(50);
    assert!(!rig
        .media_commands()
        .iter()
        .any(|c| matches!(c, MediaCommand::Play { .. })));
    assert_eq!(rig.var("call.digits"), "9");
}

#[test]
fn without_barge_in_a_digit_waits_for_the_prompt() {
    let mut rig = Rig::call(json!([
        {"type": "talk", "option": {"text": "long"}},
        {"type": "digits_receive"}
    ]));
    rig.give_prompt(200);
    rig.digit('3');
    assert_eq!(types(&rig), Vec::<String>::new());
    rig.playback_ends(PlaybackEnd::Finished);
    assert_eq!(rig.var("call.digits"), "3");
}

#[test]
fn a_key_bound_to_an_api_action_fires_it_and_its_answer_is_said() {
    let mut config = Rig::config();
    config.api_keys = vec![('9', "balance".into())];
    let mut rig = Rig::call_with(
        json!([
            {"type": "talk", "option": {"text": "menu"}},
            {"type": "digits_receive", "option": {"duration": 1000}}
        ]),
        config,
        Some(offer("sendrecv")),
    );
    rig.give_prompt(200);
    rig.digit('9');
    rig.playback_ends(PlaybackEnd::Stopped);
    let (id, req) = rig.last_io();
    let IoRequest::ApiAction {
        name,
        trigger,
        user_message,
        ..
    } = req
    else {
        panic!("{req:?}");
    };
    assert_eq!(
        (name.as_str(), trigger, user_message.as_str()),
        ("balance", call::Trigger::Dtmf, "9")
    );
    rig.io(
        id,
        IoResult::ApiAction(call::ApiAnswer {
            say: vec!["You have 5 dollars".into()],
            vars: vec![("balance.amount".into(), "5".into())],
            error: None,
        }),
    );
    let (_, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::Prompt { source: PromptSource::Speech { ref text, .. }, .. } if text == "You have 5 dollars")
    );
    rig.give_prompt(20);
    rig.playback_ends(PlaybackEnd::Finished);
    assert_eq!(rig.path()[0], ("talk".into(), "done".into()));
    assert_eq!(rig.var("balance.amount"), "5");
    rig.advance(1000);
    assert_eq!(rig.var("call.digits"), "", "the key was consumed");
}

#[test]
fn after_capture_actions_get_the_digits() {
    let mut config = Rig::config();
    config.after_capture = vec!["lookup".into()];
    let mut rig = Rig::call_with(
        json!([{"type": "digits_receive", "option": {"length": 2}}]),
        config,
        Some(offer("sendrecv")),
    );
    rig.digit('4');
    rig.digit('2');
    let (id, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::ApiAction { ref user_message, trigger: call::Trigger::AfterCapture, .. } if user_message == "42")
    );
    rig.io(
        id,
        IoResult::ApiAction(call::ApiAnswer {
            say: vec![],
            vars: vec![("lookup.name".into(), "Ann".into())],
            error: None,
        }),
    );
    assert_eq!(rig.var("call.digits"), "42");
    assert_eq!(rig.var("lookup.name"), "Ann");
}

// ----- park and resume -----

fn parking_flow() -> serde_json::Value {
    json!([
        {"type": "answer"},
        {"id": "wait", "type": "custom", "option": {"name": "crm", "timeout": 10000, "default_path": 1,
            "paths": [{"event": "ok", "target_id": "yes"}, {"event": "no", "target_id": "no"}]}},
        {"id": "yes", "type": "talk", "option": {"text": "yes"}},
        {"id": "no", "type": "talk", "option": {"text": "no"}}
    ])
}

fn token(rig: &Rig) -> String {
    rig.core.snapshot().unwrap().waiting_on.unwrap().token
}

#[test]
fn a_parked_action_is_resumed_by_the_first_event_only() {
    let mut rig = Rig::call(parking_flow());
    assert_eq!(rig.core.snapshot().unwrap().status, flow::Status::Waiting);
    assert!(rig.events().contains(&"activeflow_waiting"));
    let bad = ResumeEvent {
        event: "ok".into(),
        payload: Default::default(),
        token: Some("nope".into()),
    };
    assert_eq!(rig.core.resume(bad, rig.now), Err(ResumeError::BadToken));
    let mut payload = serde_json::Map::new();
    payload.insert("order".into(), json!("A-1"));
    let good = ResumeEvent {
        event: "ok".into(),
        payload,
        token: Some(token(&rig)),
    };
    assert_eq!(
        rig.core.resume(good.clone(), rig.now),
        Ok(ResumeOutcome::Next {
            action_id: "yes".into()
        })
    );
    rig.drain();
    assert_eq!(rig.var("custom.order"), "A-1");
    assert_eq!(rig.core.resume(good, rig.now), Err(ResumeError::NotWaiting));
    assert_eq!(types(&rig), ["answer", "custom"]);
    let (_, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::Prompt { source: PromptSource::Speech { ref text, .. }, .. } if text == "yes")
    );
}

#[test]
fn a_parked_action_times_out_to_its_default_path() {
    let mut rig = Rig::call(parking_flow());
    rig.advance(9_999);
    assert_eq!(rig.core.snapshot().unwrap().status, flow::Status::Waiting);
    rig.advance(1);
    let (_, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::Prompt { source: PromptSource::Speech { ref text, .. }, .. } if text == "no")
    );
    let ev = ResumeEvent {
        event: "ok".into(),
        payload: Default::default(),
        token: None,
    };
    assert_eq!(rig.core.resume(ev, rig.now), Err(ResumeError::NotWaiting));
}

#[test]
fn hold_audio_loops_while_parked_and_stops_on_resume() {
    let mut rig = Rig::call(json!([
        {"type": "custom", "option": {"name": "crm", "hold": {"stream_urls": ["music"]}}},
        {"type": "sleep", "option": {"duration": 100000}}
    ]));
    assert!(rig
        .sip(LegId::FIRST)
        .iter()
        .any(|c| matches!(c, SipCommand::Answer { .. })));
    rig.give_prompt(10);
    let first = rig.last_playback();
    rig.playback_ends(PlaybackEnd::Finished);
    assert_ne!(rig.last_playback(), first, "looped");
    let ev = ResumeEvent {
        event: "whatever".into(),
        payload: Default::default(),
        token: None,
    };
    assert_eq!(rig.core.resume(ev, rig.now), Ok(ResumeOutcome::DeadEnd));
    rig.drain();
    assert_eq!(
        rig.media_commands().last(),
        Some(&MediaCommand::StopPlayback)
    );
    assert_eq!(
        rig.core.snapshot().unwrap().end_reason,
        Some(flow::EndReason::Finished)
    );
}

#[test]
fn the_filler_plays_while_a_slow_request_runs_on_an_answered_call() {
    let mut config = Rig::config();
    config.filler = Some("typing".into());
    config.filler_after_ms = 1500;
    let mut rig = Rig::call_with(
        json!([{"type": "answer"}, {"type": "webhook_send", "option": {"sync": true, "uri": "http://x/"}}]),
        config,
        Some(offer("sendrecv")),
    );
    let (hook, _) = rig.last_io();
    rig.advance(1500);
    rig.give_prompt(10);
    assert!(rig
        .media_commands()
        .iter()
        .any(|c| matches!(c, MediaCommand::Play { .. })));
    rig.io(
        hook,
        IoResult::completion(Completion::WebhookResponse {
            status: 200,
            body: None,
        }),
    );
    assert_eq!(
        rig.media_commands().last(),
        Some(&MediaCommand::StopPlayback)
    );
    assert_eq!(rig.var("webhook.status"), "200");
}

// ----- re-offers -----

fn sdp_version(sdp: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(sdp);
    let o = text.lines().find(|l| l.starts_with("o=")).unwrap();
    o.split(' ').nth(2).unwrap().parse().unwrap()
}

#[test]
fn hold_resume_hold_answers_with_consecutive_sdp_versions() {
    let mut rig =
        Rig::call(json!([{"type": "answer"}, {"type": "sleep", "option": {"duration": 60000}}]));
    for (cseq, dir) in [(2, "sendonly"), (3, "sendrecv"), (4, "sendonly")] {
        rig.leg(
            LegId::FIRST,
            LegEvent::ReOffer {
                cseq,
                sdp: Some(offer(dir)),
                update: false,
            },
        );
    }
    let answers: Vec<(u32, u64, String)> = rig
        .sip(LegId::FIRST)
        .into_iter()
        .filter_map(|c| match c {
            SipCommand::AnswerReoffer {
                cseq,
                answer: Ok(sdp),
            } => Some((cseq, sdp_version(&sdp), String::from_utf8(sdp).unwrap())),
            _ => None,
        })
        .collect();
    let v = answers[0].1;
    assert_eq!(
        answers.iter().map(|a| a.1).collect::<Vec<_>>(),
        [v, v + 1, v + 2]
    );
    assert!(answers[0].2.contains("a=recvonly"));
    assert!(answers[1].2.contains("a=sendrecv"));
    assert!(answers[2].2.contains("a=recvonly"));
    let updates: Vec<bool> = rig
        .media_commands()
        .into_iter()
        .filter_map(|c| match c {
            MediaCommand::Update(s) => Some(s.sending),
            _ => None,
        })
        .collect();
    assert_eq!(updates, [true, false, true, false]);
}

#[test]
fn an_unusable_reoffer_gets_488_and_changes_nothing() {
    let mut rig =
        Rig::call(json!([{"type": "answer"}, {"type": "sleep", "option": {"duration": 60000}}]));
    rig.leg(
        LegId::FIRST,
        LegEvent::ReOffer {
            cseq: 2,
            sdp: Some(b"garbage".to_vec()),
            update: false,
        },
    );
    assert!(rig.sip(LegId::FIRST).contains(&SipCommand::AnswerReoffer {
        cseq: 2,
        answer: Err(488)
    }));
    assert_eq!(rig.core.sdp_version(LegId::FIRST), Some(1));
}

#[test]
fn a_late_offer_is_answered_in_the_ack() {
    let mut rig = Rig::call_with(
        json!([{"type": "answer"}, {"type": "sleep", "option": {"duration": 60000}}]),
        Rig::config(),
        None,
    );
    let SipCommand::Answer { sdp } = &rig.sip(LegId::FIRST)[0] else {
        panic!()
    };
    assert!(String::from_utf8_lossy(sdp).contains("m=audio 20000 RTP/AVP 0 8 101"));
    assert_eq!(rig.core.leg_stream(LegId::FIRST).unwrap().remote, None);
    rig.leg(
        LegId::FIRST,
        LegEvent::Acked {
            sdp: Some(offer("sendrecv")),
        },
    );
    let stream = rig.core.leg_stream(LegId::FIRST).unwrap();
    assert_eq!(stream.remote, Some("127.0.0.1:40000".parse().unwrap()));
    assert!(stream.sending);
}

// ----- media actions -----

#[test]
fn amd_with_hangup_on_a_machine_hangs_up_and_ends_the_activeflow() {
    let mut rig = Rig::call(json!([
        {"type": "amd", "option": {"machine_handle": "hangup"}},
        {"type": "talk", "option": {"text": "never"}}
    ]));
    let verdict = media::amd::AmdVerdict {
        result: media::amd::AmdResult::Machine,
        cause: media::amd::AmdCause::LongGreeting,
        decided_after_ms: 2000,
        words: 5,
        greeting_voice_ms: 1600,
    };
    rig.media(MediaEvent::Amd(verdict));
    assert_eq!(rig.var("amd.result"), "machine");
    assert!(rig.sip(LegId::FIRST).contains(&SipCommand::Hangup {
        cause: HangupCause::Machine
    }));
    assert_eq!(
        rig.core.snapshot().unwrap().end_reason,
        Some(flow::EndReason::Hangup)
    );
    rig.dialog_ends();
    assert_eq!(ended(&rig), Some(("amd".into(), CallOutcome::Completed)));
}

#[test]
fn amd_without_a_verdict_times_out_as_notsure() {
    let mut rig = Rig::call(json!([{"type": "amd"}]));
    rig.advance(60_000);
    assert_eq!(rig.path()[0], ("amd".into(), "timeout".into()));
    assert_eq!(rig.var("amd.cause"), "TOOLONG");
    assert!(rig.media_commands().contains(&MediaCommand::StopAmd));
}

#[test]
fn recording_start_beeps_then_opens_the_file_and_sets_its_variables() {
    let mut rig = Rig::call(json!([
        {"type": "recording_start", "option": {"beep_start": true, "end_of_key": "#"}},
        {"type": "sleep", "option": {"duration": 60000}}
    ]));
    rig.give_prompt(13);
    rig.playback_ends(PlaybackEnd::Finished);
    let (id, req) = rig.last_io();
    let IoRequest::StartRecording {
        recording_id,
        limits,
        ..
    } = req
    else {
        panic!("{req:?}")
    };
    assert_eq!(limits.end_of_key, Some("#"));
    rig.io(id, IoResult::Recording(Ok(())));
    assert_eq!(rig.var("recording.id"), recording_id);
    assert_eq!(
        rig.var("recording.filenames"),
        format!("{recording_id}.wav")
    );
    assert!(rig.events().contains(&"recording_started"));
    // At the end, the recording is handed back before the BYE.
    rig.leg(LegId::FIRST, LegEvent::RemoteBye);
    assert!(rig.media_commands().contains(&MediaCommand::StopRecording(
        media::session::RecordingEnd::Hangup
    )));
    assert!(!rig.core.is_finished());
    rig.media(MediaEvent::RecordingEnded(
        media::session::RecordingEnd::Hangup,
    ));
    assert!(rig.core.is_finished());
}

#[test]
fn a_failing_prompt_fails_talk_but_play_goes_on_to_the_next_url() {
    let mut rig = Rig::call(json!([
        {"type": "talk", "option": {"text": "x"}},
        {"type": "play", "option": {"stream_urls": ["missing", "beep"]}}
    ]));
    let (id, _) = rig.last_io();
    rig.io(id, IoResult::Prompt(Err("espeak failed".into())));
    let (id, _) = rig.last_io();
    rig.io(id, IoResult::Prompt(Err("no such sound".into())));
    rig.give_prompt(5);
    rig.playback_ends(PlaybackEnd::Finished);
    assert_eq!(
        rig.path(),
        [
            ("talk".into(), "failed: espeak failed".into()),
            ("play".into(), "failed: no such sound".into())
        ]
    );
    assert_eq!(
        rig.log
            .iter()
            .filter(|o| **o == Output::ActionFailed)
            .count(),
        2
    );
}

#[test]
fn digits_send_uses_telephone_events_when_negotiated() {
    let mut rig = Rig::call(json!([{"type": "digits_send", "option": {"digits": "12#"}}]));
    let id = rig
        .media_commands()
        .into_iter()
        .find_map(|c| match c {
            MediaCommand::SendDigits { id, digits, .. } if digits == "12#" => Some(id),
            _ => None,
        })
        .expect("sent as events");
    rig.media(MediaEvent::DigitsSent { id });
    assert_eq!(rig.path()[0], ("digits_send".into(), "done".into()));
}

#[test]
fn echo_runs_for_its_duration() {
    let mut rig = Rig::call(json!([{"type": "stream_echo", "option": {"duration": 3000}}]));
    assert!(rig.media_commands().contains(&MediaCommand::Echo(Some(
        media::session::Echo::AudioAndEvents
    ))));
    rig.advance(3000);
    assert!(rig.media_commands().contains(&MediaCommand::Echo(None)));
    assert_eq!(rig.path()[0], ("stream_echo".into(), "done".into()));
}

// ----- activeflows without a call -----

#[test]
fn an_activeflow_without_a_call_skips_media_and_runs_http() {
    let mut rig = Rig::headless(json!([
        {"type": "talk", "option": {"text": "skipped"}},
        {"type": "webhook_send", "option": {"sync": true, "uri": "http://x/"}},
        {"type": "sleep", "option": {"duration": 1000}}
    ]));
    rig.give_completion(
        Completion::WebhookResponse {
            status: 201,
            body: Some(json!({"tier": "gold"})),
        },
        vec![],
    );
    rig.advance(1000);
    assert!(rig.core.is_finished());
    assert_eq!(
        rig.path(),
        [
            ("talk".into(), "skipped".into()),
            ("webhook_send".into(), "done".into()),
            ("sleep".into(), "done".into())
        ]
    );
    assert_eq!(rig.var("tier"), "gold");
    assert!(rig.sip(LegId::FIRST).is_empty());
}

// ----- several legs -----

fn connect_flow() -> serde_json::Value {
    json!([
        {"type": "answer"},
        {"type": "connect", "option": {"destinations": [
            {"type": "sip", "target": "sip:bob@127.0.0.1:5070"},
            {"type": "sip", "target": "sip:carol@127.0.0.1:5071"}
        ]}},
        {"type": "talk", "option": {"text": "after"}}
    ])
}

fn dials(rig: &Rig) -> Vec<LegId> {
    rig.log
        .iter()
        .filter_map(|o| match o {
            Output::Dial { leg, .. } => Some(*leg),
            _ => None,
        })
        .collect()
}

#[test]
fn a_leg_answering_and_hanging_up_while_the_flow_waits_on_it() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    assert_eq!(legs.len(), 2);
    for leg in &legs {
        rig.core.handle_leg_media(*leg, support::local(), rig.now);
        rig.drain();
        assert!(matches!(rig.sip(*leg)[0], SipCommand::Invite { .. }));
    }
    rig.leg(
        legs[0],
        LegEvent::Progress {
            status: 180,
            sdp: None,
        },
    );
    rig.advance(2000);
    rig.leg(
        legs[1],
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    assert!(rig.log.contains(&Output::Bridge {
        legs: [LegId::FIRST, legs[1]]
    }));
    assert!(matches!(
        rig.sip(legs[0]).last(),
        Some(SipCommand::Hangup { .. })
    ));
    assert_eq!(types(&rig), ["answer"], "the flow waits on the bridge");
    rig.advance(5000);
    rig.leg(legs[1], LegEvent::RemoteBye);
    assert!(rig.log.contains(&Output::Unbridge {
        legs: [LegId::FIRST, legs[1]]
    }));
    assert_eq!(types(&rig), ["answer", "connect"]);
    assert_eq!(rig.var("connect.result"), "answered");
    assert_eq!(rig.var("connect.destination"), "sip:carol@127.0.0.1:5071");
    assert_eq!(rig.var("connect.duration_ms"), "5000");
    // The cancelled leg ends; the flow goes on meanwhile.
    rig.leg(legs[0], LegEvent::Refused { status: 487 });
    let (_, req) = rig.last_io();
    assert!(
        matches!(req, IoRequest::Prompt { source: PromptSource::Speech { ref text, .. }, .. } if text == "after")
    );
}

#[test]
fn busy_destinations_give_busy() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    rig.leg(legs[0], LegEvent::Refused { status: 486 });
    assert!(rig.path().len() == 1, "one destination still rings");
    rig.leg(legs[1], LegEvent::Refused { status: 486 });
    assert_eq!(rig.var("connect.result"), "busy");
    assert_eq!(rig.var("connect.sip_code"), "486");
}

#[test]
fn nobody_answering_rings_out_and_cancels() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    rig.advance(call_ring_timeout());
    assert_eq!(rig.var("connect.result"), "noanswer");
    for leg in legs {
        assert!(matches!(
            rig.sip(leg).last(),
            Some(SipCommand::Hangup { .. })
        ));
    }
}

fn call_ring_timeout() -> u64 {
    60_000
}

#[test]
fn the_caller_hanging_up_while_connecting_cancels_every_leg() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    rig.leg(LegId::FIRST, LegEvent::RemoteBye);
    for leg in &legs {
        assert!(matches!(
            rig.sip(*leg).last(),
            Some(SipCommand::Hangup { .. })
        ));
    }
    // The outbound dialogs finish on their own (CANCEL, or Timer B when they never rang):
    // the call is over for its CDR.
    assert!(rig.core.is_finished());
}

#[test]
fn an_answered_callee_is_hung_up_when_the_caller_leaves_and_the_call_waits_for_the_caller() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    rig.leg(
        legs[0],
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    rig.core.stop(rig.now);
    rig.drain();
    assert!(matches!(
        rig.sip(legs[0]).last(),
        Some(SipCommand::Hangup { .. })
    ));
    assert!(
        !rig.core.is_finished(),
        "the caller's BYE is still in flight"
    );
    rig.dialog_ends();
    assert!(rig.core.is_finished());
}

#[test]
fn only_executed_types_are_capabilities() {
    let without = call::capabilities(call::ShellFeatures::default());
    assert!(without.supports(flow::ActionType::Talk));
    assert!(!without.supports(flow::ActionType::Connect));
    assert!(!without.supports(flow::ActionType::QueueJoin));
    let with = call::capabilities(call::ShellFeatures { dial: true });
    assert!(with.supports(flow::ActionType::Connect));
}

// ----- more of a call's life -----

#[test]
fn an_api_action_without_a_call_is_fired_and_its_answer_is_not_said() {
    let mut rig = Rig::headless(json!([
        {"type": "api_action", "option": {"name": "crm", "failure_target_id": "failed"}},
        {"type": "variable_set", "option": {"key": "path", "value": "ok"}},
        {"type": "stop"},
        {"id": "failed", "type": "variable_set", "option": {"key": "path", "value": "failed"}}
    ]));
    let (id, req) = rig.last_io();
    assert!(matches!(req, IoRequest::ApiAction { ref call_id, .. } if call_id.is_empty()));
    rig.io(
        id,
        IoResult::ApiAction(call::ApiAnswer {
            say: vec!["Sorry, that did not work.".into()],
            vars: vec![("crm.error".into(), "HTTP status 500".into())],
            error: Some("HTTP status 500".into()),
        }),
    );
    assert!(rig.core.is_finished(), "nothing to say without a call");
    assert_eq!(rig.var("path"), "failed");
    assert_eq!(rig.var("crm.error"), "HTTP status 500");
}

#[test]
fn an_activeflow_without_a_call_parks_and_resumes() {
    let mut rig = Rig::headless(json!([
        {"type": "custom", "option": {"name": "approve", "paths": [{"event": "yes", "target_id": "y"}]}},
        {"type": "stop"},
        {"id": "y", "type": "variable_set", "option": {"key": "approved", "value": "${custom.by}"}}
    ]));
    let trace = rig.core.snapshot().unwrap().waiting_on.unwrap();
    assert_eq!(
        (trace.name.as_str(), trace.call_id.clone()),
        ("approve", None)
    );
    let mut payload = serde_json::Map::new();
    payload.insert("by".into(), json!("ann"));
    let ev = ResumeEvent {
        event: "yes".into(),
        payload,
        token: Some(trace.token),
    };
    assert_eq!(
        rig.core.resume(ev, rig.now),
        Ok(ResumeOutcome::Next {
            action_id: "y".into()
        })
    );
    rig.drain();
    assert_eq!(rig.var("approved"), "ann");
    assert!(rig.core.is_finished());
}

#[test]
fn nobody_listening_means_no_events_are_built() {
    let now = flow::Clock {
        wall: support::epoch(),
        mono_ms: 0,
    };
    let h = call::Headless {
        activeflow_id: "a".into(),
        flow_id: "f".into(),
        flow: support::flow(
            json!([{"type": "variable_set", "option": {"key": "k", "value": "v"}}]),
        ),
        variables: flow::Variables::new(),
        webhook_uri: None,
        stop_types: vec![],
    };
    let mut core = call::CallCore::headless(h, Rig::config(), 1, now);
    core.set_observed(false);
    core.start(now);
    let out: Vec<Output> = std::iter::from_fn(|| core.poll_output()).collect();
    assert!(
        out.iter().all(|o| !matches!(o, Output::Event(_))),
        "{out:?}"
    );
    assert!(out.iter().any(|o| matches!(o, Output::ActiveflowEnded(_))));
}

#[test]
fn stopping_through_the_api_mid_prompt_stops_the_playback() {
    let mut rig = Rig::call(json!([{"type": "talk", "option": {"text": "long"}}]));
    rig.give_prompt(500);
    rig.take();
    rig.core.stop(rig.now);
    rig.drain();
    let out = rig.take();
    assert!(out.contains(&Output::Media {
        leg: LegId::FIRST,
        command: MediaCommand::StopPlayback
    }));
    assert_eq!(
        rig.path(),
        [("talk".into(), "failed: stopped through the API".into())]
    );
}

#[test]
fn a_second_answer_after_the_winner_is_hung_up() {
    let mut rig = Rig::call(connect_flow());
    let legs = dials(&rig);
    rig.leg(
        legs[0],
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    rig.leg(
        legs[1],
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    assert!(matches!(
        rig.sip(legs[1]).last(),
        Some(SipCommand::Hangup { .. })
    ));
    let bridges = rig
        .log
        .iter()
        .filter(|o| matches!(o, Output::Bridge { .. }))
        .count();
    assert_eq!(bridges, 1);
}

#[test]
fn relay_reason_hangs_the_caller_up_when_the_callee_does() {
    let mut rig = Rig::call(json!([
        {"type": "answer"},
        {"type": "connect", "option": {"relay_reason": true, "destinations": [{"type": "sip", "target": "sip:bob@127.0.0.1"}]}},
        {"type": "talk", "option": {"text": "never"}}
    ]));
    let leg = dials(&rig)[0];
    rig.leg(
        leg,
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    rig.leg(leg, LegEvent::RemoteBye);
    assert_eq!(rig.var("connect.result"), "answered");
    assert!(rig.sip(LegId::FIRST).contains(&SipCommand::Hangup {
        cause: HangupCause::RemoteBye
    }));
    assert_eq!(
        rig.core.snapshot().unwrap().end_reason,
        Some(flow::EndReason::Hangup)
    );
}

#[test]
fn ringback_plays_to_an_answered_caller_until_the_callee_answers() {
    let mut rig = Rig::call(connect_flow());
    let (_, req) = rig.last_io();
    assert!(matches!(
        req,
        IoRequest::Prompt {
            source: PromptSource::Ringback,
            ..
        }
    ));
    rig.give_prompt(300);
    let legs = dials(&rig);
    rig.leg(
        legs[0],
        LegEvent::Answered {
            sdp: Some(offer("sendrecv")),
        },
    );
    assert!(rig.media_commands().contains(&MediaCommand::StopPlayback));
}

fn extension_flow() -> serde_json::Value {
    json!([
        {"type": "answer"},
        {"type": "connect", "option": {"destinations": [{"type": "extension", "target": "alice"}]}},
        {"type": "talk", "option": {"text": "after"}}
    ])
}

#[test]
fn an_extension_rings_every_contact_it_registered() {
    let mut rig = Rig::call(extension_flow());
    let (id, req) = rig.last_io();
    let IoRequest::Destinations { destinations } = req else {
        panic!("{req:?}")
    };
    assert_eq!(destinations[0].target, "alice");
    let contact = |uri: &str| flow::options::Address {
        address_type: Some("sip".into()),
        target: uri.into(),
        target_name: None,
        name: None,
        detail: None,
    };
    rig.io(
        id,
        IoResult::Destinations(vec![
            contact("sip:alice@127.0.0.1:5062"),
            contact("sip:alice@127.0.0.1:5064"),
        ]),
    );
    let requests: Vec<String> = rig
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Dial { request, .. } => Some(request.destination.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        requests,
        ["sip:alice@127.0.0.1:5062", "sip:alice@127.0.0.1:5064"]
    );
}

#[test]
fn an_extension_with_no_contact_fails_with_480() {
    let mut rig = Rig::call(extension_flow());
    let (id, _) = rig.last_io();
    rig.io(id, IoResult::Destinations(Vec::new()));
    assert_eq!(rig.var("connect.result"), "failed");
    assert_eq!(rig.var("connect.sip_code"), "480");
    assert!(dials(&rig).is_empty());
}
