//! Options of the control actions and of the flow-level actions the cursor interprets
//! (goto, branch, conditions, variable_set, sleep, hangup, fetch, webhook_send).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{optional_target, HttpMethod, Operator};
use crate::action::ActionId;

/// `goto`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GotoOption {
    /// Action to jump to.
    pub target_id: ActionId,
    /// Jumps allowed over the activeflow's life; `None` = unlimited (budget only).
    #[serde(default)]
    pub loop_count: Option<u32>,
}

/// `branch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchOption {
    /// Variable to read; `None` or `""` = `call.digits`.
    #[serde(default)]
    pub variable: Option<String>,
    /// Jump here when no key of `target_ids` matches.
    #[serde(default, deserialize_with = "optional_target")]
    pub default_target_id: Option<ActionId>,
    /// Exact value → action id.
    #[serde(default)]
    pub target_ids: BTreeMap<String, ActionId>,
}

/// `condition_variable`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionVariableOption {
    /// `variable OP value`.
    pub condition: Operator,
    /// A variable name, or a template containing `${...}` whose expansion is compared.
    pub variable: String,
    /// How to compare.
    pub value_type: ValueType,
    /// Comparison value for [`ValueType::String`].
    #[serde(default)]
    pub value_string: Option<String>,
    /// Comparison value for [`ValueType::Number`].
    #[serde(default)]
    pub value_number: Option<f64>,
    /// Comparison value for [`ValueType::Length`] (characters).
    #[serde(default)]
    pub value_length: Option<u64>,
    /// Jump here when the condition is false.
    pub false_target_id: ActionId,
}

/// How `condition_variable` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// String comparison (byte order).
    String,
    /// Both sides as `f64`.
    Number,
    /// The variable's length in characters.
    Length,
}

/// `condition_datetime`. Wildcards: `-1` (or omitted) minute, hour, day; `0` (or omitted)
/// month; empty weekdays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionDatetimeOption {
    /// `now OP option`.
    pub condition: Operator,
    /// Minute 0-59.
    #[serde(default)]
    pub minute: Option<i32>,
    /// Hour 0-23.
    #[serde(default)]
    pub hour: Option<i32>,
    /// Day of month 1-31.
    #[serde(default)]
    pub day: Option<i32>,
    /// Month 1-12.
    #[serde(default)]
    pub month: Option<i32>,
    /// Allowed weekdays, 0 = Sunday.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// IANA time zone; `None` = UTC.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Jump here when the condition is false.
    pub false_target_id: ActionId,
}

/// `condition_call_digits` (deprecated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionCallDigitsOption {
    /// True when `call.digits` has at least this many characters.
    #[serde(default)]
    pub length: Option<u64>,
    /// True when `call.digits` contains this text.
    #[serde(default)]
    pub key: Option<String>,
    /// Jump here when the condition is false.
    pub false_target_id: ActionId,
}

/// `condition_call_status` (deprecated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionCallStatusOption {
    /// True when variable `call.status` equals this.
    pub status: String,
    /// Jump here when the condition is false.
    pub false_target_id: ActionId,
}

/// `variable_set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableSetOption {
    /// Variable name (literal, not templated).
    pub key: String,
    /// Value (templated).
    #[serde(default)]
    pub value: String,
}

/// `sleep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepOption {
    /// Milliseconds.
    pub duration: u64,
}

/// `hangup`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangupOption {
    /// Cause; `None` = normal.
    #[serde(default)]
    pub reason: Option<HangupReason>,
    /// Mirror this call's hangup cause.
    #[serde(default)]
    pub reference_id: Option<String>,
}

/// `hangup_relay` (deprecated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HangupRelayOption {
    /// Mirror this call's hangup cause.
    pub reference_id: String,
}

/// Why the flow hangs a call up.
///
/// Mapping used by the shell (Q.850 cause in the `Reason` header of the BYE once answered;
/// SIP final response to an unanswered INVITE, per RFC 3398 where it has an entry):
///
/// | reason | Q.850 | SIP |
/// |---|---|---|
/// | normal | 16 normal clearing | 480 Temporarily Unavailable |
/// | busy | 17 user busy | 486 Busy Here |
/// | noanswer | 19 no answer from user | 480 Temporarily Unavailable |
/// | failed | 41 temporary failure | 503 Service Unavailable |
/// | timeout | 18 no user responding | 408 Request Timeout |
/// | cancel | 16 normal clearing | 487 Request Terminated |
/// | amd | 21 call rejected | 603 Decline |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum HangupReason {
    #[default]
    Normal,
    Busy,
    Noanswer,
    Failed,
    Timeout,
    Cancel,
    Amd,
}

impl HangupReason {
    /// Q.850 cause value (see the table on [`HangupReason`]).
    pub fn q850_cause(self) -> u16 {
        match self {
            HangupReason::Normal | HangupReason::Cancel => 16,
            HangupReason::Busy => 17,
            HangupReason::Noanswer => 19,
            HangupReason::Failed => 41,
            HangupReason::Timeout => 18,
            HangupReason::Amd => 21,
        }
    }

    /// SIP status for an unanswered INVITE (see the table on [`HangupReason`]).
    pub fn sip_status(self) -> u16 {
        match self {
            HangupReason::Normal | HangupReason::Noanswer => 480,
            HangupReason::Busy => 486,
            HangupReason::Failed => 503,
            HangupReason::Timeout => 408,
            HangupReason::Cancel => 487,
            HangupReason::Amd => 603,
        }
    }
}

/// `fetch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchOption {
    /// URL returning actions.
    pub event_url: String,
    /// `GET` or `POST` (default).
    #[serde(default)]
    pub event_method: HttpMethod,
}

/// `fetch_flow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchFlowOption {
    /// Stored flow id.
    pub flow_id: String,
}

/// `webhook_send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSendOption {
    /// Wait for the response and set variables from it.
    #[serde(default)]
    pub sync: bool,
    /// Destination URL.
    pub uri: String,
    /// Method (default POST).
    #[serde(default)]
    pub method: HttpMethod,
    /// `Content-Type` of `data`.
    #[serde(default)]
    pub data_type: Option<String>,
    /// Body.
    #[serde(default)]
    pub data: Option<String>,
}
