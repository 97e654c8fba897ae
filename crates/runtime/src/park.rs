//! Park and resume (custom-actions.md §1): a `custom` action parks its activeflow until the
//! customer's client sends an event, the timeout passes, or the call ends.
//!
//! The first matching event wins (at-most-once); later or duplicate events are refused, and
//! so is every event once the activeflow ended. The trace is published as
//! `activeflow_waiting` and shown under `waiting_on`.

use flow::options::CustomOption;
use flow::Completion;
use serde_json::{json, Map, Value};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// Default wait before `default_path` is followed.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// An event for a parked activeflow.
#[derive(Debug, Clone)]
pub struct ResumeEvent {
    pub event: String,
    pub payload: Map<String, Value>,
    pub token: Option<String>,
}

/// What the resume did, for the HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ResumeOutcome {
    /// The flow continues at this action.
    Next { action_id: String },
    /// No path has this event: the flow finishes (the call is hung up).
    DeadEnd,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResumeError {
    #[error("the activeflow is not waiting on a custom action (already resumed, timed out or never parked)")]
    NotWaiting,
    #[error("the token does not match the parked action's token")]
    BadToken,
}

struct Parked {
    token: String,
    option: CustomOption,
    trace: Value,
    wake: oneshot::Sender<ResumeEvent>,
}

/// The parked `custom` action of one activeflow, if any.
#[derive(Default)]
pub struct ParkSlot {
    inner: Mutex<Option<Parked>>,
}

impl std::fmt::Debug for ParkSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParkSlot")
            .field("parked", &self.trace().is_some())
            .finish()
    }
}

impl ParkSlot {
    /// Park on `option`; the receiver yields the winning event.
    pub fn park(
        &self,
        option: &CustomOption,
        action_id: &str,
        activeflow_id: &str,
        call_id: Option<&str>,
    ) -> (Value, oneshot::Receiver<ResumeEvent>) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let trace = json!({
            "activeflow_id": activeflow_id,
            "call_id": call_id,
            "action_id": action_id,
            "type": option.name,
            "payload": option.payload.clone().unwrap_or(Value::Null),
            "paths": option.paths.iter().map(|p| json!({"event": p.event})).collect::<Vec<_>>(),
            "default_path": option.default_path,
            "token": token,
        });
        let (tx, rx) = oneshot::channel();
        *self.lock() = Some(Parked {
            token,
            option: option.clone(),
            trace: trace.clone(),
            wake: tx,
        });
        (trace, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Parked>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The trace while parked (`waiting_on`).
    pub fn trace(&self) -> Option<Value> {
        self.lock().as_ref().map(|p| p.trace.clone())
    }

    /// Deliver an event; the first one wins.
    pub fn resume(&self, ev: ResumeEvent) -> Result<ResumeOutcome, ResumeError> {
        let mut guard = self.lock();
        let Some(parked) = guard.as_ref() else {
            return Err(ResumeError::NotWaiting);
        };
        if ev.token.as_deref().is_some_and(|t| t != parked.token) {
            return Err(ResumeError::BadToken);
        }
        let outcome = match flow::custom_outcome(&parked.option, &ev.event) {
            flow::CustomOutcome::Jump(id) => ResumeOutcome::Next {
                action_id: id.as_str().to_string(),
            },
            flow::CustomOutcome::DeadEnd => ResumeOutcome::DeadEnd,
        };
        if let Some(p) = guard.take() {
            let _ = p.wake.send(ev);
        }
        Ok(outcome)
    }

    /// Forget the parked action (timeout, call ended).
    pub fn clear(&self) {
        *self.lock() = None;
    }
}

/// Whether `option` parks: `stop: true`, or its name is in the activeflow's `stop_types`.
pub fn parks(option: &CustomOption, stop_types: &[String]) -> bool {
    option.stop || stop_types.iter().any(|t| t == &option.name)
}

/// Wait for the event or the timeout; the completion for the cursor.
pub async fn wait(
    slot: &ParkSlot,
    option: &CustomOption,
    rx: oneshot::Receiver<ResumeEvent>,
) -> Completion {
    let timeout = Duration::from_millis(option.timeout.unwrap_or(DEFAULT_TIMEOUT_MS));
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(ev)) => Completion::CustomEvent {
            event: ev.event,
            payload: ev.payload,
        },
        _ => {
            slot.clear();
            Completion::CustomDefault
        }
    }
}
