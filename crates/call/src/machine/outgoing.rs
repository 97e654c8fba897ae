//! Calls we place (`POST /v1/calls`, legs.md §7): the first leg is outbound; the activeflow
//! starts when it is answered. Refused, unanswered within `ring_timeout`, or cancelled
//! through the API, the call ends without running its flow.

use std::sync::Arc;

use flow::options::Address;
use flow::{Clock, Flow};
use media::session::MediaCommand;
use sdp::LocalMedia;

use super::closing::{Closing, DIALOG_END_MS};
use super::{Activeflow, CallCore, CoreConfig, Identity};
use crate::address::placed_call_variables;
use crate::cause::{CallOutcome, HangupCause};
use crate::event::Event;
use crate::leg::{Direction, Leg, LegId, LegState, MediaState};
use crate::output::{DialRequest, LegEvent, Output, SipCommand};
use crate::record::CallRecord;

/// How long an originated call rings when the request gives no `ring_timeout`.
pub const ORIGINATE_RING_MS: u64 = 60_000;

/// A call to place.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// switchyard's id for the call.
    pub call_id: String,
    /// The activeflow's id (used once answered).
    pub activeflow_id: String,
    /// Caller id.
    pub source: Address,
    /// Who to call.
    pub destination: Address,
    /// The flow to run once answered.
    pub flow_id: String,
    /// The flow.
    pub flow: Arc<Flow>,
    /// Variables from the request (external-variable rules apply).
    pub variables: Vec<(String, String)>,
    /// How long it may ring.
    pub ring_timeout_ms: u64,
}

impl CallCore {
    /// A call to place: [`Output::Dial`] for its first leg comes out at once; the flow runs
    /// once the callee answers. Call [`CallCore::start`] as for an incoming call.
    pub fn outgoing(o: Outgoing, config: CoreConfig, seed: u64, now: Clock) -> CallCore {
        let mut core = CallCore::empty(config, seed);
        core.record = Some(CallRecord {
            id: o.call_id.clone(),
            sip_call_id: String::new(),
            direction: "outgoing".into(),
            from: o.source.target.clone(),
            to: o.destination.target.clone(),
            flow_id: Some(o.flow_id.clone()),
            activeflow_id: Some(o.activeflow_id.clone()),
            status: "progressing".into(),
            created_at: now.wall,
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            hangup_cause: None,
            hangup_side: None,
            outcome: None,
        });
        core.call_event(Event::CallCreated, now);
        core.legs.push(Leg::new(
            LegId::FIRST,
            Direction::Outgoing,
            MediaState::unset(),
        ));
        let mut vars = placed_call_variables(
            &o.source,
            &o.destination,
            &o.call_id,
            &o.activeflow_id,
            &o.flow_id,
        );
        // Refused variables were reported to whoever gave them; the call runs without them.
        let _ = vars.merge_external(o.variables);
        core.activeflow = Some(Activeflow::new(
            o.flow,
            vars,
            Identity {
                activeflow_id: o.activeflow_id,
                flow_id: o.flow_id,
                call_id: Some(o.call_id.clone()),
                webhook_uri: None,
                created_at: now.wall,
            },
            Vec::new(),
            &core.config,
            true,
        ));
        core.awaiting_answer = Some(now.mono_ms.saturating_add(o.ring_timeout_ms));
        core.push(Output::Dial {
            leg: LegId::FIRST,
            request: DialRequest {
                call_id: o.call_id,
                destination_type: o
                    .destination
                    .address_type
                    .clone()
                    .unwrap_or_else(|| "tel".into()),
                destination: o.destination.target,
                source: Some(o.source.target),
            },
        });
        core
    }

    /// Whether the first leg is one we placed and it is not answered yet.
    pub(super) fn placing(&self) -> bool {
        self.awaiting_answer.is_some()
    }

    /// The placed first leg's media is ready: its INVITE goes out.
    pub(super) fn first_leg_media(&mut self, local: LocalMedia) {
        let Some(l) = self.leg_mut(LegId::FIRST) else {
            return;
        };
        l.media = MediaState::new(local);
        let sdp = l.media.offer();
        self.sip(LegId::FIRST, SipCommand::Invite { sdp });
    }

    /// What the placed first leg's dialog says while it rings.
    pub(super) fn placed_leg_event(&mut self, event: LegEvent, now: Clock) {
        match event {
            LegEvent::Progress { sdp, .. } => {
                let Some(l) = self.leg_mut(LegId::FIRST) else {
                    return;
                };
                if let Some(sdp) = sdp {
                    let _ = l.media.take_answer(&sdp);
                }
                if l.state == LegState::Setup {
                    l.state = LegState::Ringing;
                    self.set_status("ringing", now);
                    self.call_event(Event::CallRinging, now);
                }
            }
            LegEvent::Answered { sdp } => {
                self.awaiting_answer = None;
                let Some(l) = self.leg_mut(LegId::FIRST) else {
                    return;
                };
                if let Some(sdp) = sdp.filter(|_| l.media.offer_pending()) {
                    let _ = l.media.take_answer(&sdp);
                }
                l.state = LegState::Answered;
                let stream = l.stream();
                self.media(LegId::FIRST, MediaCommand::Update(stream));
                self.set_status("answered", now);
                if let Some(r) = self.record.as_mut() {
                    r.answered_at = Some(now.wall);
                }
                self.call_event(Event::CallAnswered, now);
                self.start(now);
            }
            LegEvent::Refused { status } => {
                self.awaiting_answer = None;
                self.remote_end = true;
                let cause = HangupCause::of_status(status);
                let outcome = match cause {
                    HangupCause::Busy | HangupCause::NoAnswer | HangupCause::Rejected(_) => {
                        CallOutcome::Rejected
                    }
                    _ => CallOutcome::Failed,
                };
                self.not_answered(cause, outcome, now);
            }
            LegEvent::Terminated => {
                // The dialog gave up without a final status (no route, no answer to the
                // INVITE at all: Timer B).
                self.awaiting_answer = None;
                self.not_answered(HangupCause::Rejected(408), CallOutcome::Failed, now);
            }
            _ => {}
        }
    }

    /// The ring timeout: cancel the placed leg.
    pub(super) fn ring_timeout(&mut self, now: Clock) {
        if self.awaiting_answer.is_some_and(|t| now.mono_ms >= t) {
            self.awaiting_answer = None;
            self.hang_up_leg(LegId::FIRST, HangupCause::NoAnswer);
            self.not_answered(HangupCause::NoAnswer, CallOutcome::Rejected, now);
        }
    }

    /// The API hangs up a call that has not been answered: it is cancelled.
    pub(super) fn cancel_placed(&mut self, now: Clock) {
        self.awaiting_answer = None;
        self.hang_up_leg(LegId::FIRST, HangupCause::FlowEnded);
        self.not_answered(HangupCause::FlowEnded, CallOutcome::Cancelled, now);
    }

    /// The placed call ended before an answer: no activeflow ran. A leg we are hanging up
    /// (CANCEL) is awaited like any other at the end of a call.
    pub(super) fn not_answered(&mut self, cause: HangupCause, outcome: CallOutcome, now: Clock) {
        if self.closing.is_some() {
            self.check_closed(now);
            return;
        }
        self.activeflow = None;
        if let Some(l) = self.leg_mut(LegId::FIRST) {
            l.cause.get_or_insert(cause);
            if l.state != LegState::HangingUp {
                l.state = LegState::Ended;
            }
        }
        self.outcome = Some(outcome);
        self.closing = Some(Closing {
            recording_until: None,
            legs_until: Some(now.mono_ms + DIALOG_END_MS),
        });
        self.check_closed(now);
    }
}
