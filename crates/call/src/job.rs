//! The in-flight command's progress ([`Job`]) and how each input moves it on.
//!
//! A job is taken out of the activeflow while an input is handled, moved on with the whole
//! core at hand, and put back ([`Progress::Wait`]) or completed ([`Progress::Done`], then the
//! cursor goes on). Sub-machines shared by several commands: [`Prompts`] (talk, play, beep,
//! in-band DTMF, with barge-in and API-action keys), `Say` (an API action's spoken answer,
//! cut by a new digit), [`ApiRun`] (fire an API action, then say its answer) and [`Music`]
//! (hold audio and the filler, looped).

use std::collections::VecDeque;

use flow::{Clock, Completion};
use media::amd::{AmdResult, AmdVerdict};
use media::session::{MediaCommand, PlaybackEnd, PlaybackId};

mod music;
mod prompts;

use crate::cause::HangupCause;
use crate::connect::Connect;
use crate::digits::{Collected, Collection};
use crate::io::{IoId, IoRequest, IoResult, Trigger};
use crate::leg::LegId;
use crate::machine::CallCore;
use crate::output::LegEvent;
use crate::park::{Parked, ResumeError, ResumeEvent, ResumeOutcome};
pub(crate) use music::Music;
pub(crate) use prompts::{ApiRun, Prompts};

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
    /// connect, looking up where its extensions are registered first.
    ConnectLookup {
        io: IoId,
        option: Box<flow::options::ConnectOption>,
    },
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
            Job::ConnectLookup { .. } => None,
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
                if m.is_playing() =>
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
            Job::ConnectLookup { io, option } if io == id => match r {
                IoResult::Destinations(found) => self.connect_to(*option, found, now),
                other => Progress::Done(
                    Completion::Failed(format!("unexpected I/O result {other:?}")),
                    Vec::new(),
                ),
            },
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
                if let Some(af) = self.activeflow.as_ref().filter(|_| self.observed()) {
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
