//! custom-actions.md §1–2: `custom` park and resume, library custom actions with their own
//! scope and `output`. All with fake time.

mod common;

use std::collections::BTreeMap;

use common::*;
use flow::options::CustomOption;
use flow::{
    custom_outcome, parse_actions, ActionId, Capabilities, Command, Completion, Cursor,
    CustomOutcome, EndReason, Status, Step, MAX_CUSTOM_ACTION_DEPTH,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// custom
// ---------------------------------------------------------------------------------------

fn pay_flow(default_path: Option<u32>) -> Value {
    let mut option = json!({
        "name": "Pay Credit Card",
        "payload": {"amount": 25},
        "paths": [
            {"event": "success", "target_id": "thanks"},
            {"event": "denied", "target_id": "declined"}
        ]
    });
    if let Some(i) = default_path {
        option["default_path"] = json!(i);
    }
    json!([
        {"id": "pay", "type": "custom", "option": option},
        {"id": "after", "type": "talk", "option": {"text": "after"}},
        {"type": "stop"},
        {"id": "thanks", "type": "talk", "option": {"text": "thanks"}},
        {"type": "stop"},
        {"id": "declined", "type": "talk", "option": {"text": "declined"}}
    ])
}

fn payload(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("payload must be an object"),
    }
}

/// Runs `doc`, completing the first `custom` with `first`, everything else with `Done`;
/// returns the talk texts and the end.
fn run_custom(c: &mut Cursor, first: Completion) -> (Vec<String>, EndReason) {
    let mut first = Some(first);
    let (cmds, end) = run(c, |cmd, _| match cmd {
        Command::Custom(_) => first.take().unwrap_or(Completion::Done),
        _ => Completion::Done,
    });
    let texts = cmds
        .iter()
        .filter_map(talk_text)
        .map(str::to_owned)
        .collect();
    (texts, end)
}

#[test]
fn custom_event_jumps_to_its_path_and_sets_flattened_custom_variables() {
    let mut c = cursor(pay_flow(None), &[]);
    let event = Completion::CustomEvent {
        event: "denied".into(),
        payload: payload(json!({"code": "51", "amount": 25, "ok": false,
            "card": {"brand": "visa", "bin": {"country": "DE"}}, "tags": ["a", 1]})),
    };
    let (texts, end) = run_custom(&mut c, event);
    assert_eq!(
        (texts, end),
        (vec!["declined".to_owned()], EndReason::Finished)
    );
    let v = c.variables();
    assert_eq!(v.get("custom.event"), Some("denied"));
    assert_eq!(v.get("custom.code"), Some("51"));
    assert_eq!(v.get("custom.amount"), Some("25"));
    assert_eq!(v.get("custom.ok"), Some("false"));
    assert_eq!(v.get("custom.card.brand"), Some("visa"));
    assert_eq!(v.get("custom.card.bin.country"), Some("DE"));
    assert_eq!(v.get("custom.tags"), Some(r#"["a",1]"#));
    assert_eq!(outcomes(&c)[0], "done");
    assert_eq!(c.executed()[0].note, None);
}

#[test]
fn custom_event_type_wins_over_a_payload_field_named_event() {
    let mut c = cursor(pay_flow(None), &[]);
    let event = Completion::CustomEvent {
        event: "success".into(),
        payload: payload(json!({"event": "spoofed"})),
    };
    let (texts, _) = run_custom(&mut c, event);
    assert_eq!(texts, ["thanks"]);
    assert_eq!(c.variables().get("custom.event"), Some("success"));
}

#[test]
fn unknown_custom_event_is_a_dead_end_that_finishes_the_flow() {
    let mut c = cursor(pay_flow(Some(0)), &[]);
    let event = Completion::CustomEvent {
        event: "Success".into(),
        payload: payload(json!({"x": "1"})),
    };
    let (texts, end) = run_custom(&mut c, event);
    assert_eq!((texts.len(), end), (0, EndReason::Finished));
    assert_eq!(c.status(), Status::Ended);
    assert_eq!(trail(&c), ["pay"]);
    assert_eq!(outcomes(&c), ["done"]);
    assert_eq!(c.executed()[0].note.as_deref(), Some("dead_end"));
    assert_eq!(c.variables().get("custom.event"), Some("Success"));
    assert_eq!(c.variables().get("custom.x"), Some("1"));
}

#[test]
fn oversized_custom_payload_sets_no_payload_variables_but_still_picks_the_path() {
    let mut c = cursor(pay_flow(None), &[]);
    let big: serde_json::Map<String, Value> =
        (0..150).map(|i| (format!("k{i}"), json!("v"))).collect();
    let event = Completion::CustomEvent {
        event: "success".into(),
        payload: big,
    };
    let (texts, _) = run_custom(&mut c, event);
    assert_eq!(texts, ["thanks"]);
    assert_eq!(c.variables().get("custom.k0"), None);
    assert_eq!(c.variables().get("custom.event"), Some("success"));
    let note = c.executed()[0].note.clone().unwrap_or_default();
    assert!(note.starts_with("payload variables refused"), "{note}");
}

#[test]
fn custom_default_follows_default_path_when_set() {
    let mut c = cursor(pay_flow(Some(1)), &[]);
    let (texts, _) = run_custom(&mut c, Completion::CustomDefault);
    assert_eq!(texts, ["declined"]);
    assert_eq!(outcomes(&c)[0], "done");
}

#[test]
fn custom_default_without_default_path_continues_with_the_next_action() {
    let mut c = cursor(pay_flow(None), &[]);
    let (texts, end) = run_custom(&mut c, Completion::CustomDefault);
    assert_eq!((texts, end), (vec!["after".to_owned()], EndReason::Stopped));
}

#[test]
fn custom_default_path_out_of_range_means_no_target() {
    // Validation refuses an out-of-range `default_path` in a stored flow; the option-level
    // rule the cursor uses still treats it as "next action" (runtime safety).
    let opt: CustomOption = serde_json::from_value(json!({
        "name": "x", "paths": [{"event": "a", "target_id": "t"}], "default_path": 5}))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(opt.default_target(), None);
    let opt = CustomOption {
        default_path: Some(0),
        ..opt
    };
    assert_eq!(opt.default_target(), Some(&ActionId::from("t")));
    let opt = CustomOption {
        default_path: None,
        ..opt
    };
    assert_eq!(opt.default_target(), None);
}

#[test]
fn custom_timeout_follows_the_default_path_and_is_logged_timeout() {
    let mut c = cursor(pay_flow(Some(0)), &[]);
    let (texts, _) = run_custom(&mut c, Completion::Timeout);
    assert_eq!(texts, ["thanks"]);
    assert_eq!(outcomes(&c)[0], "timeout");
}

#[test]
fn custom_done_continues_with_the_next_action() {
    let mut c = cursor(pay_flow(Some(0)), &[]);
    let (texts, _) = run_custom(&mut c, Completion::Done);
    assert_eq!(texts, ["after"]);
}

#[test]
fn status_is_waiting_only_while_custom_is_in_flight() {
    let mut c = cursor(pay_flow(None), &[]);
    assert_eq!(c.status(), Status::Running);
    assert!(matches!(c.next(at(0)), Step::Execute(Command::Custom(_))));
    assert_eq!(c.status(), Status::Waiting);
    assert_eq!(c.current().map(|a| a.id().as_str()), Some("pay"));
    // Asking again while parked returns the same command and stays waiting.
    assert!(matches!(c.next(at(5)), Step::Execute(Command::Custom(_))));
    assert_eq!(c.status(), Status::Waiting);
    c.complete(
        at(30_000),
        Completion::CustomEvent {
            event: "success".into(),
            payload: Default::default(),
        },
    );
    assert_eq!(c.status(), Status::Running);
    assert!(matches!(
        c.next(at(30_000)),
        Step::Execute(Command::Talk(_))
    ));
    assert_eq!(c.status(), Status::Running);
    assert_eq!(c.executed()[0].duration_ms, 30_000);
}

#[test]
fn custom_completions_for_other_commands_fail_the_action() {
    let doc = json!([{"type": "beep"}, {"type": "beep"}, {"type": "custom_action", "option": {"name": "x"}}]);
    let mut c = cursor(doc, &[]);
    let _ = c.next(at(0));
    c.complete(
        at(1),
        Completion::CustomEvent {
            event: "a".into(),
            payload: Default::default(),
        },
    );
    let _ = c.next(at(1));
    c.complete(at(2), Completion::CustomDefault);
    let _ = c.next(at(2));
    c.complete(
        at(3),
        Completion::EnterCustomAction {
            actions: vec![],
            inputs: BTreeMap::new(),
            outputs: vec![],
        },
    );
    assert_eq!(c.next(at(3)), Step::Ended(EndReason::Finished));
    assert_eq!(
        outcomes(&c),
        [
            "failed: `beep` got a custom event",
            "failed: `beep` got a custom default",
            "done"
        ]
    );
    // And the other way round.
    let mut c = cursor(json!([{"type": "beep"}]), &[]);
    let _ = c.next(at(0));
    c.complete(
        at(1),
        Completion::EnterCustomAction {
            actions: vec![],
            inputs: BTreeMap::new(),
            outputs: vec![],
        },
    );
    assert_eq!(
        outcomes(&c),
        ["failed: `beep` cannot enter a custom action"]
    );
}

#[test]
fn custom_outcome_names_the_next_action_or_a_dead_end() {
    let opt: CustomOption = serde_json::from_value(json!({"name": "pay", "paths": [
        {"event": "success", "target_id": "thanks"},
        {"event": "success", "target_id": "second"},
        {"event": "denied", "target_id": "declined"}]}))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        custom_outcome(&opt, "success"),
        CustomOutcome::Jump(ActionId::from("thanks"))
    );
    assert_eq!(
        custom_outcome(&opt, "denied"),
        CustomOutcome::Jump(ActionId::from("declined"))
    );
    assert_eq!(custom_outcome(&opt, "pending"), CustomOutcome::DeadEnd);
    assert_eq!(custom_outcome(&opt, ""), CustomOutcome::DeadEnd);
}

#[test]
fn custom_path_targets_resolve_in_ancestor_stacks() {
    let doc = json!([
        {"type": "fetch", "option": {"event_url": "https://x"}},
        {"id": "outer", "type": "talk", "option": {"text": "outer"}}
    ]);
    let mut c = cursor(doc, &[]);
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::Fetch { .. } => Completion::Pushed(actions(json!([
            {"type": "custom", "option": {"name": "p", "paths": [{"event": "go", "target_id": "outer"}]}},
            {"type": "talk", "option": {"text": "inner"}}
        ]))),
        Command::Custom(_) => Completion::CustomEvent {
            event: "go".into(),
            payload: Default::default(),
        },
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["outer"]);
}

// ---------------------------------------------------------------------------------------
// custom_action + output
// ---------------------------------------------------------------------------------------

/// Actions as the runtime builds them.
fn actions(doc: Value) -> Vec<flow::Action> {
    match parse_actions(&doc, &Capabilities::all()) {
        Ok((a, _)) => a,
        Err(p) => panic!("invalid actions: {p:?}"),
    }
}

fn enter(doc: Value, inputs: &[(&str, &str)], outputs: &[&str]) -> Completion {
    Completion::EnterCustomAction {
        actions: actions(doc),
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
    }
}

/// The caller flow: a `custom_action` named `appt_lib` with outputs mapped to `ok` / `bad`.
fn caller(using: Value) -> Value {
    json!([
        {"id": "set", "type": "variable_set", "option": {"key": "mine", "value": "caller's"}},
        {"id": "use", "type": "custom_action", "option": using},
        {"id": "after", "type": "talk", "option": {"text": "after ${mine} ${inner}"}},
        {"type": "stop"},
        {"id": "ok", "type": "talk", "option": {"text": "ok ${appt.booking_id}"}},
        {"type": "stop"},
        {"id": "bad", "type": "talk", "option": {"text": "bad"}}
    ])
}

fn appt_option() -> Value {
    json!({"name": "appt_lib", "version": "^1", "inputs": {"calendar_url": "https://cal"},
        "outputs": {"success": "ok", "fail": "bad"}, "as": "appt"})
}

/// Runs `doc`, answering the first `custom_action` with `def`; talk texts and end.
fn run_with(
    c: &mut Cursor,
    def: Completion,
    mut on_talk: impl FnMut(&str, &Cursor),
) -> (Vec<String>, EndReason) {
    let mut def = Some(def);
    let (cmds, end) = run(c, |cmd, cur| match cmd {
        Command::CustomAction(_) => def
            .take()
            .unwrap_or_else(|| Completion::Failed("no definition".into())),
        Command::Talk(t) => {
            on_talk(&t.text, cur);
            Completion::Done
        }
        _ => Completion::Done,
    });
    let texts = cmds
        .iter()
        .filter_map(talk_text)
        .map(str::to_owned)
        .collect();
    (texts, end)
}

#[test]
fn custom_action_command_carries_the_templated_using_option() {
    let mut c = cursor(
        caller(json!({"name": "appt_lib", "inputs": {"who": "${call.source.target}"}})),
        &[("call.source.target", "+1")],
    );
    let Step::Execute(Command::CustomAction(o)) = c.next(at(0)) else {
        panic!("custom_action")
    };
    assert_eq!(o.name, "appt_lib");
    assert_eq!(o.inputs.get("who"), Some(&json!("+1")));
    assert_eq!(c.status(), Status::Running);
}

#[test]
fn inner_scope_sees_inputs_and_built_ins_but_not_caller_variables() {
    let inner = json!([
        {"id": "t", "type": "talk", "option": {"text": "${input.calendar_url}|${input.greeting}|${call.source.target}|${activeflow.id}|${mine}"}},
        {"type": "variable_set", "option": {"key": "inner", "value": "set inside"}},
        {"type": "variable_set", "option": {"key": "call.digits", "value": "99"}}
    ]);
    let mut c = cursor(
        caller(appt_option()),
        &[
            ("call.source.target", "+1555"),
            ("activeflow.id", "af1"),
            ("call.digits", "1"),
        ],
    );
    let mut inside = Vec::new();
    let (texts, end) = run_with(
        &mut c,
        enter(
            inner,
            &[("calendar_url", "https://cal"), ("greeting", "hi")],
            &["success", "fail"],
        ),
        |_, cur| {
            inside.push((
                cur.custom_action_depth(),
                cur.variables().get("input.greeting").map(str::to_owned),
            ))
        },
    );
    assert_eq!(texts[0], "https://cal|hi|+1555|af1|");
    // Ran off the end: leaves through the first output (`success` → `ok`), nothing exported.
    assert_eq!(texts[1], "ok ");
    assert_eq!(end, EndReason::Stopped);
    assert_eq!(inside[0], (1, Some("hi".to_owned())));
    assert_eq!(inside[1], (0, None));
    let v = c.variables();
    assert_eq!(v.get("inner"), None, "inner variables stay inside");
    assert_eq!(v.get("input.greeting"), None);
    assert_eq!(
        v.get("call.digits"),
        Some("1"),
        "the caller's scope is restored"
    );
    assert_eq!(v.get("mine"), Some("caller's"));
}

#[test]
fn output_exports_prefixed_variables_and_jumps_to_the_mapped_caller_target() {
    let inner = json!([
        {"type": "variable_set", "option": {"key": "booking.id", "value": "B-${input.n}"}},
        {"type": "output", "option": {"path": "success", "variables": {
            "booking_id": "${booking.id}", "when": "tomorrow", "caller": "${call.source.target}"}}},
        {"type": "talk", "option": {"text": "never"}}
    ]);
    let mut c = cursor(caller(appt_option()), &[("call.source.target", "+1")]);
    let (texts, _) = run_with(
        &mut c,
        enter(inner, &[("n", "7")], &["success", "fail"]),
        |_, _| {},
    );
    assert_eq!(texts, ["ok B-7"]);
    let v = c.variables();
    assert_eq!(v.get("appt.booking_id"), Some("B-7"));
    assert_eq!(v.get("appt.when"), Some("tomorrow"));
    assert_eq!(v.get("appt.caller"), Some("+1"));
    assert_eq!(v.get("booking.id"), None);
    assert_eq!(
        trail(&c)[..4],
        [
            "set".to_owned(),
            "use".to_owned(),
            c.executed()[2].id.to_string(),
            c.executed()[3].id.to_string()
        ]
    );
    // The log has the inner actions, in order.
    let types: Vec<&str> = c
        .executed()
        .iter()
        .map(|e| e.action_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "variable_set",
            "custom_action",
            "variable_set",
            "output",
            "talk",
            "stop"
        ]
    );
    assert_eq!(outcomes(&c)[3], "done");
}

#[test]
fn without_as_exports_are_prefixed_with_the_custom_action_name() {
    let inner =
        json!([{"type": "output", "option": {"path": "fail", "variables": {"reason": "busy"}}}]);
    let using = json!({"name": "appt_lib", "outputs": {"success": "ok", "fail": "bad"}});
    let mut c = cursor(caller(using), &[]);
    let (texts, _) = run_with(&mut c, enter(inner, &[], &["success", "fail"]), |_, _| {});
    assert_eq!(texts, ["bad"]);
    assert_eq!(c.variables().get("appt_lib.reason"), Some("busy"));
}

#[test]
fn unmapped_output_path_continues_after_the_custom_action() {
    let inner =
        json!([{"type": "output", "option": {"path": "not_interested", "variables": {"x": "1"}}}]);
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run_with(
        &mut c,
        enter(inner, &[], &["success", "fail", "not_interested"]),
        |_, _| {},
    );
    assert_eq!(texts, ["after caller's "]);
    assert_eq!(c.variables().get("appt.x"), Some("1"));
    assert_eq!(c.executed()[2].note, None);
}

#[test]
fn unmapped_path_honours_the_custom_action_next_id() {
    let doc = json!([
        {"id": "use", "type": "custom_action", "next_id": "later", "option": {"name": "lib"}},
        {"type": "talk", "option": {"text": "skipped"}},
        {"id": "later", "type": "talk", "option": {"text": "later"}}
    ]);
    let mut c = cursor(doc, &[]);
    let (texts, _) = run_with(
        &mut c,
        enter(json!([{"type": "empty"}]), &[], &["done"]),
        |_, _| {},
    );
    assert_eq!(texts, ["later"]);
}

#[test]
fn undeclared_output_path_leaves_through_the_first_output_with_a_note() {
    let inner = json!([{"type": "output", "option": {"path": "typo", "variables": {"x": "1"}}}]);
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run_with(&mut c, enter(inner, &[], &["success", "fail"]), |_, _| {});
    assert_eq!(texts, ["ok "]);
    assert_eq!(c.variables().get("appt.x"), Some("1"));
    let note = c.executed()[2].note.clone().unwrap_or_default();
    assert!(
        note.contains("`typo` is not declared; leaving through `success`"),
        "{note}"
    );
}

#[test]
fn running_off_the_end_of_an_empty_custom_action_takes_the_first_output() {
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run_with(
        &mut c,
        enter(json!([]), &[], &["fail", "success"]),
        |_, _| {},
    );
    assert_eq!(texts, ["bad"]);
    // No declared outputs at all: continue after the custom_action.
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run_with(&mut c, enter(json!([]), &[], &[]), |_, _| {});
    assert_eq!(texts, ["after caller's "]);
}

#[test]
fn inner_jumps_are_local_a_jump_to_an_outer_id_fails_the_custom_action() {
    // `ok` exists in the caller, not in the custom action: like a pushed list naming an
    // unknown target, the custom_action fails and the flow continues after it.
    let inner = json!([
        {"type": "talk", "option": {"text": "inside"}},
        {"type": "goto", "option": {"target_id": "ok", "loop_count": 1}}
    ]);
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run_with(&mut c, enter(inner, &[], &["success"]), |_, _| {});
    assert_eq!(texts, ["after caller's "]);
    let failed = outcomes(&c)[1].clone();
    assert!(failed.starts_with("failed: action `"), "{failed}");
    assert!(
        failed.ends_with("` jumps to `ok`, which does not exist"),
        "{failed}"
    );
    assert_eq!(c.custom_action_depth(), 0);
}

#[test]
fn inner_local_jumps_work_and_goto_counts_are_per_invocation() {
    let inner = json!([
        {"id": "top", "type": "talk", "option": {"text": "loop"}},
        {"type": "goto", "option": {"target_id": "top", "loop_count": 1}},
        {"type": "output", "option": {"path": "success"}}
    ]);
    let doc = json!([
        {"id": "use", "type": "custom_action", "option": {"name": "lib"}},
        {"type": "custom_action", "option": {"name": "lib"}}
    ]);
    let mut c = cursor(doc, &[]);
    let inner2 = inner.clone();
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => enter(inner2.clone(), &[], &["success"]),
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["loop", "loop", "loop", "loop"]);
}

#[test]
fn fetch_inside_a_custom_action_sees_the_custom_action_stack_but_not_the_caller() {
    let inner = json!([
        {"type": "fetch", "option": {"event_url": "https://x"}},
        {"id": "inner_end", "type": "talk", "option": {"text": "inner end"}},
        {"type": "output", "option": {"path": "success"}}
    ]);
    let doc = json!([
        {"type": "custom_action", "option": {"name": "lib", "outputs": {"success": "fin"}}},
        {"id": "caller_id", "type": "talk", "option": {"text": "caller"}},
        {"id": "fin", "type": "talk", "option": {"text": "fin"}}
    ]);
    let fetched = json!([{"type": "goto", "option": {"target_id": "inner_end", "loop_count": 1}}]);
    let mut c = cursor(doc.clone(), &[]);
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => enter(inner.clone(), &[], &["success"]),
        Command::Fetch { .. } => Completion::Pushed(actions(fetched.clone())),
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["inner end", "fin"]);
    // A fetched list naming the caller's action is refused: the fetch fails.
    let fetched = json!([{"type": "goto", "option": {"target_id": "caller_id", "loop_count": 1}}]);
    let mut c = cursor(doc, &[]);
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => enter(inner.clone(), &[], &["success"]),
        Command::Fetch { .. } => Completion::Pushed(actions(fetched.clone())),
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["inner end", "fin"]);
    let fetch = c
        .executed()
        .iter()
        .find(|e| e.action_type == flow::ActionType::Fetch)
        .map(|e| e.outcome.to_string())
        .unwrap_or_default();
    assert!(
        fetch.contains("jumps to `caller_id`, which does not exist"),
        "{fetch}"
    );
}

#[test]
fn output_inside_a_fetched_stack_leaves_the_enclosing_custom_action() {
    let inner = json!([
        {"type": "fetch", "option": {"event_url": "https://x"}},
        {"type": "talk", "option": {"text": "never"}}
    ]);
    let fetched =
        json!([{"type": "output", "option": {"path": "fail", "variables": {"v": "${input.a}"}}}]);
    let mut c = cursor(caller(appt_option()), &[]);
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => enter(inner.clone(), &[("a", "A")], &["success", "fail"]),
        Command::Fetch { .. } => Completion::Pushed(actions(fetched.clone())),
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["bad"]);
    assert_eq!(c.variables().get("appt.v"), Some("A"));
}

#[test]
fn variables_set_by_the_shell_inside_stay_inside() {
    let inner = json!([{"type": "digits_receive", "option": {"length": 1}}]);
    let mut c = cursor(caller(appt_option()), &[("call.digits", "")]);
    let (_, _) = run(&mut c, |cmd, cur| match cmd {
        Command::CustomAction(_) => enter(inner.clone(), &[], &["success"]),
        Command::DigitsReceive(_) => {
            cur.variables_mut().set("call.digits", "5");
            Completion::Done
        }
        _ => Completion::Done,
    });
    assert_eq!(c.variables().get("call.digits"), Some(""));
}

#[test]
fn nested_custom_actions_have_their_own_scopes() {
    let outer = json!([
        {"type": "variable_set", "option": {"key": "level", "value": "outer"}},
        {"type": "custom_action", "option": {"name": "inner_lib", "inputs": {}, "outputs": {"done": "after_inner"}, "as": "in"}},
        {"type": "talk", "option": {"text": "unmapped"}},
        {"id": "after_inner", "type": "output", "option": {"path": "success", "variables": {"got": "${in.value}|${level}|${input.x}"}}}
    ]);
    let inner = json!([
        {"type": "output", "option": {"path": "done", "variables": {"value": "${input.y}|${level}|${input.x}"}}}
    ]);
    let mut c = cursor(caller(appt_option()), &[]);
    let mut n = 0;
    let (cmds, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => {
            n += 1;
            if n == 1 {
                enter(outer.clone(), &[("x", "X")], &["success"])
            } else {
                enter(inner.clone(), &[("y", "Y")], &["done"])
            }
        }
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["ok "]);
    // Inside the nested one neither the outer's `level` nor its `input.x` is visible.
    assert_eq!(c.variables().get("appt.got"), Some("Y|||outer|X"));
}

#[test]
fn custom_actions_nest_at_most_eight_deep() {
    let recursive = json!([
        {"type": "custom_action", "option": {"name": "self"}},
        {"type": "talk", "option": {"text": "unwind"}}
    ]);
    let mut c = cursor(
        json!([{"type": "custom_action", "option": {"name": "self"}},
        {"type": "talk", "option": {"text": "back"}}]),
        &[],
    );
    let mut max_depth = 0;
    let (cmds, end) = run(&mut c, |cmd, cur| {
        max_depth = max_depth.max(cur.custom_action_depth());
        match cmd {
            Command::CustomAction(_) => enter(recursive.clone(), &[], &[]),
            _ => Completion::Done,
        }
    });
    let entered = cmds
        .iter()
        .filter(|c| matches!(c, Command::CustomAction(_)))
        .count();
    assert_eq!(entered, MAX_CUSTOM_ACTION_DEPTH);
    assert_eq!(max_depth, MAX_CUSTOM_ACTION_DEPTH);
    let failed: Vec<String> = outcomes(&c)
        .into_iter()
        .filter(|o| o.starts_with("failed"))
        .collect();
    assert_eq!(failed, ["failed: custom actions nested more than 8 deep"]);
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts.len(), MAX_CUSTOM_ACTION_DEPTH + 1);
    assert_eq!(texts.last().copied(), Some("back"));
    assert_eq!(end, EndReason::Finished);
    assert_eq!(c.custom_action_depth(), 0);
}

#[test]
fn output_outside_any_custom_action_is_skipped() {
    let doc = json!([
        {"id": "o", "type": "output", "option": {"path": "success", "variables": {"x": "1"}}},
        {"type": "talk", "option": {"text": "next"}}
    ]);
    let mut c = cursor(doc, &[]);
    let (cmds, end) = run_done(&mut c);
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["next"]
    );
    assert_eq!(end, EndReason::Finished);
    assert_eq!(outcomes(&c)[0], "skipped");
    assert!(c.executed()[0]
        .note
        .as_deref()
        .unwrap_or("")
        .contains("outside a custom action"));
    assert_eq!(c.variables().get("x"), None);
}

#[test]
fn hangup_inside_a_custom_action_ends_the_activeflow() {
    let inner = json!([{"type": "talk", "option": {"text": "inside"}}]);
    let mut c = cursor(caller(appt_option()), &[]);
    let _ = c.next(at(0));
    c.complete(at(1), enter(inner, &[], &["success"]));
    assert!(matches!(c.next(at(1)), Step::Execute(Command::Talk(_))));
    c.hangup(at(2));
    assert_eq!(c.next(at(2)), Step::Ended(EndReason::Hangup));
    assert_eq!(
        outcomes(&c).last().map(String::as_str),
        Some("failed: the call hung up")
    );
}

#[test]
fn legacy_pushed_completion_of_custom_action_still_shares_the_scope() {
    let mut c = cursor(caller(appt_option()), &[]);
    let (texts, _) = run(&mut c, |cmd, _| match cmd {
        Command::CustomAction(_) => Completion::Pushed(actions(json!([
            {"type": "variable_set", "option": {"key": "inner", "value": "shared"}}
        ]))),
        _ => Completion::Done,
    });
    let texts: Vec<_> = texts.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["after caller's shared"]);
}

// ---------------------------------------------------------------------------------------
// the fixture
// ---------------------------------------------------------------------------------------

#[test]
fn the_custom_paths_fixture_runs_end_to_end() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/flows/good/custom_paths_and_library.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let library = json!([
        {"type": "talk", "option": {"text": "${input.greeting}"}},
        {"type": "output", "option": {"path": "success", "variables": {"booking_id": "B-1"}}}
    ]);
    let mut c = cursor(doc, &[("call.source.target", "+1555")]);
    let (cmds, end) = run(&mut c, |cmd, _| match cmd {
        Command::Custom(o) => {
            assert_eq!(o.payload, Some(json!({"amount": 25, "caller": "+1555"})));
            Completion::CustomEvent {
                event: "success".into(),
                payload: payload(json!({"auth": {"code": "A1"}})),
            }
        }
        Command::CustomAction(o) => {
            assert_eq!(o.alias.as_deref(), Some("appt"));
            enter(
                library.clone(),
                &[("greeting", "Let's book.")],
                &["success", "fail", "not_interested"],
            )
        }
        _ => Completion::Done,
    });
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(
        texts,
        ["Paid, code A1.", "Let's book.", "Booked B-1.", "Goodbye."]
    );
    assert_eq!(end, EndReason::Stopped);
}
