//! Park and resume (custom-actions.md §1): a `custom` action parks its activeflow until the
//! customer's app sends an event, the timeout passes, or the call ends.
//!
//! The first matching event wins (at-most-once); later or duplicate events are refused, and so
//! is every event once the activeflow has moved on. The trace is published as
//! `activeflow_waiting` and shown under `waiting_on`.

use flow::options::CustomOption;
use serde_json::{Map, Value};

use crate::event::{ParkTrace, PathEvent};

/// Default wait before `default_path` is followed.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// An event for a parked activeflow (`POST /v1/activeflows/{id}/events`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeEvent {
    /// The event type: chooses the path.
    pub event: String,
    /// Becomes `custom.<key>` variables.
    pub payload: Map<String, Value>,
    /// Must equal the parked action's token when given.
    pub token: Option<String>,
}

/// What a resume did, for the HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeOutcome {
    /// The flow continues at this action.
    Next {
        /// The action the path leads to.
        action_id: String,
    },
    /// No path has this event: the flow finishes (the call is hung up).
    DeadEnd,
}

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Late, duplicate, or the activeflow never parked: answer 409.
    #[error("the activeflow is not waiting on a custom action (already resumed, timed out or never parked)")]
    NotWaiting,
    /// The token quoted is not the parked action's: answer 409.
    #[error("the token does not match the parked action's token")]
    BadToken,
}

/// Whether `option` parks: `stop: true`, or its name is in the activeflow's `stop_types`.
pub fn parks(option: &CustomOption, stop_types: &[String]) -> bool {
    option.stop || stop_types.iter().any(|t| t == &option.name)
}

/// A parked `custom` action.
#[derive(Debug, Clone, PartialEq)]
pub struct Parked {
    option: CustomOption,
    trace: ParkTrace,
    /// Monotonic ms at which `default_path` is taken.
    deadline_ms: u64,
}

impl Parked {
    /// Park on `option` at `now_ms`; `trace` names the activeflow, call and action.
    pub fn new(option: CustomOption, mut trace: ParkTrace, token: String, now_ms: u64) -> Parked {
        trace.name = option.name.clone();
        trace.payload = option.payload.clone().unwrap_or(Value::Null);
        trace.paths = option
            .paths
            .iter()
            .map(|p| PathEvent {
                event: p.event.clone(),
            })
            .collect();
        trace.default_path = option.default_path;
        trace.token = token;
        let timeout = option.timeout.unwrap_or(DEFAULT_TIMEOUT_MS);
        Parked {
            option,
            trace,
            deadline_ms: now_ms.saturating_add(timeout),
        }
    }

    /// The trace the customer's app answers.
    pub fn trace(&self) -> &ParkTrace {
        &self.trace
    }

    /// When the timeout takes `default_path`.
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_ms
    }

    /// Check an event against the parked action: where it leads, or why it is refused.
    pub fn check(&self, ev: &ResumeEvent) -> Result<ResumeOutcome, ResumeError> {
        if ev.token.as_deref().is_some_and(|t| t != self.trace.token) {
            return Err(ResumeError::BadToken);
        }
        Ok(match flow::custom_outcome(&self.option, &ev.event) {
            flow::CustomOutcome::Jump(id) => ResumeOutcome::Next {
                action_id: id.as_str().to_string(),
            },
            flow::CustomOutcome::DeadEnd => ResumeOutcome::DeadEnd,
        })
    }
}
