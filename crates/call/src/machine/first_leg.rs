//! The first leg: answering and ringing, re-offers (hold, resume), key presses and AMD
//! verdicts as they arrive.

use flow::Clock;
use media::session::MediaCommand;

use super::CallCore;
use crate::cause::HangupCause;
use crate::event::Event;
use crate::leg::{LegId, LegState};
use crate::output::{Output, SipCommand};

impl CallCore {
    /// Answer the first leg if it is not answered yet (200 with our SDP; media starts).
    pub(crate) fn ensure_answered(&mut self, now: Clock) {
        let Some(l) = self.leg_mut(LegId::FIRST) else {
            return;
        };
        if !matches!(l.state, LegState::Setup | LegState::Ringing) {
            return;
        }
        l.state = LegState::Answered;
        let stream = l.stream();
        let sdp = self.pending_answer.take().unwrap_or_default();
        self.sip(LegId::FIRST, SipCommand::Answer { sdp });
        self.media(LegId::FIRST, MediaCommand::Update(stream));
        self.set_status("answered", now);
        if let Some(r) = self.record.as_mut() {
            r.answered_at = Some(now.wall);
        }
        self.call_event(Event::CallAnswered, now);
    }

    /// Send 180 before something that takes time on a call not answered yet.
    pub(crate) fn ring_if_needed(&mut self, now: Clock) {
        let Some(l) = self.leg_mut(LegId::FIRST) else {
            return;
        };
        if l.state != LegState::Setup {
            return;
        }
        l.state = LegState::Ringing;
        self.sip(LegId::FIRST, SipCommand::Ring);
        self.set_status("ringing", now);
        self.call_event(Event::CallRinging, now);
    }

    /// Whether the first leg is answered and up.
    pub(crate) fn answered(&self) -> bool {
        self.leg(LegId::FIRST)
            .is_some_and(|l| l.state == LegState::Answered)
    }

    pub(super) fn set_status(&mut self, status: &str, _now: Clock) {
        if let Some(r) = self.record.as_mut() {
            r.status = status.into();
        }
        if let Some(af) = self.activeflow.as_mut() {
            af.cursor.variables_mut().set("call.status", status);
        }
        self.outputs.push_back(Output::CallUpdated);
    }

    pub(super) fn set_leg_state(&mut self, leg: LegId, state: LegState) {
        if let Some(l) = self.leg_mut(leg) {
            l.state = state;
        }
    }

    /// A re-INVITE/UPDATE: hold (sendonly/inactive) and resume change whether we send.
    pub(crate) fn on_reoffer(
        &mut self,
        leg: LegId,
        cseq: u32,
        offer: Option<Vec<u8>>,
        update: bool,
    ) {
        let Some(l) = self.leg_mut(leg) else { return };
        let answer = match offer {
            Some(offer) => l.media.answer(&offer).map_err(|_| 488),
            // An UPDATE without an offer refreshes the session: 200 without SDP.
            None if update => Ok(Vec::new()),
            None => Ok(l.media.offer()),
        };
        let stream = l.stream();
        if answer.is_ok() {
            self.media(leg, MediaCommand::Update(stream));
        }
        self.sip(leg, SipCommand::AnswerReoffer { cseq, answer });
    }

    /// The answer to a re-INVITE of ours on `leg`: the new stream, or nothing changes.
    pub(crate) fn on_reinvite_answered(
        &mut self,
        leg: LegId,
        result: Result<Option<Vec<u8>>, u16>,
    ) {
        let Some(l) = self.leg_mut(leg) else { return };
        if let Ok(Some(sdp)) = result {
            if l.media.take_answer(&sdp).is_ok() {
                let stream = l.stream();
                self.media(leg, MediaCommand::Update(stream));
            }
        }
    }

    /// A key press on the first leg.
    pub(super) fn on_digit(&mut self, d: char, now: Clock) {
        self.typeahead.push(d);
        let Some(af) = self.activeflow.as_mut().filter(|af| !af.ended) else {
            return;
        };
        af.cursor
            .variables_mut()
            .set("call.dtmf.last", d.to_string());
        let event = self.observed.then(|| Event::DtmfReceived {
            digit: d,
            call_id: af.identity.call_id.clone().unwrap_or_default(),
            activeflow_id: af.identity.activeflow_id.clone(),
        });
        if let Some(e) = event {
            self.publish(e, now);
        }
        self.job_on_digit(now);
    }

    /// An AMD verdict: variables, event, and the hangup `machine_handle: hangup` asks for.
    pub(super) fn on_amd(&mut self, v: media::amd::AmdVerdict, now: Clock) {
        let Some(af) = self.activeflow.as_mut().filter(|af| !af.ended) else {
            return;
        };
        let vars = af.cursor.variables_mut();
        vars.set("amd.result", v.result.as_str());
        vars.set("amd.cause", v.cause.as_str());
        let event = self.observed.then(|| Event::AmdResult {
            call_id: af.identity.call_id.clone().unwrap_or_default(),
            activeflow_id: af.identity.activeflow_id.clone(),
            result: v.result.as_str(),
            cause: v.cause.as_str(),
            decided_after_ms: v.decided_after_ms,
        });
        if let Some(e) = event {
            self.publish(e, now);
        }
        let machine = v.result == media::amd::AmdResult::Machine;
        if self.job_on_amd(v, now) {
            return;
        }
        if machine && std::mem::take(&mut self.amd_hangs_up) {
            // `async` amd: the verdict hangs the call up while the flow runs on.
            self.hang_up_leg(LegId::FIRST, HangupCause::Machine);
            self.cancel_job();
            if let Some(af) = self.activeflow.as_mut() {
                af.cursor.hangup(now);
            }
            self.activeflow_ended(now);
        }
    }
}
