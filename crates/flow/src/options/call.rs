//! Options of the media and call actions (talk, play, digits, recording, amd, connect, ...).

use serde::{Deserialize, Serialize};

/// `talk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TalkOption {
    /// Plain text or SSML.
    pub text: String,
    /// BCP47 language (`en-US`); `None` = the server default.
    #[serde(default)]
    pub language: Option<String>,
    /// TTS provider; `None` = the built-in engine.
    #[serde(default)]
    pub provider: Option<String>,
    /// Provider voice.
    #[serde(default)]
    pub voice_id: Option<String>,
    /// DTMF during playback.
    #[serde(default)]
    pub digits_handle: Option<DigitsHandle>,
}

/// What a DTMF digit does during a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DigitsHandle {
    /// Stop the prompt and move on; the digit is kept for the next `digits_receive`.
    Next,
}

/// `play`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayOption {
    /// URLs (`http(s)://`, `file://`, or a sound name), played in order.
    pub stream_urls: Vec<String>,
    /// DTMF during playback.
    #[serde(default)]
    pub digits_handle: Option<DigitsHandle>,
}

/// `digits_receive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitsReceiveOption {
    /// Overall timeout in ms, stopped by the first digit; `None` = the shell's default.
    #[serde(default)]
    pub duration: Option<u64>,
    /// Digits to collect (default 1).
    #[serde(default = "one")]
    pub length: u32,
    /// Terminating key (kept in the value).
    #[serde(default)]
    pub key: Option<String>,
    /// Timeout between digits in ms (default 5000).
    #[serde(default = "five_seconds")]
    pub inter_digit_timeout: u64,
}

fn one() -> u32 {
    1
}

fn five_seconds() -> u64 {
    5000
}

/// `digits_send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigitsSendOption {
    /// 0-9, A-D, `*`, `#`; at most 100.
    pub digits: String,
    /// Tone length in ms, 100-1000 (default 250).
    #[serde(default = "tone_ms")]
    pub duration: u64,
    /// Gap between tones in ms, 0-5000 (default 100).
    #[serde(default = "gap_ms")]
    pub interval: u64,
}

fn tone_ms() -> u64 {
    250
}

fn gap_ms() -> u64 {
    100
}

/// `recording_start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingStartOption {
    /// File format (default wav).
    #[serde(default)]
    pub format: RecordingFormat,
    /// Seconds of caller silence that stop the recording; 0 = never.
    #[serde(default)]
    pub end_of_silence: u64,
    /// DTMF that stops the recording.
    #[serde(default)]
    pub end_of_key: EndOfKey,
    /// Maximum length in seconds; 0 = none.
    #[serde(default)]
    pub duration: u64,
    /// Beep when recording starts.
    #[serde(default)]
    pub beep_start: bool,
}

/// Recording file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum RecordingFormat {
    #[default]
    Wav,
    Mp3,
    Ogg,
}

/// DTMF key that stops a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EndOfKey {
    /// No key stops it.
    #[default]
    #[serde(rename = "none")]
    None,
    /// Any key.
    #[serde(rename = "any")]
    Any,
    /// `*`
    #[serde(rename = "*")]
    Star,
    /// `#`
    #[serde(rename = "#")]
    Hash,
}

/// `amd`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmdOption {
    /// What a machine verdict does (default continue).
    #[serde(default)]
    pub machine_handle: MachineHandle,
    /// Continue the flow while detecting.
    #[serde(default, rename = "async")]
    pub run_async: bool,
}

/// What an answering-machine verdict does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MachineHandle {
    /// Hang up.
    Hangup,
    /// Carry on.
    #[default]
    Continue,
}

/// `echo` and `stream_echo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EchoOption {
    /// Milliseconds; `None` = until the call ends.
    #[serde(default)]
    pub duration: Option<u64>,
}

/// A call address (`{"type": "tel", "target": "+15551234567"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// `tel`, `sip`, ...
    #[serde(default, rename = "type")]
    pub address_type: Option<String>,
    /// Number or URI.
    pub target: String,
    /// Display name of the target.
    #[serde(default)]
    pub target_name: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Free text.
    #[serde(default)]
    pub detail: Option<String>,
}

/// `call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOption {
    /// Source address.
    #[serde(default)]
    pub source: Option<Address>,
    /// Destinations.
    pub destinations: Vec<Address>,
    /// Flow for the new calls.
    #[serde(default)]
    pub flow_id: Option<String>,
    /// Inline actions (validated as their own flow).
    #[serde(default)]
    pub actions: Option<Vec<serde_json::Value>>,
    /// Hang the new calls up with this one.
    #[serde(default)]
    pub chained: bool,
    /// Run their flow while ringing.
    #[serde(default)]
    pub early_execution: bool,
}

/// `connect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectOption {
    /// Source address.
    #[serde(default)]
    pub source: Option<Address>,
    /// Destinations, rung at once.
    pub destinations: Vec<Address>,
    /// Allow early media.
    #[serde(default)]
    pub early_media: bool,
    /// Hang up with the callee's cause when the bridge ends.
    #[serde(default)]
    pub relay_reason: bool,
    /// Seconds the destinations ring before `noanswer`; `None` = 60.
    #[serde(default)]
    pub ring_timeout: Option<u64>,
}

/// `chatbot_talk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatbotTalkOption {
    /// Chatbot id.
    pub chatbot_id: String,
    /// `male`, `female`, `neutral`.
    #[serde(default)]
    pub gender: Option<String>,
    /// BCP47 language.
    #[serde(default)]
    pub language: Option<String>,
    /// Seconds.
    #[serde(default)]
    pub duration: Option<u64>,
}

/// `agent_call` (deprecated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentCallOption {
    /// Agent id.
    pub agent_id: String,
}

/// `confbridge_join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfbridgeJoinOption {
    /// Confbridge id.
    pub confbridge_id: String,
}

/// `conference_join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConferenceJoinOption {
    /// Conference id.
    pub conference_id: String,
}

/// `queue_join`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueJoinOption {
    /// Queue id.
    pub queue_id: String,
}

/// `conversation_send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSendOption {
    /// Conversation id.
    pub conversation_id: String,
    /// Text.
    pub text: String,
    /// Wait for delivery.
    #[serde(default)]
    pub sync: bool,
}

/// `message_send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSendOption {
    /// Source address.
    #[serde(default)]
    pub source: Option<Address>,
    /// Destinations.
    pub destinations: Vec<Address>,
    /// Text.
    pub text: String,
}

/// `external_media_start`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ExternalMediaStartOption {
    /// `host:port`.
    pub external_host: String,
    #[serde(default)]
    pub encapsulation: Option<String>,
    #[serde(default)]
    pub transport: Option<String>,
    #[serde(default)]
    pub connection_type: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub data: Option<String>,
}

/// `transcribe_start` and `transcribe_recording`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscribeOption {
    /// BCP47 language.
    #[serde(default)]
    pub language: Option<String>,
    /// STT provider.
    #[serde(default)]
    pub provider: Option<String>,
    /// `in`, `out`, `both`.
    #[serde(default)]
    pub direction: Option<String>,
}
