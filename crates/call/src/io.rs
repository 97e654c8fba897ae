//! The I/O the core asks the shell for ([`IoRequest`]), and what the shell reports back
//! ([`IoResult`]), tagged with the [`IoId`] the core gave the request.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use flow::options::{ApiRequestOption, CustomActionOption, HttpMethod, WebhookSendOption};
use flow::{Completion, Variables};
use media::prompt::EncodedPrompt;
use media::session::RecordingLimits;
use media::AudioCodec;
use serde::{Deserialize, Serialize};

use crate::leg::LegId;

/// Names one I/O request of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IoId(pub u64);

/// Where a prompt's audio comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptSource {
    /// Synthesized speech.
    Speech {
        /// Plain text or SSML.
        text: String,
        /// BCP 47.
        language: String,
        /// A provider's voice, if chosen.
        voice: Option<String>,
    },
    /// A sound: a name under the sounds directory, `file://` or `http(s)://`.
    Sound(String),
    /// The short 1 kHz beep.
    Beep,
    /// One cadence of ringback (what a caller hears while the callee rings).
    Ringback,
    /// In-band DTMF tones: each digit for `duration_ms`, then `interval_ms` of silence.
    DtmfTones {
        /// The keys.
        digits: String,
        /// Tone length.
        duration_ms: u32,
        /// Silence after each tone.
        interval_ms: u32,
    },
}

/// When an API action fires (custom-actions.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An `api_action` step.
    Flow,
    /// A key bound to it, pressed during a prompt.
    Dtmf,
    /// After a `digits_receive` that got digits.
    AfterCapture,
    /// Chosen by a voice agent.
    AiIntent,
}

impl Trigger {
    /// The envelope's `trigger`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Flow => "flow",
            Trigger::Dtmf => "dtmf",
            Trigger::AfterCapture => "after_capture",
            Trigger::AiIntent => "ai_intent",
        }
    }
}

/// I/O the shell performs for the core.
#[derive(Debug, Clone, PartialEq)]
pub enum IoRequest {
    /// A prompt encoded in `codec`: [`IoResult::Prompt`].
    Prompt {
        /// What to say or play.
        source: PromptSource,
        /// The leg's codec.
        codec: AudioCodec,
    },
    /// `webhook_send`: [`IoResult::Completion`].
    WebhookSend(WebhookSendOption),
    /// `fetch`: [`IoResult::Completion`] (`Pushed` or `Failed`).
    Fetch {
        /// The URL.
        url: String,
        /// `GET` (ids as query parameters) or `POST` (ids and variables in the body).
        method: HttpMethod,
        /// The activeflow.
        activeflow_id: String,
        /// Its call (`""` without one).
        call_id: String,
        /// The activeflow's variables.
        variables: Vec<(String, String)>,
    },
    /// `fetch_flow`: a stored flow's actions, [`IoResult::Completion`] (`Pushed`).
    FetchFlow {
        /// The flow.
        flow_id: String,
    },
    /// `custom_action`: resolve the library definition, [`IoResult::Completion`]
    /// (`EnterCustomAction` or `Failed`).
    CustomAction(CustomActionOption),
    /// `api_request`: [`IoResult::Completion`] with the captured variables.
    ApiRequest {
        /// The templated option (secrets still as `${secret.NAME}`).
        option: ApiRequestOption,
        /// The activeflow's variables (for `{x}` in the URL).
        variables: Variables,
    },
    /// Fire the API action `name`: [`IoResult::ApiAction`].
    ApiAction {
        /// The definition's name.
        name: String,
        /// Why it fires.
        trigger: Trigger,
        /// Digits captured, or the key pressed (`user_message`).
        user_message: String,
        /// The activeflow's variables (templates read them).
        variables: Variables,
        /// The call (`conversation_id`; `""` without one).
        call_id: String,
        /// The flow (`chatbot_id`).
        flow_id: String,
        /// The caller (`visitor_id`).
        caller: String,
    },
    /// Where `extension` (and `agent`) destinations can be reached now, each as the `sip`
    /// addresses of its live contacts; other destinations come back as given:
    /// [`IoResult::Destinations`].
    Destinations {
        /// The flow's destinations, in order.
        destinations: Vec<flow::options::Address>,
    },
    /// Open a recording file and hand it to `leg`'s media session:
    /// [`IoResult::Recording`].
    StartRecording {
        /// The leg recorded.
        leg: LegId,
        /// The recording id (its file stem).
        recording_id: String,
        /// When it starts.
        started_at: DateTime<Utc>,
        /// The call.
        call_id: String,
        /// The activeflow.
        activeflow_id: String,
        /// The flow.
        flow_id: String,
        /// What ends it besides `recording_stop`.
        limits: RecordingLimits,
    },
}

/// What an API action answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiAnswer {
    /// Texts to say, in order.
    pub say: Vec<String>,
    /// `<name>.<key>` variables.
    pub vars: Vec<(String, String)>,
    /// Why it failed, if it did (its `error_message` is then in `say`).
    pub error: Option<String>,
}

/// How an I/O request ended.
#[derive(Debug, Clone, PartialEq)]
pub enum IoResult {
    /// The prompt, or why there is none.
    Prompt(Result<Arc<EncodedPrompt>, String>),
    /// The completion of an HTTP action or a lookup, with variables to set first.
    Completion {
        /// For the cursor.
        completion: Completion,
        /// Set before completing (`api_request` captures).
        vars: Vec<(String, String)>,
    },
    /// An API action's answer.
    ApiAction(ApiAnswer),
    /// The recording runs, or why it could not start.
    Recording(Result<(), String>),
    /// The destinations to ring (empty: nobody is reachable).
    Destinations(Vec<flow::options::Address>),
}

impl IoResult {
    /// A completion with no variables.
    pub fn completion(completion: Completion) -> IoResult {
        IoResult::Completion {
            completion,
            vars: Vec::new(),
        }
    }
}
