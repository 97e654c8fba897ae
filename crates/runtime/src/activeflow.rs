//! Activeflows as the outside sees them: live state on request, progress as events, the final
//! record for the store, and activeflows that run without a call (`POST /v1/activeflows`).

use crate::engine::Shared;
use crate::events::Event;
use crate::http_actions::{self, FetchContext};
use crate::park::{ParkSlot, ResumeError, ResumeEvent, ResumeOutcome};
use flow::{Clock, Command, Completion, Cursor, CursorOptions, Step};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Requests to the task that owns an activeflow's cursor.
#[derive(Debug)]
pub enum Control {
    /// Reply with the current state (the shape of `GET /v1/activeflows/{id}`).
    Snapshot(oneshot::Sender<Value>),
    /// Stop the flow now (end_reason `api`); a call is hung up.
    Stop,
    /// An event for a parked `custom` action.
    Resume {
        event: ResumeEvent,
        reply: oneshot::Sender<Result<ResumeOutcome, ResumeError>>,
    },
}

/// Identity and bookkeeping of one activeflow, kept by the task that runs it.
#[derive(Debug)]
pub struct Tracker {
    pub id: String,
    pub flow_id: String,
    pub call_id: Option<String>,
    pub webhook_uri: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    published: usize,
    /// The parked `custom` action, shared with the command that waits on it.
    pub park: Arc<ParkSlot>,
    /// Custom action names that park even with `stop: false`.
    pub stop_types: Vec<String>,
}

impl Tracker {
    pub fn new(
        id: String,
        flow_id: String,
        call_id: Option<String>,
        webhook_uri: Option<String>,
    ) -> Tracker {
        Tracker {
            id,
            flow_id,
            call_id,
            webhook_uri: webhook_uri.filter(|u| !u.trim().is_empty()),
            created_at: chrono::Utc::now(),
            published: 0,
            park: Arc::new(ParkSlot::default()),
            stop_types: Vec::new(),
        }
    }

    /// Park on a `custom` action, or not (`CustomDefault` at once). Publishes
    /// `activeflow_waiting` with the trace while parked.
    pub async fn custom(
        park: &ParkSlot,
        stop_types: &[String],
        publish: impl FnOnce(Value),
        option: flow::options::CustomOption,
        action_id: &str,
        activeflow_id: &str,
        call_id: Option<&str>,
    ) -> Completion {
        if !crate::park::parks(&option, stop_types) {
            return Completion::CustomDefault;
        }
        let (trace, rx) = park.park(&option, action_id, activeflow_id, call_id);
        publish(trace);
        crate::park::wait(park, &option, rx).await
    }

    /// Answer a resume request (from the task that owns the cursor).
    pub fn resume(
        &self,
        event: ResumeEvent,
        reply: oneshot::Sender<Result<ResumeOutcome, ResumeError>>,
    ) {
        let _ = reply.send(self.park.resume(event));
    }

    /// The state as `GET /v1/activeflows/{id}` shows it.
    pub fn snapshot(&self, cursor: &Cursor) -> Value {
        let mut vars: Vec<(&str, &str)> = cursor.variables().iter().collect();
        vars.sort();
        let variables: serde_json::Map<String, Value> = vars
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        json!({
            "id": self.id,
            "flow_id": self.flow_id,
            "call_id": self.call_id,
            "status": cursor.status(),
            "end_reason": cursor.end_reason(),
            "current_action": cursor.current().map(|a| json!({"id": a.id().as_str(), "type": a.action_type().as_str()})),
            "variables": variables,
            "executed_actions": executed(cursor),
            "waiting_on": self.park.trace(),
            "webhook_uri": self.webhook_uri,
            "created_at": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    }

    /// Publish `activeflow_updated` for every action made current since the last call.
    pub fn publish_progress(&mut self, shared: &Shared, cursor: &Cursor) {
        let log = cursor.executed();
        if !shared.events.wanted(self.webhook_uri.as_deref()) {
            self.published = log.len();
            return;
        }
        for e in log.iter().skip(self.published) {
            shared.events.publish(
                Event::new(
                    "activeflow_updated",
                    self.call_id.as_deref(),
                    Some(&self.id),
                    json!({
                        "activeflow_id": self.id,
                        "call_id": self.call_id,
                        "action": {"id": e.id.as_str(), "type": e.action_type.as_str()},
                        "outcome": e.outcome.to_string(),
                        "tm_execute": e.tm_execute.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "duration_ms": e.duration_ms,
                    }),
                ),
                self.webhook_uri.as_deref(),
            );
        }
        self.published = log.len();
    }

    pub fn publish(&self, shared: &Shared, kind: &str, data: Value) {
        shared.events.publish_with(
            || Event::new(kind, self.call_id.as_deref(), Some(&self.id), data),
            self.webhook_uri.as_deref(),
        );
    }

    /// The record kept after the activeflow ends.
    pub fn record(&self, cursor: &Cursor, snap: &Value) -> store::ActiveflowRecord {
        store::ActiveflowRecord {
            id: self.id.clone(),
            flow_id: self.flow_id.clone(),
            call_id: self.call_id.clone(),
            status: "ended".into(),
            end_reason: cursor
                .end_reason()
                .and_then(|r| serde_json::to_value(r).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            variables: snap["variables"].clone(),
            executed_actions: snap["executed_actions"].clone(),
            webhook_uri: self.webhook_uri.clone(),
            created_at: self.created_at,
            ended_at: Some(chrono::Utc::now()),
        }
    }
}

fn executed(cursor: &Cursor) -> Value {
    Value::Array(
        cursor
            .executed()
            .iter()
            .map(|e| {
                json!({
                    "id": e.id.as_str(),
                    "type": e.action_type.as_str(),
                    "tm_execute": e.tm_execute.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "outcome": e.outcome.to_string(),
                    "duration_ms": e.duration_ms,
                })
            })
            .collect(),
    )
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What `POST /v1/activeflows` asks for.
#[derive(Debug, Clone)]
pub struct Headless {
    pub flow: Arc<flow::Flow>,
    pub flow_id: String,
    pub variables: Vec<(String, String)>,
    pub webhook_uri: Option<String>,
    pub stop_types: Vec<String>,
}

/// Start an activeflow without a call; returns its id. Media actions are skipped by the cursor
/// (media gating); HTTP and control actions run.
pub fn start_headless(shared: &Arc<Shared>, req: Headless) -> Result<String, String> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut vars = flow::Variables::new();
    vars.merge_external(req.variables.clone())
        .map_err(|p| p.message)?;
    vars.set("activeflow.id", id.as_str());
    vars.set("activeflow.flow_id", req.flow_id.as_str());
    vars.set("activeflow.reference_type", "api");
    let mut tracker = Tracker::new(
        id.clone(),
        req.flow_id.clone(),
        None,
        req.webhook_uri.clone(),
    );
    tracker.stop_types = req.stop_types.clone();
    let cursor = Cursor::new(
        req.flow,
        vars,
        CursorOptions {
            has_call: false,
            max_actions: shared.max_actions,
            max_control_steps: shared.max_control_steps,
        },
    );
    let (tx, rx) = mpsc::unbounded_channel();
    shared.live.activeflows.insert(id.clone(), tx);
    tokio::spawn(run_headless(shared.clone(), tracker, cursor, rx));
    Ok(id)
}

async fn run_headless(
    shared: Arc<Shared>,
    mut tracker: Tracker,
    mut cursor: Cursor,
    mut control: mpsc::UnboundedReceiver<Control>,
) {
    let start = Instant::now();
    let clock = || Clock {
        wall: chrono::Utc::now(),
        mono_ms: start.elapsed().as_millis() as u64,
    };
    tracker.publish(
        &shared,
        "activeflow_created",
        json!({"activeflow_id": tracker.id, "flow_id": tracker.flow_id}),
    );
    loop {
        let step = cursor.next(clock());
        tracker.publish_progress(&shared, &cursor);
        let command = match step {
            Step::Ended(_) => break,
            Step::Execute(c) => c,
        };
        let fetch = matches!(command, Command::Fetch { .. }).then(|| FetchContext {
            activeflow_id: tracker.id.clone(),
            call_id: String::new(),
            variables: cursor
                .variables()
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect(),
        });
        let api_vars = matches!(command, Command::ApiRequest(_) | Command::ApiAction(_))
            .then(|| cursor.variables().clone());
        let action_id = cursor
            .current()
            .map(|a| a.id().as_str().to_string())
            .unwrap_or_default();
        let park = tracker.park.clone();
        let stop_types = tracker.stop_types.clone();
        let (af_id, webhook) = (tracker.id.clone(), tracker.webhook_uri.clone());
        let tracker_flow = tracker.flow_id.clone();
        let shared2 = shared.clone();
        let pending_vars: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::default();
        let fut = async {
            match command {
                Command::Custom(opt) => {
                    let publish = |trace: Value| {
                        shared2.events.publish(
                            Event::new("activeflow_waiting", None, Some(&af_id), trace),
                            webhook.as_deref(),
                        )
                    };
                    Tracker::custom(&park, &stop_types, publish, opt, &action_id, &af_id, None)
                        .await
                }
                Command::ApiAction(o) => {
                    let Some(def) = shared2.api_actions.get(&o.name) else {
                        return Completion::Failed(format!("no API action named {:?}", o.name));
                    };
                    let vars = api_vars.clone().unwrap_or_default();
                    let ctx = crate::api_actions::Context {
                        call_id: "",
                        flow_id: &tracker_flow,
                        caller: "",
                        user_message: "",
                        trigger: crate::api_actions::Trigger::Flow,
                        vars: &vars,
                    };
                    let fired = crate::api_actions::fire(&shared2.http, &def, &ctx).await;
                    pending_vars
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(fired.vars);
                    match fired.error {
                        Some(e) => Completion::Failed(e),
                        None => Completion::Done,
                    }
                }
                Command::ApiRequest(o) => {
                    let r = crate::api_request::run(&shared2, &o, api_vars).await;
                    for (k, v) in &r.vars {
                        pending_vars
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((k.clone(), v.clone()));
                    }
                    r.completion
                }
                other => execute_headless(&shared2, other, fetch).await,
            }
        };
        tokio::pin!(fut);
        let completion = loop {
            tokio::select! {
                c = &mut fut => break Some(c),
                ctl = control.recv() => match ctl {
                    Some(Control::Snapshot(reply)) => { let _ = reply.send(tracker.snapshot(&cursor)); }
                    Some(Control::Resume { event, reply }) => tracker.resume(event, reply),
                    Some(Control::Stop) | None => break None,
                }
            }
        };
        tracker.park.clear();
        match completion {
            Some(c) => {
                for (k, v) in pending_vars
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .drain(..)
                {
                    cursor.variables_mut().set(k, v);
                }
                cursor.complete(clock(), c)
            }
            None => {
                cursor.stop(clock());
                break;
            }
        }
    }
    tracker.publish_progress(&shared, &cursor);
    finish(&shared, &tracker, &cursor).await;
}

/// Publish `activeflow_ended`, persist the record, leave the live registry.
pub async fn finish(shared: &Shared, tracker: &Tracker, cursor: &Cursor) {
    tracker.publish(
        shared,
        "activeflow_ended",
        json!({"activeflow_id": tracker.id, "call_id": tracker.call_id, "end_reason": cursor.end_reason()}),
    );
    let snapshot = tracker.snapshot(cursor);
    let record = tracker.record(cursor, &snapshot);
    shared
        .live
        .ended_activeflows
        .insert(tracker.id.clone(), snapshot);
    shared.live.activeflows.remove(&tracker.id);
    shared.persist(crate::records::Record::Activeflow(record));
}

async fn execute_headless(
    shared: &Arc<Shared>,
    command: Command,
    fetch: Option<FetchContext>,
) -> Completion {
    match command {
        Command::Sleep { duration_ms } => {
            tokio::time::sleep(Duration::from_millis(duration_ms)).await;
            Completion::Done
        }
        Command::WebhookSend(o) => http_actions::webhook_send(&shared.http, o).await,
        Command::Fetch { url, method } => match fetch {
            Some(ctx) => {
                http_actions::fetch(
                    &shared.http,
                    &url,
                    method,
                    ctx,
                    &crate::flows::capabilities(),
                )
                .await
            }
            None => Completion::Failed("fetch without context".into()),
        },
        Command::CustomAction(o) => crate::library::enter(shared, &o),
        Command::FetchFlow { flow_id } => match shared.flows.get(&flow_id) {
            Some(f) => Completion::Pushed(f.actions().to_vec()),
            None => Completion::Failed(format!("no flow with id {flow_id:?}")),
        },
        // Media commands never reach here (the cursor skips them without a call).
        _ => Completion::Done,
    }
}
