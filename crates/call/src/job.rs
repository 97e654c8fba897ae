//! The in-flight command's progress ([`Job`]) and how each input moves it on.
//!
//! A job is taken out of the activeflow while an input is handled, moved on with the whole
//! core at hand, and put back ([`Progress::Wait`]) or completed ([`Progress::Done`], then the
//! cursor goes on). Sub-machines shared by several commands: [`Prompts`] (talk, play, beep,
//! in-band DTMF, with barge-in and API-action keys), [`Say`] (an API action's spoken answer,
//! cut by a new digit), [`ApiRun`] (fire an API action, then say its answer) and [`Music`]
//! (hold audio and the filler, looped).

use std::collections::VecDeque;
use std::sync::Arc;

use flow::{Clock, Completion};
use media::amd::{AmdResult, AmdVerdict};
use media::prompt::EncodedPrompt;
use media::session::{MediaCommand, PlaybackEnd, PlaybackId};

use crate::cause::HangupCause;
use crate::connect::Connect;
use crate::digits::{Collected, Collection};
use crate::io::{IoId, IoRequest, IoResult, PromptSource, Trigger};
use crate::leg::LegId;
use crate::machine::CallCore;
use crate::output::LegEvent;
use crate::park::{Parked, ResumeError, ResumeEvent, ResumeOutcome};

/// Variables a command sets before it completes.
pub(crate) type Vars = Vec<(String, String)>;

/// What an input did to a job.
pub(crate) enum Progress<J> {
    /// Still running.
    Wait(J),
    /// Finished: complete the command.
    Done(Completion, Vars),
    /// Finished, and the first leg is hung up with this cause: the activeflow ends.
    DoneThenHangUp(Completion, Vars, HangupCause),
}

/// The in-flight command.
#[derive(Debug)]
pub(crate) enum Job {
    /// talk, play, beep, digits_send as tones.
    Prompts(Prompts),
    /// sleep.
    Sleep { until: u64 },
    /// digits_receive.
    Digits(Box<DigitsJob>),
    /// digits_send as telephone-events.
    SendingDigits { id: PlaybackId },
    /// recording_start.
    Recording(Box<RecordingJob>),
    /// amd without `async`.
    Amd { until: u64, hangup: bool },
    /// echo, stream_echo.
    Echo { until: Option<u64> },
    /// webhook_send, fetch, fetch_flow, custom_action, api_request: one I/O completes it.
    Io { io: IoId, filler: Option<Music> },
    /// custom, parked.
    Park {
        parked: Box<Parked>,
        music: Option<Music>,
    },
    /// api_action.
    ApiAction(ApiRun),
    /// connect.
    Connect(Box<Connect>),
}

impl Job {
    /// The job's next timer.
    pub(crate) fn deadline(&self) -> Option<u64> {
        match self {
            Job::Sleep { until } | Job::Amd { until, .. } => Some(*until),
            Job::Digits(d) => d.deadline(),
            Job::Echo { until } => *until,
            Job::Io { filler, .. } => filler.as_ref().and_then(Music::deadline),
            Job::Park { parked, music } => {
                let music = music.as_ref().and_then(Music::deadline);
                Some(music.map_or(parked.deadline_ms(), |m| m.min(parked.deadline_ms())))
            }
            Job::Connect(c) => c.deadline(),
            Job::Prompts(_) | Job::SendingDigits { .. } | Job::Recording(_) | Job::ApiAction(_) => {
                None
            }
        }
    }

    /// What to send the first leg's media when the job is dropped mid-way.
    pub(crate) fn cleanup(&self) -> Vec<(LegId, MediaCommand)> {
        let first = LegId::FIRST;
        match self {
            Job::Prompts(p) if p.playing() => vec![(first, MediaCommand::StopPlayback)],
            Job::Amd { .. } => vec![(first, MediaCommand::StopAmd)],
            Job::Echo { .. } => vec![(first, MediaCommand::Echo(None))],
            Job::Io {
                filler: Some(m), ..
            }
            | Job::Park { music: Some(m), .. }
                if m.playing.is_some() =>
            {
                vec![(first, MediaCommand::StopPlayback)]
            }
            Job::Connect(c) => c.cleanup(),
            _ => Vec::new(),
        }
    }

    /// Outbound legs the job placed and still rings.
    pub(crate) fn dialing_legs(&self) -> Vec<LegId> {
        match self {
            Job::Connect(c) => c.legs(),
            _ => Vec::new(),
        }
    }

    /// The parked `custom` action.
    pub(crate) fn parked(&self) -> Option<&Parked> {
        match self {
            Job::Park { parked, .. } => Some(parked),
            _ => None,
        }
    }

    /// Whether it is collecting digits.
    pub(crate) fn collects_digits(&self) -> bool {
        matches!(self, Job::Digits(d) if d.after.is_none())
    }
}

// ----- sub-machines -----

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

    fn playing(&self) -> bool {
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

/// Audio looped on the first leg while something else is awaited: hold audio (at once) or
/// the filler (once `start_at` has passed on an answered call).
#[derive(Debug)]
pub(crate) struct Music {
    sources: Vec<PromptSource>,
    start_at: Option<u64>,
    loading: Option<(IoId, usize)>,
    prompts: Vec<Arc<EncodedPrompt>>,
    playing: Option<PlaybackId>,
}

impl Music {
    fn deadline(&self) -> Option<u64> {
        self.start_at
    }

    /// Whether it is playing now.
    pub(crate) fn is_playing(&self) -> bool {
        self.playing.is_some()
    }
}

/// `digits_receive`, then the `after_capture` API actions.
#[derive(Debug)]
pub(crate) struct DigitsJob {
    collection: Collection,
    after: Option<AfterCapture>,
}

#[derive(Debug)]
struct AfterCapture {
    completion: Completion,
    got: String,
    names: VecDeque<String>,
    current: Option<ApiRun>,
    vars: Vars,
}

impl DigitsJob {
    fn deadline(&self) -> Option<u64> {
        self.after.is_none().then(|| self.collection.deadline_ms())
    }
}

/// `recording_start`: an optional beep, then the file.
#[derive(Debug)]
pub(crate) struct RecordingJob {
    pub(crate) beep: Option<Prompts>,
    pub(crate) opening: Option<IoId>,
    pub(crate) request: Option<IoRequest>,
    pub(crate) recording_id: String,
    pub(crate) filename: String,
}

// ----- the core's side -----

impl CallCore {
    fn take_job(&mut self) -> Option<Job> {
        self.activeflow
            .as_mut()
            .filter(|af| !af.ended)
            .and_then(|af| af.job.take())
    }

    /// Put a job back, or complete its command and go on.
    pub(crate) fn settle(&mut self, progress: Progress<Job>, now: Clock) {
        match progress {
            Progress::Wait(job) => {
                if let Some(af) = self.activeflow.as_mut() {
                    af.job = Some(job);
                }
            }
            Progress::Done(completion, vars) => {
                self.complete(completion, vars, now);
                self.drive(now);
            }
            Progress::DoneThenHangUp(completion, vars, cause) => {
                self.complete(completion, vars, now);
                self.hang_up_leg(LegId::FIRST, cause);
                if let Some(af) = self.activeflow.as_mut() {
                    af.cursor.hangup(now);
                }
                self.drive(now);
            }
        }
    }

    fn first_codec(&self) -> media::AudioCodec {
        self.leg(LegId::FIRST)
            .map_or(media::AudioCodec::Pcmu, |l| l.stream().codec)
    }

    pub(crate) fn prompt_io(&mut self, source: PromptSource) -> IoId {
        let codec = self.first_codec();
        self.io(IoRequest::Prompt { source, codec })
    }

    fn play(&mut self, prompts: Vec<Arc<EncodedPrompt>>) -> PlaybackId {
        let id = PlaybackId(self.fresh());
        self.media(LegId::FIRST, MediaCommand::Play { id, prompts });
        id
    }

    // --- Prompts ---

    /// Whether prompts can be heard: the first leg is there and up (an activeflow without a
    /// call has none; its prompts end at once).
    fn can_play(&self) -> bool {
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
    fn bound_key(&mut self) -> Option<(char, String)> {
        let keys = self.config.api_keys.clone();
        keys.into_iter().find(|(k, _)| self.typeahead.take(*k))
    }

    fn prompts_on_io(&mut self, mut p: Prompts, id: IoId, r: IoResult) -> Progress<Prompts> {
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

    fn prompts_key(&mut self, mut p: Prompts, key: char, name: String) -> Progress<Prompts> {
        p.sources.clear();
        p.stage = PromptStage::Key(self.api_fire(&name, Trigger::Dtmf, key.to_string()));
        Progress::Wait(p)
    }

    fn prompts_on_digit(&mut self, mut p: Prompts) -> Progress<Prompts> {
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

    fn prompts_on_playback(
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

    // --- Say and API actions ---

    fn say_next(&mut self, mut s: Say) -> Progress<Say> {
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

    fn api_done(run: ApiRun) -> Progress<ApiRun> {
        let c = run.error.map_or(Completion::Done, Completion::Failed);
        Progress::Done(c, run.vars)
    }

    fn api_say(&mut self, mut run: ApiRun, say: Say) -> Progress<ApiRun> {
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

    // --- Music ---

    /// Hold audio, playing at once.
    pub(crate) fn hold_music(&mut self, urls: Vec<String>) -> Music {
        self.looped(urls.into_iter().map(PromptSource::Sound).collect())
    }

    /// `sources` looped on the first leg from now on.
    pub(crate) fn looped(&mut self, sources: Vec<PromptSource>) -> Music {
        let mut m = Music {
            sources,
            start_at: None,
            loading: None,
            prompts: Vec::new(),
            playing: None,
        };
        self.music_load(&mut m, 0);
        m
    }

    /// The filler, if configured: it starts after `filler_after_ms` on an answered call.
    pub(crate) fn filler(&self, now: Clock) -> Option<Music> {
        let source = self.config.filler.clone()?;
        (!self.legs.is_empty()).then(|| Music {
            sources: vec![PromptSource::Sound(source)],
            start_at: Some(now.mono_ms + self.config.filler_after_ms),
            loading: None,
            prompts: Vec::new(),
            playing: None,
        })
    }

    fn music_load(&mut self, m: &mut Music, from: usize) {
        if !self.can_play() {
            m.sources.clear();
        }
        match m.sources.get(from).cloned() {
            Some(source) => {
                let io = self.prompt_io(source);
                m.loading = Some((io, from));
            }
            None => {
                m.loading = None;
                if !m.prompts.is_empty() {
                    m.playing = Some(self.play(m.prompts.clone()));
                }
            }
        }
    }

    pub(crate) fn music_on_timeout(&mut self, m: &mut Music, now: Clock) {
        if m.start_at.is_some_and(|t| now.mono_ms >= t) {
            m.start_at = None;
            if self.answered() {
                self.music_load(m, 0);
            } else {
                m.sources.clear();
            }
        }
    }

    pub(crate) fn music_on_io(&mut self, m: &mut Music, id: IoId, r: &IoResult) {
        let Some((io, i)) = m.loading else { return };
        if io != id {
            return;
        }
        if let IoResult::Prompt(Ok(p)) = r {
            m.prompts.push(p.clone());
        }
        self.music_load(m, i + 1);
    }

    pub(crate) fn music_on_playback(&mut self, m: &mut Music, id: PlaybackId, end: PlaybackEnd) {
        if m.playing == Some(id) {
            m.playing = (end == PlaybackEnd::Finished).then(|| self.play(m.prompts.clone()));
        }
    }

    pub(crate) fn music_stop(&mut self, m: Option<Music>) {
        if m.is_some_and(|m| m.playing.is_some()) {
            self.media(LegId::FIRST, MediaCommand::StopPlayback);
        }
    }

    // --- digits_receive ---

    pub(crate) fn digits_collected(
        &mut self,
        mut d: Box<DigitsJob>,
        collected: Collected,
    ) -> Progress<Job> {
        let (completion, got) = match collected {
            Collected::Digits(s) => (Completion::Done, s),
            Collected::Nothing => (Completion::Timeout, String::new()),
        };
        let names: VecDeque<String> = if got.is_empty() {
            VecDeque::new()
        } else {
            self.config.after_capture.clone().into()
        };
        d.after = Some(AfterCapture {
            completion,
            vars: vec![("call.digits".into(), got.clone())],
            got,
            names,
            current: None,
        });
        self.after_capture_next(d)
    }

    fn after_capture_next(&mut self, mut d: Box<DigitsJob>) -> Progress<Job> {
        let Some(a) = d.after.as_mut() else {
            return Progress::Wait(Job::Digits(d));
        };
        match a.names.pop_front() {
            Some(name) => {
                let got = a.got.clone();
                let run = self.api_fire(&name, Trigger::AfterCapture, got);
                if let Some(a) = d.after.as_mut() {
                    a.current = Some(run);
                }
                Progress::Wait(Job::Digits(d))
            }
            None => {
                let a = d.after.take().map(|a| (a.completion, a.vars));
                let (c, vars) = a.unwrap_or((Completion::Done, Vec::new()));
                Progress::Done(c, vars)
            }
        }
    }

    fn after_capture_progress(
        &mut self,
        mut d: Box<DigitsJob>,
        progress: impl FnOnce(&mut CallCore, ApiRun) -> Progress<ApiRun>,
    ) -> Progress<Job> {
        let Some(run) = d.after.as_mut().and_then(|a| a.current.take()) else {
            return Progress::Wait(Job::Digits(d));
        };
        match progress(self, run) {
            Progress::Wait(run) => {
                if let Some(a) = d.after.as_mut() {
                    a.current = Some(run);
                }
                Progress::Wait(Job::Digits(d))
            }
            Progress::Done(_, vars) | Progress::DoneThenHangUp(_, vars, _) => {
                if let Some(a) = d.after.as_mut() {
                    a.vars.extend(vars);
                }
                self.after_capture_next(d)
            }
        }
    }

    // --- inputs, dispatched by job ---

    pub(crate) fn job_on_io(&mut self, id: IoId, r: IoResult, now: Clock) {
        let Some(job) = self.take_job() else { return };
        let progress = match job {
            Job::Prompts(p) => lift(self.prompts_on_io(p, id, r), Job::Prompts),
            Job::Io { io, mut filler } => {
                if io == id {
                    self.music_stop(filler);
                    match r {
                        IoResult::Completion { completion, vars } => {
                            Progress::Done(completion, vars)
                        }
                        other => Progress::Done(
                            Completion::Failed(format!("unexpected I/O result {other:?}")),
                            Vec::new(),
                        ),
                    }
                } else {
                    if let Some(m) = filler.as_mut() {
                        self.music_on_io(m, id, &r);
                    }
                    Progress::Wait(Job::Io { io, filler })
                }
            }
            Job::Park { parked, mut music } => {
                if let Some(m) = music.as_mut() {
                    self.music_on_io(m, id, &r);
                }
                Progress::Wait(Job::Park { parked, music })
            }
            Job::ApiAction(run) => lift(self.api_on_io(run, id, r), Job::ApiAction),
            Job::Digits(d) => {
                self.after_capture_progress(d, |core, run| core.api_on_io(run, id, r))
            }
            Job::Recording(rec) => self.recording_on_io(rec, id, r, now),
            Job::Connect(c) => self.connect_on_io(c, id, r, now),
            other => Progress::Wait(other),
        };
        self.settle(progress, now);
    }

    pub(crate) fn job_on_playback(&mut self, id: PlaybackId, end: PlaybackEnd, now: Clock) {
        let Some(job) = self.take_job() else { return };
        let progress = match job {
            Job::Prompts(p) => lift(self.prompts_on_playback(p, id, end), Job::Prompts),
            Job::Io { io, mut filler } => {
                if let Some(m) = filler.as_mut() {
                    self.music_on_playback(m, id, end);
                }
                Progress::Wait(Job::Io { io, filler })
            }
            Job::Park { parked, mut music } => {
                if let Some(m) = music.as_mut() {
                    self.music_on_playback(m, id, end);
                }
                Progress::Wait(Job::Park { parked, music })
            }
            Job::ApiAction(run) => lift(self.api_on_playback(run, id, end), Job::ApiAction),
            Job::Digits(d) => {
                self.after_capture_progress(d, |core, run| core.api_on_playback(run, id, end))
            }
            Job::Recording(rec) => self.recording_on_playback(rec, id, end, now),
            Job::Connect(c) => self.connect_on_playback(c, id, end),
            other => Progress::Wait(other),
        };
        self.settle(progress, now);
    }

    pub(crate) fn job_on_digit(&mut self, now: Clock) {
        let Some(job) = self.take_job() else { return };
        let progress = match job {
            Job::Prompts(p) => lift(self.prompts_on_digit(p), Job::Prompts),
            Job::ApiAction(run) => lift(self.api_on_digit(run), Job::ApiAction),
            Job::Digits(mut d) => {
                if d.after.is_some() {
                    self.after_capture_progress(d, |core, run| core.api_on_digit(run))
                } else {
                    match d.collection.take_from(&mut self.typeahead, now.mono_ms) {
                        Some(c) => self.digits_collected(d, c),
                        None => Progress::Wait(Job::Digits(d)),
                    }
                }
            }
            other => Progress::Wait(other),
        };
        self.settle(progress, now);
    }

    pub(crate) fn job_on_digits_sent(&mut self, id: PlaybackId, now: Clock) {
        let Some(job) = self.take_job() else { return };
        let progress = match job {
            Job::SendingDigits { id: mine } if mine == id => {
                Progress::Done(Completion::Done, Vec::new())
            }
            other => Progress::Wait(other),
        };
        self.settle(progress, now);
    }

    /// A verdict for a blocking `amd`: true when the job took it.
    pub(crate) fn job_on_amd(&mut self, v: AmdVerdict, now: Clock) -> bool {
        let Some(job) = self.take_job() else {
            return false;
        };
        let Job::Amd { hangup, .. } = job else {
            self.settle(Progress::Wait(job), now);
            return false;
        };
        self.amd_hangs_up = false;
        let progress = if v.result == AmdResult::Machine && hangup {
            Progress::DoneThenHangUp(Completion::Done, Vec::new(), HangupCause::Machine)
        } else {
            Progress::Done(Completion::Done, Vec::new())
        };
        self.settle(progress, now);
        true
    }

    pub(crate) fn job_on_timeout(&mut self, now: Clock) {
        let Some(job) = self.take_job() else { return };
        let t = now.mono_ms;
        let progress = match job {
            Job::Sleep { until } if t >= until => Progress::Done(Completion::Done, Vec::new()),
            Job::Echo { until: Some(u) } if t >= u => {
                self.media(LegId::FIRST, MediaCommand::Echo(None));
                Progress::Done(Completion::Done, Vec::new())
            }
            Job::Amd { until, .. } if t >= until => {
                self.amd_hangs_up = false;
                self.media(LegId::FIRST, MediaCommand::StopAmd);
                Progress::Done(
                    Completion::Timeout,
                    vec![
                        ("amd.result".into(), "notsure".into()),
                        ("amd.cause".into(), "TOOLONG".into()),
                    ],
                )
            }
            Job::Digits(mut d) if d.after.is_none() => match d.collection.on_timeout(t) {
                Some(c) => self.digits_collected(d, c),
                None => Progress::Wait(Job::Digits(d)),
            },
            Job::Io { io, mut filler } => {
                if let Some(m) = filler.as_mut() {
                    self.music_on_timeout(m, now);
                }
                Progress::Wait(Job::Io { io, filler })
            }
            Job::Park { parked, mut music } => {
                if t >= parked.deadline_ms() {
                    self.music_stop(music);
                    Progress::Done(Completion::CustomDefault, Vec::new())
                } else {
                    if let Some(m) = music.as_mut() {
                        self.music_on_timeout(m, now);
                    }
                    Progress::Wait(Job::Park { parked, music })
                }
            }
            Job::Connect(c) => self.connect_on_timeout(c, now),
            other => Progress::Wait(other),
        };
        self.settle(progress, now);
    }

    pub(crate) fn job_resume(
        &mut self,
        event: ResumeEvent,
        now: Clock,
    ) -> Result<ResumeOutcome, ResumeError> {
        let Some(job) = self.take_job() else {
            return Err(ResumeError::NotWaiting);
        };
        let Job::Park { parked, music } = job else {
            self.settle(Progress::Wait(job), now);
            return Err(ResumeError::NotWaiting);
        };
        match parked.check(&event) {
            Err(e) => {
                self.settle(Progress::Wait(Job::Park { parked, music }), now);
                Err(e)
            }
            Ok(outcome) => {
                self.music_stop(music);
                let completion = Completion::CustomEvent {
                    event: event.event,
                    payload: event.payload,
                };
                self.settle(Progress::Done(completion, Vec::new()), now);
                Ok(outcome)
            }
        }
    }

    pub(crate) fn job_on_leg(&mut self, leg: LegId, event: LegEvent, now: Clock) {
        match self.take_job() {
            Some(Job::Connect(c)) => {
                let progress = self.connect_on_leg(c, leg, event, now);
                self.settle(progress, now);
            }
            other => {
                if let Some(job) = other {
                    self.settle(Progress::Wait(job), now);
                }
                self.stray_leg_event(leg, event);
            }
        }
    }

    pub(crate) fn job_on_leg_media(&mut self, leg: LegId, local: sdp::LocalMedia, now: Clock) {
        match self.take_job() {
            Some(Job::Connect(c)) => {
                let progress = self.connect_on_leg_media(c, leg, local);
                self.settle(progress, now);
            }
            other => {
                if let Some(job) = other {
                    self.settle(Progress::Wait(job), now);
                }
                // Nobody wants this leg any more.
                self.hang_up_leg(leg, HangupCause::FlowEnded);
            }
        }
    }

    // --- recording_start ---

    fn recording_open(&mut self, mut rec: Box<RecordingJob>) -> Progress<Job> {
        match rec.request.take() {
            Some(request) => {
                rec.opening = Some(self.io(request));
                Progress::Wait(Job::Recording(rec))
            }
            None => Progress::Done(
                Completion::Failed("recording already opened".into()),
                Vec::new(),
            ),
        }
    }

    pub(crate) fn recording_started(&mut self, rec: Box<RecordingJob>) -> Progress<Job> {
        match rec.beep {
            Some(_) => Progress::Wait(Job::Recording(rec)),
            None => self.recording_open(rec),
        }
    }

    fn recording_on_playback(
        &mut self,
        mut rec: Box<RecordingJob>,
        id: PlaybackId,
        end: PlaybackEnd,
        _now: Clock,
    ) -> Progress<Job> {
        let Some(beep) = rec.beep.take() else {
            return Progress::Wait(Job::Recording(rec));
        };
        match self.prompts_on_playback(beep, id, end) {
            Progress::Wait(b) => {
                rec.beep = Some(b);
                Progress::Wait(Job::Recording(rec))
            }
            Progress::Done(..) | Progress::DoneThenHangUp(..) => self.recording_open(rec),
        }
    }

    fn recording_on_io(
        &mut self,
        mut rec: Box<RecordingJob>,
        id: IoId,
        r: IoResult,
        now: Clock,
    ) -> Progress<Job> {
        if let Some(beep) = rec.beep.take() {
            return match self.prompts_on_io(beep, id, r) {
                Progress::Wait(b) => {
                    rec.beep = Some(b);
                    Progress::Wait(Job::Recording(rec))
                }
                Progress::Done(..) | Progress::DoneThenHangUp(..) => self.recording_open(rec),
            };
        }
        if rec.opening != Some(id) {
            return Progress::Wait(Job::Recording(rec));
        }
        match r {
            IoResult::Recording(Ok(())) => {
                self.recording = true;
                if let Some(af) = self.activeflow.as_ref() {
                    let event = crate::event::Event::RecordingStarted {
                        recording_id: rec.recording_id.clone(),
                        call_id: af.identity.call_id.clone().unwrap_or_default(),
                        activeflow_id: af.identity.activeflow_id.clone(),
                        filename: rec.filename.clone(),
                    };
                    self.publish(event, now);
                }
                Progress::Done(
                    Completion::Done,
                    vec![
                        ("recording.id".into(), rec.recording_id),
                        ("recording.filenames".into(), rec.filename),
                    ],
                )
            }
            IoResult::Recording(Err(e)) => Progress::Done(Completion::Failed(e), Vec::new()),
            other => Progress::Done(
                Completion::Failed(format!("unexpected I/O result {other:?}")),
                Vec::new(),
            ),
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

/// Wrap a sub-machine's progress as the job's.
fn lift<T>(p: Progress<T>, wrap: fn(T) -> Job) -> Progress<Job> {
    match p {
        Progress::Wait(x) => Progress::Wait(wrap(x)),
        Progress::Done(c, v) => Progress::Done(c, v),
        Progress::DoneThenHangUp(c, v, h) => Progress::DoneThenHangUp(c, v, h),
    }
}

/// A digits job for `option` starting at `now`.
pub(crate) fn digits_job(
    option: &flow::options::DigitsReceiveOption,
    now: Clock,
) -> Box<DigitsJob> {
    Box::new(DigitsJob {
        collection: Collection::new(option, now.mono_ms),
        after: None,
    })
}

impl DigitsJob {
    pub(crate) fn collection_mut(&mut self) -> &mut Collection {
        &mut self.collection
    }
}
