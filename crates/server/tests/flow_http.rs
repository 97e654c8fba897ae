//! webhook_send and fetch against real HTTP servers on loopback, checked on the server side;
//! driven through `switchyard flow simulate` (real HTTP, no call) and one real sipp call.

mod support;

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::time::{Duration, Instant};
use support::{flow, simulate, HttpStub, Server, ServerOptions, StubResponse};

const ALLOW: (&str, &str) = ("SWITCHYARD__HTTP__ALLOW_PRIVATE", "[\"127.0.0.1\"]");

fn webhook(url: &str, sync: bool, data: &str) -> serde_json::Value {
    json!({"type": "webhook_send", "option": {
        "sync": sync, "uri": url, "method": "POST", "data_type": "application/json", "data": data}})
}

#[test]
fn sync_webhook_is_signed_and_its_json_answer_becomes_variables() {
    let stub = HttpStub::start(|_, _| {
        StubResponse::json(
            200,
            json!({"choice": "b", "customer": {"tier": "gold"}, "n": 5, "ok": true}),
        )
    });
    let f = flow(
        "f",
        json!([
            webhook(&stub.url("/hook"), true, "{\"from\": \"${call.source.target}\"}"),
            {"type": "branch", "option": {"variable": "choice", "target_ids": {"a": "path-a", "b": "path-b"}}},
            {"id": "path-a", "type": "talk", "option": {"text": "path a"}},
            {"type": "hangup"},
            {"id": "path-b", "type": "talk", "option": {"text": "path b"}},
            {"type": "hangup"}
        ]),
    );
    let (code, out) = simulate(
        &f,
        &[],
        &[ALLOW, ("SWITCHYARD__EVENTS__SIGNING_SECRET", "s3cret")],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("talk (en-US): path b"), "{out}");
    assert!(!out.contains("path a"), "{out}");
    assert!(out.contains("customer.tier = \"gold\""), "{out}");
    assert!(out.contains("webhook.status = \"200\""), "{out}");
    assert!(
        out.contains("n = \"5\"") && out.contains("ok = \"true\""),
        "{out}"
    );
    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body_text(), "{\"from\": \"+15550000001\"}");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&r.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        r.header("x-switchyard-signature"),
        Some(format!("sha256={expected}").as_str())
    );
}

#[test]
fn async_webhook_does_not_wait_for_the_answer() {
    let stub = HttpStub::start(|_, _| StubResponse {
        delay: Duration::from_secs(3),
        ..StubResponse::json(200, json!({"late": "yes"}))
    });
    let f = flow(
        "f",
        json!([webhook(&stub.url("/async"), false, "{}"), {"type": "hangup"}]),
    );
    let start = Instant::now();
    let (code, out) = simulate(&f, &[], &[ALLOW]);
    assert_eq!(code, 0, "{out}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "waited for the async webhook"
    );
    assert!(!out.contains("late ="), "{out}");
    assert_eq!(stub.recorded().len(), 1, "the request was sent");
}

#[test]
fn server_errors_are_retried_three_times_then_the_action_fails_and_the_flow_goes_on() {
    let stub = HttpStub::start(|_, i| {
        if i < 2 {
            StubResponse::text(503, "busy")
        } else {
            StubResponse::json(200, json!({"attempt": "third"}))
        }
    });
    let f = flow(
        "f",
        json!([webhook(&stub.url("/flaky"), true, "{}"), {"type": "hangup"}]),
    );
    let (code, out) = simulate(&f, &[], &[ALLOW]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("attempt = \"third\""), "{out}");
    assert_eq!(stub.recorded().len(), 3);

    let always = HttpStub::start(|_, _| StubResponse::text(500, "down"));
    let f = flow(
        "f",
        json!([webhook(&always.url("/down"), true, "{}"), {"type": "talk", "option": {"text": "after"}}]),
    );
    let (code, out) = simulate(&f, &[], &[ALLOW]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(always.recorded().len(), 3);
    assert!(out.contains("failed: HTTP status 500"), "{out}");
    assert!(out.contains("talk (en-US): after"), "{out}");
}

#[test]
fn slow_non_json_and_oversized_answers_are_handled() {
    let stub = HttpStub::start(|r, _| match r.path.as_str() {
        "/slow" => StubResponse {
            delay: Duration::from_millis(1500),
            ..StubResponse::json(200, json!({"x": "1"}))
        },
        "/text" => StubResponse::text(200, "hello, not json"),
        _ => StubResponse::text(200, &"x".repeat(2 * 1024 * 1024)),
    });
    let f = flow(
        "f",
        json!([
            webhook(&stub.url("/slow"), true, "{}"),
            webhook(&stub.url("/text"), true, "{}"),
            webhook(&stub.url("/big"), true, "{}"),
            {"type": "talk", "option": {"text": "still here"}}
        ]),
    );
    let (code, out) = simulate(&f, &[], &[ALLOW, ("SWITCHYARD__HTTP__TIMEOUT_MS", "500")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("failed: timed out after 500 ms"), "{out}");
    assert!(out.contains("webhook.status = \"200\""), "{out}");
    assert!(
        out.contains("failed: response body larger than 1048576 bytes"),
        "{out}"
    );
    assert!(out.contains("talk (en-US): still here"), "{out}");
    assert!(!out.contains("x = "), "{out}");
}

#[test]
fn private_destinations_are_refused_unless_allowed() {
    let stub = HttpStub::start(|_, _| StubResponse::json(200, json!({})));
    let f = flow(
        "f",
        json!([webhook(&stub.url("/x"), true, "{}"), {"type": "hangup"}]),
    );
    let (code, out) = simulate(&f, &[], &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("failed: refused: destination 127.0.0.1 is a loopback address"),
        "{out}"
    );
    assert!(stub.recorded().is_empty());
    let by_name = flow(
        "f",
        json!([webhook(
            &format!("http://localhost:{}/x", stub.port),
            true,
            "{}"
        )]),
    );
    let (_, out) = simulate(&by_name, &[], &[]);
    assert!(out.contains("refused"), "{out}");
    assert!(stub.recorded().is_empty());
}

#[test]
fn fetch_pushes_validated_actions_and_returns_after_the_fetch() {
    let stub = HttpStub::start(|r, _| match r.path.as_str() {
        p if p.starts_with("/actions") => StubResponse::json(
            200,
            json!([{"type": "talk", "option": {"text": "fetched ${call.destination.target}"}}]),
        ),
        "/invalid" => {
            StubResponse::json(200, json!([{"type": "talk", "option": {"txet": "typo"}}]))
        }
        _ => StubResponse::text(404, "no"),
    });
    let f = flow(
        "f",
        json!([
            {"type": "fetch", "option": {"event_url": stub.url("/actions"), "event_method": "POST"}},
            {"type": "talk", "option": {"text": "after post"}},
            {"type": "fetch", "option": {"event_url": stub.url("/actions/get"), "event_method": "GET"}},
            {"type": "fetch", "option": {"event_url": stub.url("/invalid"), "event_method": "POST"}},
            {"type": "fetch", "option": {"event_url": stub.url("/missing"), "event_method": "POST"}},
            {"type": "talk", "option": {"text": "the end"}}
        ]),
    );
    let (code, out) = simulate(&f, &["--var", "customer=42"], &[ALLOW]);
    assert_eq!(code, 0, "{out}");
    let order: Vec<&str> = out.lines().filter(|l| l.contains("] talk")).collect();
    assert_eq!(order.len(), 4, "{out}");
    assert!(order[0].ends_with("fetched 1000") && order[1].ends_with("after post"));
    assert!(order[2].ends_with("fetched 1000") && order[3].ends_with("the end"));
    assert!(
        out.contains("fetched actions are invalid: /0/option/txet"),
        "{out}"
    );
    assert!(out.contains("failed: HTTP status 404"), "{out}");
    let reqs = stub.recorded();
    let post: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(post["activeflow_id"], "simulated-activeflow");
    assert_eq!(post["call_id"], "simulated-call");
    assert_eq!(post["variables"]["customer"], "42");
    assert_eq!(reqs[1].method, "GET");
    assert!(
        reqs[1].path.contains("activeflow_id=simulated-activeflow")
            && reqs[1].path.contains("call_id=simulated-call"),
        "{}",
        reqs[1].path
    );
}

#[test]
fn a_real_call_takes_the_path_a_webhook_answer_chooses() {
    let stub = HttpStub::start(|r, _| match r.path.as_str() {
        "/route" => StubResponse::json(200, json!({"route": "sales"})),
        _ => StubResponse::json(200, json!({})),
    });
    let actions = json!([
        webhook(&stub.url("/route"), true, "{\"caller\": \"${call.source.target}\"}"),
        {"type": "branch", "option": {"variable": "route", "default_target_id": "other",
            "target_ids": {"sales": "sales", "support": "support"}}},
        {"id": "sales", "type": "webhook_send", "option": {"sync": true, "uri": stub.url("/took-sales"), "method": "POST", "data": "{}"}},
        {"type": "play", "option": {"stream_urls": ["beep"]}},
        {"type": "hangup"},
        {"id": "support", "type": "webhook_send", "option": {"sync": true, "uri": stub.url("/took-support"), "method": "POST", "data": "{}"}},
        {"type": "hangup"},
        {"id": "other", "type": "hangup", "option": {"reason": "busy"}}
    ]);
    let server = Server::start(ServerOptions {
        flows: vec![("main", flow("main", actions))],
        ..Default::default()
    });
    let run = server.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40400"]);
    assert!(run.success, "{}\n{}", run.output, server.log());
    let paths: Vec<String> = stub.recorded().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, vec!["/route", "/took-sales"], "{}", server.log());
    let first: serde_json::Value = serde_json::from_slice(&stub.recorded()[0].body).unwrap();
    assert_eq!(first["caller"], "sipp@127.0.0.1");
}
