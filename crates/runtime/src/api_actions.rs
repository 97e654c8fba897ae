//! API actions (custom-actions.md §4): named, server-level HTTP actions whose answer is
//! spoken. The server POSTs an envelope; `{"message"}` is said to the caller verbatim and
//! `{"data"}` becomes `<name>.<key>` variables (and may be said through the `say` template).
//!
//! Triggers: `flow` (an `api_action` step), `dtmf` (a key that fires it during any prompt),
//! `after_capture` (after each `digits_receive` that got digits, with them as `user_message`)
//! and `ai_intent` (declared for the chatbot, not fired by plain flows).

use crate::http::{HttpEngine, Outbound, MAX_BODY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::Duration;

/// When an API action fires.
pub use call::Trigger;

/// A definition (`/v1/api-actions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiActionDef {
    pub name: String,
    /// Plain words on when to use it (what an AI router reads).
    #[serde(default)]
    pub description: String,
    pub url: String,
    #[serde(default = "post")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The `payload` template: strings may use `{{var}}` and `${var}`.
    #[serde(default)]
    pub body: Option<Value>,
    pub trigger: Trigger,
    /// For `dtmf`: the key that fires it.
    #[serde(default)]
    pub key: Option<String>,
    /// Flows it applies to (`dtmf` and `after_capture`); empty = every flow.
    #[serde(default)]
    pub flows: Vec<String>,
    /// Said after a `{"data"}` answer; `{{key}}` are the data fields.
    #[serde(default)]
    pub say: Option<String>,
    /// Said when the request fails.
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

fn post() -> String {
    "POST".into()
}

impl ApiActionDef {
    /// Parse and check a definition: the problems as `(pointer, sentence)`.
    pub fn parse(doc: &Value) -> Result<ApiActionDef, Vec<(String, String)>> {
        let d: ApiActionDef = serde_json::from_value(doc.clone())
            .map_err(|e| vec![(String::new(), format!("not an API action: {e}"))])?;
        let mut p = Vec::new();
        if d.name.is_empty()
            || d.name.len() > 64
            || !d
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            p.push((
                "/name".into(),
                "name must be 1-64 characters of letters, digits, _ and -".into(),
            ));
        }
        if !(d.url.starts_with("http://") || d.url.starts_with("https://")) {
            p.push(("/url".into(), "url must be http(s)".into()));
        }
        if !["GET", "POST", "PUT", "PATCH", "DELETE"]
            .contains(&d.method.to_ascii_uppercase().as_str())
        {
            p.push((
                "/method".into(),
                "method must be GET, POST, PUT, PATCH or DELETE".into(),
            ));
        }
        if d.trigger == Trigger::Dtmf {
            let ok = d
                .key
                .as_deref()
                .is_some_and(|k| k.len() == 1 && "0123456789*#ABCD".contains(k));
            if !ok {
                p.push((
                    "/key".into(),
                    "a dtmf trigger needs a key: one of 0-9, *, #, A-D".into(),
                ));
            }
        }
        if p.is_empty() {
            Ok(d)
        } else {
            Err(p)
        }
    }

    fn applies_to(&self, flow_id: &str) -> bool {
        self.flows.is_empty() || self.flows.iter().any(|f| f == flow_id)
    }
}

/// The definitions in force, refreshed from the store on every change.
#[derive(Debug, Default)]
pub struct ApiActions {
    defs: RwLock<Vec<ApiActionDef>>,
}

impl ApiActions {
    pub fn replace(&self, defs: Vec<ApiActionDef>) {
        if let Ok(mut d) = self.defs.write() {
            *d = defs;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.defs.read().map(|d| d.is_empty()).unwrap_or(true)
    }

    pub fn get(&self, name: &str) -> Option<ApiActionDef> {
        self.defs
            .read()
            .ok()?
            .iter()
            .find(|d| d.name == name)
            .cloned()
    }

    /// Keys bound for `flow_id`, with the action each fires.
    pub fn keys(&self, flow_id: &str) -> Vec<(char, String)> {
        self.defs
            .read()
            .map(|d| {
                d.iter()
                    .filter(|d| d.trigger == Trigger::Dtmf && d.applies_to(flow_id))
                    .filter_map(|d| {
                        let key = d.key.as_deref().and_then(|k| k.chars().next())?;
                        Some((key, d.name.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the `after_capture` actions for `flow_id`.
    pub fn after_capture(&self, flow_id: &str) -> Vec<String> {
        self.defs
            .read()
            .map(|d| {
                d.iter()
                    .filter(|d| d.trigger == Trigger::AfterCapture && d.applies_to(flow_id))
                    .map(|d| d.name.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reload the definitions from the store.
pub(crate) async fn reload(shared: &crate::services::Services) -> Result<(), store::StoreError> {
    let Some(store) = &shared.store else {
        return Ok(());
    };
    let defs = store
        .api_actions()
        .await?
        .into_iter()
        .filter_map(|row| ApiActionDef::parse(&row.definition).ok())
        .collect();
    shared.catalog.api_actions.replace(defs);
    Ok(())
}

/// Who and what the action is fired for.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub call_id: &'a str,
    pub flow_id: &'a str,
    pub caller: &'a str,
    pub user_message: &'a str,
    pub trigger: Trigger,
    pub vars: &'a flow::Variables,
}

/// The result of firing: what to say, variables to set, and whether it worked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fired {
    pub say: Vec<String>,
    pub vars: Vec<(String, String)>,
    pub error: Option<String>,
}

/// Replace `{{name}}` and `${name}` from `lookup` (unknown names become "").
fn render(text: &str, lookup: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let a = rest.find("{{");
        let b = rest.find("${");
        let (start, open, close) = match (a, b) {
            (Some(a), Some(b)) if a <= b => (a, 2, "}}"),
            (Some(a), None) => (a, 2, "}}"),
            (_, Some(b)) => (b, 2, "}"),
            (None, None) => break,
        };
        let Some(end) = rest[start + open..].find(close) else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = rest[start + open..start + open + end].trim();
        out.push_str(&lookup(name));
        rest = &rest[start + open + end + close.len()..];
    }
    out.push_str(rest);
    out
}

fn render_value(v: &Value, lookup: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(render(s, lookup)),
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, lookup)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_value(x, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Fire `def`: POST the envelope, interpret the answer. Never panics; failures come back in
/// `error` with the definition's `error_message` to say.
pub async fn fire(engine: &HttpEngine, def: &ApiActionDef, ctx: &Context<'_>) -> Fired {
    let lookup = |name: &str| -> String {
        match name {
            "user_message" => ctx.user_message.to_string(),
            "conversation_id" => ctx.call_id.to_string(),
            "chatbot_id" => ctx.flow_id.to_string(),
            "user_name" => ctx.vars.value("call.source.name").to_string(),
            "user_email" => ctx.vars.value("user.email").to_string(),
            other => ctx.vars.value(other).to_string(),
        }
    };
    let payload = def
        .body
        .as_ref()
        .map(|b| render_value(b, &lookup))
        .unwrap_or(json!({}));
    let envelope = json!({
        "action_id": def.name,
        "conversation_id": ctx.call_id,
        "chatbot_id": ctx.flow_id,
        "trigger": ctx.trigger.as_str(),
        "payload": payload,
        "metadata": {"visitor_id": ctx.caller, "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)},
    });
    let mut headers: Vec<(String, String)> = def
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &lookup)))
        .collect();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let req = Outbound {
        method: reqwest::Method::from_bytes(def.method.to_ascii_uppercase().as_bytes())
            .unwrap_or(reqwest::Method::POST),
        url: render(&def.url, &lookup),
        headers,
        body: Some(envelope.to_string().into_bytes()),
        tries: 1,
        sign: true,
        timeout: Duration::from_millis(def.timeout_ms.unwrap_or(10_000)),
        max_body: MAX_BODY,
    };
    let failed = |reason: String| Fired {
        say: def.error_message.iter().cloned().collect(),
        vars: vec![(format!("{}.error", def.name), reason.clone())],
        error: Some(reason),
    };
    let resp = match engine.send(&req).await {
        Ok(r) => r,
        Err(e) => return failed(e.to_string()),
    };
    if !(200..300).contains(&resp.status) {
        return failed(format!("HTTP status {}", resp.status));
    }
    let answer: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let mut fired = Fired::default();
    if let Some(m) = answer
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| !m.trim().is_empty())
    {
        fired.say.push(m.to_string());
    }
    if let Some(data) = answer.get("data").and_then(Value::as_object) {
        let flat: Map<String, Value> = data.clone();
        for (k, v) in flow::flatten_json(&Value::Object(flat)) {
            fired.vars.push((format!("{}.{k}", def.name), v));
        }
        if let Some(say) = &def.say {
            let data_lookup = |name: &str| -> String {
                data.get(name)
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| lookup(name))
            };
            fired.say.push(render(say, &data_lookup));
        }
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_both_spellings() {
        let l = |n: &str| format!("<{n}>");
        assert_eq!(render("a {{x}} b ${y} c", &l), "a <x> b <y> c");
        assert_eq!(render("no close {{x", &l), "no close {{x");
        assert_eq!(render("", &l), "");
    }

    #[test]
    fn definitions_are_checked() {
        let ok = json!({"name": "balance", "url": "https://bank.example/api", "trigger": "dtmf", "key": "9"});
        assert!(ApiActionDef::parse(&ok).is_ok());
        let bad = json!({"name": "b c", "url": "ftp://x", "trigger": "dtmf", "key": "99"});
        let p = ApiActionDef::parse(&bad).unwrap_err();
        let ptrs: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(ptrs, vec!["/name", "/url", "/key"]);
        assert!(ApiActionDef::parse(&json!({"name": "x"})).is_err());
    }

    #[test]
    fn dtmf_bindings_are_scoped_to_flows() {
        let a = ApiActions::default();
        let d = ApiActionDef::parse(&json!({"name": "b", "url": "https://x", "trigger": "dtmf", "key": "9", "flows": ["main"]})).unwrap();
        a.replace(vec![d]);
        assert_eq!(a.keys("main"), vec![('9', "b".to_string())]);
        assert!(a.keys("other").is_empty());
    }
}
