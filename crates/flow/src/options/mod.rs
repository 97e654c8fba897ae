//! Typed options of every action type (serde, `deny_unknown_fields`).
//!
//! These are what the cursor evaluates and what [`crate::Command`]s carry: the option *after*
//! templating. Field names and defaults follow the seed action reference and
//! custom-actions.md; the field table in `spec.rs` says the same in data form.

mod call;
mod control;
mod http;

pub use call::*;
pub use control::*;
pub use http::*;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::action::ActionType;

/// A comparison operator of the condition actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
}

impl Operator {
    /// Whether `left OP right` holds, given `left.cmp(right)`.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Eq => ordering == Ordering::Equal,
            Operator::Ne => ordering != Ordering::Equal,
            Operator::Gt => ordering == Ordering::Greater,
            Operator::Ge => ordering != Ordering::Less,
            Operator::Lt => ordering == Ordering::Less,
            Operator::Le => ordering != Ordering::Greater,
        }
    }
}

/// An HTTP method (each action's validation narrows the set it accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    #[default]
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
}

/// The typed option of one action, one variant per [`ActionType`].
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum ActionOption {
    AgentCall(AgentCallOption),
    Amd(AmdOption),
    Answer,
    ApiAction(ApiActionOption),
    ApiRequest(ApiRequestOption),
    Beep,
    Branch(BranchOption),
    Call(CallOption),
    ChatbotTalk(ChatbotTalkOption),
    ConditionCallDigits(ConditionCallDigitsOption),
    ConditionCallStatus(ConditionCallStatusOption),
    ConditionDatetime(ConditionDatetimeOption),
    ConditionVariable(ConditionVariableOption),
    ConfbridgeJoin(ConfbridgeJoinOption),
    ConferenceJoin(ConferenceJoinOption),
    Connect(ConnectOption),
    ConversationSend(ConversationSendOption),
    Custom(CustomOption),
    CustomAction(CustomActionOption),
    DigitsReceive(DigitsReceiveOption),
    DigitsSend(DigitsSendOption),
    Echo(EchoOption),
    Empty,
    ExternalMediaStart(ExternalMediaStartOption),
    ExternalMediaStop,
    Fetch(FetchOption),
    FetchFlow(FetchFlowOption),
    Goto(GotoOption),
    Hangup(HangupOption),
    HangupRelay(HangupRelayOption),
    MessageSend(MessageSendOption),
    Output(OutputOption),
    Play(PlayOption),
    QueueJoin(QueueJoinOption),
    RecordingStart(RecordingStartOption),
    RecordingStop,
    Sleep(SleepOption),
    Stop,
    StreamEcho(EchoOption),
    Talk(TalkOption),
    TranscribeRecording(TranscribeOption),
    TranscribeStart(TranscribeOption),
    TranscribeStop,
    VariableSet(VariableSetOption),
    WebhookSend(WebhookSendOption),
}

/// The option of the types that take none: only `{}` (or no `option`) is accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoOption {}

impl ActionOption {
    /// Parses `value` (the option JSON, `Null` when absent) as the option of `t`.
    /// The error is serde's sentence.
    pub fn parse(t: ActionType, value: &serde_json::Value) -> Result<ActionOption, String> {
        use ActionOption as O;
        use ActionType as T;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let v = if value.is_null() { &empty } else { value };
        fn de<'a, X: Deserialize<'a>>(v: &'a serde_json::Value) -> Result<X, String> {
            X::deserialize(v).map_err(|e| e.to_string())
        }
        Ok(match t {
            T::AgentCall => O::AgentCall(de(v)?),
            T::Amd => O::Amd(de(v)?),
            T::ApiAction => O::ApiAction(de(v)?),
            T::ApiRequest => O::ApiRequest(de(v)?),
            T::Branch => O::Branch(de(v)?),
            T::Call => O::Call(de(v)?),
            T::ChatbotTalk => O::ChatbotTalk(de(v)?),
            T::ConditionCallDigits => O::ConditionCallDigits(de(v)?),
            T::ConditionCallStatus => O::ConditionCallStatus(de(v)?),
            T::ConditionDatetime => O::ConditionDatetime(de(v)?),
            T::ConditionVariable => O::ConditionVariable(de(v)?),
            T::ConfbridgeJoin => O::ConfbridgeJoin(de(v)?),
            T::ConferenceJoin => O::ConferenceJoin(de(v)?),
            T::Connect => O::Connect(de(v)?),
            T::ConversationSend => O::ConversationSend(de(v)?),
            T::Custom => O::Custom(de(v)?),
            T::CustomAction => O::CustomAction(de(v)?),
            T::DigitsReceive => O::DigitsReceive(de(v)?),
            T::DigitsSend => O::DigitsSend(de(v)?),
            T::Echo => O::Echo(de(v)?),
            T::ExternalMediaStart => O::ExternalMediaStart(de(v)?),
            T::Fetch => O::Fetch(de(v)?),
            T::FetchFlow => O::FetchFlow(de(v)?),
            T::Goto => O::Goto(de(v)?),
            T::Hangup => O::Hangup(de(v)?),
            T::HangupRelay => O::HangupRelay(de(v)?),
            T::MessageSend => O::MessageSend(de(v)?),
            T::Output => O::Output(de(v)?),
            T::Play => O::Play(de(v)?),
            T::QueueJoin => O::QueueJoin(de(v)?),
            T::RecordingStart => O::RecordingStart(de(v)?),
            T::Sleep => O::Sleep(de(v)?),
            T::StreamEcho => O::StreamEcho(de(v)?),
            T::Talk => O::Talk(de(v)?),
            T::TranscribeRecording => O::TranscribeRecording(de(v)?),
            T::TranscribeStart => O::TranscribeStart(de(v)?),
            T::VariableSet => O::VariableSet(de(v)?),
            T::WebhookSend => O::WebhookSend(de(v)?),
            T::Answer
            | T::Beep
            | T::Empty
            | T::ExternalMediaStop
            | T::RecordingStop
            | T::Stop
            | T::TranscribeStop => {
                let NoOption {} = de(v)?;
                match t {
                    T::Answer => O::Answer,
                    T::Beep => O::Beep,
                    T::Empty => O::Empty,
                    T::ExternalMediaStop => O::ExternalMediaStop,
                    T::RecordingStop => O::RecordingStop,
                    T::TranscribeStop => O::TranscribeStop,
                    _ => O::Stop,
                }
            }
        })
    }
}

/// Deserializes an optional action id where `""` and the nil UUID mean "none".
pub(crate) fn optional_target<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::ActionId>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !crate::ActionId::is_nil_text(s))
        .map(crate::ActionId::from))
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_compare_left_to_right() {
        use Ordering::*;
        let cases = [
            (Operator::Eq, [false, true, false]),
            (Operator::Ne, [true, false, true]),
            (Operator::Gt, [false, false, true]),
            (Operator::Ge, [false, true, true]),
            (Operator::Lt, [true, false, false]),
            (Operator::Le, [true, true, false]),
        ];
        for (op, want) in cases {
            let got = [op.holds(Less), op.holds(Equal), op.holds(Greater)];
            assert_eq!(got, want, "{op:?}");
        }
    }

    #[test]
    fn types_without_options_reject_any_field() {
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::Value::Null).is_ok());
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::json!({})).is_ok());
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::json!({"x": 1})).is_err());
    }
}
