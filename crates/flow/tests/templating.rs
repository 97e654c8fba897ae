//! flows.md §3: variables and templating as the cursor applies them (and custom-actions.md §3:
//! `${secret.NAME}` is left for the runtime).

mod common;

use common::*;
use flow::{Command, Completion, HttpMethod, Outcome, Step};
use serde_json::json;

#[test]
fn numeric_template_that_does_not_parse_fails_the_action_and_the_flow_continues() {
    let doc = json!([{"type": "sleep", "option": {"duration": "${x}"}}, {"type": "beep"}]);
    let mut c = cursor(doc, &[("x", "abc")]);
    let (cmds, _) = run_done(&mut c);
    assert_eq!(cmds, [Command::Beep]);
    assert_eq!(
        outcomes(&c),
        ["failed: option `duration`: `abc` is not an integer", "done"]
    );
}

#[test]
fn numeric_template_is_parsed_after_substitution() {
    let doc = json!([{"type": "sleep", "option": {"duration": "${wait_ms}"}}]);
    let mut c = cursor(doc, &[("wait_ms", " 250 ")]);
    assert_eq!(
        c.next(at(0)),
        Step::Execute(Command::Sleep { duration_ms: 250 })
    );
}

#[test]
fn templated_number_out_of_range_fails_the_action() {
    let doc = json!([{"type": "digits_send", "option": {"digits": "1", "duration": "${d}"}}]);
    let mut c = cursor(doc, &[("d", "5")]);
    run_done(&mut c);
    assert_eq!(
        outcomes(&c),
        ["failed: option `duration` must be between 100 and 1000, got 5"]
    );
}

#[test]
fn templated_digits_are_checked_after_substitution() {
    let doc = json!([{"type": "digits_send", "option": {"digits": "${pin}"}}]);
    let mut c = cursor(doc.clone(), &[("pin", "12#")]);
    let Step::Execute(Command::DigitsSend(o)) = c.next(at(0)) else {
        panic!("digits_send")
    };
    assert_eq!(
        (o.digits.as_str(), o.duration, o.interval),
        ("12#", 250, 100)
    );
    let mut c = cursor(doc, &[("pin", "12x")]);
    run_done(&mut c);
    assert!(outcomes(&c)[0].starts_with("failed: `digits` may only hold"));
}

#[test]
fn templated_enum_is_checked_after_substitution() {
    let doc = json!([{"type": "webhook_send", "option": {"uri": "https://x", "method": "${m}"}}]);
    let mut c = cursor(doc.clone(), &[("m", "PUT")]);
    let Step::Execute(Command::WebhookSend(o)) = c.next(at(0)) else {
        panic!("webhook")
    };
    assert_eq!(o.method, HttpMethod::Put);
    let mut c = cursor(doc, &[("m", "PATCH")]);
    run_done(&mut c);
    assert!(outcomes(&c)[0].contains("must be one of POST, GET, PUT, DELETE, got `PATCH`"));
}

#[test]
fn strings_are_substituted_when_the_action_becomes_current() {
    let doc = json!([
        {"type": "variable_set", "option": {"key": "name", "value": "Ada"}},
        {"type": "talk", "option": {"text": "Hi ${name}, caller ${voipbin.call.source.target}, ${nobody}."}},
        {"type": "variable_set", "option": {"key": "name", "value": "Bob"}},
        {"type": "talk", "option": {"text": "Hi ${name}."}}
    ]);
    let (cmds, _) = run_done(&mut cursor(doc, &[("call.source.target", "+1")]));
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["Hi Ada, caller +1, .", "Hi Bob."]);
}

#[test]
fn nested_option_strings_are_substituted() {
    let doc = json!([{"type": "custom", "option": {"name": "pay", "payload": {"who": "${caller}", "list": ["${caller}"]}}}]);
    let mut c = cursor(doc, &[("caller", "+1")]);
    let Step::Execute(Command::Custom(o)) = c.next(at(0)) else {
        panic!("custom")
    };
    assert_eq!(o.payload, Some(json!({"who": "+1", "list": ["+1"]})));
}

#[test]
fn webhook_sync_response_sets_flattened_variables_and_status() {
    let doc = json!([{"type": "webhook_send", "option": {"sync": true, "uri": "https://x"}}]);
    let mut c = cursor(doc, &[]);
    let _ = c.next(at(0));
    let body = json!({"tier": "gold", "score": 7, "vip": true, "customer": {"name": "Ada"}, "tags": ["a"]});
    c.complete(
        at(3),
        Completion::WebhookResponse {
            status: 200,
            body: Some(body),
        },
    );
    let v = c.variables();
    let got = [
        "webhook.status",
        "tier",
        "score",
        "vip",
        "customer.name",
        "tags",
    ]
    .map(|k| v.get(k));
    assert_eq!(
        got,
        [
            Some("200"),
            Some("gold"),
            Some("7"),
            Some("true"),
            Some("Ada"),
            None
        ]
    );
    assert_eq!(outcomes(&c), ["done"]);
}

#[test]
fn webhook_response_cannot_set_reserved_variables() {
    let doc = json!([{"type": "webhook_send", "option": {"sync": true, "uri": "https://x"}}]);
    let mut c = cursor(doc, &[("call.id", "c1")]);
    let _ = c.next(at(0));
    let body = json!({"call": {"id": "evil"}, "ok": "1"});
    c.complete(
        at(1),
        Completion::WebhookResponse {
            status: 200,
            body: Some(body),
        },
    );
    assert_eq!(c.variables().get("call.id"), Some("c1"));
    assert_eq!(c.variables().get("ok"), None, "all or nothing");
    assert!(outcomes(&c)[0].starts_with("failed: response variables refused"));
}

#[test]
fn webhook_error_status_sets_status_and_fails_without_reading_the_body() {
    let doc = json!([{"type": "webhook_send", "option": {"sync": true, "uri": "https://x"}}, {"type": "beep"}]);
    let mut c = cursor(doc, &[]);
    let _ = c.next(at(0));
    c.complete(
        at(1),
        Completion::WebhookResponse {
            status: 503,
            body: Some(json!({"x": "1"})),
        },
    );
    assert_eq!(c.variables().get("webhook.status"), Some("503"));
    assert_eq!(c.variables().get("x"), None);
    assert_eq!(
        c.executed()[0].outcome,
        Outcome::Failed("HTTP status 503".into())
    );
    assert_eq!(c.next(at(2)), Step::Execute(Command::Beep));
}

#[test]
fn shell_sets_collected_digits_before_completing() {
    let doc = json!([
        {"type": "digits_receive", "option": {"length": 3, "key": "#"}},
        {"type": "talk", "option": {"text": "you typed ${voipbin.call.digits}"}}
    ]);
    let mut c = cursor(doc, &[]);
    let (cmds, _) = run(&mut c, |cmd, c| {
        if let Command::DigitsReceive(o) = cmd {
            assert_eq!((o.length, o.inter_digit_timeout), (3, 5000));
            c.variables_mut().set("call.digits", "12#");
        }
        Completion::Done
    });
    assert_eq!(
        cmds.iter().filter_map(talk_text).collect::<Vec<_>>(),
        ["you typed 12#"]
    );
}

#[test]
fn templated_loop_count_and_comparison_values_are_read_at_run_time() {
    let doc = json!([
        {"id": "top", "type": "talk", "option": {"text": "t"}},
        {"type": "goto", "option": {"target_id": "top", "loop_count": "${n}"}},
        {"type": "condition_variable", "option": {"condition": "==", "variable": "who",
            "value_type": "string", "value_string": "${expected}", "false_target_id": "no"}},
        {"type": "talk", "option": {"text": "match"}},
        {"type": "stop"},
        {"id": "no", "type": "talk", "option": {"text": "no match"}}
    ]);
    let mut c = cursor(doc, &[("n", "2"), ("who", "ada"), ("expected", "ada")]);
    let (cmds, _) = run_done(&mut c);
    let texts: Vec<_> = cmds.iter().filter_map(talk_text).collect();
    assert_eq!(texts, ["t", "t", "t", "match"]);
}

#[test]
fn secrets_are_left_for_the_runtime_in_every_templated_option() {
    assert_eq!(
        flow::substitute("Bearer ${secret.tok} ${x}", &vars(&[("x", "1")])),
        "Bearer ${secret.tok} 1"
    );
    let doc = json!([{"type": "api_request", "option": {"method": "POST",
        "url": "https://crm/${secret.path}?q=${x}",
        "headers": {"Authorization": "Bearer ${secret.crm_token}"},
        "body": {"k": "${voipbin.secret.k}", "x": "${x}"}}}]);
    let mut c = cursor(doc, &[("x", "1"), ("secret.crm_token", "must not leak")]);
    let Step::Execute(Command::ApiRequest(o)) = c.next(at(0)) else {
        panic!("api_request")
    };
    assert_eq!(o.url, "https://crm/${secret.path}?q=1");
    assert_eq!(
        o.headers.get("Authorization").map(String::as_str),
        Some("Bearer ${secret.crm_token}")
    );
    assert_eq!(o.body, Some(json!({"k": "${secret.k}", "x": "1"})));
}
