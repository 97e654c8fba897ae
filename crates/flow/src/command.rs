//! What the cursor asks the shell to do ([`Command`]) and how the shell reports back
//! ([`Completion`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::action::{Action, ActionType};
use crate::options::*;

/// One thing the shell must do for the current action. Options are typed and already
/// templated.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Send 200 OK if not answered yet.
    Answer,
    /// Synthesize and play.
    Talk(TalkOption),
    /// Play URLs in order.
    Play(PlayOption),
    /// A short 1 kHz tone.
    Beep,
    /// Wait, media flowing (silence).
    Sleep {
        /// Milliseconds.
        duration_ms: u64,
    },
    /// Hang the call up. After the shell completes it the flow ends with
    /// [`crate::EndReason::Hangup`].
    Hangup {
        /// Cause.
        reason: HangupReason,
        /// Mirror this call's hangup cause instead.
        reference_id: Option<String>,
    },
    /// Collect DTMF into `call.digits` (set it through `variables_mut` before completing).
    DigitsReceive(DigitsReceiveOption),
    /// Send RFC 4733 events.
    DigitsSend(DigitsSendOption),
    /// Start recording (set `recording.*` before completing).
    RecordingStart(RecordingStartOption),
    /// Stop the current recording.
    RecordingStop,
    /// Answering machine detection (set `amd.*` before completing).
    Amd(AmdOption),
    /// Loop the caller's audio back.
    Echo {
        /// Milliseconds; `None` = until the call ends.
        duration_ms: Option<u64>,
    },
    /// Loop audio and DTMF back.
    StreamEcho {
        /// Milliseconds; `None` = until the call ends.
        duration_ms: Option<u64>,
    },
    /// HTTP request; complete with [`Completion::WebhookResponse`] (sync) or `Done`.
    WebhookSend(WebhookSendOption),
    /// Fetch actions; complete with [`Completion::Pushed`].
    Fetch {
        /// URL.
        url: String,
        /// `GET` or `POST`.
        method: HttpMethod,
    },
    /// Load a stored flow; complete with [`Completion::Pushed`].
    FetchFlow {
        /// Stored flow id.
        flow_id: String,
    },
    /// `custom`: park until the client picks a path, or pass. While it is in flight the
    /// activeflow is [`crate::Status::Waiting`] (the shell only hands parked ones to the
    /// client; a pass completes at once). Complete with [`Completion::CustomEvent`] (the
    /// client's event), [`Completion::CustomDefault`] (timeout, or not parked),
    /// `Timeout` (same path as `CustomDefault`, logged `timeout`), or `Done` / `Failed`
    /// (continue with the next action).
    Custom(CustomOption),
    /// `custom_action`: run a library sub-flow. The shell resolves the definition (name and
    /// version) and completes with [`Completion::EnterCustomAction`]; `Failed` when it cannot
    /// (unknown name, no matching version, invalid definition), and the flow continues after
    /// the action. Never emitted beyond [`crate::MAX_CUSTOM_ACTION_DEPTH`] nested custom
    /// actions: the cursor fails the action itself.
    CustomAction(CustomActionOption),
    /// HTTP API call with capture; a `Failed`/`Timeout` completion follows
    /// `failure_target_id` when set.
    ApiRequest(ApiRequestOption),
    /// Named API action; a `Failed`/`Timeout` completion follows `failure_target_id`.
    ApiAction(ApiActionOption),
    /// Ring the destinations, bridge the first to answer; complete when the bridge ends
    /// (`connect.*` variables set first).
    Connect(ConnectOption),
    /// A type this crate has no dedicated command for yet (queue_join, chatbot_talk, ...),
    /// with its templated option. Shells refuse it by name with `Failed`.
    Other {
        /// The type.
        action_type: ActionType,
        /// The option JSON after templating (numbers coerced).
        option: serde_json::Value,
    },
}

/// How the command returned by [`crate::Cursor::next`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Finished normally.
    Done,
    /// Failed; the reason goes to the execution log and the flow moves on.
    Failed(String),
    /// Ran out of time.
    Timeout,
    /// `webhook_send` response: sets `webhook.status`; for a 2xx JSON object body, every
    /// string/number/bool field becomes a variable (nested objects joined with dots), under the
    /// external-variable rules. A non-2xx status makes the outcome `failed`.
    WebhookResponse {
        /// HTTP status.
        status: u16,
        /// Parsed JSON body, if any.
        body: Option<serde_json::Value>,
    },
    /// `fetch` / `fetch_flow` (and later `queue_join`, `conference_join`): actions to run as
    /// a new stack, built with [`crate::parse_actions`]. Jump targets not in the list must
    /// exist in the stacks below (up to the nearest custom-action scope), else the action
    /// fails. An empty list is `Done`. (Also accepted for `custom_action`, as before custom
    /// actions had their own scope: the actions then share the caller's variables; use
    /// [`Completion::EnterCustomAction`].)
    Pushed(Vec<Action>),
    /// `custom`: the client's event. Sets `custom.<key>` for every payload field (nested
    /// objects joined with dots, strings verbatim, other values as JSON text; under the
    /// external-variable limits of [`crate::Variables::merge_external`], refused payloads are
    /// noted in the log and set nothing) and then `custom.event` = `event`. Earlier `custom.*`
    /// variables are not cleared. Then the flow jumps to the first path whose `event` equals
    /// `event` exactly (see [`crate::custom_outcome`]); when none does, it is a **dead end**:
    /// the action is logged `done` with note `dead_end` and the flow finishes
    /// ([`crate::EndReason::Finished`]). Any other command: `failed`.
    CustomEvent {
        /// The event type (`{"type": ...}` of the resume request).
        event: String,
        /// Its payload.
        payload: serde_json::Map<String, serde_json::Value>,
    },
    /// `custom`: no event (timeout, or the action does not park). Follows
    /// `paths[default_path]`; when `default_path` is unset or out of range, continues with
    /// the next action. Any other command: `failed`.
    CustomDefault,
    /// `custom_action`: the resolved library definition. The actions run as a new stack with
    /// their **own variable scope**: `input.<name>` holds `inputs`, and the caller's variables
    /// in [`crate::CUSTOM_ACTION_VISIBLE_PREFIXES`] are copied in at entry; nothing set inside
    /// reaches the caller except through `output`. Jump targets inside are local: every target
    /// the actions name must be among them, else the action fails (`failed: action `x` jumps
    /// to `y`, which does not exist`) and the flow continues after it. Leaving: an `output`
    /// action, or running off the end (through the first of `outputs`). Any other command:
    /// `failed`.
    EnterCustomAction {
        /// The definition's actions, validated with [`crate::parse_actions`].
        actions: Vec<Action>,
        /// Final input values (defaults plus the using flow's configurable overrides).
        inputs: BTreeMap<String, String>,
        /// The declared output path names, in order; the first is taken when the actions run
        /// off the end (or an `output` names an undeclared path).
        outputs: Vec<String>,
    },
}

/// Builds the command of a non-control action from its resolved option.
pub(crate) fn command(
    t: ActionType,
    option: Cow<'_, ActionOption>,
    json: Cow<'_, serde_json::Value>,
) -> Command {
    use ActionOption as O;
    match option.into_owned() {
        O::Answer => Command::Answer,
        O::Talk(o) => Command::Talk(o),
        O::Play(o) => Command::Play(o),
        O::Beep => Command::Beep,
        O::Sleep(o) => Command::Sleep {
            duration_ms: o.duration,
        },
        O::Hangup(o) => Command::Hangup {
            reason: o.reason.unwrap_or_default(),
            reference_id: o.reference_id,
        },
        O::HangupRelay(o) => Command::Hangup {
            reason: HangupReason::Normal,
            reference_id: Some(o.reference_id),
        },
        O::DigitsReceive(o) => Command::DigitsReceive(o),
        O::DigitsSend(o) => Command::DigitsSend(o),
        O::RecordingStart(o) => Command::RecordingStart(o),
        O::RecordingStop => Command::RecordingStop,
        O::Amd(o) => Command::Amd(o),
        O::Echo(o) => Command::Echo {
            duration_ms: o.duration,
        },
        O::StreamEcho(o) => Command::StreamEcho {
            duration_ms: o.duration,
        },
        O::WebhookSend(o) => Command::WebhookSend(o),
        O::Fetch(o) => Command::Fetch {
            url: o.event_url,
            method: o.event_method,
        },
        O::FetchFlow(o) => Command::FetchFlow { flow_id: o.flow_id },
        O::Custom(o) => Command::Custom(o),
        O::CustomAction(o) => Command::CustomAction(o),
        O::ApiRequest(o) => Command::ApiRequest(o),
        O::ApiAction(o) => Command::ApiAction(o),
        O::Connect(o) => Command::Connect(o),
        // No command of their own yet: the shell refuses them by name. Control types never
        // get here (the cursor runs them).
        O::AgentCall(_)
        | O::Call(_)
        | O::ChatbotTalk(_)
        | O::ConfbridgeJoin(_)
        | O::ConferenceJoin(_)
        | O::ConversationSend(_)
        | O::ExternalMediaStart(_)
        | O::ExternalMediaStop
        | O::MessageSend(_)
        | O::QueueJoin(_)
        | O::TranscribeRecording(_)
        | O::TranscribeStart(_)
        | O::TranscribeStop
        | O::Goto(_)
        | O::Branch(_)
        | O::ConditionCallDigits(_)
        | O::ConditionCallStatus(_)
        | O::ConditionDatetime(_)
        | O::ConditionVariable(_)
        | O::VariableSet(_)
        | O::Empty
        | O::Output(_)
        | O::Stop => Command::Other {
            action_type: t,
            option: json.into_owned(),
        },
    }
}
