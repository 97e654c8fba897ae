//! What is running now: calls and activeflows by id, for the API and for events.

use crate::activeflow::Control;
use crate::engine::Shared;
use crate::events::Event;
use crate::metrics::CallOutcome;
use crate::variables::parse_address;
use dashmap::DashMap;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Live calls and activeflows. Entries leave when they end (history is in the store).
#[derive(Default)]
pub struct Live {
    pub calls: DashMap<String, Arc<CallState>>,
    pub activeflows: DashMap<String, mpsc::UnboundedSender<Control>>,
    /// Ended, not yet written to the store (see `records`).
    pub ended_calls: DashMap<String, store::CallRecord>,
    pub ended_activeflows: DashMap<String, serde_json::Value>,
}

impl Live {
    /// Ask a live activeflow for its state; `None` when it is not live (or did not answer).
    pub async fn activeflow_snapshot(&self, id: &str) -> Option<serde_json::Value> {
        if let Some(v) = self.ended_activeflows.get(id) {
            return Some(v.clone());
        }
        let tx = self.activeflows.get(id)?.clone();
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(Control::Snapshot(reply)).ok()?;
        tokio::time::timeout(std::time::Duration::from_secs(2), rx)
            .await
            .ok()?
            .ok()
    }

    /// Deliver an event to a parked activeflow; `None` when it is not live.
    pub async fn resume_activeflow(
        &self,
        id: &str,
        event: crate::park::ResumeEvent,
    ) -> Option<Result<crate::park::ResumeOutcome, crate::park::ResumeError>> {
        let tx = self.activeflows.get(id)?.clone();
        let (reply, rx) = tokio::sync::oneshot::channel();
        tx.send(Control::Resume { event, reply }).ok()?;
        tokio::time::timeout(std::time::Duration::from_secs(2), rx)
            .await
            .ok()?
            .ok()
    }

    /// Stop a live activeflow; false when it is not live.
    pub fn stop_activeflow(&self, id: &str) -> bool {
        self.activeflows
            .get(id)
            .is_some_and(|tx| tx.send(Control::Stop).is_ok())
    }
}

/// The record of one call while it runs (a CDR in the making).
pub struct CallState {
    pub id: String,
    record: Mutex<store::CallRecord>,
    control: Mutex<Option<mpsc::UnboundedSender<Control>>>,
}

impl CallState {
    pub fn new(shared: &Shared, call: &sip::IncomingCall) -> CallState {
        let id = uuid::Uuid::new_v4().to_string();
        let record = store::CallRecord {
            id: id.clone(),
            sip_call_id: call.call_id.clone(),
            direction: "incoming".into(),
            from: parse_address(&call.from).target,
            to: parse_address(&call.to).target,
            flow_id: None,
            activeflow_id: None,
            status: "progressing".into(),
            created_at: chrono::Utc::now(),
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            hangup_cause: None,
            hangup_side: None,
            outcome: None,
        };
        let state = CallState {
            id,
            record: Mutex::new(record),
            control: Mutex::new(None),
        };
        state.publish(shared, "call_created");
        state
    }

    /// A copy of the current record.
    pub fn record(&self) -> store::CallRecord {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut store::CallRecord)) {
        f(&mut self.record.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn publish(&self, shared: &Shared, kind: &str) {
        shared.events.publish_with(
            || {
                let r = self.record();
                Event::new(
                    kind,
                    Some(&r.id),
                    r.activeflow_id.as_deref(),
                    serde_json::to_value(&r).unwrap_or(json!({})),
                )
            },
            None,
        );
    }

    pub fn set_flow(&self, flow_id: &str, activeflow_id: &str) {
        self.update(|r| {
            r.flow_id = Some(flow_id.to_string());
            r.activeflow_id = Some(activeflow_id.to_string());
        });
    }

    pub fn set_control(&self, tx: mpsc::UnboundedSender<Control>) {
        *self.control.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
    }

    /// Hang the call up through its activeflow (end_reason `api`); false when not possible.
    pub fn hangup(&self) -> bool {
        self.control
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|tx| tx.send(Control::Stop).is_ok())
    }

    pub fn set_cause(&self, cause: &str) {
        self.update(|r| r.hangup_cause = Some(cause.to_string()));
    }

    pub fn ringing(&self, shared: &Shared) {
        self.update(|r| r.status = "ringing".into());
        self.publish(shared, "call_ringing");
    }

    pub fn answered(&self, shared: &Shared) {
        self.update(|r| {
            r.status = "answered".into();
            r.answered_at = Some(chrono::Utc::now());
        });
        self.publish(shared, "call_answered");
    }

    /// Close the record, publish `call_hangup`, store the CDR.
    pub async fn ended(&self, shared: &Shared, outcome: CallOutcome, side: &str) {
        let ended = chrono::Utc::now();
        self.update(|r| {
            r.status = "ended".into();
            r.ended_at = Some(ended);
            r.duration_ms = r.answered_at.map(|a| (ended - a).num_milliseconds());
            r.hangup_side = Some(side.to_string());
            let outcome = match outcome {
                CallOutcome::Completed => "completed",
                CallOutcome::Cancelled => "cancelled",
                CallOutcome::Rejected => "rejected",
                CallOutcome::Failed => "failed",
            };
            r.outcome = Some(outcome.to_string());
            if r.hangup_cause.is_none() {
                r.hangup_cause = Some(
                    match outcome {
                        "cancelled" => "cancel",
                        "failed" => "failed",
                        _ => "normal",
                    }
                    .to_string(),
                );
            }
        });
        self.publish(shared, "call_hangup");
        let record = self.record();
        shared
            .live
            .ended_calls
            .insert(record.id.clone(), record.clone());
        shared.persist(crate::records::Record::Call(record));
    }
}
