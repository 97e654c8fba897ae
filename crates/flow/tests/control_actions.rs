//! flows.md §4: goto, branch, conditions, variable_set.

mod common;

use common::*;
use flow::{Clock, Command, Completion, Cursor, CursorOptions, Step};
use serde_json::json;

fn texts(cmds: &[Command]) -> Vec<&str> {
    cmds.iter().filter_map(talk_text).collect()
}

#[test]
fn goto_jumps_loop_count_times_then_falls_through() {
    let doc = json!([
        {"id": "top", "type": "talk", "option": {"text": "again"}},
        {"type": "goto", "option": {"target_id": "top", "loop_count": 2}},
        {"type": "talk", "option": {"text": "done"}}
    ]);
    let (cmds, _) = run_done(&mut cursor(doc, &[]));
    assert_eq!(texts(&cmds), ["again", "again", "again", "done"]);
}

#[test]
fn goto_counts_persist_over_the_activeflow_life() {
    // The inner goto is re-entered by the outer loop; its count is not reset.
    let doc = json!([
        {"id": "outer", "type": "empty"},
        {"id": "inner", "type": "talk", "option": {"text": "i"}},
        {"type": "goto", "option": {"target_id": "inner", "loop_count": 1}},
        {"type": "talk", "option": {"text": "o"}},
        {"type": "goto", "option": {"target_id": "outer", "loop_count": 1}}
    ]);
    let (cmds, _) = run_done(&mut cursor(doc, &[]));
    assert_eq!(texts(&cmds), ["i", "i", "o", "i", "o"]);
}

#[test]
fn goto_with_loop_count_zero_never_jumps() {
    let doc = json!([
        {"id": "a", "type": "talk", "option": {"text": "a"}},
        {"type": "goto", "option": {"target_id": "a", "loop_count": 0}}
    ]);
    let (cmds, _) = run_done(&mut cursor(doc, &[]));
    assert_eq!(texts(&cmds), ["a"]);
}

fn menu() -> serde_json::Value {
    json!([
        {"id": "menu", "type": "digits_receive", "option": {"duration": 5000}},
        {"type": "branch", "option": {"target_ids": {"1": "one"}, "default_target_id": "bad"}},
        {"id": "one", "type": "talk", "option": {"text": "one"}},
        {"type": "stop"},
        {"id": "bad", "type": "talk", "option": {"text": "bad ${call.digits}"}},
        {"type": "goto", "option": {"target_id": "menu", "loop_count": 3}}
    ])
}

#[test]
fn branch_clears_variable_so_menus_can_loop() {
    // First key 9 (wrong), then no key: the second pass must not see the stale 9.
    let mut keys = vec!["9", ""].into_iter();
    let mut c = cursor(menu(), &[]);
    let mut seen_digits = Vec::new();
    let (cmds, _) = run(&mut c, |cmd, c| {
        if let Command::DigitsReceive(_) = cmd {
            if let Some(k) = keys.next().filter(|k| !k.is_empty()) {
                c.variables_mut().set("call.digits", k);
            }
        }
        seen_digits.push(c.variables().value("call.digits").to_owned());
        Completion::Done
    });
    assert_eq!(texts(&cmds)[..2], ["bad ", "bad "]);
    assert_eq!(c.variables().get("call.digits"), Some(""));
    assert!(
        seen_digits.iter().filter(|d| *d == "9").count() == 1,
        "{seen_digits:?}"
    );
}

#[test]
fn branch_matches_exactly_then_default_then_falls_through() {
    let doc = |default: serde_json::Value| {
        let mut opt =
            json!({"variable": "voipbin.choice", "target_ids": {"1": "one", "10": "ten"}});
        if !default.is_null() {
            opt["default_target_id"] = default;
        }
        json!([
            {"type": "branch", "option": opt},
            {"type": "talk", "option": {"text": "fell through"}},
            {"type": "stop"},
            {"id": "one", "type": "talk", "option": {"text": "one"}},
            {"type": "stop"},
            {"id": "ten", "type": "talk", "option": {"text": "ten"}},
            {"type": "stop"},
            {"id": "dflt", "type": "talk", "option": {"text": "default"}}
        ])
    };
    let cases = [
        ("1", json!("dflt"), "one"),
        ("10", json!("dflt"), "ten"),
        ("1 ", json!("dflt"), "default"),
        ("", json!("dflt"), "default"),
        ("7", serde_json::Value::Null, "fell through"),
        ("7", json!(""), "fell through"),
    ];
    for (value, default, want) in cases {
        let mut c = cursor(doc(default), &[("choice", value)]);
        let (cmds, _) = run_done(&mut c);
        assert_eq!(texts(&cmds), [want], "value {value:?}");
        assert_eq!(
            c.variables().get("choice"),
            Some(""),
            "cleared after branching"
        );
    }
}

fn condition(option: serde_json::Value) -> serde_json::Value {
    let mut option = option;
    option["false_target_id"] = json!("no");
    json!([
        {"type": option["_type"].as_str().unwrap_or("condition_variable"), "option": strip(option)},
        {"type": "talk", "option": {"text": "yes"}},
        {"type": "stop"},
        {"id": "no", "type": "talk", "option": {"text": "no"}}
    ])
}

fn strip(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("_type");
    }
    v
}

fn verdict(doc: serde_json::Value, pairs: &[(&str, &str)], now: Clock) -> String {
    let mut c = Cursor::new(flow(doc), vars(pairs), CursorOptions::default());
    match c.next(now) {
        Step::Execute(cmd) => talk_text(&cmd).unwrap_or("?").to_owned(),
        Step::Ended(r) => format!("{r:?}"),
    }
}

#[test]
fn condition_variable_true_continues_false_jumps() {
    let table = [
        (
            json!({"condition": "==", "variable": "voipbin.call.source.target", "value_type": "string", "value_string": "+1"}),
            "+1",
            "yes",
        ),
        (
            json!({"condition": "!=", "variable": "call.source.target", "value_type": "string", "value_string": "+1"}),
            "+1",
            "no",
        ),
        (
            json!({"condition": ">=", "variable": "call.source.target", "value_type": "number", "value_number": 5}),
            "5.0",
            "yes",
        ),
        (
            json!({"condition": "<", "variable": "call.source.target", "value_type": "number", "value_number": 5}),
            "x",
            "no",
        ),
        (
            json!({"condition": ">", "variable": "call.source.target", "value_type": "length", "value_length": 2}),
            "abc",
            "yes",
        ),
        (
            json!({"condition": "<=", "variable": "${call.source.target}!", "value_type": "length", "value_length": 2}),
            "ab",
            "no",
        ),
        (
            json!({"condition": "==", "variable": "call.source.target", "value_type": "number", "value_number": "${limit}"}),
            "7",
            "yes",
        ),
    ];
    for (opt, value, want) in table {
        let pairs = [("call.source.target", value), ("limit", "7")];
        assert_eq!(
            verdict(condition(opt.clone()), &pairs, at(0)),
            want,
            "{opt} with {value}"
        );
    }
}

fn datetime(op: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut opt = json!({"_type": "condition_datetime", "condition": op});
    for (k, v) in extra.as_object().into_iter().flatten() {
        opt[k] = v.clone();
    }
    condition(opt)
}

fn wall_at(s: &str) -> Clock {
    Clock {
        wall: wall(s),
        mono_ms: 0,
    }
}

#[test]
fn condition_datetime_across_midnight() {
    // Night service from 22:00 to 06:00 needs two conditions; check each side of midnight.
    let late = datetime(">=", json!({"hour": 22, "minute": 0}));
    let early = datetime("<", json!({"hour": 6, "minute": 0}));
    let table = [
        ("2024-06-03T21:59:00Z", "no", "no"),
        ("2024-06-03T22:00:00Z", "yes", "no"),
        ("2024-06-03T23:59:00Z", "yes", "no"),
        ("2024-06-04T00:00:00Z", "no", "yes"),
        ("2024-06-04T05:59:00Z", "no", "yes"),
        ("2024-06-04T06:00:00Z", "no", "no"),
    ];
    for (t, want_late, want_early) in table {
        assert_eq!(
            verdict(late.clone(), &[], wall_at(t)),
            want_late,
            "late at {t}"
        );
        assert_eq!(
            verdict(early.clone(), &[], wall_at(t)),
            want_early,
            "early at {t}"
        );
    }
}

#[test]
fn condition_datetime_weekdays_use_the_option_timezone() {
    // 2024-06-03 is a Monday; 03:00 UTC is Sunday 23:00 in New York (EDT).
    let now = wall_at("2024-06-03T03:00:00Z");
    let ny = |days: serde_json::Value| {
        datetime(
            "==",
            json!({"weekdays": days, "timezone": "America/New_York"}),
        )
    };
    assert_eq!(verdict(ny(json!([0])), &[], now), "yes");
    assert_eq!(verdict(ny(json!([1])), &[], now), "no");
    let utc = datetime("==", json!({"weekdays": [1]}));
    assert_eq!(verdict(utc, &[], now), "yes");
    let hour = datetime(
        "==",
        json!({"hour": 23, "minute": -1, "day": -1, "month": 0, "timezone": "America/New_York"}),
    );
    assert_eq!(verdict(hour, &[], now), "yes");
}

#[test]
fn condition_datetime_business_hours_fixture() {
    let doc: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/data/flows/good/business_hours.json"
    ))
    .unwrap_or_default();
    let table = [
        ("2024-06-03T12:00:00Z", "We are open."),   // Mon 08:00 EDT
        ("2024-06-03T11:59:00Z", "We are closed."), // Mon 07:59 EDT
        ("2024-06-03T21:29:00Z", "We are open."),   // Mon 17:29 EDT
        ("2024-06-03T21:30:00Z", "We are closed."), // Mon 17:30 EDT
        ("2024-06-08T15:00:00Z", "We are closed."), // Saturday
    ];
    for (t, want) in table {
        let mut c = Cursor::new(flow(doc.clone()), vars(&[]), CursorOptions::default());
        let Step::Execute(cmd) = c.next(wall_at(t)) else {
            panic!("a talk")
        };
        assert_eq!(talk_text(&cmd), Some(want), "at {t}");
    }
}

#[test]
fn deprecated_conditions_read_call_digits_and_call_status() {
    let digits = condition(json!({"_type": "condition_call_digits", "length": 3}));
    assert_eq!(
        verdict(digits.clone(), &[("call.digits", "123")], at(0)),
        "yes"
    );
    assert_eq!(verdict(digits, &[("call.digits", "12")], at(0)), "no");
    let key = condition(json!({"_type": "condition_call_digits", "key": "#"}));
    assert_eq!(verdict(key, &[("call.digits", "1#")], at(0)), "yes");
    let status = condition(json!({"_type": "condition_call_status", "status": "progressing"}));
    assert_eq!(
        verdict(status.clone(), &[("call.status", "progressing")], at(0)),
        "yes"
    );
    assert_eq!(verdict(status, &[("call.status", "ringing")], at(0)), "no");
}

#[test]
fn variable_set_substitutes_the_value_but_not_the_key() {
    let doc = json!([
        {"type": "variable_set", "option": {"key": "${k}", "value": "${v}-${missing}"}},
        {"type": "variable_set", "option": {"key": "voipbin.copy", "value": "${a}"}}
    ]);
    let mut c = cursor(doc, &[("k", "K"), ("v", "V"), ("a", "${v}")]);
    run_done(&mut c);
    assert_eq!(c.variables().get("${k}"), Some("V-"));
    assert_eq!(c.variables().get("K"), None);
    assert_eq!(
        c.variables().get("copy"),
        Some("${v}"),
        "values are not expanded twice"
    );
}

#[test]
fn empty_is_a_no_op_carrying_next_id() {
    let doc =
        json!([{"type": "empty", "next_id": "b"}, {"type": "beep"}, {"id": "b", "type": "answer"}]);
    let (cmds, _) = run_done(&mut cursor(doc, &[]));
    assert_eq!(cmds, [Command::Answer]);
}
