//! Prompts (talk, play, beep, tones) with barge-in and API-action keys; an API action fired
//! and its answer said ([`ApiRun`]), a new digit cutting the saying short ([`Say`]).

use std::collections::VecDeque;
use std::sync::Arc;

use flow::Completion;
use media::prompt::EncodedPrompt;
use media::session::{MediaCommand, PlaybackEnd, PlaybackId};

use super::{Progress, Vars};
use crate::io::{IoId, IoRequest, IoResult, PromptSource, Trigger};
use crate::leg::LegId;
use crate::machine::CallCore;

/// Prompts played one after the other: talk (one synthesized), play (each URL), beep,
/// digits_send as tones.
#[derive(Debug)]
pub(crate) struct Prompts {
    sources: VecDeque<PromptSource>,
    /// `digits_handle: next`: a digit (typed ahead or arriving) stops the prompts; it stays
    /// for the next `digits_receive`.
    barge_in: bool,
    /// Keys bound to API actions fire them (and are consumed).
    keys: bool,
    /// A prompt that cannot be made fails the command (talk); else it is skipped (play).
    abort_on_error: bool,
    failure: Option<String>,
    stage: PromptStage,
}

#[derive(Debug)]
enum PromptStage {
    Idle,
    Loading(IoId),
    Playing(PlaybackId),
    Stopping(PlaybackId, Option<(char, String)>),
    Key(ApiRun),
}

impl Prompts {
    /// Prompts with barge-in and API-action keys (talk, play).
    pub(crate) fn interactive(
        sources: Vec<PromptSource>,
        barge_in: bool,
        abort_on_error: bool,
    ) -> Prompts {
        Prompts {
            sources: sources.into(),
            barge_in,
            keys: true,
            abort_on_error,
            failure: None,
            stage: PromptStage::Idle,
        }
    }

    /// Prompts nothing interrupts (beep, tones).
    pub(crate) fn plain(source: PromptSource) -> Prompts {
        Prompts {
            sources: VecDeque::from([source]),
            barge_in: false,
            keys: false,
            abort_on_error: true,
            failure: None,
            stage: PromptStage::Idle,
        }
    }

    pub(crate) fn playing(&self) -> bool {
        matches!(
            self.stage,
            PromptStage::Playing(_) | PromptStage::Stopping(..)
        )
    }

    fn result(&mut self, vars: Vars) -> Progress<Prompts> {
        let c = self
            .failure
            .take()
            .map_or(Completion::Done, Completion::Failed);
        Progress::Done(c, vars)
    }
}

/// Texts said one after the other; a digit arriving while one plays stops it and the rest.
#[derive(Debug)]
pub(crate) struct Say {
    texts: VecDeque<String>,
    stage: SayStage,
}

#[derive(Debug)]
enum SayStage {
    Idle,
    Synth(IoId),
    Playing(PlaybackId),
    Stopping(PlaybackId),
}

/// An API action fired, then its answer said.
#[derive(Debug)]
pub(crate) struct ApiRun {
    stage: ApiStage,
    vars: Vars,
    error: Option<String>,
}

#[derive(Debug)]
enum ApiStage {
    Firing(IoId),
    Saying(Say),
}

impl CallCore {
    pub(crate) fn first_codec(&self) -> media::AudioCodec {
        self.leg(LegId::FIRST)
            .map_or(media::AudioCodec::Pcmu, |l| l.stream().codec)
    }

    pub(crate) fn prompt_io(&mut self, source: PromptSource) -> IoId {
        let codec = self.first_codec();
        self.io(IoRequest::Prompt { source, codec })
    }

    pub(crate) fn play(&mut self, prompts: Vec<Arc<EncodedPrompt>>) -> PlaybackId {
        let id = PlaybackId(self.fresh());
        self.media(LegId::FIRST, MediaCommand::Play { id, prompts });
        id
    }

    /// Whether prompts can be heard: the first leg is there and up (an activeflow without a
    /// call has none; its prompts end at once).
    pub(crate) fn can_play(&self) -> bool {
        self.leg(LegId::FIRST).is_some_and(|l| !l.state.ending())
    }

    /// Make the next prompt, or finish.
    pub(crate) fn prompts_next(&mut self, mut p: Prompts) -> Progress<Prompts> {
        if !self.can_play() {
            p.sources.clear();
        }
        match p.sources.pop_front() {
            None => p.result(Vec::new()),
            Some(source) => {
                p.stage = PromptStage::Loading(self.prompt_io(source));
                Progress::Wait(p)
            }
        }
    }

    /// The first key waiting in the type-ahead that is bound to an API action (taken).
    pub(crate) fn bound_key(&mut self) -> Option<(char, String)> {
        let keys = self.config.api_keys.clone();
        keys.into_iter().find(|(k, _)| self.typeahead.take(*k))
    }

    pub(crate) fn prompts_on_io(
        &mut self,
        mut p: Prompts,
        id: IoId,
        r: IoResult,
    ) -> Progress<Prompts> {
        match (&mut p.stage, r) {
            (PromptStage::Loading(io), IoResult::Prompt(r)) if *io == id => match r {
                Err(e) if p.abort_on_error => {
                    p.failure = None;
                    Progress::Done(Completion::Failed(e), Vec::new())
                }
                Err(e) => {
                    p.failure.get_or_insert(e);
                    self.prompts_next(p)
                }
                Ok(prompt) => {
                    if p.keys {
                        if let Some((key, name)) = self.bound_key() {
                            return self.prompts_key(p, key, name);
                        }
                    }
                    if p.barge_in && !self.typeahead.is_empty() {
                        return p.result(Vec::new());
                    }
                    p.stage = PromptStage::Playing(self.play(vec![prompt]));
                    Progress::Wait(p)
                }
            },
            (PromptStage::Key(run), r) => {
                let run = std::mem::replace(run, ApiRun::placeholder());
                match self.api_on_io(run, id, r) {
                    Progress::Wait(run) => {
                        p.stage = PromptStage::Key(run);
                        Progress::Wait(p)
                    }
                    Progress::Done(_, vars) | Progress::DoneThenHangUp(_, vars, _) => {
                        p.result(vars)
                    }
                }
            }
            _ => Progress::Wait(p),
        }
    }

    pub(crate) fn prompts_key(
        &mut self,
        mut p: Prompts,
        key: char,
        name: String,
    ) -> Progress<Prompts> {
        p.sources.clear();
        p.stage = PromptStage::Key(self.api_fire(&name, Trigger::Dtmf, key.to_string()));
        Progress::Wait(p)
    }

    pub(crate) fn prompts_on_digit(&mut self, mut p: Prompts) -> Progress<Prompts> {
        if let PromptStage::Key(run) = &mut p.stage {
            let run = std::mem::replace(run, ApiRun::placeholder());
            return match self.api_on_digit(run) {
                Progress::Wait(run) => {
                    p.stage = PromptStage::Key(run);
                    Progress::Wait(p)
                }
                Progress::Done(_, vars) | Progress::DoneThenHangUp(_, vars, _) => p.result(vars),
            };
        }
        let PromptStage::Playing(pb) = p.stage else {
            return Progress::Wait(p);
        };
        let key = if p.keys { self.bound_key() } else { None };
        if key.is_some() || (p.barge_in && !self.typeahead.is_empty()) {
            self.media(LegId::FIRST, MediaCommand::StopPlayback);
            p.stage = PromptStage::Stopping(pb, key);
        }
        Progress::Wait(p)
    }

    pub(crate) fn prompts_on_playback(
        &mut self,
        mut p: Prompts,
        id: PlaybackId,
        end: PlaybackEnd,
    ) -> Progress<Prompts> {
        match std::mem::replace(&mut p.stage, PromptStage::Idle) {
            PromptStage::Playing(pb) if pb == id => match end {
                PlaybackEnd::Finished => self.prompts_next(p),
                PlaybackEnd::Stopped => p.result(Vec::new()),
            },
            PromptStage::Stopping(pb, then) if pb == id => match then {
                None => p.result(Vec::new()),
                Some((key, name)) => self.prompts_key(p, key, name),
            },
            PromptStage::Key(run) => match self.api_on_playback(run, id, end) {
                Progress::Wait(run) => {
                    p.stage = PromptStage::Key(run);
                    Progress::Wait(p)
                }
                Progress::Done(_, vars) | Progress::DoneThenHangUp(_, vars, _) => p.result(vars),
            },
            other => {
                p.stage = other;
                Progress::Wait(p)
            }
        }
    }

    pub(crate) fn say_next(&mut self, mut s: Say) -> Progress<Say> {
        if !self.can_play() {
            s.texts.clear();
        }
        match s.texts.pop_front() {
            None => Progress::Done(Completion::Done, Vec::new()),
            Some(text) => {
                s.stage = SayStage::Synth(self.prompt_io(PromptSource::Speech {
                    text,
                    language: "en-US".into(),
                    voice: None,
                }));
                Progress::Wait(s)
            }
        }
    }

    /// Fire the API action `name`; its answer is said.
    pub(crate) fn api_fire(
        &mut self,
        name: &str,
        trigger: Trigger,
        user_message: String,
    ) -> ApiRun {
        let (variables, call_id, flow_id) = match self.activeflow.as_ref() {
            Some(af) => (
                af.cursor.variables().clone(),
                af.identity.call_id.clone().unwrap_or_default(),
                af.identity.flow_id.clone(),
            ),
            None => Default::default(),
        };
        let caller = self.record().map(|r| r.from.clone()).unwrap_or_default();
        let io = self.io(IoRequest::ApiAction {
            name: name.to_string(),
            trigger,
            user_message,
            variables,
            call_id,
            flow_id,
            caller,
        });
        ApiRun {
            stage: ApiStage::Firing(io),
            vars: Vec::new(),
            error: None,
        }
    }

    pub(crate) fn api_done(run: ApiRun) -> Progress<ApiRun> {
        let c = run.error.map_or(Completion::Done, Completion::Failed);
        Progress::Done(c, run.vars)
    }

    pub(crate) fn api_say(&mut self, mut run: ApiRun, say: Say) -> Progress<ApiRun> {
        match self.say_next(say) {
            Progress::Wait(s) => {
                run.stage = ApiStage::Saying(s);
                Progress::Wait(run)
            }
            Progress::Done(..) | Progress::DoneThenHangUp(..) => Self::api_done(run),
        }
    }

    pub(crate) fn api_on_io(&mut self, mut run: ApiRun, id: IoId, r: IoResult) -> Progress<ApiRun> {
        match (&mut run.stage, r) {
            (ApiStage::Firing(io), IoResult::ApiAction(answer)) if *io == id => {
                run.vars = answer.vars;
                run.error = answer.error;
                let say = Say {
                    texts: answer.say.into(),
                    stage: SayStage::Idle,
                };
                self.api_say(run, say)
            }
            (ApiStage::Saying(s), IoResult::Prompt(p)) => match &s.stage {
                SayStage::Synth(io) if *io == id => {
                    let mut s = std::mem::replace(s, Say::empty());
                    match p {
                        Ok(prompt) => {
                            s.stage = SayStage::Playing(self.play(vec![prompt]));
                            run.stage = ApiStage::Saying(s);
                            Progress::Wait(run)
                        }
                        Err(_) => self.api_say(run, s),
                    }
                }
                _ => Progress::Wait(run),
            },
            _ => Progress::Wait(run),
        }
    }

    pub(crate) fn api_on_digit(&mut self, mut run: ApiRun) -> Progress<ApiRun> {
        if let ApiStage::Saying(s) = &mut run.stage {
            if let SayStage::Playing(pb) = s.stage {
                self.media(LegId::FIRST, MediaCommand::StopPlayback);
                s.stage = SayStage::Stopping(pb);
            }
        }
        Progress::Wait(run)
    }

    pub(crate) fn api_on_playback(
        &mut self,
        mut run: ApiRun,
        id: PlaybackId,
        end: PlaybackEnd,
    ) -> Progress<ApiRun> {
        let ApiStage::Saying(s) = &mut run.stage else {
            return Progress::Wait(run);
        };
        match s.stage {
            SayStage::Playing(pb) if pb == id && end == PlaybackEnd::Finished => {
                let s = std::mem::replace(s, Say::empty());
                self.api_say(run, s)
            }
            SayStage::Playing(pb) | SayStage::Stopping(pb) if pb == id => Self::api_done(run),
            _ => Progress::Wait(run),
        }
    }
}

impl ApiRun {
    /// Stands in while the real one is moved out.
    fn placeholder() -> ApiRun {
        ApiRun {
            stage: ApiStage::Saying(Say::empty()),
            vars: Vec::new(),
            error: None,
        }
    }
}

impl Say {
    fn empty() -> Say {
        Say {
            texts: VecDeque::new(),
            stage: SayStage::Idle,
        }
    }
}
