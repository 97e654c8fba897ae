//! The action table: every action type of the flow language in one place. Each row gives the
//! type's variant and typed option (in [`crate::options`]), its wire name, whether it is a
//! control action (`[control]`) or needs a call (`[call]`), and its option fields, with
//! ranges and enums from the seed action reference, flows.md and custom-actions.md.
//!
//! `ActionType`, `ActionOption` (with its parser) and [`fields`] are generated from it, so a
//! type is declared once, here (CONTRIBUTING.md has the whole checklist).

use super::{Field, Kind};
use crate::options::*;

const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Field {
    Field {
        name,
        kind,
        required: true,
        doc,
    }
}

const fn opt(name: &'static str, kind: Kind, doc: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        doc,
    }
}

const MS: Kind = Kind::Int {
    min: 0,
    max: 86_400_000,
};
const SECONDS: Kind = Kind::Int {
    min: 0,
    max: 86_400,
};
/// Comparison operators of the condition actions.
const OPERATORS: &[&str] = &["==", "!=", ">", ">=", "<", "<="];
/// Hangup reasons (flows.md §4).
const HANGUP_REASONS: &[&str] = &[
    "normal", "busy", "noanswer", "failed", "timeout", "cancel", "amd",
];
const OP: Kind = Kind::Enum(OPERATORS);

const ADDRESS: &[Field] = &[
    opt("type", Kind::Str, "Address type (`tel`, `sip`, ...)."),
    req(
        "target",
        Kind::Str,
        "Phone number, SIP URI or other target.",
    ),
    opt("target_name", Kind::Str, "Display name of the target."),
    opt("name", Kind::Str, "Name."),
    opt("detail", Kind::Str, "Free text."),
];

const CUSTOM_PATH: &[Field] = &[
    req("event", Kind::Str, "Event type that selects this path."),
    req("target_id", Kind::Target, "Action to jump to."),
];

const HOLD: &[Field] = &[req(
    "stream_urls",
    Kind::StrList,
    "Audio looped while parked.",
)];

const CAPTURE: &[Field] = &[
    req(
        "path",
        Kind::Str,
        "Response path, starting with `response`.",
    ),
    req("variable", Kind::Str, "Variable that receives the value."),
];

const TRANSCRIBE: &[Field] = &[
    opt("language", Kind::Str, "BCP47 language."),
    opt("provider", Kind::Str, "STT provider."),
    opt(
        "direction",
        Kind::Enum(&["in", "out", "both"]),
        "Audio direction.",
    ),
];

const NONE: &[Field] = &[];

crate::action::action_table! {
    AgentCall(AgentCallOption) => "agent_call" [call] { &[req("agent_id", Kind::Str, "Target agent id.")] };
    Amd(AmdOption) => "amd" [call] {
        &[
            opt(
                "machine_handle",
                Kind::Enum(&["hangup", "continue"]),
                "What to do when a machine answers.",
            ),
            opt("async", Kind::Bool, "Continue the flow while detecting."),
        ]
    };
    Answer => "answer" [call] { NONE };
    ApiAction(ApiActionOption) => "api_action" [] {
        &[
            req("name", Kind::Str, "Name of the API action definition."),
            opt(
                "failure_target_id",
                Kind::Target,
                "Action to jump to when the request fails.",
            ),
        ]
    };
    ApiRequest(ApiRequestOption) => "api_request" [] {
        &[
            opt(
                "method",
                Kind::Enum(&["GET", "POST", "PUT", "DELETE", "PATCH"]),
                "HTTP method (default GET).",
            ),
            req("url", Kind::Str, "Request URL."),
            opt("headers", Kind::StrMap, "Request headers."),
            opt("params", Kind::StrMap, "Query parameters."),
            opt("body", Kind::Any, "JSON body, or a raw string."),
            opt(
                "capture",
                Kind::ObjectList(CAPTURE),
                "Response values to store in variables.",
            ),
            opt("timeout", MS, "Timeout in ms (default 20000)."),
            opt(
                "certificate",
                Kind::Str,
                "Name of a stored client certificate.",
            ),
            opt(
                "failure_target_id",
                Kind::Target,
                "Action to jump to on failure.",
            ),
        ]
    };
    Beep => "beep" [call] { NONE };
    Branch(BranchOption) => "branch" [control] {
        &[
            opt(
                "variable",
                Kind::Str,
                "Variable to read (default `call.digits`).",
            ),
            opt(
                "default_target_id",
                Kind::Target,
                "Action to jump to when no key matches.",
            ),
            opt("target_ids", Kind::TargetMap, "Value → action id."),
        ]
    };
    Call(CallOption) => "call" [] {
        &[
            opt("source", Kind::Object(ADDRESS), "Source address."),
            req(
                "destinations",
                Kind::ObjectList(ADDRESS),
                "Destination addresses.",
            ),
            opt("flow_id", Kind::Str, "Flow for the new calls."),
            opt(
                "actions",
                Kind::Actions,
                "Inline actions for the new calls (when no flow_id).",
            ),
            opt(
                "chained",
                Kind::Bool,
                "Hang the new calls up with this one.",
            ),
            opt("early_execution", Kind::Bool, "Run the flow while ringing."),
        ]
    };
    ChatbotTalk(ChatbotTalkOption) => "chatbot_talk" [call] {
        &[
            req("chatbot_id", Kind::Str, "Chatbot id."),
            opt(
                "gender",
                Kind::Enum(&["male", "female", "neutral"]),
                "Voice gender.",
            ),
            opt("language", Kind::Str, "BCP47 language."),
            opt("duration", SECONDS, "Maximum session length in seconds."),
        ]
    };
    ConditionCallDigits(ConditionCallDigitsOption) => "condition_call_digits" [control] {
        &[
            opt(
                "length",
                Kind::Int { min: 0, max: 1000 },
                "Minimum number of digits.",
            ),
            opt("key", Kind::Str, "Text the digits must contain."),
            req(
                "false_target_id",
                Kind::Target,
                "Action to jump to when false.",
            ),
        ]
    };
    ConditionCallStatus(ConditionCallStatusOption) => "condition_call_status" [control] {
        &[
            req("status", Kind::Str, "Call status to match."),
            req(
                "false_target_id",
                Kind::Target,
                "Action to jump to when false.",
            ),
        ]
    };
    ConditionDatetime(ConditionDatetimeOption) => "condition_datetime" [control] {
        &[
            req("condition", OP, "Comparison: current time OP option."),
            opt(
                "minute",
                Kind::Int { min: -1, max: 59 },
                "Minute; -1 = any.",
            ),
            opt("hour", Kind::Int { min: -1, max: 23 }, "Hour; -1 = any."),
            opt(
                "day",
                Kind::Int { min: -1, max: 31 },
                "Day of month; -1 = any.",
            ),
            opt("month", Kind::Int { min: 0, max: 12 }, "Month; 0 = any."),
            opt(
                "weekdays",
                Kind::IntList { min: 0, max: 6 },
                "Allowed weekdays, 0 = Sunday; empty = any.",
            ),
            opt("timezone", Kind::Str, "IANA time zone (default UTC)."),
            req(
                "false_target_id",
                Kind::Target,
                "Action to jump to when false.",
            ),
        ]
    };
    ConditionVariable(ConditionVariableOption) => "condition_variable" [control] {
        &[
            req("condition", OP, "Comparison: variable OP value."),
            req(
                "variable",
                Kind::Str,
                "Variable name, or a `${...}` template.",
            ),
            req(
                "value_type",
                Kind::Enum(&["string", "number", "length"]),
                "How to compare.",
            ),
            opt("value_string", Kind::Str, "Value for `string`."),
            opt("value_number", Kind::Number, "Value for `number`."),
            opt(
                "value_length",
                Kind::Int {
                    min: 0,
                    max: 1_000_000,
                },
                "Value for `length`.",
            ),
            req(
                "false_target_id",
                Kind::Target,
                "Action to jump to when false.",
            ),
        ]
    };
    ConfbridgeJoin(ConfbridgeJoinOption) => "confbridge_join" [call] { &[req("confbridge_id", Kind::Str, "Confbridge id.")] };
    ConferenceJoin(ConferenceJoinOption) => "conference_join" [call] { &[req("conference_id", Kind::Str, "Conference id.")] };
    Connect(ConnectOption) => "connect" [call] {
        &[
            opt("source", Kind::Object(ADDRESS), "Source address."),
            req(
                "destinations",
                Kind::ObjectList(ADDRESS),
                "Destinations (ring all).",
            ),
            opt("early_media", Kind::Bool, "Allow early media."),
            opt(
                "relay_reason",
                Kind::Bool,
                "Hang up with the callee's cause.",
            ),
            opt(
                "ring_timeout",
                SECONDS,
                "Seconds the destinations ring before `noanswer` (default 60).",
            ),
        ]
    };
    ConversationSend(ConversationSendOption) => "conversation_send" [] {
        &[
            req("conversation_id", Kind::Str, "Conversation id."),
            req("text", Kind::Str, "Message text."),
            opt("sync", Kind::Bool, "Wait for delivery."),
        ]
    };
    Custom(CustomOption) => "custom" [] {
        &[
            req("name", Kind::Str, "Custom action name (the trace `type`)."),
            opt(
                "payload",
                Kind::Any,
                "JSON value or string handed to the client.",
            ),
            opt("paths", Kind::ObjectList(CUSTOM_PATH), "Named paths."),
            opt(
                "default_path",
                Kind::Int { min: 0, max: 1000 },
                "Index of the path taken on timeout.",
            ),
            opt("stop", Kind::Bool, "Park the flow (default true)."),
            opt("timeout", MS, "Parking timeout in ms (default 60000)."),
            opt("hold", Kind::Object(HOLD), "Hold audio."),
        ]
    };
    CustomAction(CustomActionOption) => "custom_action" [] {
        &[
            req("name", Kind::Str, "Library custom action name."),
            opt(
                "version",
                Kind::Str,
                "Exact version, semver range or `latest`.",
            ),
            opt("inputs", Kind::AnyMap, "Input values."),
            opt("outputs", Kind::TargetMap, "Output path → action id."),
            opt("as", Kind::Str, "Prefix of exported variables."),
        ]
    };
    DigitsReceive(DigitsReceiveOption) => "digits_receive" [call] {
        &[
            opt("duration", MS, "Overall timeout in ms."),
            opt(
                "length",
                Kind::Int { min: 1, max: 1000 },
                "Digits to collect (default 1).",
            ),
            opt("key", Kind::Str, "Terminating key(s)."),
            opt(
                "inter_digit_timeout",
                MS,
                "Timeout between digits in ms (default 5000).",
            ),
        ]
    };
    DigitsSend(DigitsSendOption) => "digits_send" [call] {
        &[
            req("digits", Kind::Str, "Digits 0-9, A-D, *, # (at most 100)."),
            opt(
                "duration",
                Kind::Int {
                    min: 100,
                    max: 1000,
                },
                "Tone length in ms (default 250).",
            ),
            opt(
                "interval",
                Kind::Int { min: 0, max: 5000 },
                "Gap between tones in ms (default 100).",
            ),
        ]
    };
    Echo(EchoOption) => "echo" [call] { &[opt("duration", MS, "Echo duration in ms.")] };
    Empty => "empty" [control] { NONE };
    ExternalMediaStart(ExternalMediaStartOption) => "external_media_start" [call] {
        &[
            req("external_host", Kind::Str, "host:port receiving the RTP."),
            opt("encapsulation", Kind::Str, "Encapsulation (default rtp)."),
            opt("transport", Kind::Str, "Transport (default udp)."),
            opt(
                "connection_type",
                Kind::Str,
                "Connection type (default client).",
            ),
            opt("format", Kind::Str, "Codec (default ulaw)."),
            opt(
                "direction",
                Kind::Enum(&["both", "send", "receive"]),
                "Media direction.",
            ),
            opt("data", Kind::Str, "Reserved."),
        ]
    };
    ExternalMediaStop => "external_media_stop" [call] { NONE };
    Fetch(FetchOption) => "fetch" [] {
        &[
            req("event_url", Kind::Str, "URL returning actions."),
            opt(
                "event_method",
                Kind::Enum(&["GET", "POST"]),
                "HTTP method (default POST).",
            ),
        ]
    };
    FetchFlow(FetchFlowOption) => "fetch_flow" [] { &[req("flow_id", Kind::Str, "Stored flow id.")] };
    Goto(GotoOption) => "goto" [control] {
        &[
            req("target_id", Kind::Target, "Action to jump to."),
            opt(
                "loop_count",
                Kind::Int {
                    min: 0,
                    max: 1_000_000,
                },
                "Jumps allowed over the activeflow's life.",
            ),
        ]
    };
    Hangup(HangupOption) => "hangup" [call] {
        &[
            opt(
                "reason",
                Kind::Enum(HANGUP_REASONS),
                "Hangup cause (default normal).",
            ),
            opt(
                "reference_id",
                Kind::Str,
                "Call whose hangup cause to mirror.",
            ),
        ]
    };
    HangupRelay(HangupRelayOption) => "hangup_relay" [call] {
        &[req(
            "reference_id",
            Kind::Str,
            "Call whose hangup cause to mirror.",
        )]
    };
    MessageSend(MessageSendOption) => "message_send" [] {
        &[
            opt("source", Kind::Object(ADDRESS), "Source address."),
            req("destinations", Kind::ObjectList(ADDRESS), "Destinations."),
            req("text", Kind::Str, "Message text."),
        ]
    };
    Output(OutputOption) => "output" [control] {
        &[
            req("path", Kind::Str, "Output path name."),
            opt(
                "variables",
                Kind::StrMap,
                "Variables exported to the caller.",
            ),
        ]
    };
    Play(PlayOption) => "play" [call] {
        &[
            req("stream_urls", Kind::StrList, "Audio URLs played in order."),
            opt(
                "digits_handle",
                Kind::Enum(&["next"]),
                "`next`: a digit stops playback.",
            ),
        ]
    };
    QueueJoin(QueueJoinOption) => "queue_join" [call] { &[req("queue_id", Kind::Str, "Queue id.")] };
    RecordingStart(RecordingStartOption) => "recording_start" [call] {
        &[
            opt(
                "format",
                Kind::Enum(&["wav", "mp3", "ogg"]),
                "File format (default wav).",
            ),
            opt(
                "end_of_silence",
                SECONDS,
                "Stop after this many seconds of silence; 0 = never.",
            ),
            opt(
                "end_of_key",
                Kind::Enum(&["none", "any", "*", "#"]),
                "DTMF key that stops recording.",
            ),
            opt("duration", SECONDS, "Maximum length in seconds; 0 = none."),
            opt("beep_start", Kind::Bool, "Beep when recording starts."),
        ]
    };
    RecordingStop => "recording_stop" [call] { NONE };
    Sleep(SleepOption) => "sleep" [] { &[req("duration", MS, "Pause in ms.")] };
    Stop => "stop" [] { NONE };
    StreamEcho(EchoOption) => "stream_echo" [call] { &[opt("duration", MS, "Echo duration in ms.")] };
    Talk(TalkOption) => "talk" [call] {
        &[
            req("text", Kind::Str, "Text or SSML."),
            opt("language", Kind::Str, "BCP47 language."),
            opt("provider", Kind::Str, "TTS provider."),
            opt("voice_id", Kind::Str, "Provider voice."),
            opt(
                "digits_handle",
                Kind::Enum(&["next"]),
                "`next`: a digit stops playback.",
            ),
        ]
    };
    TranscribeRecording(TranscribeOption) => "transcribe_recording" [] { TRANSCRIBE };
    TranscribeStart(TranscribeOption) => "transcribe_start" [call] { TRANSCRIBE };
    TranscribeStop => "transcribe_stop" [call] { NONE };
    VariableSet(VariableSetOption) => "variable_set" [control] {
        &[
            req("key", Kind::Str, "Variable name (literal)."),
            opt("value", Kind::Str, "Value (templated)."),
        ]
    };
    WebhookSend(WebhookSendOption) => "webhook_send" [] {
        &[
            opt(
                "sync",
                Kind::Bool,
                "Wait for the response and read variables from it.",
            ),
            req("uri", Kind::Str, "Destination URL."),
            opt(
                "method",
                Kind::Enum(&["POST", "GET", "PUT", "DELETE"]),
                "HTTP method (default POST).",
            ),
            opt("data_type", Kind::Str, "Content-Type of `data`."),
            opt("data", Kind::Str, "Request body (templated)."),
        ]
    };
}
