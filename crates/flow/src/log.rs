//! The execution log: one entry per action made current (flows.md §2 "Execution log").

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::action::{ActionId, ActionType};

/// How an action ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran to completion.
    Done,
    /// It was not run (e.g. a media action in an activeflow without a call).
    Skipped,
    /// It ran out of time (no digits, no webhook answer, ...).
    Timeout,
    /// It failed; the flow moved on. The reason is one sentence.
    Failed(String),
}

impl fmt::Display for Outcome {
    /// `done`, `skipped`, `timeout`, `failed: <reason>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => f.write_str("done"),
            Outcome::Skipped => f.write_str("skipped"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One entry of an activeflow's `executed_actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutedAction {
    /// The action's id.
    pub id: ActionId,
    /// Its type.
    #[serde(rename = "type")]
    pub action_type: ActionType,
    /// Wall time it was made current (RFC 3339 when serialized).
    pub tm_execute: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
    /// Monotonic milliseconds from made current to completed (0 for control actions).
    pub duration_ms: u64,
    /// A warning or explanation (why it was skipped, why the flow ended), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_prints_as_in_the_activeflow_api() {
        assert_eq!(Outcome::Done.to_string(), "done");
        assert_eq!(Outcome::Failed("x".into()).to_string(), "failed: x");
        let entry = ExecutedAction {
            id: ActionId::from("a"),
            action_type: ActionType::Talk,
            tm_execute: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            outcome: Outcome::Timeout,
            duration_ms: 5,
            note: None,
        };
        let json = serde_json::to_value(&entry).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"id": "a", "type": "talk", "tm_execute": "1970-01-01T00:00:00Z",
                "outcome": "timeout", "duration_ms": 5})
        );
    }
}
