//! Custom actions end to end: park-and-resume on a real call (webhook trace, WebSocket,
//! REST resume, paths, timeout, dead end, duplicates, hang-up), and the library of versioned
//! sub-flows (ranges, publishing while a call is inside, export/import between servers).

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{flow, http, HttpStub, Server, ServerOptions, StubResponse, WsClient};

fn pay_flow(timeout_ms: u64) -> String {
    flow(
        "pay",
        json!([
            {"type": "answer"},
            {"id": "pay", "type": "custom", "option": {
                "name": "Pay Credit Card",
                "payload": {"amount": 25, "caller": "${call.source.target}"},
                "paths": [{"event": "success", "target_id": "thanks"}, {"event": "denied", "target_id": "declined"}],
                "default_path": 1, "stop": true, "timeout": timeout_ms,
                "hold": {"stream_urls": ["tone-440"]}}},
            {"id": "thanks", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "declined", "type": "hangup", "option": {"reason": "busy"}}
        ]),
    )
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

fn get(s: &Server, path: &str) -> Value {
    http(s.api_port, "GET", path, None, &[]).json()
}

/// Start a call in the background; returns when its activeflow is parked, with its id.
fn parked_call(
    s: &Server,
    scenario: &'static str,
    rtp: &'static str,
) -> (String, std::thread::JoinHandle<support::SippRun>) {
    let port = s.sip_port;
    let call = std::thread::spawn(move || {
        support::sipp_against(port, scenario, &["-key", "rtp_port", rtp])
    });
    let mut id = String::new();
    assert!(
        s.wait_for(Duration::from_secs(8), |s| {
            let list = get(s, "/v1/activeflows?status=waiting");
            match list["activeflows"][0]["id"].as_str() {
                Some(i) => {
                    id = i.to_string();
                    true
                }
                None => false,
            }
        }),
        "no activeflow parked:\n{}",
        s.log()
    );
    (id, call)
}

fn executed_ids(af: &Value) -> Vec<String> {
    af["executed_actions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn ended(s: &Server, id: &str) -> Value {
    let path = format!("/v1/activeflows/{id}");
    assert!(
        s.wait_for(Duration::from_secs(8), |s| get(s, &path)["status"]
            == "ended"),
        "{}",
        s.log()
    );
    get(s, &path)
}

#[test]
fn a_parked_payment_resumes_with_success_and_refuses_a_duplicate() {
    let hook = HttpStub::start(|_, _| StubResponse::json(200, json!({})));
    let s = Server::start(ServerOptions {
        flows: vec![("pay", pay_flow(30_000))],
        env: vec![("SWITCHYARD__EVENTS__WEBHOOK_URI", hook.url("/events"))],
        ..Default::default()
    });
    let mut ws = WsClient::connect(s.api_port, "/v1/events?type=activeflow_waiting");
    let (id, call) = parked_call(&s, "uac_server_bye.xml", "40600");
    // The trace: on the WebSocket, in the webhook, and under waiting_on.
    let trace: Value =
        serde_json::from_str(&ws.next_text(Duration::from_secs(3)).expect("waiting event"))
            .unwrap();
    assert_eq!(trace["type"], "activeflow_waiting");
    let data = &trace["data"];
    assert_eq!(data["type"], "Pay Credit Card");
    assert_eq!(data["payload"]["amount"], 25);
    assert_eq!(data["payload"]["caller"], "sipp@127.0.0.1");
    assert_eq!(
        data["paths"],
        json!([{"event": "success"}, {"event": "denied"}])
    );
    assert_eq!(data["action_id"], "pay");
    let af = get(&s, &format!("/v1/activeflows/{id}"));
    assert_eq!(af["status"], "waiting");
    assert_eq!(af["waiting_on"]["token"], data["token"]);
    assert!(s.wait_for(Duration::from_secs(3), |_| hook
        .recorded()
        .iter()
        .any(|r| r.body_text().contains("activeflow_waiting"))));
    // Resume.
    let r = post(
        &s,
        &format!("/v1/activeflows/{id}/events"),
        &json!({"type": "success", "payload": {"auth": "A1", "card": {"last4": "4242"}}}),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["next_action_id"], "thanks");
    let dup = post(
        &s,
        &format!("/v1/activeflows/{id}/events"),
        &json!({"type": "success"}),
    );
    assert_eq!(dup.status, 409);
    let run = call.join().unwrap();
    assert!(run.success, "{}\n{}", run.output, s.log());
    let af = ended(&s, &id);
    assert!(executed_ids(&af).contains(&"thanks".to_string()), "{af}");
    assert_eq!(af["variables"]["custom.event"], "success");
    assert_eq!(af["variables"]["custom.auth"], "A1");
    assert_eq!(af["variables"]["custom.card.last4"], "4242");
    // Late event after the end.
    assert_eq!(
        post(
            &s,
            &format!("/v1/activeflows/{id}/events"),
            &json!({"type": "success"})
        )
        .status,
        409
    );
}

#[test]
fn denied_over_the_websocket_timeout_and_unknown_event_take_their_paths() {
    let s = Server::start(ServerOptions {
        flows: vec![("pay", pay_flow(1_500))],
        ..Default::default()
    });
    // denied, sent as a WebSocket message.
    let (id, call) = parked_call(&s, "uac_server_bye.xml", "40602");
    let mut ws = WsClient::connect(s.api_port, "/v1/events?type=none");
    ws.send_text(&json!({"activeflow_id": id, "type": "denied"}).to_string());
    let reply: Value =
        serde_json::from_str(&ws.next_text(Duration::from_secs(3)).unwrap()).unwrap();
    assert_eq!(reply["type"], "resume_result", "{reply}");
    assert_eq!(reply["data"]["next_action_id"], "declined");
    call.join().unwrap();
    assert!(executed_ids(&ended(&s, &id)).contains(&"declined".to_string()));
    // Timeout → default_path (1 = denied → declined).
    let (id, call) = parked_call(&s, "uac_server_bye.xml", "40604");
    call.join().unwrap();
    let af = ended(&s, &id);
    assert!(executed_ids(&af).contains(&"declined".to_string()), "{af}");
    // An event that is not a path: dead end, the flow finishes.
    let (id, call) = parked_call(&s, "uac_server_bye.xml", "40606");
    let r = post(
        &s,
        &format!("/v1/activeflows/{id}/events"),
        &json!({"type": "refund"}),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["dead_end"], true);
    call.join().unwrap();
    let af = ended(&s, &id);
    assert_eq!(af["end_reason"], "finished");
    let ids = executed_ids(&af);
    assert!(
        !ids.contains(&"thanks".to_string()) && !ids.contains(&"declined".to_string()),
        "{ids:?}"
    );
}

#[test]
fn a_caller_who_hangs_up_while_parked_ends_the_activeflow() {
    let s = Server::start(ServerOptions {
        flows: vec![("pay", pay_flow(30_000))],
        ..Default::default()
    });
    let (id, call) = parked_call(&s, "uac_caller_bye.xml", "40608");
    call.join().unwrap();
    let af = ended(&s, &id);
    assert_eq!(af["end_reason"], "hangup");
    let late = post(
        &s,
        &format!("/v1/activeflows/{id}/events"),
        &json!({"type": "success"}),
    );
    assert_eq!(late.status, 409);
    assert_eq!(late.json()["error"]["code"], "already_ended");
}

fn appointment(version: &str, tag: &str, delay_ms: u64) -> Value {
    json!({
        "name": "make_appointment", "version": version,
        "description": "Collect a time, check availability, book it",
        "integration": "Calendar", "icon": "calendar",
        "inputs": [
            {"name": "calendar_url", "type": "string", "required": true, "configurable": true},
            {"name": "greeting", "type": "string", "default": "Let's book your appointment."}],
        "outputs": ["success", "fail", "not_interested"],
        "actions": [
            {"type": "variable_set", "option": {"key": "inner", "value": "secret-inside"}},
            {"type": "sleep", "option": {"duration": delay_ms}},
            {"type": "condition_variable", "option": {"condition": "!=", "variable": "input.calendar_url",
                "value_type": "string", "value_string": "", "false_target_id": "nope"}},
            {"type": "output", "option": {"path": "success", "variables": {"booking_id": format!("{tag}-${{input.calendar_url}}"), "greeting": "${input.greeting}"}}},
            {"id": "nope", "type": "output", "option": {"path": "fail"}}
        ]
    })
}

fn using_flow(id: &str) -> String {
    flow(
        id,
        json!([
            {"type": "answer"},
            {"type": "custom_action", "option": {"name": "make_appointment", "version": "^1",
                "inputs": {"calendar_url": "cal"},
                "outputs": {"success": "done", "fail": "failed"}, "as": "appt"}},
            {"id": "failed", "type": "hangup", "option": {"reason": "failed"}},
            {"id": "done", "type": "variable_set", "option": {"key": "result", "value": "${appt.booking_id}|${appt.greeting}|${inner}"}},
            {"type": "hangup"}
        ]),
    )
}

fn last_result(s: &Server, n: usize) -> Vec<String> {
    assert!(s.wait_for(Duration::from_secs(10), |s| get(
        s,
        "/v1/activeflows?status=ended"
    )["activeflows"]
        .as_array()
        .is_some_and(|a| a.len() >= n)));
    get(s, "/v1/activeflows?status=ended")["activeflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["variables"]["result"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn library_versions_ranges_publishing_and_export_import() {
    let s = Server::start(ServerOptions {
        flows: vec![("a", flow("a", json!([{"type": "hangup"}])))],
        ..Default::default()
    });
    // Draft, invalid definitions rejected with pointers.
    let mut bad = appointment("1.0.0", "v1", 0);
    bad["actions"][3]["option"]["path"] = json!("elsewhere");
    let r = post(&s, "/v1/custom-actions", &bad);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["details"][0]["pointer"],
        "/actions/3/option/path"
    );
    assert_eq!(
        post(&s, "/v1/custom-actions", &appointment("1.0.0", "v1", 2500)).status,
        201
    );
    // A flow using ^1 is refused while only a draft exists; fine once published.
    let flow_a: Value = serde_json::from_str(&using_flow("uses-a")).unwrap();
    assert_eq!(post(&s, "/v1/flows", &flow_a).status, 400);
    let p = post(
        &s,
        "/v1/custom-actions/make_appointment/versions/1.0.0/publish",
        &json!({"visibility": "organization"}),
    );
    assert_eq!(p.status, 200, "{}", String::from_utf8_lossy(&p.body));
    assert_eq!(post(&s, "/v1/flows", &flow_a).status, 201);
    let flow_b: Value = serde_json::from_str(&using_flow("uses-b")).unwrap();
    assert_eq!(post(&s, "/v1/flows", &flow_b).status, 201);
    // Setting a non-configurable input is a validation error of the using flow.
    let mut fixed = flow_b.clone();
    fixed["id"] = json!("fixed");
    fixed["actions"][1]["option"]["inputs"]["greeting"] = json!("hi");
    let r = post(&s, "/v1/flows", &fixed);
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not configurable"));
    // Published versions are immutable.
    let again = http(
        s.api_port,
        "PUT",
        "/v1/custom-actions/make_appointment/versions/1.0.0",
        Some(appointment("1.0.0", "x", 0).to_string().as_bytes()),
        &[],
    );
    assert_eq!(again.status, 409);
    // Route both numbers; a call enters v1.0.0 (it sleeps inside), then 1.1.0 is published.
    post(
        &s,
        "/v1/routes",
        &json!({"match": "100", "flow_id": "uses-a"}),
    );
    post(
        &s,
        "/v1/routes",
        &json!({"match": "200", "flow_id": "uses-b"}),
    );
    let port = s.sip_port;
    let first = std::thread::spawn(move || {
        support::sipp_against(
            port,
            "uac_server_bye.xml",
            &["-s", "100", "-key", "rtp_port", "40610"],
        )
    });
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(
        post(&s, "/v1/custom-actions", &appointment("1.1.0", "v11", 0)).status,
        201
    );
    assert_eq!(
        post(
            &s,
            "/v1/custom-actions/make_appointment/versions/1.1.0/publish",
            &json!({"visibility": "marketplace"})
        )
        .status,
        200
    );
    let second = s.sipp(
        "uac_server_bye.xml",
        &["-s", "200", "-key", "rtp_port", "40612"],
    );
    assert!(second.success, "{}", s.log());
    assert!(first.join().unwrap().success);
    let results = last_result(&s, 2);
    assert!(
        results.contains(&"v1-cal|Let's book your appointment.|".to_string()),
        "{results:?}"
    );
    assert!(
        results.contains(&"v11-cal|Let's book your appointment.|".to_string()),
        "{results:?}"
    );
    // Export (marketplace) and import into another server.
    let exported = http(
        s.api_port,
        "GET",
        "/v1/custom-actions/make_appointment/versions/1.1.0/export",
        None,
        &[],
    );
    assert_eq!(exported.status, 200);
    let org_only = http(
        s.api_port,
        "GET",
        "/v1/custom-actions/make_appointment/versions/1.0.0/export",
        None,
        &[],
    );
    assert_eq!(org_only.status, 409);
    let other = Server::start(ServerOptions {
        flows: vec![("a", flow("a", json!([{"type": "hangup"}])))],
        ..Default::default()
    });
    let mut tampered = exported.json();
    tampered["package"]["definition"]["description"] = json!("changed");
    assert_eq!(
        post(&other, "/v1/custom-actions/import", &tampered).status,
        400
    );
    let imported = post(&other, "/v1/custom-actions/import", &exported.json());
    assert_eq!(
        imported.status,
        201,
        "{}",
        String::from_utf8_lossy(&imported.body)
    );
    let v = get(&other, "/v1/custom-actions/make_appointment/versions/1.1.0");
    assert_eq!(v["status"], "published");
    assert_eq!(
        post(&other, "/v1/flows", &flow_a).status,
        201,
        "the imported action is usable"
    );
}

#[test]
fn api_request_captures_drive_a_branch_and_the_secret_never_leaks() {
    const SECRET: &str = "S3CR3T-xyz-4242";
    let crm = HttpStub::start(|r, _| {
        if r.path.starts_with("/fail") {
            return StubResponse::text(500, "down");
        }
        // The API echoes the Authorization header back, as badly behaved APIs do.
        let auth = r.header("authorization").unwrap_or("").to_string();
        StubResponse::json(
            200,
            json!({"name": "Ada", "orders": [{"status": "shipped"}], "echo": auth}),
        )
    });
    let events = HttpStub::start(|_, _| StubResponse::json(200, json!({})));
    let lookup = |id: &str, path: &str| {
        flow(
            id,
            json!([
                {"type": "answer"},
                {"type": "api_request", "option": {
                    "method": "GET", "url": crm.url(&format!("{path}/{{call.source.target}}")),
                    "headers": {"Authorization": "Bearer ${secret.crm_token}"},
                    "params": {"expand": "orders"},
                    "capture": [{"path": "response.name", "variable": "customer_name"},
                                {"path": "response.orders[0].status", "variable": "order_status"}],
                    "timeout": 2000, "failure_target_id": "down"}},
                {"type": "branch", "option": {"variable": "order_status", "target_ids": {"shipped": "ok"}, "default_target_id": "other"}},
                {"id": "ok", "type": "variable_set", "option": {"key": "path", "value": "ok:${customer_name}"}},
                {"type": "hangup"},
                {"id": "other", "type": "variable_set", "option": {"key": "path", "value": "other"}},
                {"type": "hangup"},
                {"id": "down", "type": "variable_set", "option": {"key": "path", "value": "down:${api.status}"}},
                {"type": "hangup"}
            ]),
        )
    };
    let s = Server::start(ServerOptions {
        flows: vec![
            ("good", lookup("good", "/customers")),
            ("bad", lookup("bad", "/fail")),
        ],
        routes: vec![("100", "good"), ("200", "bad")],
        env: vec![("SWITCHYARD__EVENTS__WEBHOOK_URI", events.url("/events"))],
    });
    assert_eq!(
        post(
            &s,
            "/v1/secrets",
            &json!({"name": "crm_token", "value": SECRET})
        )
        .status,
        201
    );
    for (user, rtp) in [("100", "40620"), ("200", "40622")] {
        let run = s.sipp("uac_server_bye.xml", &["-s", user, "-key", "rtp_port", rtp]);
        assert!(run.success, "{}", s.log());
    }
    assert!(s.wait_for(Duration::from_secs(8), |s| get(
        s,
        "/v1/activeflows?status=ended"
    )["activeflows"]
        .as_array()
        .is_some_and(|a| a.len() >= 2)));
    let all = get(&s, "/v1/activeflows?status=ended");
    let paths: Vec<&str> = all["activeflows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["variables"]["path"].as_str())
        .collect();
    assert!(paths.contains(&"ok:Ada"), "{all}");
    assert!(paths.contains(&"down:500"), "{all}");
    // On the wire the secret was sent; the caller's number went into the URL path.
    let first = &crm.recorded()[0];
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(
        first
            .path
            .starts_with("/customers/sipp%40127.0.0.1?expand=orders"),
        "{}",
        first.path
    );
    // The test endpoint shows each capture.
    let t = post(
        &s,
        "/v1/api-requests/test",
        &json!({"option": {"url": crm.url("/customers/x"),
        "headers": {"Authorization": "Bearer ${secret.crm_token}"},
        "capture": [{"path": "response.orders[0].status", "variable": "s"}, {"path": "response.missing", "variable": "m"}]}}),
    );
    assert_eq!(t.status, 200, "{}", String::from_utf8_lossy(&t.body));
    let tj = t.json();
    assert_eq!(tj["captures"][0]["value"], "shipped");
    assert!(tj["captures"][1]["error"].is_string());
    // The secret appears nowhere: API output, events delivered, the server's own log.
    assert!(s.wait_for(Duration::from_secs(5), |_| events
        .recorded()
        .iter()
        .any(|r| r.body_text().contains("activeflow_ended"))));
    let mut haystack = String::new();
    for p in ["/v1/activeflows", "/v1/calls", "/v1/secrets", "/v1/flows"] {
        haystack.push_str(&String::from_utf8_lossy(
            &http(s.api_port, "GET", p, None, &[]).body,
        ));
    }
    haystack.push_str(&String::from_utf8_lossy(&t.body));
    for r in events.recorded() {
        haystack.push_str(&r.body_text());
    }
    haystack.push_str(&s.log());
    assert!(
        haystack.contains("[redacted]"),
        "the echoed secret should show up redacted"
    );
    assert!(!haystack.contains(SECRET), "the secret leaked");
}

#[test]
fn custom_actions_from_files_are_listed_and_usable() {
    let dir = support::repo_root().join("config/custom-actions");
    let s = Server::start(ServerOptions {
        flows: vec![("a", flow("a", json!([{"type": "hangup"}])))],
        env: vec![("SWITCHYARD__CUSTOM_ACTIONS__DIR", dir.display().to_string())],
        ..Default::default()
    });
    let list = get(&s, "/v1/custom-actions");
    assert_eq!(list["from_files"][0]["name"], "say_goodbye", "{list}");
    let using = json!({"id": "bye", "actions": [
        {"type": "custom_action", "option": {"name": "say_goodbye", "version": "^1",
            "inputs": {"name": "Ada"}, "as": "g"}},
        {"type": "variable_set", "option": {"key": "said", "value": "${g.said}"}}]});
    assert_eq!(post(&s, "/v1/flows", &using).status, 201);
    let run = post(&s, "/v1/activeflows", &json!({"flow_id": "bye"}));
    let id = run.json()["id"].as_str().unwrap().to_string();
    let af = ended(&s, &id);
    assert_eq!(af["variables"]["said"], "goodbye to Ada", "{af}");
}

#[test]
fn stop_types_on_a_route_park_a_custom_action_that_would_pass() {
    let mut passing: Value = serde_json::from_str(&pay_flow(30_000)).unwrap();
    passing["actions"][1]["option"]["stop"] = json!(false);
    let s = Server::start(ServerOptions {
        flows: vec![("pay", passing.to_string())],
        ..Default::default()
    });
    // Without stop_types: passes at once along default_path (declined).
    let run = s.sipp(
        "uac_server_bye.xml",
        &["-s", "100", "-key", "rtp_port", "40630"],
    );
    assert!(run.success, "{}", s.log());
    assert!(s.wait_for(Duration::from_secs(5), |s| get(
        s,
        "/v1/activeflows?status=ended"
    )["activeflows"][0]["status"]
        == "ended"));
    let first = get(&s, "/v1/activeflows?status=ended")["activeflows"][0].clone();
    assert!(
        executed_ids(&first).contains(&"declined".to_string()),
        "{first}"
    );
    // A route whose stop_types name it: it parks.
    let r = post(
        &s,
        "/v1/routes",
        &json!({"match": "300", "flow_id": "pay", "stop_types": ["Pay Credit Card"]}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["stop_types"], json!(["Pay Credit Card"]));
    let port = s.sip_port;
    let call = std::thread::spawn(move || {
        support::sipp_against(
            port,
            "uac_server_bye.xml",
            &["-s", "300", "-key", "rtp_port", "40632"],
        )
    });
    let mut id = String::new();
    assert!(s.wait_for(Duration::from_secs(8), |s| {
        get(s, "/v1/activeflows?status=waiting")["activeflows"][0]["id"]
            .as_str()
            .map(|i| id = i.to_string())
            .is_some()
    }));
    assert_eq!(
        post(
            &s,
            &format!("/v1/activeflows/{id}/events"),
            &json!({"type": "success"})
        )
        .status,
        200
    );
    assert!(call.join().unwrap().success);
    assert!(executed_ids(&ended(&s, &id)).contains(&"thanks".to_string()));
}
