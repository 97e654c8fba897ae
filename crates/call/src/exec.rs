//! The one executor of [`Command`]s: how each command starts (at once, or as a [`Job`] the
//! next inputs move on), and which action types this core executes.
//!
//! Both matches here are exhaustive on purpose: a new action type does not compile until it
//! is executed here (or refused by name) and its capability is stated.

use flow::options::{
    AmdOption, DigitsHandle, DigitsSendOption, EndOfKey, MachineHandle, RecordingFormat,
    RecordingStartOption,
};
use flow::{ActionType, Capabilities, Clock, Command, Completion};
use media::session::{Echo, MediaCommand, PlaybackId, RecordingLimits};

use crate::cause::HangupCause;
use crate::io::{IoRequest, PromptSource};
use crate::job::{digits_job, Job, Progress, Prompts, RecordingJob};
use crate::leg::LegId;
use crate::machine::CallCore;
use crate::park::{parks, Parked};

/// What the shell can do beyond the core's own work, deciding which actions run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShellFeatures {
    /// It places outbound legs ([`crate::Output::Dial`]) and bridges them.
    pub dial: bool,
}

/// Whether this core executes `t` with a shell that has `features`. Control types run inside
/// the cursor.
pub fn executes(t: ActionType, features: ShellFeatures) -> bool {
    use ActionType as T;
    match t {
        T::Goto
        | T::Branch
        | T::ConditionCallDigits
        | T::ConditionCallStatus
        | T::ConditionDatetime
        | T::ConditionVariable
        | T::VariableSet
        | T::Empty
        | T::Output
        | T::Stop => true,
        T::Answer
        | T::Talk
        | T::Play
        | T::Beep
        | T::Sleep
        | T::Hangup
        | T::DigitsReceive
        | T::DigitsSend
        | T::RecordingStart
        | T::RecordingStop
        | T::Amd
        | T::Echo
        | T::StreamEcho
        | T::WebhookSend
        | T::Fetch
        | T::FetchFlow
        | T::Custom
        | T::CustomAction
        | T::ApiRequest
        | T::ApiAction => true,
        T::Connect => features.dial,
        T::AgentCall
        | T::Call
        | T::ChatbotTalk
        | T::ConfbridgeJoin
        | T::ConferenceJoin
        | T::ConversationSend
        | T::ExternalMediaStart
        | T::ExternalMediaStop
        | T::HangupRelay
        | T::MessageSend
        | T::QueueJoin
        | T::TranscribeRecording
        | T::TranscribeStart
        | T::TranscribeStop => false,
    }
}

/// The action types flows are validated against, for a shell with `features`.
pub fn capabilities(features: ShellFeatures) -> Capabilities {
    Capabilities::none().with(
        ActionType::ALL
            .iter()
            .copied()
            .filter(|t| executes(*t, features)),
    )
}

/// How a command started.
enum Start {
    /// It finished at once.
    Done(Completion, Vec<(String, String)>),
    /// It runs as a job.
    Job(Job),
    /// It finished, and the first leg is hung up: the activeflow ends.
    DoneThenHangUp(Completion, Vec<(String, String)>, HangupCause),
}

impl From<Progress<Job>> for Start {
    fn from(p: Progress<Job>) -> Start {
        match p {
            Progress::Wait(job) => Start::Job(job),
            Progress::Done(c, v) => Start::Done(c, v),
            Progress::DoneThenHangUp(c, v, cause) => Start::DoneThenHangUp(c, v, cause),
        }
    }
}

fn done() -> Start {
    Start::Done(Completion::Done, Vec::new())
}

fn barge_in(h: Option<DigitsHandle>) -> bool {
    matches!(h, Some(DigitsHandle::Next))
}

impl CallCore {
    /// Start `command` (the cursor's current action).
    pub(crate) fn execute(&mut self, command: Command, now: Clock) {
        match self.begin(command, now) {
            Start::Done(c, vars) => self.complete(c, vars, now),
            Start::Job(job) => {
                if let Some(af) = self.activeflow.as_mut() {
                    af.job = Some(job);
                }
            }
            Start::DoneThenHangUp(c, vars, cause) => {
                self.settle(Progress::DoneThenHangUp(c, vars, cause), now)
            }
        }
    }

    fn begin(&mut self, command: Command, now: Clock) -> Start {
        match command {
            Command::Answer => {
                self.ensure_answered(now);
                done()
            }
            Command::Talk(o) => {
                self.ensure_answered(now);
                let speech = PromptSource::Speech {
                    text: o.text,
                    language: o.language.unwrap_or_else(|| "en-US".into()),
                    voice: o.voice_id,
                };
                let p = Prompts::interactive(vec![speech], barge_in(o.digits_handle), true);
                self.prompts(p)
            }
            Command::Play(o) => {
                self.ensure_answered(now);
                let sources = o.stream_urls.into_iter().map(PromptSource::Sound).collect();
                let p = Prompts::interactive(sources, barge_in(o.digits_handle), false);
                self.prompts(p)
            }
            Command::Beep => {
                self.ensure_answered(now);
                self.prompts(Prompts::plain(PromptSource::Beep))
            }
            Command::Sleep { duration_ms } => {
                self.ring_if_needed(now);
                Start::Job(Job::Sleep {
                    until: now.mono_ms.saturating_add(duration_ms),
                })
            }
            Command::Hangup { reason, .. } => {
                self.hang_up_leg(LegId::FIRST, HangupCause::Flow(reason));
                done()
            }
            Command::DigitsReceive(o) => {
                self.ensure_answered(now);
                let mut d = digits_job(&o, now);
                match d
                    .collection_mut()
                    .take_from(&mut self.typeahead, now.mono_ms)
                {
                    Some(c) => self.digits_collected(d, c).into(),
                    None => Start::Job(Job::Digits(d)),
                }
            }
            Command::DigitsSend(o) => self.digits_send(o, now),
            Command::RecordingStart(o) => self.recording_start(o, now),
            Command::RecordingStop => {
                self.media(
                    LegId::FIRST,
                    MediaCommand::StopRecording(media::session::RecordingEnd::Stop),
                );
                done()
            }
            Command::Amd(o) => self.amd(o, now),
            Command::Echo { duration_ms } => self.echo(duration_ms, Echo::Audio, now),
            Command::StreamEcho { duration_ms } => {
                self.echo(duration_ms, Echo::AudioAndEvents, now)
            }
            Command::WebhookSend(o) => {
                self.ring_if_needed(now);
                let filler = self.filler(now);
                let io = self.io(IoRequest::WebhookSend(o));
                Start::Job(Job::Io { io, filler })
            }
            Command::Fetch { url, method } => {
                self.ring_if_needed(now);
                let (activeflow_id, call_id, variables) = match self.activeflow.as_ref() {
                    Some(af) => (
                        af.identity.activeflow_id.clone(),
                        af.identity.call_id.clone().unwrap_or_default(),
                        af.cursor
                            .variables()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    ),
                    None => Default::default(),
                };
                let io = self.io(IoRequest::Fetch {
                    url,
                    method,
                    activeflow_id,
                    call_id,
                    variables,
                });
                Start::Job(Job::Io { io, filler: None })
            }
            Command::FetchFlow { flow_id } => {
                let io = self.io(IoRequest::FetchFlow { flow_id });
                Start::Job(Job::Io { io, filler: None })
            }
            Command::Custom(o) => self.custom(o, now),
            Command::CustomAction(o) => {
                let io = self.io(IoRequest::CustomAction(o));
                Start::Job(Job::Io { io, filler: None })
            }
            Command::ApiRequest(option) => {
                let variables = self
                    .activeflow
                    .as_ref()
                    .map(|af| af.cursor.variables().clone())
                    .unwrap_or_default();
                let filler = self.filler(now);
                let io = self.io(IoRequest::ApiRequest { option, variables });
                Start::Job(Job::Io { io, filler })
            }
            Command::ApiAction(o) => {
                self.ensure_answered(now);
                let run = self.api_fire(&o.name, crate::io::Trigger::Flow, String::new());
                Start::Job(Job::ApiAction(run))
            }
            Command::Connect(o) => self.connect(o, now).into(),
            Command::Other { action_type, .. } => {
                self.ring_if_needed(now);
                Start::Done(
                    Completion::Failed(format!(
                        "action `{}` is not supported by this build",
                        action_type.as_str()
                    )),
                    Vec::new(),
                )
            }
        }
    }

    fn prompts(&mut self, p: Prompts) -> Start {
        match self.prompts_next(p) {
            Progress::Wait(p) => Start::Job(Job::Prompts(p)),
            Progress::Done(c, v) | Progress::DoneThenHangUp(c, v, _) => Start::Done(c, v),
        }
    }

    /// RFC 4733 events when telephone-event was negotiated, else in-band tones.
    fn digits_send(&mut self, o: DigitsSendOption, now: Clock) -> Start {
        self.ensure_answered(now);
        let duration_ms = o.duration.clamp(100, 1000) as u32;
        let interval_ms = o.interval.min(5000) as u32;
        let events = self
            .leg(LegId::FIRST)
            .is_some_and(|l| l.stream().telephone_event.is_some());
        if events {
            let id = PlaybackId(self.fresh());
            self.media(
                LegId::FIRST,
                MediaCommand::SendDigits {
                    id,
                    digits: o.digits,
                    duration_ms,
                    interval_ms,
                },
            );
            return Start::Job(Job::SendingDigits { id });
        }
        self.prompts(Prompts::plain(PromptSource::DtmfTones {
            digits: o.digits,
            duration_ms,
            interval_ms,
        }))
    }

    fn recording_start(&mut self, o: RecordingStartOption, now: Clock) -> Start {
        if o.format != RecordingFormat::Wav {
            let f = match o.format {
                RecordingFormat::Wav => "wav",
                RecordingFormat::Mp3 => "mp3",
                RecordingFormat::Ogg => "ogg",
            };
            return Start::Done(
                Completion::Failed(format!(
                    "recording format {f} is not supported by this build; use wav"
                )),
                Vec::new(),
            );
        }
        self.ensure_answered(now);
        let recording_id = self.ids.uuid();
        let limits = RecordingLimits {
            end_of_silence_ms: (o.end_of_silence > 0)
                .then(|| (o.end_of_silence.min(3600) * 1000) as u32),
            end_of_key: match o.end_of_key {
                EndOfKey::None => None,
                EndOfKey::Any => Some(""),
                EndOfKey::Star => Some("*"),
                EndOfKey::Hash => Some("#"),
            },
            max_frames: (o.duration > 0).then(|| o.duration * 50),
        };
        let (call_id, activeflow_id, flow_id) = match self.activeflow.as_ref() {
            Some(af) => (
                af.identity.call_id.clone().unwrap_or_default(),
                af.identity.activeflow_id.clone(),
                af.identity.flow_id.clone(),
            ),
            None => Default::default(),
        };
        let request = IoRequest::StartRecording {
            leg: LegId::FIRST,
            recording_id: recording_id.clone(),
            started_at: now.wall,
            call_id,
            activeflow_id,
            flow_id,
            limits,
        };
        let beep = if o.beep_start {
            match self.prompts_next(Prompts::plain(PromptSource::Beep)) {
                Progress::Wait(p) => Some(p),
                Progress::Done(..) | Progress::DoneThenHangUp(..) => None,
            }
        } else {
            None
        };
        let job = Box::new(RecordingJob {
            beep,
            opening: None,
            request: Some(request),
            filename: format!("{recording_id}.wav"),
            recording_id,
        });
        self.recording_started(job).into()
    }

    /// Answering machine detection; blocking unless `async`.
    fn amd(&mut self, o: AmdOption, now: Clock) -> Start {
        self.ensure_answered(now);
        let cfg = media::amd::AmdConfig::default();
        let hangup = o.machine_handle == MachineHandle::Hangup;
        self.media(LegId::FIRST, MediaCommand::StartAmd(cfg));
        if o.run_async {
            self.amd_hangs_up = hangup;
            return done();
        }
        let limit = u64::from(cfg.total_analysis_ms) + 1_000;
        Start::Job(Job::Amd {
            until: now.mono_ms + limit,
            hangup,
        })
    }

    fn echo(&mut self, duration_ms: Option<u64>, mode: Echo, now: Clock) -> Start {
        self.ensure_answered(now);
        self.media(LegId::FIRST, MediaCommand::Echo(Some(mode)));
        Start::Job(Job::Echo {
            until: duration_ms.map(|d| now.mono_ms.saturating_add(d)),
        })
    }

    /// Park on a `custom` action (or pass at once): hold audio looped, or the filler.
    fn custom(&mut self, o: flow::options::CustomOption, now: Clock) -> Start {
        let Some(af) = self.activeflow.as_ref() else {
            return Start::Done(Completion::CustomDefault, Vec::new());
        };
        if !parks(&o, &af.stop_types) {
            return Start::Done(Completion::CustomDefault, Vec::new());
        }
        let trace = crate::event::ParkTrace {
            activeflow_id: af.identity.activeflow_id.clone(),
            call_id: af.identity.call_id.clone(),
            action_id: af
                .cursor
                .current()
                .map(|a| a.id().as_str().to_string())
                .unwrap_or_default(),
            name: String::new(),
            payload: serde_json::Value::Null,
            paths: Vec::new(),
            default_path: None,
            token: String::new(),
        };
        let hold: Vec<String> = o
            .hold
            .as_ref()
            .map(|h| h.stream_urls.clone())
            .unwrap_or_default();
        let token = self.ids.token();
        let parked = Parked::new(o, trace, token, now.mono_ms);
        if self.observed() {
            let event = crate::event::Event::ActiveflowWaiting(parked.trace().clone());
            self.publish(event, now);
        }
        let music = if hold.is_empty() {
            self.filler(now)
        } else {
            self.ensure_answered(now);
            Some(self.hold_music(hold))
        };
        Start::Job(Job::Park {
            parked: Box::new(parked),
            music,
        })
    }
}
