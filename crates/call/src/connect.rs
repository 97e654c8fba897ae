//! `connect` (legs.md §4): ring every destination at once, bridge the first to answer with
//! the first leg, cancel the others; the flow goes on when the bridge ends.
//!
//! While ringing, the caller hears the callee's early media (`early_media` and a 183 with
//! SDP) or, once answered, a generated ringback; an unanswered caller gets 180. Variables:
//! `connect.result` (`answered`, `busy`, `noanswer`, `failed`, `cancelled`),
//! `connect.destination`, `connect.call_id`, `connect.sip_code`, `connect.duration_ms`.
//! With `relay_reason`, the end of the bridge hangs the caller up.

use flow::options::ConnectOption;
use flow::{Clock, Completion};
use media::session::{MediaCommand, PlaybackEnd, PlaybackId};
use sdp::LocalMedia;

use crate::cause::HangupCause;
use crate::io::{IoId, IoRequest, IoResult, PromptSource};
use crate::job::{Job, Music, Progress, Vars};
use crate::leg::{Direction, Leg, LegId, LegState, MediaState};
use crate::machine::CallCore;
use crate::output::{DialRequest, LegEvent, Output, SipCommand};

/// How long destinations ring before `noanswer` when the flow gives no `ring_timeout`.
pub const RING_TIMEOUT_MS: u64 = 60_000;

/// One `connect` in progress.
#[derive(Debug)]
pub(crate) struct Connect {
    option: ConnectOption,
    dialed: Vec<Dialed>,
    /// The leg that answered.
    winner: Option<LegId>,
    /// The leg whose early media the caller hears.
    early: Option<LegId>,
    ringback: Option<Music>,
    ring_until: u64,
    answered_at: Option<u64>,
    last_status: Option<u16>,
}

#[derive(Debug, Clone)]
struct Dialed {
    leg: LegId,
    call_id: String,
    destination: String,
}

impl Connect {
    pub(crate) fn deadline(&self) -> Option<u64> {
        self.winner.is_none().then_some(self.ring_until)
    }

    /// Legs still to hang up if the connect is dropped.
    pub(crate) fn legs(&self) -> Vec<LegId> {
        self.dialed.iter().map(|d| d.leg).collect()
    }

    pub(crate) fn cleanup(&self) -> Vec<(LegId, MediaCommand)> {
        match &self.ringback {
            Some(m) if m.is_playing() => vec![(LegId::FIRST, MediaCommand::StopPlayback)],
            _ => Vec::new(),
        }
    }

    fn dialed(&self, leg: LegId) -> Option<&Dialed> {
        self.dialed.iter().find(|d| d.leg == leg)
    }
}

impl CallCore {
    /// Start a `connect`: one outbound leg per destination; `extension` and `agent`
    /// destinations are looked up first (one leg per live contact).
    pub(crate) fn connect(&mut self, option: ConnectOption, now: Clock) -> Progress<Job> {
        if option.destinations.is_empty() || self.legs.is_empty() {
            return Progress::Done(
                Completion::Failed("connect needs a call and a destination".into()),
                Vec::new(),
            );
        }
        self.ring_if_needed(now);
        let lookup = option
            .destinations
            .iter()
            .any(|d| matches!(d.address_type.as_deref(), Some("extension") | Some("agent")));
        if lookup {
            let io = self.io(IoRequest::Destinations {
                destinations: option.destinations.clone(),
            });
            return Progress::Wait(Job::ConnectLookup {
                io,
                option: Box::new(option),
            });
        }
        self.dial_all(option, now)
    }

    /// The lookup answered: ring what was `found`; nobody reachable is `failed` with 480
    /// (Temporarily Unavailable), as for an unregistered phone.
    pub(crate) fn connect_to(
        &mut self,
        mut option: ConnectOption,
        found: Vec<flow::options::Address>,
        now: Clock,
    ) -> Progress<Job> {
        if found.is_empty() {
            let vars: Vars = vec![
                ("connect.result".into(), "failed".into()),
                ("connect.destination".into(), String::new()),
                ("connect.call_id".into(), String::new()),
                ("connect.sip_code".into(), "480".into()),
                ("connect.duration_ms".into(), "0".into()),
            ];
            return Progress::Done(Completion::Done, vars);
        }
        option.destinations = found;
        self.dial_all(option, now)
    }

    fn dial_all(&mut self, option: ConnectOption, now: Clock) -> Progress<Job> {
        let mut dialed = Vec::new();
        for d in &option.destinations {
            let leg = LegId(self.legs.iter().map(|l| l.id.0).max().unwrap_or(0) + 1);
            let call_id = self.ids.uuid();
            let placeholder = MediaState::unset();
            self.legs
                .push(Leg::new(leg, Direction::Outgoing, placeholder));
            self.push(Output::Dial {
                leg,
                request: DialRequest {
                    call_id: call_id.clone(),
                    destination_type: d.address_type.clone().unwrap_or_else(|| "tel".into()),
                    destination: d.target.clone(),
                    source: option.source.as_ref().map(|s| s.target.clone()),
                },
            });
            dialed.push(Dialed {
                leg,
                call_id,
                destination: d.target.clone(),
            });
        }
        let ring_until = now.mono_ms
            + option
                .ring_timeout
                .map_or(RING_TIMEOUT_MS, |s| s.saturating_mul(1000));
        let ringback = self
            .answered()
            .then(|| self.looped(vec![PromptSource::Ringback]));
        Progress::Wait(Job::Connect(Box::new(Connect {
            option,
            dialed,
            winner: None,
            early: None,
            ringback,
            ring_until,
            answered_at: None,
            last_status: None,
        })))
    }

    pub(crate) fn connect_on_leg_media(
        &mut self,
        c: Box<Connect>,
        leg: LegId,
        local: LocalMedia,
    ) -> Progress<Job> {
        if c.dialed(leg).is_some() {
            if let Some(l) = self.leg_mut(leg) {
                l.media = MediaState::new(local);
                let sdp = l.media.offer();
                self.sip(leg, SipCommand::Invite { sdp });
            }
        }
        Progress::Wait(Job::Connect(c))
    }

    pub(crate) fn connect_on_leg(
        &mut self,
        mut c: Box<Connect>,
        leg: LegId,
        event: LegEvent,
        now: Clock,
    ) -> Progress<Job> {
        if c.dialed(leg).is_none() {
            self.stray_leg_event(leg, event);
            return Progress::Wait(Job::Connect(c));
        }
        match event {
            LegEvent::Progress { sdp, .. } => {
                let mut early = false;
                if let Some(l) = self.leg_mut(leg) {
                    if l.state == LegState::Setup {
                        l.state = LegState::Ringing;
                    }
                    if let Some(sdp) = sdp {
                        if l.media.take_answer(&sdp).is_ok() {
                            l.state = LegState::EarlyMedia;
                            early = true;
                        }
                    }
                }
                if early && c.option.early_media && c.early.is_none() && c.winner.is_none() {
                    self.stop_ringback(&mut c);
                    c.early = Some(leg);
                    self.update_media(leg);
                    self.push(Output::Bridge {
                        legs: [LegId::FIRST, leg],
                    });
                }
                Progress::Wait(Job::Connect(c))
            }
            LegEvent::Answered { sdp } => {
                if c.winner.is_some() {
                    // Answered in the same instant as the winner: it goes.
                    self.hang_up_leg(leg, HangupCause::Flow(flow::HangupReason::Cancel));
                    return Progress::Wait(Job::Connect(c));
                }
                if let Some(l) = self.leg_mut(leg) {
                    if let Some(sdp) = sdp.filter(|_| l.media.offer_pending()) {
                        let _ = l.media.take_answer(&sdp);
                    }
                    l.state = LegState::Answered;
                }
                c.winner = Some(leg);
                c.answered_at = Some(now.mono_ms);
                let others: Vec<LegId> = c.legs().into_iter().filter(|l| *l != leg).collect();
                for other in others {
                    self.hang_up_leg(other, HangupCause::Flow(flow::HangupReason::Cancel));
                }
                c.dialed.retain(|d| d.leg == leg);
                self.stop_ringback(&mut c);
                self.ensure_answered(now);
                self.update_media(leg);
                match c.early.take() {
                    Some(e) if e == leg => {}
                    Some(e) => {
                        self.push(Output::Unbridge {
                            legs: [LegId::FIRST, e],
                        });
                        self.push(Output::Bridge {
                            legs: [LegId::FIRST, leg],
                        });
                    }
                    None => self.push(Output::Bridge {
                        legs: [LegId::FIRST, leg],
                    }),
                }
                Progress::Wait(Job::Connect(c))
            }
            LegEvent::Refused { status } => {
                self.set_ended(leg, HangupCause::of_status(status));
                c.last_status = Some(status);
                c.dialed.retain(|d| d.leg != leg);
                if c.early == Some(leg) {
                    c.early = None;
                    self.push(Output::Unbridge {
                        legs: [LegId::FIRST, leg],
                    });
                }
                if c.dialed.is_empty() {
                    let result = match HangupCause::of_status(status) {
                        HangupCause::Busy => "busy",
                        HangupCause::NoAnswer => "noanswer",
                        _ => "failed",
                    };
                    return self.connect_result(&c, result, Completion::Done, now);
                }
                Progress::Wait(Job::Connect(c))
            }
            LegEvent::RemoteBye | LegEvent::Terminated | LegEvent::Cancelled => {
                let ours = self
                    .leg(leg)
                    .is_some_and(|l| l.state == LegState::HangingUp);
                self.set_ended(leg, HangupCause::RemoteBye);
                if c.winner != Some(leg) {
                    c.dialed.retain(|d| d.leg != leg);
                    if c.dialed.is_empty() && c.winner.is_none() {
                        return self.connect_result(&c, "failed", Completion::Done, now);
                    }
                    return Progress::Wait(Job::Connect(c));
                }
                self.push(Output::Unbridge {
                    legs: [LegId::FIRST, leg],
                });
                let Progress::Done(completion, vars) =
                    self.connect_result(&c, "answered", Completion::Done, now)
                else {
                    return Progress::Wait(Job::Connect(c));
                };
                if c.option.relay_reason && !ours {
                    return Progress::DoneThenHangUp(completion, vars, HangupCause::RemoteBye);
                }
                Progress::Done(completion, vars)
            }
            LegEvent::ReOffer { cseq, sdp, update } => {
                self.on_reoffer(leg, cseq, sdp, update);
                Progress::Wait(Job::Connect(c))
            }
            LegEvent::ReInviteAnswered { result } => {
                self.on_reinvite_answered(leg, result);
                Progress::Wait(Job::Connect(c))
            }
            LegEvent::ByeCompleted { .. }
            | LegEvent::Acked { .. }
            | LegEvent::Info { .. }
            | LegEvent::AckTimeout => Progress::Wait(Job::Connect(c)),
        }
    }

    pub(crate) fn connect_on_timeout(&mut self, mut c: Box<Connect>, now: Clock) -> Progress<Job> {
        if c.winner.is_some() || now.mono_ms < c.ring_until {
            if let Some(m) = c.ringback.as_mut() {
                self.music_on_timeout(m, now);
            }
            return Progress::Wait(Job::Connect(c));
        }
        for leg in c.legs() {
            self.hang_up_leg(leg, HangupCause::NoAnswer);
        }
        if let Some(e) = c.early.take() {
            self.push(Output::Unbridge {
                legs: [LegId::FIRST, e],
            });
        }
        self.stop_ringback(&mut c);
        let progress = self.connect_result(&c, "noanswer", Completion::Timeout, now);
        c.dialed.clear();
        progress
    }

    pub(crate) fn connect_on_io(
        &mut self,
        mut c: Box<Connect>,
        id: IoId,
        r: IoResult,
        _now: Clock,
    ) -> Progress<Job> {
        if let Some(m) = c.ringback.as_mut() {
            self.music_on_io(m, id, &r);
        }
        Progress::Wait(Job::Connect(c))
    }

    pub(crate) fn connect_on_playback(
        &mut self,
        mut c: Box<Connect>,
        id: PlaybackId,
        end: PlaybackEnd,
    ) -> Progress<Job> {
        if let Some(m) = c.ringback.as_mut() {
            self.music_on_playback(m, id, end);
        }
        Progress::Wait(Job::Connect(c))
    }

    fn stop_ringback(&mut self, c: &mut Connect) {
        let m = c.ringback.take();
        self.music_stop(m);
    }

    fn update_media(&mut self, leg: LegId) {
        if let Some(l) = self.leg(leg) {
            let stream = l.stream();
            self.media(leg, MediaCommand::Update(stream));
        }
    }

    fn set_ended(&mut self, leg: LegId, cause: HangupCause) {
        if let Some(l) = self.leg_mut(leg) {
            l.state = LegState::Ended;
            l.cause.get_or_insert(cause);
        }
    }

    fn connect_result(
        &mut self,
        c: &Connect,
        result: &str,
        completion: Completion,
        now: Clock,
    ) -> Progress<Job> {
        let winner = c.winner.and_then(|w| c.dialed(w));
        let mut vars: Vars = vec![("connect.result".into(), result.into())];
        vars.push((
            "connect.destination".into(),
            winner.map(|d| d.destination.clone()).unwrap_or_default(),
        ));
        vars.push((
            "connect.call_id".into(),
            winner.map(|d| d.call_id.clone()).unwrap_or_default(),
        ));
        let code = match (c.winner, c.last_status) {
            (Some(_), _) => "200".to_string(),
            (None, Some(s)) => s.to_string(),
            (None, None) => String::new(),
        };
        vars.push(("connect.sip_code".into(), code));
        let duration = c.answered_at.map_or(0, |a| now.mono_ms.saturating_sub(a));
        vars.push(("connect.duration_ms".into(), duration.to_string()));
        Progress::Done(completion, vars)
    }

    /// A leg event no job is waiting for: legs we let go end; a late answer is hung up.
    pub(crate) fn stray_leg_event(&mut self, leg: LegId, event: LegEvent) {
        match event {
            // A leg we let go of answered anyway: hang it up (one being hung up already is
            // the SIP layer's: it BYEs a 2xx that crosses its CANCEL).
            LegEvent::Answered { .. } => {
                self.hang_up_leg(leg, HangupCause::Flow(flow::HangupReason::Cancel))
            }
            LegEvent::Refused { .. }
            | LegEvent::RemoteBye
            | LegEvent::Terminated
            | LegEvent::Cancelled
            | LegEvent::AckTimeout => self.set_ended(leg, HangupCause::RemoteBye),
            LegEvent::ReOffer { cseq, sdp, update } => self.on_reoffer(leg, cseq, sdp, update),
            LegEvent::ReInviteAnswered { result } => self.on_reinvite_answered(leg, result),
            LegEvent::Progress { .. }
            | LegEvent::Acked { .. }
            | LegEvent::Info { .. }
            | LegEvent::ByeCompleted { .. } => {}
        }
    }
}
