//! The end of a call: the activeflow's record goes out, playback stops, a running recording
//! is handed back (at most 2 s), every leg still up is hung up and its dialog awaited (at most
//! 40 s, Timer F), then `call_hangup` and the CDR.

use flow::Clock;
use media::session::{MediaCommand, RecordingEnd};

use super::CallCore;
use crate::cause::{CallOutcome, HangupCause};
use crate::event::Event;
use crate::leg::{Direction, Leg, LegId, LegState, MediaState};
use crate::output::{Output, SipCommand};
use crate::record::Snapshot;

/// How long the end of a call waits for a running recording to be handed back.
const RECORDING_FLUSH_MS: u64 = 2_000;
/// How long the end of a call waits for its dialogs to end after hanging them up (Timer F).
pub(super) const DIALOG_END_MS: u64 = 40_000;

/// The end of the call, in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Closing {
    /// Waiting for the recording to be handed back, until then.
    pub(super) recording_until: Option<u64>,
    /// Legs still up have been hung up; their dialogs are awaited until then.
    pub(super) legs_until: Option<u64>,
}

impl CallCore {
    /// The activeflow is over: its record goes out, then the call closes.
    pub(super) fn activeflow_ended(&mut self, now: Clock) {
        self.cancel_job();
        self.publish_progress(now);
        let Some(af) = self.activeflow.as_mut() else {
            return;
        };
        if af.ended {
            return;
        }
        af.ended = true;
        let event = self.observed.then(|| Event::ActiveflowEnded {
            activeflow_id: af.identity.activeflow_id.clone(),
            call_id: af.identity.call_id.clone(),
            end_reason: af.cursor.end_reason(),
        });
        let snapshot = Snapshot::of(&af.cursor, &af.identity, None);
        if let Some(event) = event {
            self.publish(event, now);
        }
        self.outputs
            .push_back(Output::ActiveflowEnded(Box::new(snapshot)));
        self.close(now);
    }

    /// Drop the in-flight job, undoing what it left running on the first leg.
    pub(crate) fn cancel_job(&mut self) {
        let Some(job) = self.activeflow.as_mut().and_then(|af| af.job.take()) else {
            return;
        };
        for (leg, command) in job.cleanup() {
            self.media(leg, command);
        }
        for leg in job.dialing_legs() {
            self.hang_up_leg(leg, HangupCause::Flow(flow::HangupReason::Cancel));
        }
    }

    /// The first leg ended from the far side: the activeflow ends (`hangup`).
    pub(super) fn first_leg_gone(&mut self, outcome: CallOutcome, cause: HangupCause, now: Clock) {
        let Some(l) = self.leg_mut(LegId::FIRST) else {
            return;
        };
        if l.state == LegState::Ended {
            return;
        }
        let ours = l.state == LegState::HangingUp;
        l.state = LegState::Ended;
        if !ours {
            l.cause.get_or_insert(cause);
            self.remote_end = true;
            self.outcome.get_or_insert(outcome);
        }
        let running = self.activeflow.as_ref().is_some_and(|af| !af.ended);
        if running {
            self.cancel_job_quietly();
            if let Some(af) = self.activeflow.as_mut() {
                af.cursor.hangup(now);
            }
            self.activeflow_ended(now);
        } else {
            self.check_closed(now);
        }
    }

    /// The job ends because the call is gone: nothing to undo on a leg that is over.
    pub(super) fn cancel_job_quietly(&mut self) {
        let dialing = self
            .activeflow
            .as_mut()
            .and_then(|af| af.job.take())
            .map(|j| j.dialing_legs())
            .unwrap_or_default();
        for leg in dialing {
            self.hang_up_leg(leg, HangupCause::Flow(flow::HangupReason::Cancel));
        }
    }

    /// Refuse the first leg: the call never runs a flow.
    pub(super) fn refuse(&mut self, cause: HangupCause, outcome: CallOutcome, now: Clock) {
        if self.legs.is_empty() {
            let media = MediaState::unset();
            self.legs
                .push(Leg::new(LegId::FIRST, Direction::Incoming, media));
        }
        self.sip(LegId::FIRST, SipCommand::Reject { cause });
        if let Some(l) = self.leg_mut(LegId::FIRST) {
            l.state = LegState::Ended;
            l.cause = Some(cause);
        }
        self.outcome = Some(outcome);
        self.closing = Some(Closing {
            recording_until: None,
            legs_until: None,
        });
        self.check_closed(now);
    }

    /// Begin the end of the call (after the activeflow ended).
    pub(super) fn close(&mut self, now: Clock) {
        if self.closing.is_some() {
            return;
        }
        if self.legs.is_empty() {
            self.finished = true;
            return;
        }
        let first_up = self
            .leg(LegId::FIRST)
            .is_some_and(|l| l.state != LegState::Ended);
        if first_up {
            self.media(LegId::FIRST, MediaCommand::StopPlayback);
        }
        let recording_until = self.recording.then(|| {
            self.media(
                LegId::FIRST,
                MediaCommand::StopRecording(RecordingEnd::Hangup),
            );
            now.mono_ms + RECORDING_FLUSH_MS
        });
        self.closing = Some(Closing {
            recording_until,
            legs_until: None,
        });
        self.continue_closing(now);
    }

    /// Once the recording is back: hang up every leg still up, then wait for them.
    pub(super) fn continue_closing(&mut self, now: Clock) {
        let Some(c) = self.closing else { return };
        if c.recording_until.is_some() || c.legs_until.is_some() {
            return;
        }
        let up: Vec<LegId> = self
            .legs
            .iter()
            .filter(|l| !l.state.ending())
            .map(|l| l.id)
            .collect();
        for leg in up {
            self.hang_up_leg(leg, HangupCause::FlowEnded);
        }
        if let Some(c) = self.closing.as_mut() {
            c.legs_until = Some(now.mono_ms + DIALOG_END_MS);
        }
        self.check_closed(now);
    }

    /// Send the hangup of `leg` (unless it is over or going already).
    pub(crate) fn hang_up_leg(&mut self, leg: LegId, cause: HangupCause) {
        let Some(l) = self.leg_mut(leg) else { return };
        if l.state.ending() {
            return;
        }
        l.state = LegState::HangingUp;
        l.cause.get_or_insert(cause);
        self.sip(leg, SipCommand::Hangup { cause });
    }

    /// When every leg is over (and the recording is back), the call ends.
    pub(super) fn check_closed(&mut self, now: Clock) {
        let Some(c) = self.closing else { return };
        if self.finished || c.recording_until.is_some() {
            return;
        }
        // The first leg must be over; other legs need only be going: their dialogs finish on
        // their own (a leg that never rang cannot be cancelled before Timer B, RFC 3261 §9.1).
        let over = |l: &Leg| match l.id {
            LegId::FIRST => l.state == LegState::Ended,
            _ => l.state.ending(),
        };
        if !self.legs.iter().all(over) {
            return;
        }
        self.finished = true;
        let first = self.leg(LegId::FIRST);
        let cause = first
            .and_then(|l| l.cause)
            .unwrap_or(HangupCause::FlowEnded);
        let outcome = self.outcome.unwrap_or(CallOutcome::Completed);
        let placed = first.is_some_and(|l| l.direction == Direction::Outgoing);
        let side = if self.remote_end {
            if placed {
                "callee"
            } else {
                "caller"
            }
        } else {
            "switchyard"
        };
        let Some(r) = self.record.as_mut() else {
            return;
        };
        r.status = "ended".into();
        r.ended_at = Some(now.wall);
        r.duration_ms = r.answered_at.map(|a| (now.wall - a).num_milliseconds());
        r.hangup_side = Some(side.into());
        r.outcome = Some(outcome.as_str().into());
        r.hangup_cause = Some(cause.as_str().into());
        self.call_event(Event::CallHangup, now);
        if let Some(r) = self.record.clone() {
            self.outputs.push_back(Output::CallEnded {
                record: Box::new(r),
                outcome,
            });
        }
    }
}
