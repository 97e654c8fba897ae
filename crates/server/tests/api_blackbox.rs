//! The REST API and events against the running binary over real HTTP.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{flow, http, HttpStub, Server, ServerOptions, StubResponse, WsClient};

fn beep_flow(id: &str) -> String {
    flow(
        id,
        json!([{"type": "answer"}, {"type": "play", "option": {"stream_urls": ["beep"]}}, {"type": "hangup"}]),
    )
}

fn server(env: Vec<(&'static str, String)>) -> Server {
    Server::start(ServerOptions {
        flows: vec![("main", beep_flow("main"))],
        env,
        ..Default::default()
    })
}

fn post(s: &Server, path: &str, body: &Value) -> support::HttpReply {
    http(
        s.api_port,
        "POST",
        path,
        Some(body.to_string().as_bytes()),
        &[],
    )
}

fn get(s: &Server, path: &str) -> support::HttpReply {
    http(s.api_port, "GET", path, None, &[])
}

#[test]
fn flows_crud_with_validation_and_id_assignment() {
    let s = server(vec![]);
    let created = post(
        &s,
        "/v1/flows",
        &json!({"id": "greet", "name": "Greeter", "actions": [
            {"type": "talk", "option": {"text": "hi"}},
            {"id": "end", "type": "hangup"}]}),
    );
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let f = created.json();
    assert_eq!(f["id"], "greet");
    let first_id = f["actions"][0]["id"].as_str().unwrap();
    assert_eq!(first_id.len(), 36, "a UUID was assigned: {f}");
    assert_eq!(f["actions"][1]["id"], "end");
    // Duplicate id.
    let dup = post(&s, "/v1/flows", &json!({"id": "greet", "actions": []}));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["error"]["code"], "conflict");
    // Invalid: pointer list.
    let bad = post(
        &s,
        "/v1/flows",
        &json!({"actions": [{"type": "goto", "option": {"target_id": "nowhere", "loop_count": 1}}, {"type": "frobnicate"}]}),
    );
    assert_eq!(bad.status, 400);
    let e = bad.json();
    assert_eq!(e["error"]["code"], "invalid_flow");
    let pointers: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["pointer"].as_str())
        .collect();
    assert!(pointers.contains(&"/actions/0/option/target_id"), "{e}");
    assert!(pointers.contains(&"/actions/1/type"), "{e}");
    // Read, update, list, delete.
    assert_eq!(get(&s, "/v1/flows/greet").json()["name"], "Greeter");
    let put = http(
        s.api_port,
        "PUT",
        "/v1/flows/greet",
        Some(
            json!({"name": "Greeter 2", "actions": [{"type": "hangup"}]})
                .to_string()
                .as_bytes(),
        ),
        &[],
    );
    assert_eq!(put.status, 200);
    assert_eq!(get(&s, "/v1/flows/greet").json()["name"], "Greeter 2");
    let list = get(&s, "/v1/flows").json();
    let ids: Vec<&str> = list["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"greet") && ids.contains(&"main"), "{list}");
    assert_eq!(
        http(s.api_port, "DELETE", "/v1/flows/greet", None, &[]).status,
        204
    );
    assert_eq!(get(&s, "/v1/flows/greet").status, 404);
    // Validate without storing.
    let v = post(
        &s,
        "/v1/flows/validate",
        &json!({"actions": [{"type": "talk"}]}),
    )
    .json();
    assert_eq!(v["valid"], false);
    assert!(v["problems"][0]["pointer"]
        .as_str()
        .unwrap()
        .starts_with("/actions/0"));
}

#[test]
fn bad_requests_get_the_error_format() {
    let s = server(vec![]);
    let bad_json = http(s.api_port, "POST", "/v1/flows", Some(b"{not json"), &[]);
    assert_eq!(bad_json.status, 400);
    assert_eq!(bad_json.json()["error"]["code"], "bad_json");
    let unknown_field = post(
        &s,
        "/v1/routes",
        &json!({"match": "1", "flow_id": "main", "colour": "red"}),
    );
    assert_eq!(unknown_field.status, 400);
    assert_eq!(unknown_field.json()["error"]["code"], "invalid_body");
    let wrong_type = post(&s, "/v1/routes", &json!({"match": 5, "flow_id": "main"}));
    assert_eq!(wrong_type.status, 400);
    let no_ct = http(
        s.api_port,
        "POST",
        "/v1/flows",
        Some(b"{}"),
        &[("Content-Type", "text/plain")],
    );
    assert_eq!(no_ct.status, 415);
    let big = vec![b' '; 2 * 1024 * 1024];
    let too_large = http(s.api_port, "POST", "/v1/flows", Some(&big), &[]);
    assert_eq!(too_large.status, 413);
    for path in [
        "/v1/flows/nope",
        "/v1/routes/nope",
        "/v1/activeflows/nope",
        "/v1/calls/nope",
        "/v1/recordings/nope",
        "/v1/nothing",
    ] {
        let r = get(&s, path);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["error"]["code"], "not_found", "{path}");
    }
    let originate = post(
        &s,
        "/v1/calls",
        &json!({"source": {"type": "tel", "target": "+1555"}, "destinations": [{"type": "tel", "target": "+1666"}], "flow_id": "main"}),
    );
    // No trunk is configured: a tel destination has no route, and nothing is placed.
    assert_eq!(originate.status, 400);
    assert_eq!(originate.json()["error"]["code"], "not_placed");
    assert_eq!(
        originate.json()["error"]["details"][0]["pointer"],
        "/destinations/0"
    );
    let bad_originate = post(
        &s,
        "/v1/calls",
        &json!({"source": {"type": "fax", "target": "1"}, "destinations": []}),
    );
    assert_eq!(bad_originate.status, 400);
    let doc = get(&s, "/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/v1/flows"]["post"].is_object());
}

#[test]
fn bearer_token_is_required_when_configured() {
    let s = server(vec![("SWITCHYARD__API__TOKEN", "t0ken".into())]);
    let r = get(&s, "/v1/flows");
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "unauthorized");
    assert_eq!(
        http(
            s.api_port,
            "GET",
            "/v1/flows",
            None,
            &[("Authorization", "Bearer wrong")]
        )
        .status,
        401
    );
    assert_eq!(
        http(
            s.api_port,
            "GET",
            "/v1/flows",
            None,
            &[("Authorization", "Bearer t0ken")]
        )
        .status,
        200
    );
    assert_eq!(get(&s, "/health").status, 200, "health needs no token");
}

#[test]
fn a_call_leaves_a_cdr_an_activeflow_log_and_events_in_order() {
    let receiver = HttpStub::start(|_, _| StubResponse::json(200, json!({})));
    let s = server(vec![
        ("SWITCHYARD__EVENTS__WEBHOOK_URI", receiver.url("/events")),
        ("SWITCHYARD__EVENTS__SIGNING_SECRET", "sig".into()),
    ]);
    let mut ws = WsClient::connect(
        s.api_port,
        "/v1/events?type=call_created,call_answered,call_hangup",
    );
    let run = s.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40500"]);
    assert!(run.success, "{}\n{}", run.output, s.log());
    // WebSocket: the filtered types, in order.
    let mut seen = Vec::new();
    while let Some(t) = ws.next_text(Duration::from_secs(3)) {
        let v: Value = serde_json::from_str(&t).unwrap();
        seen.push(v["type"].as_str().unwrap().to_string());
        if seen.last().map(String::as_str) == Some("call_hangup") {
            break;
        }
    }
    assert_eq!(seen, vec!["call_created", "call_answered", "call_hangup"]);
    // The CDR.
    assert!(
        s.wait_for(Duration::from_secs(5), |s| get(s, "/v1/calls").json()
            ["calls"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["status"] == "ended")))
    );
    let calls = get(&s, "/v1/calls").json();
    let call = &calls["calls"][0];
    assert_eq!(call["from"], "sipp@127.0.0.1");
    assert_eq!(call["to"], "1000");
    assert_eq!(call["hangup_side"], "switchyard");
    assert_eq!(call["hangup_cause"], "normal");
    assert!(call["duration_ms"].as_i64().unwrap() >= 200, "{call}");
    // The activeflow with its executed actions.
    let af_id = call["activeflow_id"].as_str().unwrap();
    let af = get(&s, &format!("/v1/activeflows/{af_id}")).json();
    assert_eq!(af["status"], "ended");
    let types: Vec<&str> = af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(types, vec!["answer", "play", "hangup"]);
    assert!(af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["outcome"] == "done"));
    // The webhook receiver: every event, in order, signed.
    assert!(s.wait_for(Duration::from_secs(5), |_| receiver
        .recorded()
        .iter()
        .any(|r| r.body_text().contains("call_hangup"))));
    let got: Vec<String> = receiver
        .recorded()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let pos = |t: &str| {
        got.iter()
            .position(|g| g == t)
            .unwrap_or_else(|| panic!("{t} missing from {got:?}"))
    };
    assert!(pos("call_created") < pos("activeflow_created"));
    assert!(pos("activeflow_created") < pos("call_answered"));
    assert!(pos("call_answered") < pos("activeflow_ended"));
    assert!(pos("activeflow_ended") < pos("call_hangup"));
    assert!(got.iter().filter(|g| *g == "activeflow_updated").count() >= 3);
    assert!(receiver.recorded().iter().all(|r| r
        .header("x-switchyard-signature")
        .is_some_and(|v| v.starts_with("sha256="))));
}

#[test]
fn routes_take_effect_for_the_next_call_without_restart() {
    let s = Server::start(ServerOptions {
        flows: vec![("main", beep_flow("main")), ("other", beep_flow("other"))],
        ..Default::default()
    });
    let r = post(
        &s,
        "/v1/routes",
        &json!({"match": "1000", "flow_id": "other"}),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let bad = post(
        &s,
        "/v1/routes",
        &json!({"match": "1000", "flow_id": "missing"}),
    );
    assert_eq!(bad.json()["error"]["code"], "unknown_flow");
    let run = s.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40502"]);
    assert!(run.success, "{}", s.log());
    assert!(
        s.wait_for(Duration::from_secs(5), |s| get(s, "/v1/calls").json()
            ["calls"][0]["status"]
            == "ended")
    );
    assert_eq!(get(&s, "/v1/calls").json()["calls"][0]["flow_id"], "other");
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(
        http(s.api_port, "DELETE", &format!("/v1/routes/{id}"), None, &[]).status,
        204
    );
}

#[test]
fn activeflow_without_a_call_runs_http_actions_and_skips_media() {
    let hook = HttpStub::start(|_, _| StubResponse::json(200, json!({"tier": "gold"})));
    let s = server(vec![]);
    let started = post(
        &s,
        "/v1/activeflows",
        &json!({"actions": [
            {"type": "talk", "option": {"text": "nobody listens"}},
            {"type": "webhook_send", "option": {"sync": true, "uri": hook.url("/h"), "method": "POST", "data": "{\"c\": \"${customer}\"}"}},
            {"type": "variable_set", "option": {"key": "done", "value": "${tier}-ok"}}
        ], "variables": {"customer": "42"}}),
    );
    assert_eq!(
        started.status,
        201,
        "{}",
        String::from_utf8_lossy(&started.body)
    );
    let id = started.json()["id"].as_str().unwrap().to_string();
    assert!(s.wait_for(Duration::from_secs(5), |s| get(
        s,
        &format!("/v1/activeflows/{id}")
    )
    .json()["status"]
        == "ended"));
    let af = get(&s, &format!("/v1/activeflows/{id}")).json();
    assert_eq!(af["variables"]["done"], "gold-ok", "{af}");
    assert_eq!(af["executed_actions"][0]["outcome"], "skipped");
    assert_eq!(hook.recorded()[0].body_text(), "{\"c\": \"42\"}");
    // Stop on an ended activeflow: 409; delete: 204 then 404.
    assert_eq!(
        post(&s, &format!("/v1/activeflows/{id}/stop"), &json!({})).status,
        409
    );
    assert_eq!(
        http(
            s.api_port,
            "DELETE",
            &format!("/v1/activeflows/{id}"),
            None,
            &[]
        )
        .status,
        204
    );
    assert_eq!(get(&s, &format!("/v1/activeflows/{id}")).status, 404);
    // A long one is live and can be stopped.
    let long = post(
        &s,
        "/v1/activeflows",
        &json!({"actions": [{"type": "sleep", "option": {"duration": 30000}}]}),
    );
    let lid = long.json()["id"].as_str().unwrap().to_string();
    assert!(s.wait_for(Duration::from_secs(3), |s| get(
        s,
        "/v1/activeflows?status=running"
    )
    .json()["activeflows"]
        .as_array()
        .is_some_and(|a| a.iter().any(|a| a["id"] == lid.as_str()))));
    assert_eq!(
        post(&s, &format!("/v1/activeflows/{lid}/stop"), &json!({})).status,
        202
    );
    assert!(s.wait_for(Duration::from_secs(3), |s| get(
        s,
        &format!("/v1/activeflows/{lid}")
    )
    .json()["end_reason"]
        == "api"));
}

#[test]
fn sse_subscribers_receive_events() {
    let s = server(vec![]);
    let port = s.api_port;
    let reader = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET /v1/events?type=activeflow_ended HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        let mut lines = BufReader::new(stream).lines();
        lines.find_map(|l| l.ok().filter(|l| l.starts_with("data:")))
    });
    std::thread::sleep(Duration::from_millis(300));
    post(
        &s,
        "/v1/activeflows",
        &json!({"actions": [{"type": "variable_set", "option": {"key": "a", "value": "b"}}]}),
    );
    let data = reader.join().unwrap().expect("an SSE data line");
    let v: Value = serde_json::from_str(data.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(v["type"], "activeflow_ended");
}

#[test]
fn events_queued_while_the_receiver_is_down_are_delivered_after_a_restart() {
    // A port with nothing listening: deliveries fail and stay in the outbox.
    let dead_port = support::free_port();
    let mut s = server(vec![(
        "SWITCHYARD__EVENTS__WEBHOOK_URI",
        format!("http://127.0.0.1:{dead_port}/events"),
    )]);
    post(
        &s,
        "/v1/activeflows",
        &json!({"actions": [{"type": "variable_set", "option": {"key": "a", "value": "b"}}]}),
    );
    std::thread::sleep(Duration::from_millis(500));
    s.restart();
    // The receiver comes up on that port now.
    let listener = std::net::TcpListener::bind(("127.0.0.1", dead_port)).unwrap();
    drop(listener);
    let receiver = HttpStub::start_on(dead_port, |_, _| StubResponse::json(200, json!({})));
    assert!(
        s.wait_for(Duration::from_secs(20), |_| receiver
            .recorded()
            .iter()
            .any(|r| r.body_text().contains("activeflow_ended"))),
        "queued events were not delivered after the restart:\n{}",
        s.log()
    );
    let kinds: Vec<String> = receiver
        .recorded()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("activeflow_created"),
        "{kinds:?}"
    );
}
