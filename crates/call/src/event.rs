//! Events (flows.md §6): every state change, one [`Event`] enum, serialised here and only here
//! as `{"type", "data", "timestamp"}`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

use crate::record::CallRecord;

/// One state change. [`Event::kind`] is its `type`; the payload is its `data`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A call arrived (or was placed).
    CallCreated(CallRecord),
    /// It rings (180 sent).
    CallRinging(CallRecord),
    /// It was answered.
    CallAnswered(CallRecord),
    /// It ended; the record has the cause and the outcome.
    CallHangup(CallRecord),
    /// An activeflow started.
    ActiveflowCreated {
        /// The activeflow.
        activeflow_id: String,
        /// Its flow.
        flow_id: String,
        /// Its call; `None` for activeflows started through the API.
        call_id: Option<String>,
    },
    /// An action was made current and finished (one per execution-log entry).
    ActiveflowUpdated {
        /// The activeflow.
        activeflow_id: String,
        /// Its call, if any.
        call_id: Option<String>,
        /// The action's id.
        action_id: String,
        /// The action's type.
        action_type: &'static str,
        /// `done`, `skipped`, `timeout`, `failed: <reason>`.
        outcome: String,
        /// When it started.
        tm_execute: DateTime<Utc>,
        /// How long it took.
        duration_ms: u64,
    },
    /// A `custom` action parked the activeflow: the trace the customer's app answers.
    ActiveflowWaiting(ParkTrace),
    /// An activeflow ended.
    ActiveflowEnded {
        /// The activeflow.
        activeflow_id: String,
        /// Its call, if any.
        call_id: Option<String>,
        /// `finished`, `stopped`, `hangup`, `error`, `budget_exceeded`, `api`.
        end_reason: Option<flow::EndReason>,
    },
    /// A key press.
    DtmfReceived {
        /// The key.
        digit: char,
        /// The call.
        call_id: String,
        /// Its activeflow.
        activeflow_id: String,
    },
    /// A recording started.
    RecordingStarted {
        /// The recording.
        recording_id: String,
        /// The call.
        call_id: String,
        /// Its activeflow.
        activeflow_id: String,
        /// The file's name in the recordings directory.
        filename: String,
    },
    /// A recording's file is complete.
    RecordingFinished(RecordingInfo),
    /// The answering machine detector decided.
    AmdResult {
        /// The call.
        call_id: String,
        /// Its activeflow.
        activeflow_id: String,
        /// `human`, `machine`, `notsure`.
        result: &'static str,
        /// Which rule decided.
        cause: &'static str,
        /// Audio analysed before the verdict.
        decided_after_ms: u32,
    },
    /// A live subscriber fell behind and missed this many events.
    Lagged {
        /// Events missed.
        missed: u64,
    },
}

/// What `activeflow_waiting` carries and `GET /v1/activeflows/{id}` shows under `waiting_on`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParkTrace {
    /// The activeflow.
    pub activeflow_id: String,
    /// Its call, if any.
    pub call_id: Option<String>,
    /// The parked action.
    pub action_id: String,
    /// The custom action's name.
    #[serde(rename = "type")]
    pub name: String,
    /// Its payload (`null` when none).
    pub payload: Value,
    /// The events that choose a path, in order.
    pub paths: Vec<PathEvent>,
    /// Index of the path taken on timeout.
    pub default_path: Option<u32>,
    /// What a resume request must quote, when it quotes one.
    pub token: String,
}

/// One path of a parked action, as the customer's app sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathEvent {
    /// The event type that takes it.
    pub event: String,
}

/// A recording's sidecar (`<id>.json` next to `<id>.wav`) and the `recording_finished` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingInfo {
    /// The recording id (the file stem).
    pub id: String,
    /// The call.
    pub call_id: String,
    /// Its activeflow.
    pub activeflow_id: String,
    /// The flow.
    pub flow_id: String,
    /// Container format.
    pub format: RecordingFormat,
    /// 2: caller left, switchyard right.
    pub channels: u16,
    /// 8000.
    pub sample_rate: u32,
    /// RFC 3339.
    pub started_at: DateTime<Utc>,
    /// `started_at + duration_ms`; `null` while recording (or after a crash).
    pub ended_at: Option<DateTime<Utc>>,
    /// Audio written, in milliseconds (a multiple of 20).
    pub duration_ms: u64,
    /// `null` while recording (or after a crash).
    pub end_reason: Option<media::session::RecordingEnd>,
    /// The WAV's file name inside the recordings directory (`<id>.wav`).
    pub filename: String,
}

/// Container format of a recording file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingFormat {
    /// 8 kHz 16-bit PCM WAV.
    Wav,
}

impl Event {
    /// The event's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::CallCreated(_) => "call_created",
            Event::CallRinging(_) => "call_ringing",
            Event::CallAnswered(_) => "call_answered",
            Event::CallHangup(_) => "call_hangup",
            Event::ActiveflowCreated { .. } => "activeflow_created",
            Event::ActiveflowUpdated { .. } => "activeflow_updated",
            Event::ActiveflowWaiting(_) => "activeflow_waiting",
            Event::ActiveflowEnded { .. } => "activeflow_ended",
            Event::DtmfReceived { .. } => "dtmf_received",
            Event::RecordingStarted { .. } => "recording_started",
            Event::RecordingFinished(_) => "recording_finished",
            Event::AmdResult { .. } => "amd_result",
            Event::Lagged { .. } => "lagged",
        }
    }

    /// The call it concerns (for filters and per-call delivery order).
    pub fn call_id(&self) -> Option<&str> {
        match self {
            Event::CallCreated(r)
            | Event::CallRinging(r)
            | Event::CallAnswered(r)
            | Event::CallHangup(r) => Some(&r.id),
            Event::ActiveflowCreated { call_id, .. }
            | Event::ActiveflowUpdated { call_id, .. }
            | Event::ActiveflowEnded { call_id, .. } => call_id.as_deref(),
            Event::ActiveflowWaiting(t) => t.call_id.as_deref(),
            Event::DtmfReceived { call_id, .. }
            | Event::RecordingStarted { call_id, .. }
            | Event::AmdResult { call_id, .. } => Some(call_id),
            Event::RecordingFinished(i) => Some(&i.call_id),
            Event::Lagged { .. } => None,
        }
    }

    /// The activeflow it concerns.
    pub fn activeflow_id(&self) -> Option<&str> {
        match self {
            Event::CallCreated(r)
            | Event::CallRinging(r)
            | Event::CallAnswered(r)
            | Event::CallHangup(r) => r.activeflow_id.as_deref(),
            Event::ActiveflowCreated { activeflow_id, .. }
            | Event::ActiveflowUpdated { activeflow_id, .. }
            | Event::ActiveflowEnded { activeflow_id, .. }
            | Event::DtmfReceived { activeflow_id, .. }
            | Event::RecordingStarted { activeflow_id, .. }
            | Event::AmdResult { activeflow_id, .. } => Some(activeflow_id),
            Event::ActiveflowWaiting(t) => Some(&t.activeflow_id),
            Event::RecordingFinished(i) => Some(&i.activeflow_id),
            Event::Lagged { .. } => None,
        }
    }

    /// The event's `data`.
    pub fn data(&self) -> Value {
        match self {
            Event::CallCreated(r)
            | Event::CallRinging(r)
            | Event::CallAnswered(r)
            | Event::CallHangup(r) => value(r),
            Event::ActiveflowCreated {
                activeflow_id,
                flow_id,
                call_id,
            } => match call_id {
                Some(c) => {
                    json!({"activeflow_id": activeflow_id, "flow_id": flow_id, "call_id": c})
                }
                None => json!({"activeflow_id": activeflow_id, "flow_id": flow_id}),
            },
            Event::ActiveflowUpdated {
                activeflow_id,
                call_id,
                action_id,
                action_type,
                outcome,
                tm_execute,
                duration_ms,
            } => json!({
                "activeflow_id": activeflow_id,
                "call_id": call_id,
                "action": {"id": action_id, "type": action_type},
                "outcome": outcome,
                "tm_execute": rfc3339(*tm_execute),
                "duration_ms": duration_ms,
            }),
            Event::ActiveflowWaiting(t) => value(t),
            Event::ActiveflowEnded {
                activeflow_id,
                call_id,
                end_reason,
            } => {
                json!({"activeflow_id": activeflow_id, "call_id": call_id, "end_reason": end_reason})
            }
            Event::DtmfReceived {
                digit,
                call_id,
                activeflow_id,
            } => {
                json!({"digit": digit.to_string(), "call_id": call_id, "activeflow_id": activeflow_id})
            }
            Event::RecordingStarted {
                recording_id,
                call_id,
                filename,
                ..
            } => json!({"recording_id": recording_id, "call_id": call_id, "filename": filename}),
            Event::RecordingFinished(i) => value(i),
            Event::AmdResult {
                call_id,
                result,
                cause,
                decided_after_ms,
                ..
            } => json!({"call_id": call_id, "result": result, "cause": cause,
                        "decided_after_ms": decided_after_ms}),
            Event::Lagged { missed } => json!({ "missed": missed }),
        }
    }
}

/// An event with the time it happened: what is published and delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// The event.
    pub event: Event,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
}

impl Published {
    /// `event` at `timestamp`.
    pub fn new(event: Event, timestamp: DateTime<Utc>) -> Published {
        Published { event, timestamp }
    }

    /// `{"type", "data", "timestamp"}` as text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

impl Serialize for Published {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Event", 3)?;
        st.serialize_field("type", self.event.kind())?;
        st.serialize_field("data", &self.event.data())?;
        st.serialize_field("timestamp", &rfc3339(self.timestamp))?;
        st.end()
    }
}

/// RFC 3339 with milliseconds, UTC: how every time in events and snapshots is written.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn value<T: Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_as_type_data_timestamp() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = Published::new(
            Event::DtmfReceived {
                digit: '5',
                call_id: "c".into(),
                activeflow_id: "a".into(),
            },
            at,
        );
        let v: Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type": "dtmf_received", "timestamp": "2026-12-07T10:00:00.123Z",
                   "data": {"digit": "5", "call_id": "c", "activeflow_id": "a"}})
        );
        assert_eq!(e.event.call_id(), Some("c"));
        assert_eq!(e.event.activeflow_id(), Some("a"));
    }

    #[test]
    fn an_activeflow_without_a_call_has_no_call_id_in_its_creation() {
        let e = Event::ActiveflowCreated {
            activeflow_id: "a".into(),
            flow_id: "f".into(),
            call_id: None,
        };
        assert_eq!(e.data(), json!({"activeflow_id": "a", "flow_id": "f"}));
        assert_eq!(e.call_id(), None);
    }
}
