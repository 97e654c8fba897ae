//! The field table itself: every action type's option fields, with ranges and enums from
//! the seed action reference, flows.md and custom-actions.md.

use super::{Field, Kind};
use crate::action::ActionType;

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

/// The option fields of `t`.
pub(crate) fn fields(t: ActionType) -> &'static [Field] {
    use ActionType::*;
    match t {
        AgentCall => const { &[req("agent_id", Kind::Str, "Target agent id.")] },
        Amd => {
            const {
                &[
                    opt(
                        "machine_handle",
                        Kind::Enum(&["hangup", "continue"]),
                        "What to do when a machine answers.",
                    ),
                    opt("async", Kind::Bool, "Continue the flow while detecting."),
                ]
            }
        }
        Answer | Beep | RecordingStop | Stop | Empty | TranscribeStop | ExternalMediaStop => NONE,
        ApiAction => {
            const {
                &[
                    req("name", Kind::Str, "Name of the API action definition."),
                    opt(
                        "failure_target_id",
                        Kind::Target,
                        "Action to jump to when the request fails.",
                    ),
                ]
            }
        }
        ApiRequest => {
            const {
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
            }
        }
        Branch => {
            const {
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
            }
        }
        Call => {
            const {
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
            }
        }
        ChatbotTalk => {
            const {
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
            }
        }
        ConditionCallDigits => {
            const {
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
            }
        }
        ConditionCallStatus => {
            const {
                &[
                    req("status", Kind::Str, "Call status to match."),
                    req(
                        "false_target_id",
                        Kind::Target,
                        "Action to jump to when false.",
                    ),
                ]
            }
        }
        ConditionDatetime => {
            const {
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
            }
        }
        ConditionVariable => {
            const {
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
            }
        }
        ConfbridgeJoin => const { &[req("confbridge_id", Kind::Str, "Confbridge id.")] },
        ConferenceJoin => const { &[req("conference_id", Kind::Str, "Conference id.")] },
        Connect => {
            const {
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
                ]
            }
        }
        ConversationSend => {
            const {
                &[
                    req("conversation_id", Kind::Str, "Conversation id."),
                    req("text", Kind::Str, "Message text."),
                    opt("sync", Kind::Bool, "Wait for delivery."),
                ]
            }
        }
        Custom => {
            const {
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
            }
        }
        CustomAction => {
            const {
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
            }
        }
        DigitsReceive => {
            const {
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
            }
        }
        DigitsSend => {
            const {
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
            }
        }
        Echo | StreamEcho => const { &[opt("duration", MS, "Echo duration in ms.")] },
        ExternalMediaStart => {
            const {
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
            }
        }
        Fetch => {
            const {
                &[
                    req("event_url", Kind::Str, "URL returning actions."),
                    opt(
                        "event_method",
                        Kind::Enum(&["GET", "POST"]),
                        "HTTP method (default POST).",
                    ),
                ]
            }
        }
        FetchFlow => const { &[req("flow_id", Kind::Str, "Stored flow id.")] },
        Goto => {
            const {
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
            }
        }
        Hangup => {
            const {
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
            }
        }
        HangupRelay => {
            const {
                &[req(
                    "reference_id",
                    Kind::Str,
                    "Call whose hangup cause to mirror.",
                )]
            }
        }
        MessageSend => {
            const {
                &[
                    opt("source", Kind::Object(ADDRESS), "Source address."),
                    req("destinations", Kind::ObjectList(ADDRESS), "Destinations."),
                    req("text", Kind::Str, "Message text."),
                ]
            }
        }
        Output => {
            const {
                &[
                    req("path", Kind::Str, "Output path name."),
                    opt(
                        "variables",
                        Kind::StrMap,
                        "Variables exported to the caller.",
                    ),
                ]
            }
        }
        Play => {
            const {
                &[
                    req("stream_urls", Kind::StrList, "Audio URLs played in order."),
                    opt(
                        "digits_handle",
                        Kind::Enum(&["next"]),
                        "`next`: a digit stops playback.",
                    ),
                ]
            }
        }
        QueueJoin => const { &[req("queue_id", Kind::Str, "Queue id.")] },
        RecordingStart => {
            const {
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
            }
        }
        Sleep => const { &[req("duration", MS, "Pause in ms.")] },
        Talk => {
            const {
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
            }
        }
        TranscribeRecording | TranscribeStart => TRANSCRIBE,
        VariableSet => {
            const {
                &[
                    req("key", Kind::Str, "Variable name (literal)."),
                    opt("value", Kind::Str, "Value (templated)."),
                ]
            }
        }
        WebhookSend => {
            const {
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
            }
        }
    }
}
