//! What the outside keeps of a call and its activeflow: the CDR ([`CallRecord`]) and the
//! activeflow's state ([`Snapshot`], the shape of `GET /v1/activeflows/{id}`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::{rfc3339, ParkTrace};

/// One call, live or finished (a CDR in the making). Strings whose vocabulary belongs to the
/// call core (`direction`, `status`, `hangup_cause`, `outcome`) are written by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// switchyard's call id; unique.
    pub id: String,
    /// The SIP Call-ID header of the call's dialog.
    pub sip_call_id: String,
    /// `"incoming"` or `"outgoing"`.
    pub direction: String,
    /// The caller (From URI or number).
    pub from: String,
    /// The callee (To / Request-URI or number).
    pub to: String,
    /// The flow the call ran; `None` when no route matched.
    pub flow_id: Option<String>,
    /// The activeflow of the call, once started.
    pub activeflow_id: Option<String>,
    /// `"progressing"`, `"ringing"`, `"answered"`, `"ended"`.
    pub status: String,
    /// When the call was created; kept by later upserts.
    pub created_at: DateTime<Utc>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Answered-to-end time.
    pub duration_ms: Option<i64>,
    /// [`crate::HangupCause::as_str`].
    pub hangup_cause: Option<String>,
    /// `"caller"` or `"switchyard"`: who hung up.
    pub hangup_side: Option<String>,
    /// [`crate::CallOutcome::as_str`].
    pub outcome: Option<String>,
}

/// An activeflow as `GET /v1/activeflows/{id}` shows it, live or final.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// The activeflow.
    pub id: String,
    /// Its flow.
    pub flow_id: String,
    /// Its call, if any.
    pub call_id: Option<String>,
    /// `running`, `waiting`, `ended`.
    pub status: flow::Status,
    /// Once ended.
    pub end_reason: Option<flow::EndReason>,
    /// The action in flight: `{id, type}`.
    pub current_action: Option<CurrentAction>,
    /// Every variable of the current scope, by name.
    pub variables: Map<String, Value>,
    /// The execution log, oldest first.
    pub executed_actions: Vec<Executed>,
    /// The parked `custom` action's trace.
    pub waiting_on: Option<ParkTrace>,
    /// Where this activeflow's events go, besides the server's webhook.
    pub webhook_uri: Option<String>,
    /// When it started (RFC 3339, ms).
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
}

/// The action in flight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentAction {
    /// Its id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub action_type: &'static str,
}

/// One execution-log entry as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Executed {
    /// The action's id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub action_type: &'static str,
    /// When it started (RFC 3339, ms).
    #[serde(serialize_with = "ser_time")]
    pub tm_execute: DateTime<Utc>,
    /// `done`, `skipped`, `timeout`, `failed: <reason>`.
    pub outcome: String,
    /// How long it took.
    pub duration_ms: u64,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

impl Snapshot {
    /// The cursor's state with the activeflow's identity.
    pub(crate) fn of(
        cursor: &flow::Cursor,
        identity: &crate::Identity,
        waiting_on: Option<ParkTrace>,
    ) -> Snapshot {
        let variables = cursor
            .variables()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        Snapshot {
            id: identity.activeflow_id.clone(),
            flow_id: identity.flow_id.clone(),
            call_id: identity.call_id.clone(),
            status: cursor.status(),
            end_reason: cursor.end_reason(),
            current_action: cursor.current().map(|a| CurrentAction {
                id: a.id().as_str().to_string(),
                action_type: a.action_type().as_str(),
            }),
            variables,
            executed_actions: cursor
                .executed()
                .iter()
                .map(|e| Executed {
                    id: e.id.as_str().to_string(),
                    action_type: e.action_type.as_str(),
                    tm_execute: e.tm_execute,
                    outcome: e.outcome.to_string(),
                    duration_ms: e.duration_ms,
                })
                .collect(),
            waiting_on,
            webhook_uri: identity.webhook_uri.clone(),
            created_at: identity.created_at,
        }
    }

    /// The end reason as the store writes it (`"finished"`, ...).
    pub fn end_reason_text(&self) -> Option<String> {
        self.end_reason
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// As JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// As JSON, moving the variables rather than copying them (the end of every call builds
    /// this once).
    pub fn into_value(mut self) -> Value {
        let variables = std::mem::take(&mut self.variables);
        let mut v = self.to_value();
        if let Some(o) = v.as_object_mut() {
            o.insert("variables".into(), Value::Object(variables));
        }
        v
    }
}
