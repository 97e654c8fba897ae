//! What is running now: calls and activeflows by id, for the API. Each is answered by the
//! task that runs it, over its [`Control`] channel; records of what ended stay here until the
//! writer has stored them.

use call::{CallRecord, ResumeError, ResumeEvent, ResumeOutcome};
use dashmap::DashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the API waits for a running activeflow to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// Requests to the task that runs an activeflow.
#[derive(Debug)]
pub(crate) enum Control {
    /// Reply with the current state (the shape of `GET /v1/activeflows/{id}`).
    Snapshot(oneshot::Sender<serde_json::Value>),
    /// Stop the flow now (end_reason `api`); a call is hung up.
    Stop,
    /// An event for a parked `custom` action.
    Resume {
        event: ResumeEvent,
        reply: oneshot::Sender<Result<ResumeOutcome, ResumeError>>,
    },
}

/// Live calls and activeflows. Entries leave when they end (history is in the store).
#[derive(Default)]
pub(crate) struct Live {
    pub(crate) calls: DashMap<String, Arc<CallState>>,
    pub(crate) activeflows: DashMap<String, mpsc::UnboundedSender<Control>>,
    /// Ended, not yet written to the store (see `records`).
    pub(crate) ended_calls: DashMap<String, CallRecord>,
    pub(crate) ended_activeflows: DashMap<String, serde_json::Value>,
}

impl Live {
    /// The state of an activeflow, live or ended not yet stored; `None` when unknown here.
    pub(crate) async fn activeflow_snapshot(&self, id: &str) -> Option<serde_json::Value> {
        if let Some(v) = self.ended_activeflows.get(id) {
            return Some(v.clone());
        }
        let tx = self.activeflows.get(id)?.clone();
        let (reply, rx) = oneshot::channel();
        tx.send(Control::Snapshot(reply)).ok()?;
        tokio::time::timeout(ANSWER_WITHIN, rx).await.ok()?.ok()
    }

    /// Deliver an event to a parked activeflow; `None` when it is not live.
    pub(crate) async fn resume_activeflow(
        &self,
        id: &str,
        event: ResumeEvent,
    ) -> Option<Result<ResumeOutcome, ResumeError>> {
        let tx = self.activeflows.get(id)?.clone();
        let (reply, rx) = oneshot::channel();
        tx.send(Control::Resume { event, reply }).ok()?;
        tokio::time::timeout(ANSWER_WITHIN, rx).await.ok()?.ok()
    }

    /// Stop a live activeflow; false when it is not live.
    pub(crate) fn stop_activeflow(&self, id: &str) -> bool {
        self.activeflows
            .get(id)
            .is_some_and(|tx| tx.send(Control::Stop).is_ok())
    }

    /// Records of the live calls and of the ended ones not stored yet.
    pub(crate) fn call_records(&self) -> Vec<CallRecord> {
        self.calls
            .iter()
            .map(|c| c.value().record())
            .chain(self.ended_calls.iter().map(|c| c.value().clone()))
            .collect()
    }

    pub(crate) fn call_record(&self, id: &str) -> Option<CallRecord> {
        self.calls
            .get(id)
            .map(|c| c.value().record())
            .or_else(|| self.ended_calls.get(id).map(|c| c.value().clone()))
    }

    /// Hang a live call up through its activeflow; false when it is not live.
    pub(crate) fn hang_up(&self, id: &str) -> bool {
        self.calls
            .get(id)
            .is_some_and(|c| c.value().control.send(Control::Stop).is_ok())
    }

    pub(crate) fn activeflow_ids(&self) -> Vec<String> {
        self.activeflows
            .iter()
            .map(|e| e.key().clone())
            .chain(self.ended_activeflows.iter().map(|e| e.key().clone()))
            .collect()
    }
}

/// A live call as the API sees it: its CDR as the call core last reported it.
pub(crate) struct CallState {
    record: Mutex<CallRecord>,
    control: mpsc::UnboundedSender<Control>,
}

impl CallState {
    pub(crate) fn new(record: CallRecord, control: mpsc::UnboundedSender<Control>) -> CallState {
        CallState {
            record: Mutex::new(record),
            control,
        }
    }

    /// A copy of the record.
    pub(crate) fn record(&self) -> CallRecord {
        // A poisoned lock only means a thread panicked mid-copy; the record is still whole.
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set(&self, record: &CallRecord) {
        self.record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone_from(record);
    }
}
