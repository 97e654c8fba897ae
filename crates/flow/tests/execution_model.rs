//! flows.md §2: successor rule, stacks, finish and hangup, budget, media gating, the log.

mod common;

use common::*;
use flow::{
    parse_actions, ActionType, Capabilities, Command, Completion, Cursor, CursorOptions, EndReason,
    Outcome, Status, Step,
};
use serde_json::json;

#[test]
fn running_off_the_main_array_finishes_the_flow() {
    let mut c = cursor(
        json!([{"type": "variable_set", "option": {"key": "a", "value": "1"}}]),
        &[],
    );
    assert_eq!(c.next(at(0)), Step::Ended(EndReason::Finished));
    assert_eq!(c.status(), Status::Ended);
    assert_eq!(c.end_reason(), Some(EndReason::Finished));
    assert_eq!(
        c.next(at(1)),
        Step::Ended(EndReason::Finished),
        "ended stays ended"
    );
}

#[test]
fn empty_flow_finishes_at_once() {
    let mut c = cursor(json!({"actions": []}), &[]);
    assert_eq!(c.next(at(0)), Step::Ended(EndReason::Finished));
    assert!(c.executed().is_empty());
}

#[test]
fn stop_action_ends_the_flow_as_stopped() {
    let mut c = cursor(json!([{"type": "stop"}, {"type": "answer"}]), &[]);
    assert_eq!(run_done(&mut c), (vec![], EndReason::Stopped));
    assert_eq!(outcomes(&c), ["done"]);
}

#[test]
fn hangup_action_is_executed_then_the_flow_ends_with_hangup() {
    let mut c = cursor(
        json!([{"type": "hangup", "option": {"reason": "busy"}}, {"type": "answer"}]),
        &[],
    );
    let (cmds, end) = run_done(&mut c);
    assert_eq!(
        cmds,
        [Command::Hangup {
            reason: flow::HangupReason::Busy,
            reference_id: None
        }]
    );
    assert_eq!(end, EndReason::Hangup);
}

#[test]
fn hangup_relay_hangs_up_mirroring_the_reference_call() {
    let mut c = cursor(
        json!([{"type": "hangup_relay", "option": {"reference_id": "${call.master_call_id}"}}]),
        &[("call.master_call_id", "m1")],
    );
    let (cmds, _) = run_done(&mut c);
    let want = Command::Hangup {
        reason: flow::HangupReason::Normal,
        reference_id: Some("m1".into()),
    };
    assert_eq!(cmds, [want]);
}

#[test]
fn next_id_overrides_the_following_element_and_nil_means_sequential() {
    let mut c = cursor(
        json!([
            {"id": "a", "type": "empty", "next_id": "c"},
            {"id": "b", "type": "empty"},
            {"id": "c", "type": "empty", "next_id": "00000000-0000-0000-0000-000000000000"},
            {"id": "d", "type": "empty", "next_id": ""}
        ]),
        &[],
    );
    run_done(&mut c);
    assert_eq!(trail(&c), ["a", "c", "d"]);
}

#[test]
fn next_id_of_a_command_action_applies_after_completion() {
    let mut c = cursor(
        json!([{"type": "answer", "next_id": "z"}, {"type": "beep"}, {"id": "z", "type": "empty"}]),
        &[],
    );
    let (cmds, _) = run_done(&mut c);
    assert_eq!(cmds, [Command::Answer]);
}

#[test]
fn next_while_a_command_is_in_flight_returns_it_again() {
    let mut c = cursor(json!([{"type": "answer"}, {"type": "beep"}]), &[]);
    assert_eq!(c.next(at(0)), Step::Execute(Command::Answer));
    assert_eq!(c.next(at(1)), Step::Execute(Command::Answer));
    assert_eq!(
        c.current().map(|a| a.action_type()),
        Some(ActionType::Answer)
    );
    c.complete(at(2), Completion::Done);
    assert_eq!(c.next(at(3)), Step::Execute(Command::Beep));
}

#[test]
fn completion_without_a_command_in_flight_is_ignored() {
    let mut c = cursor(json!([{"type": "answer"}]), &[]);
    c.complete(at(0), Completion::Done);
    assert!(c.executed().is_empty());
    assert_eq!(c.next(at(0)), Step::Execute(Command::Answer));
}

fn fetched(doc: serde_json::Value) -> Completion {
    match parse_actions(&doc, &Capabilities::all()) {
        Ok((actions, _)) => Completion::Pushed(actions),
        Err(p) => panic!("{p:?}"),
    }
}

#[test]
fn pushed_stack_returns_to_the_pusher_and_continues_after_it() {
    let mut c = cursor(
        json!([
            {"id": "f", "type": "fetch", "option": {"event_url": "https://x"}},
            {"id": "after", "type": "talk", "option": {"text": "after"}}
        ]),
        &[],
    );
    let (cmds, end) = run(&mut c, |cmd, _| match cmd {
        Command::Fetch { .. } => {
            fetched(json!([{"id": "in", "type": "talk", "option": {"text": "inside"}}]))
        }
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["inside", "after"]);
    assert_eq!(end, EndReason::Finished);
    assert_eq!(trail(&c), ["f", "in", "after"]);
}

#[test]
fn pushed_stack_return_honours_the_pushers_next_id() {
    let mut c = cursor(
        json!([
            {"type": "fetch_flow", "option": {"flow_id": "lib"}, "next_id": "end"},
            {"type": "talk", "option": {"text": "skipped"}},
            {"id": "end", "type": "talk", "option": {"text": "end"}}
        ]),
        &[],
    );
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::FetchFlow { flow_id } if flow_id == "lib" => {
            fetched(json!({"actions": [{"type": "beep"}]}))
        }
        _ => Completion::Done,
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["end"]
    );
}

#[test]
fn inner_jump_to_an_outer_id_leaves_the_inner_stacks() {
    let mut c = cursor(
        json!([
            {"type": "fetch", "option": {"event_url": "https://x"}},
            {"type": "talk", "option": {"text": "not reached"}},
            {"id": "menu", "type": "talk", "option": {"text": "menu"}}
        ]),
        &[],
    );
    let mut depth_at_menu = 0;
    let (cmds, _) = run(&mut c, |cmd, c| {
        if talk_text(cmd) == Some("menu") {
            depth_at_menu = c.depth();
        }
        match cmd {
            Command::Fetch { .. } => fetched(json!([
                {"type": "goto", "option": {"target_id": "menu", "loop_count": 1}},
                {"type": "talk", "option": {"text": "inner not reached"}}
            ])),
            _ => Completion::Done,
        }
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["menu"]
    );
    assert_eq!(depth_at_menu, 1);
}

#[test]
fn next_id_into_an_ancestor_stack_leaves_the_inner_stacks() {
    let mut c = cursor(
        json!([
            {"type": "fetch", "option": {"event_url": "https://x"}},
            {"id": "outer", "type": "talk", "option": {"text": "outer"}}
        ]),
        &[],
    );
    let mut fetches = 0;
    let (cmds, end) = run(&mut c, |cmd, c| match cmd {
        Command::Fetch { .. } => {
            fetches += 1;
            if fetches == 1 {
                fetched(
                    json!([{"type": "fetch", "option": {"event_url": "https://y"}}, {"type": "talk", "option": {"text": "middle"}}]),
                )
            } else {
                assert_eq!(c.depth(), 2);
                fetched(
                    json!([{"type": "empty", "next_id": "outer"}, {"type": "talk", "option": {"text": "inner"}}]),
                )
            }
        }
        _ => Completion::Done,
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["outer"]
    );
    assert_eq!(end, EndReason::Finished);
}

#[test]
fn pushed_actions_jumping_to_unknown_ids_fail_the_fetch_and_the_flow_continues() {
    let mut c = cursor(
        json!([{"type": "fetch", "option": {"event_url": "https://x"}}, {"type": "talk", "option": {"text": "after"}}]),
        &[],
    );
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::Fetch { .. } => {
            fetched(json!([{"type": "goto", "option": {"target_id": "nowhere", "loop_count": 1}}]))
        }
        _ => Completion::Done,
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["after"]
    );
    assert!(
        outcomes(&c)[0].starts_with("failed: "),
        "{:?}",
        outcomes(&c)
    );
    assert!(outcomes(&c)[0].contains("nowhere"));
}

#[test]
fn failed_fetch_continues_after_it() {
    let mut c = cursor(
        json!([{"type": "fetch", "option": {"event_url": "https://x"}}, {"type": "beep"}]),
        &[],
    );
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::Fetch { .. } => Completion::Failed("HTTP 500".into()),
        _ => Completion::Done,
    });
    assert_eq!(cmds.last(), Some(&Command::Beep));
    assert_eq!(outcomes(&c), ["failed: HTTP 500", "done"]);
}

#[test]
fn pushing_from_a_non_pushing_action_fails_it() {
    let mut c = cursor(json!([{"type": "answer"}]), &[]);
    let _ = c.next(at(0));
    c.complete(at(1), fetched(json!([{"type": "beep"}])));
    assert_eq!(c.next(at(2)), Step::Ended(EndReason::Finished));
    assert!(outcomes(&c)[0].starts_with("failed"));
}

#[test]
fn action_budget_ends_the_flow_with_a_log_entry() {
    let doc = json!([{"id": "t", "type": "beep"}, {"type": "goto", "option": {"target_id": "t"}}]);
    let opts = CursorOptions {
        max_actions: 5,
        ..CursorOptions::default()
    };
    let mut c = Cursor::new(flow(doc), vars(&[]), opts);
    let (cmds, end) = run_done(&mut c);
    assert_eq!(end, EndReason::BudgetExceeded);
    assert_eq!(cmds.len(), 3);
    assert_eq!(c.executed().len(), 6, "5 made current plus the refused one");
    let last = c.executed().last().map(|e| e.outcome.clone());
    assert_eq!(
        last,
        Some(Outcome::Failed("action budget of 5 exceeded".into()))
    );
}

#[test]
fn control_step_limit_stops_a_goto_loop_without_loop_count() {
    let doc = json!([{"id": "a", "type": "empty"}, {"type": "goto", "option": {"target_id": "a"}}]);
    let mut c = cursor(doc, &[]);
    assert_eq!(c.next(at(0)), Step::Ended(EndReason::BudgetExceeded));
    assert_eq!(c.executed().len(), 1001);
    assert!(outcomes(&c)[1000].contains("more than 1000 consecutive actions without media time"));
}

#[test]
fn media_actions_reset_the_control_step_count() {
    let doc = json!([{"id": "a", "type": "empty"}, {"type": "beep"}, {"type": "goto", "option": {"target_id": "a"}}]);
    let opts = CursorOptions {
        max_control_steps: 2,
        max_actions: 30,
        has_call: true,
    };
    let mut c = Cursor::new(flow(doc), vars(&[]), opts);
    let (_, end) = run_done(&mut c);
    assert_eq!(end, EndReason::BudgetExceeded);
    assert!(outcomes(&c)
        .last()
        .is_some_and(|o| o.contains("action budget of 30")));
}

#[test]
fn without_a_call_media_actions_are_skipped_with_a_warning() {
    let doc = json!([{"type": "answer"}, {"type": "talk", "option": {"text": "hi"}}, {"type": "sleep", "option": {"duration": 10}}]);
    let opts = CursorOptions {
        has_call: false,
        ..CursorOptions::default()
    };
    let mut c = Cursor::new(flow(doc), vars(&[]), opts);
    let (cmds, end) = run_done(&mut c);
    assert_eq!(cmds, [Command::Sleep { duration_ms: 10 }]);
    assert_eq!(end, EndReason::Finished);
    assert_eq!(outcomes(&c), ["skipped", "skipped", "done"]);
    assert_eq!(c.executed()[0].note.as_deref(), Some("no call leg"));
}

#[test]
fn without_a_call_a_hangup_action_stops_the_flow() {
    let opts = CursorOptions {
        has_call: false,
        ..CursorOptions::default()
    };
    let mut c = Cursor::new(
        flow(json!([{"type": "hangup"}, {"type": "beep"}])),
        vars(&[]),
        opts,
    );
    assert_eq!(run_done(&mut c), (vec![], EndReason::Stopped));
}

#[test]
fn external_hangup_ends_the_flow_and_logs_the_interrupted_action() {
    let mut c = cursor(
        json!([{"type": "talk", "option": {"text": "hi"}}, {"type": "beep"}]),
        &[],
    );
    let _ = c.next(at(10));
    c.hangup(at(25));
    assert_eq!(c.status(), Status::Ended);
    assert_eq!(c.end_reason(), Some(EndReason::Hangup));
    assert_eq!(outcomes(&c), ["failed: the call hung up"]);
    assert_eq!(c.executed()[0].duration_ms, 15);
    c.complete(at(30), Completion::Done);
    assert_eq!(c.executed().len(), 1, "late completion ignored");
    c.stop(at(31));
    assert_eq!(c.end_reason(), Some(EndReason::Hangup), "first end wins");
}

#[test]
fn api_stop_ends_with_reason_api() {
    let mut c = cursor(
        json!([{"type": "sleep", "option": {"duration": 1000}}]),
        &[],
    );
    let _ = c.next(at(0));
    c.stop(at(5));
    assert_eq!(c.next(at(6)), Step::Ended(EndReason::Api));
    assert_eq!(outcomes(&c), ["failed: stopped through the API"]);
}

#[test]
fn log_records_wall_time_outcome_and_monotonic_duration() {
    let mut c = cursor(
        json!([{"id": "s", "type": "sleep", "option": {"duration": 100}}]),
        &[],
    );
    let t0 = flow::Clock {
        wall: wall("2024-01-02T03:04:05Z"),
        mono_ms: 1_000,
    };
    let _ = c.next(t0);
    c.complete(
        flow::Clock {
            wall: wall("2024-01-02T03:04:06Z"),
            mono_ms: 1_100,
        },
        Completion::Timeout,
    );
    let e = &c.executed()[0];
    assert_eq!(e.tm_execute, wall("2024-01-02T03:04:05Z"));
    assert_eq!((e.outcome.clone(), e.duration_ms), (Outcome::Timeout, 100));
    let json = serde_json::to_value(e).unwrap_or_default();
    assert_eq!(json["tm_execute"], "2024-01-02T03:04:05Z");
    assert_eq!(json["type"], "sleep");
}

#[test]
fn custom_action_parks_the_flow_as_waiting() {
    let mut c = cursor(json!([{"type": "custom", "option": {"name": "pay"}}]), &[]);
    assert!(matches!(c.next(at(0)), Step::Execute(Command::Custom(_))));
    assert_eq!(c.status(), Status::Waiting);
    c.complete(at(1), Completion::Done);
    assert_eq!(c.status(), Status::Running);
}

#[test]
fn api_request_failure_jumps_to_its_failure_target() {
    let doc = json!([
        {"type": "api_request", "option": {"url": "https://x", "failure_target_id": "down"}},
        {"type": "talk", "option": {"text": "ok"}},
        {"id": "down", "type": "talk", "option": {"text": "down"}}
    ]);
    let mut c = cursor(doc.clone(), &[]);
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::ApiRequest(_) => Completion::Timeout,
        _ => Completion::Done,
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["down"]
    );
    let mut c = cursor(doc, &[]);
    let (cmds, _) = run_done(&mut c);
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["ok", "down"]
    );
}

#[test]
fn types_without_a_dedicated_command_reach_the_shell_as_other() {
    let mut c = cursor(
        json!([{"type": "queue_join", "option": {"queue_id": "${q}"}}]),
        &[("q", "sales")],
    );
    let Step::Execute(Command::Other {
        action_type,
        option,
    }) = c.next(at(0))
    else {
        panic!("other")
    };
    assert_eq!(action_type, ActionType::QueueJoin);
    assert_eq!(option, json!({"queue_id": "sales"}));
}
