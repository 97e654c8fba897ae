//! `GET /v1/openapi.json`: the OpenAPI 3.1 document, built from the endpoint table below and
//! the flow crate's own JSON Schema (so the flow body schema never drifts from the parser).

use axum::Json;
use serde_json::{json, Map, Value};

/// (method, path, summary, request body schema ref, success status, success schema ref).
type Endpoint = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

const ENDPOINTS: &[Endpoint] = &[
    (
        "post",
        "/v1/flows",
        "Create a flow (validated; missing action ids assigned)",
        Some("Flow"),
        "201",
        "Flow",
    ),
    ("get", "/v1/flows", "List flows", None, "200", "FlowList"),
    (
        "post",
        "/v1/flows/validate",
        "Validate a flow without storing it",
        Some("Flow"),
        "200",
        "Validation",
    ),
    ("get", "/v1/flows/{id}", "Get a flow", None, "200", "Flow"),
    (
        "put",
        "/v1/flows/{id}",
        "Replace a flow",
        Some("Flow"),
        "200",
        "Flow",
    ),
    ("delete", "/v1/flows/{id}", "Delete a flow", None, "204", ""),
    (
        "post",
        "/v1/routes",
        "Create a route (dialed user → flow)",
        Some("RouteBody"),
        "201",
        "Route",
    ),
    ("get", "/v1/routes", "List routes", None, "200", "RouteList"),
    (
        "get",
        "/v1/routes/{id}",
        "Get a route",
        None,
        "200",
        "Route",
    ),
    (
        "put",
        "/v1/routes/{id}",
        "Replace a route",
        Some("RouteBody"),
        "200",
        "Route",
    ),
    (
        "delete",
        "/v1/routes/{id}",
        "Delete a route",
        None,
        "204",
        "",
    ),
    (
        "get",
        "/v1/activeflows",
        "Live and ended activeflows",
        None,
        "200",
        "ActiveflowList",
    ),
    (
        "post",
        "/v1/activeflows",
        "Run a flow without a call",
        Some("StartActiveflow"),
        "201",
        "Created",
    ),
    (
        "get",
        "/v1/activeflows/{id}",
        "An activeflow: live state or history",
        None,
        "200",
        "Activeflow",
    ),
    (
        "delete",
        "/v1/activeflows/{id}",
        "Stop (if live) and delete an activeflow",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/activeflows/{id}/stop",
        "Stop a live activeflow",
        None,
        "202",
        "Accepted",
    ),
    (
        "post",
        "/v1/activeflows/{id}/events",
        "Resume a parked custom action",
        Some("ResumeEvent"),
        "200",
        "Accepted",
    ),
    (
        "get",
        "/v1/calls",
        "Live and recent calls",
        None,
        "200",
        "CallList",
    ),
    (
        "post",
        "/v1/calls",
        "Originate: one call per destination, each runs the flow once answered",
        Some("Originate"),
        "201",
        "Originated",
    ),
    (
        "post",
        "/v1/custom-actions",
        "Create a custom-action draft (library sub-flow)",
        Some("CustomActionDefinition"),
        "201",
        "CustomAction",
    ),
    (
        "get",
        "/v1/custom-actions",
        "Custom actions with their versions",
        None,
        "200",
        "Any",
    ),
    (
        "post",
        "/v1/custom-actions/import",
        "Import a signed package exported by another server",
        Some("CustomActionPackage"),
        "201",
        "Any",
    ),
    (
        "get",
        "/v1/custom-actions/{name}",
        "Versions of a custom action",
        None,
        "200",
        "Any",
    ),
    (
        "get",
        "/v1/custom-actions/{name}/versions/{version}",
        "One version",
        None,
        "200",
        "CustomAction",
    ),
    (
        "put",
        "/v1/custom-actions/{name}/versions/{version}",
        "Create or replace a draft version (published versions are immutable)",
        Some("CustomActionDefinition"),
        "200",
        "CustomAction",
    ),
    (
        "delete",
        "/v1/custom-actions/{name}/versions/{version}",
        "Delete a draft version",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/custom-actions/{name}/versions/{version}/publish",
        "Publish (organization or marketplace)",
        Some("Publish"),
        "200",
        "CustomAction",
    ),
    (
        "get",
        "/v1/custom-actions/{name}/versions/{version}/export",
        "Export a marketplace version as a signed package",
        None,
        "200",
        "CustomActionPackage",
    ),
    (
        "post",
        "/v1/secrets",
        "Store a secret (values are never returned)",
        Some("Secret"),
        "201",
        "Any",
    ),
    ("get", "/v1/secrets", "Secret names", None, "200", "Any"),
    (
        "delete",
        "/v1/secrets/{name}",
        "Delete a secret",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/certificates",
        "Store a client certificate, key and optional CA (keys never returned)",
        Some("CertificateUpload"),
        "201",
        "Any",
    ),
    (
        "get",
        "/v1/certificates",
        "Certificates (metadata only)",
        None,
        "200",
        "Any",
    ),
    (
        "delete",
        "/v1/certificates/{name}",
        "Delete a certificate",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/api-actions",
        "Create an API action (spoken HTTP answer)",
        Some("ApiActionDefinition"),
        "201",
        "Any",
    ),
    ("get", "/v1/api-actions", "API actions", None, "200", "Any"),
    (
        "get",
        "/v1/api-actions/{name}",
        "One API action",
        None,
        "200",
        "Any",
    ),
    (
        "put",
        "/v1/api-actions/{name}",
        "Replace an API action",
        Some("ApiActionDefinition"),
        "200",
        "Any",
    ),
    (
        "delete",
        "/v1/api-actions/{name}",
        "Delete an API action",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/extensions",
        "Create an extension (a softphone that registers with switchyard)",
        Some("Extension"),
        "201",
        "ExtensionState",
    ),
    (
        "get",
        "/v1/extensions",
        "Extensions (never their passwords)",
        None,
        "200",
        "Any",
    ),
    (
        "get",
        "/v1/extensions/{user}",
        "One extension with its live contacts",
        None,
        "200",
        "ExtensionState",
    ),
    (
        "put",
        "/v1/extensions/{user}",
        "Create or change an extension (the password is kept when left out)",
        Some("Extension"),
        "200",
        "ExtensionState",
    ),
    (
        "delete",
        "/v1/extensions/{user}",
        "Delete an extension and its registrations",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/trunks",
        "Create a trunk (put in service at once; registers when asked)",
        Some("Trunk"),
        "201",
        "TrunkState",
    ),
    (
        "get",
        "/v1/trunks",
        "Every trunk in service, config and API, with registration state",
        None,
        "200",
        "TrunkList",
    ),
    (
        "get",
        "/v1/trunks/{name}",
        "One trunk with its registration state",
        None,
        "200",
        "TrunkState",
    ),
    (
        "put",
        "/v1/trunks/{name}",
        "Create or replace a trunk (replaces a config trunk of that name)",
        Some("Trunk"),
        "200",
        "TrunkState",
    ),
    (
        "delete",
        "/v1/trunks/{name}",
        "Delete an API trunk (a config trunk it replaced comes back)",
        None,
        "204",
        "",
    ),
    (
        "post",
        "/v1/api-requests/test",
        "Run an api_request outside a call and show the captures",
        Some("ApiRequestTest"),
        "200",
        "Any",
    ),
    ("get", "/v1/calls/{id}", "A call", None, "200", "Call"),
    (
        "post",
        "/v1/calls/{id}/hangup",
        "Hang up a live call",
        None,
        "202",
        "Accepted",
    ),
    (
        "get",
        "/v1/recordings",
        "Recordings",
        None,
        "200",
        "RecordingList",
    ),
    (
        "get",
        "/v1/recordings/{id}",
        "Recording metadata",
        None,
        "200",
        "Recording",
    ),
    (
        "delete",
        "/v1/recordings/{id}",
        "Delete a recording and its file",
        None,
        "204",
        "",
    ),
    (
        "get",
        "/v1/recordings/{id}/file",
        "Download the file (Range supported)",
        None,
        "200",
        "Binary",
    ),
    (
        "get",
        "/v1/events",
        "Live events (WebSocket, or SSE with Accept: text/event-stream)",
        None,
        "200",
        "Event",
    ),
    (
        "get",
        "/v1/openapi.json",
        "This document",
        None,
        "200",
        "Any",
    ),
];

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The flow crate's JSON Schema with its `$defs` hoisted into `components/schemas` (as
/// `flow.<name>`) so every `$ref` resolves inside the OpenAPI document.
fn flow_schemas() -> (Value, Map<String, Value>) {
    let mut schema = flow::schema();
    let defs = schema
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .and_then(|d| d.as_object().cloned())
        .unwrap_or_default();
    fn rewrite(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get_mut("$ref") {
                    if let Some(name) = r.strip_prefix("#/$defs/") {
                        *r = format!("#/components/schemas/flow.{name}");
                    }
                }
                o.remove("$schema");
                o.remove("$id");
                o.values_mut().for_each(rewrite);
            }
            Value::Array(a) => a.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    rewrite(&mut schema);
    let mut hoisted = Map::new();
    for (name, mut def) in defs {
        rewrite(&mut def);
        hoisted.insert(format!("flow.{name}"), def);
    }
    (schema, hoisted)
}

fn components() -> Value {
    let s = |props: Value, required: Value| json!({"type": "object", "properties": props, "required": required});
    let address = json!({"type": "object", "additionalProperties": false,
        "properties": {"type": {"enum": ["tel", "sip"]}, "target": {"type": "string", "minLength": 1},
            "target_name": {"type": "string"}, "name": {"type": "string"}},
        "required": ["type", "target"]});
    let vars =
        json!({"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 100});
    let (flow_schema, flow_defs) = flow_schemas();
    let trunk = json!({"type": "object", "additionalProperties": false,
        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "address": {"type": "string"}, "outbound_proxy": {"type": "string"},
            "username": {"type": "string"}, "password": {"type": "string"},
            "register": {"type": "boolean"}, "expires": {"type": "integer", "minimum": 60, "maximum": 86400},
            "prefixes": {"type": "array", "items": {"type": "string"}},
            "from_user": {"type": "string"},
            "inbound_sources": {"type": "array", "items": {"type": "string"}},
            "max_calls": {"type": "integer", "minimum": 0}, "max_cps": {"type": "integer", "minimum": 0}},
        "required": ["name", "address"]});
    let trunk_state = s(
        json!({"name": {"type": "string"}, "origin": {"enum": ["config", "api"]},
            "password_set": {"type": "boolean"}, "active_calls": {"type": "integer"},
            "registration": s(json!({"state": {"type": "string"}}), json!(["state"]))}),
        json!(["name", "origin", "registration", "active_calls"]),
    );
    let mut all = json!({
        "Flow": flow_schema,
        "FlowList": s(json!({"flows": {"type": "array", "items": {"type": "object"}}}), json!(["flows"])),
        "Validation": s(json!({"valid": {"type": "boolean"}, "problems": {"type": "array", "items": schema_ref("Problem")}}), json!(["valid", "problems"])),
        "Problem": s(json!({"pointer": {"type": "string"}, "message": {"type": "string"}, "severity": {"enum": ["error", "warning"]}}), json!(["pointer", "message"])),
        "RouteBody": {"type": "object", "additionalProperties": false,
            "properties": {"match": {"type": "string", "minLength": 1, "maxLength": 128}, "flow_id": {"type": "string"}, "priority": {"type": "integer"},
                "stop_types": {"type": "array", "items": {"type": "string"}}},
            "required": ["match", "flow_id"]},
        "Route": s(json!({"id": {"type": "string"}, "match": {"type": "string"}, "flow_id": {"type": "string"}, "priority": {"type": "integer"}}), json!(["id", "match", "flow_id"])),
        "RouteList": s(json!({"routes": {"type": "array", "items": schema_ref("Route")}}), json!(["routes"])),
        "StartActiveflow": {"type": "object", "additionalProperties": false,
            "properties": {"flow_id": {"type": "string"}, "actions": {"type": "array"}, "variables": vars,
                "webhook_uri": {"type": "string", "format": "uri"}, "stop_types": {"type": "array", "items": {"type": "string"}}}},
        "Activeflow": s(json!({"id": {"type": "string"}, "flow_id": {"type": "string"}, "call_id": {"type": ["string", "null"]},
            "status": {"enum": ["running", "waiting", "ended"]}, "end_reason": {"type": ["string", "null"]},
            "current_action": {}, "variables": {"type": "object"}, "executed_actions": {"type": "array"}, "waiting_on": {}}),
            json!(["id", "status"])),
        "ActiveflowList": s(json!({"activeflows": {"type": "array", "items": schema_ref("Activeflow")}}), json!(["activeflows"])),
        "ResumeEvent": {"type": "object", "additionalProperties": false,
            "properties": {"type": {"type": "string"}, "payload": {}, "token": {"type": "string"}}, "required": ["type"]},
        "Originate": {"type": "object", "additionalProperties": false,
            "properties": {"source": address, "destinations": {"type": "array", "items": address, "minItems": 1},
                "flow_id": {"type": "string"}, "actions": {"type": "array"}, "variables": vars,
                "ring_timeout": {"type": "integer", "minimum": 1, "maximum": 600}},
            "required": ["source", "destinations"]},
        "Originated": s(json!({"calls": {"type": "array", "items": s(json!({"id": {"type": ["string", "null"]},
            "destination": address, "status": {"type": "string"}, "error": {"type": "string"}}), json!(["id", "destination", "status"]))}}),
            json!(["calls"])),
        "Call": s(json!({"id": {"type": "string"}, "status": {"type": "string"}}), json!(["id", "status"])),
        "CallList": s(json!({"calls": {"type": "array", "items": schema_ref("Call")}}), json!(["calls"])),
        "Recording": s(json!({"id": {"type": "string"}}), json!(["id"])),
        "RecordingList": s(json!({"recordings": {"type": "array", "items": schema_ref("Recording")}}), json!(["recordings"])),
        "Created": s(json!({"id": {"type": "string"}}), json!(["id"])),
        "Accepted": {"type": "object"},
        "Event": s(json!({"type": {"type": "string"}, "data": {}, "timestamp": {"type": "string"}}), json!(["type", "data", "timestamp"])),
        "Binary": {"type": "string", "format": "binary"},
        "Secret": {"type": "object", "additionalProperties": false,
            "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}, "value": {"type": "string", "minLength": 1}},
            "required": ["name", "value"]},
        "CertificateUpload": {"type": "object", "additionalProperties": false,
            "properties": {"name": {"type": "string"}, "cert_pem": {"type": "string"}, "key_pem": {"type": "string"}, "ca_pem": {"type": "string"}},
            "required": ["name", "cert_pem", "key_pem"]},
        "ApiActionDefinition": {"type": "object",
            "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "url": {"type": "string"},
                "method": {"type": "string"}, "headers": {"type": "object"}, "body": {},
                "trigger": {"enum": ["flow", "dtmf", "after_capture", "ai_intent"]}, "key": {"type": "string"},
                "flows": {"type": "array", "items": {"type": "string"}}, "say": {"type": "string"},
                "error_message": {"type": "string"}, "timeout_ms": {"type": "integer"}},
            "required": ["name", "url", "trigger"]},
        "ApiRequestTest": {"type": "object", "additionalProperties": false,
            "properties": {"option": {"type": "object"}, "variables": {"type": "object", "additionalProperties": {"type": "string"}}},
            "required": ["option"]},
        "CustomActionDefinition": {"type": "object",
            "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "description": {"type": "string"},
                "integration": {"type": "string"}, "icon": {"type": "string"}, "inputs": {"type": "array"},
                "outputs": {"type": "array", "items": {"type": "string"}}, "actions": {"type": "array"}},
            "required": ["name", "version", "outputs", "actions"]},
        "CustomAction": s(json!({"name": {"type": "string"}, "version": {"type": "string"}, "status": {"enum": ["draft", "published"]}}), json!(["name", "version", "status"])),
        "CustomActionPackage": {"type": "object", "additionalProperties": false,
            "properties": {"package": {"type": "object"}, "signature": {"type": "string"}}, "required": ["package", "signature"]},
        "Publish": {"type": "object", "additionalProperties": false,
            "properties": {"visibility": {"enum": ["organization", "marketplace"]}}, "required": ["visibility"]},
        "Any": {},
        "Error": s(json!({"error": s(json!({"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "array"}}), json!(["code", "message"]))}), json!(["error"])),
    });
    if let Some(o) = all.as_object_mut() {
        o.extend(flow_defs);
        o.insert("Trunk".into(), trunk);
        o.insert(
            "Extension".into(),
            json!({"type": "object", "additionalProperties": false,
                "properties": {"user": {"type": "string"}, "password": {"type": "string"},
                    "name": {"type": "string"}}}),
        );
        o.insert(
            "ExtensionState".into(),
            s(
                json!({"user": {"type": "string"}, "name": {"type": "string"},
                    "contacts": {"type": "array"}}),
                json!(["user", "name"]),
            ),
        );
        o.insert("TrunkState".into(), trunk_state);
        o.insert(
            "TrunkList".into(),
            s(
                json!({"trunks": {"type": "array", "items": schema_ref("TrunkState")}}),
                json!(["trunks"]),
            ),
        );
    }
    all
}

/// The OpenAPI document.
pub fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, summary, body, ok, ok_schema) in ENDPOINTS {
        let operation_id = format!(
            "{method}{}",
            path.trim_start_matches("/v1")
                .replace(['/', '{', '}', '.'], "_")
        );
        let mut op = json!({"summary": summary, "operationId": operation_id, "responses": {}});
        let params: Vec<Value> = ["id", "name", "version", "user"]
            .iter()
            .filter(|p| path.contains(&format!("{{{p}}}")))
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if let Some(b) = body {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": schema_ref(b)}}});
        }
        let ok_body = if ok_schema.is_empty() {
            json!({"description": "done"})
        } else {
            json!({"description": "ok", "content": {"application/json": {"schema": schema_ref(ok_schema)}}})
        };
        op["responses"][*ok] = ok_body;
        for (code, what) in [
            ("400", "bad request"),
            ("401", "missing or wrong token"),
            ("404", "not found"),
        ] {
            op["responses"][code] = json!({"description": what,
                "content": {"application/json": {"schema": schema_ref("Error")}}});
        }
        if *method == "post" && *path == "/v1/calls" {
            for (code, what) in [
                ("403", "a number [outbound] allow fences off"),
                ("429", "the trunk is at max_calls or max_cps"),
            ] {
                op["responses"][code] = json!({"description": what,
                    "content": {"application/json": {"schema": schema_ref("Error")}}});
            }
        }
        if path.ends_with("/stop")
            || path.ends_with("/hangup")
            || path.ends_with("/events")
            || *method == "post" && *path == "/v1/flows"
            || path.starts_with("/v1/trunks") && matches!(*method, "post" | "delete")
            || *method == "post" && *path == "/v1/extensions"
        {
            op["responses"]["409"] = json!({"description": "conflict",
                "content": {"application/json": {"schema": schema_ref("Error")}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = op;
    }
    for (p, summary) in [
        ("/health", "Liveness and call count"),
        ("/metrics", "Prometheus metrics"),
    ] {
        paths.insert(
            p.to_string(),
            json!({"get": {"summary": summary, "security": [], "responses": {"200": {"description": "ok"}}}}),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "switchyard", "version": env!("CARGO_PKG_VERSION"),
            "description": "Programmable SIP voice server: flows, activeflows, calls, recordings, live events."},
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
