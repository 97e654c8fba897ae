//! [`CallCore`]: one call (its legs, its activeflow) as a state machine.
//!
//! Inputs come with the time: `handle_leg` (dialog events), `handle_media` (media events),
//! `handle_io` (I/O completions, by the [`IoId`] the core gave), `handle_timeout`, and the
//! control requests `stop`, `resume`. Outputs are drained with [`CallCore::poll_output`] in
//! order; the next deadline is [`CallCore::poll_timeout`]. The core never reads a clock,
//! never blocks, never panics on what a peer, a flow or a webhook sends.
//!
//! Life of a call: created (`call_created`) → refused, or the activeflow starts
//! (`activeflow_created`) and runs its commands (the `exec` and `job` modules) → the activeflow
//! ends (the flow ran out, `stop`, a `hangup`, the caller hung up, the API) → closing: playback
//! stops, a running recording is finished (≤ 2 s), every leg still up is hung up and its
//! dialog awaited (≤ 40 s) → `call_hangup` and the CDR → [`CallCore::is_finished`].

use std::collections::VecDeque;
use std::sync::Arc;

use flow::{Clock, Cursor, CursorOptions, Flow, Step, Variables};
use media::session::{MediaCommand, MediaEvent, StreamParams};
use sdp::LocalMedia;

mod closing;
mod first_leg;
mod outgoing;

pub use outgoing::{Outgoing, ORIGINATE_RING_MS};

use crate::address::{call_variables, parse_address, IncomingParty};
use crate::cause::{CallOutcome, HangupCause};
use crate::digits::TypeAhead;
use crate::event::{Event, ParkTrace, Published};
use crate::ids::IdSource;
use crate::info::info_digit;
use crate::io::{IoId, IoRequest, IoResult};
use crate::job::Job;
use crate::leg::{Direction, Leg, LegId, LegState, MediaState};
use crate::output::{LegEvent, Output, SipCommand};
use crate::park::{ResumeError, ResumeEvent, ResumeOutcome};
use crate::record::{CallRecord, Snapshot};
use closing::Closing;

/// What every call of a server shares: limits and the custom-action settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// `flow.max_actions`.
    pub max_actions: u32,
    /// `flow.max_control_steps`.
    pub max_control_steps: u32,
    /// What slow actions play once `filler_after_ms` have passed (a sound name or URL);
    /// `None` = silence.
    pub filler: Option<String>,
    /// See `filler`.
    pub filler_after_ms: u64,
    /// Keys that fire an API action during prompts: `(key, action name)`.
    pub api_keys: Vec<(char, String)>,
    /// API actions fired after each `digits_receive` that got digits.
    pub after_capture: Vec<String>,
    /// Every outbound leg is hung up this long after its answer (`[outbound]
    /// max_call_duration_s`); 0 = never.
    pub max_outbound_ms: u64,
}

impl Default for CoreConfig {
    /// The documented defaults: 10 000 actions, 1 000 control steps, no filler, no API
    /// actions.
    fn default() -> Self {
        CoreConfig {
            max_actions: 10_000,
            max_control_steps: 1_000,
            filler: None,
            filler_after_ms: 1_500,
            api_keys: Vec::new(),
            after_capture: Vec::new(),
            max_outbound_ms: 14_400_000,
        }
    }
}

/// Who an activeflow is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The activeflow's id.
    pub activeflow_id: String,
    /// Its flow.
    pub flow_id: String,
    /// Its call; `None` for an activeflow without a call.
    pub call_id: Option<String>,
    /// Where its events go besides the server's webhook.
    pub webhook_uri: Option<String>,
    /// When it started.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A call that arrived.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// switchyard's id for the call.
    pub call_id: String,
    /// The activeflow's id, if it gets one.
    pub activeflow_id: String,
    /// The SIP Call-ID.
    pub sip_call_id: String,
    /// The From header value.
    pub from: String,
    /// The To header value.
    pub to: String,
    /// Every header of the INVITE (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The call comes from a trusted trunk: its P-Asserted-Identity names the caller.
    pub trusted: bool,
    /// Variables from outside (the originate API, a simulation), under the external-variable
    /// rules (`call.*` and `activeflow.*` are refused).
    pub variables: Vec<(String, String)>,
    /// The INVITE's SDP offer.
    pub offer: Option<Vec<u8>>,
    /// The flow to run and our media, or why the call is refused (no route, no ports).
    pub admission: Result<Admission, HangupCause>,
}

/// What a call that is let in runs with.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The route's flow id.
    pub flow_id: String,
    /// The flow.
    pub flow: Arc<Flow>,
    /// Custom action names that park even with `stop: false`.
    pub stop_types: Vec<String>,
    /// Our media (address, port, codecs, `o=` session id and first version).
    pub local: LocalMedia,
}

/// An activeflow without a call (`POST /v1/activeflows`).
#[derive(Debug, Clone)]
pub struct Headless {
    /// Its id.
    pub activeflow_id: String,
    /// The flow id.
    pub flow_id: String,
    /// The flow.
    pub flow: Arc<Flow>,
    /// Variables it starts with (checked by the caller).
    pub variables: Variables,
    /// Where its events go besides the server's webhook.
    pub webhook_uri: Option<String>,
    /// Custom action names that park even with `stop: false`.
    pub stop_types: Vec<String>,
}

/// The flow part of a call.
#[derive(Debug)]
pub(crate) struct Activeflow {
    pub(crate) cursor: Cursor,
    pub(crate) identity: Identity,
    pub(crate) stop_types: Vec<String>,
    /// Execution-log entries already published as `activeflow_updated`.
    published: usize,
    /// The in-flight command's progress.
    pub(crate) job: Option<Job>,
    /// The activeflow has ended (its record is out).
    pub(crate) ended: bool,
}

/// One call, sans-IO. See the module documentation.
#[derive(Debug)]
pub struct CallCore {
    pub(crate) config: CoreConfig,
    pub(crate) legs: Vec<Leg>,
    pub(crate) activeflow: Option<Activeflow>,
    /// The CDR; `None` for an activeflow without a call.
    record: Option<CallRecord>,
    /// Our SDP for the first leg's 200, prepared when the offer was answered.
    pending_answer: Option<Vec<u8>>,
    pub(crate) typeahead: TypeAhead,
    /// `amd` with `machine_handle: hangup` is listening (async or not).
    pub(crate) amd_hangs_up: bool,
    /// A recording runs on the first leg.
    pub(crate) recording: bool,
    outputs: VecDeque<Output>,
    next_id: u64,
    pub(crate) ids: IdSource,
    observed: bool,
    closing: Option<Closing>,
    outcome: Option<CallOutcome>,
    /// The first leg ended from the far side.
    remote_end: bool,
    /// A call we placed rings until then (monotonic ms); its flow starts on the answer.
    awaiting_answer: Option<u64>,
    finished: bool,
}

impl CallCore {
    fn empty(config: CoreConfig, seed: u64) -> CallCore {
        CallCore {
            config,
            legs: Vec::new(),
            activeflow: None,
            record: None,
            pending_answer: None,
            typeahead: TypeAhead::default(),
            amd_hangs_up: false,
            recording: false,
            outputs: VecDeque::new(),
            next_id: 1,
            ids: IdSource::new(seed),
            observed: true,
            closing: None,
            outcome: None,
            remote_end: false,
            awaiting_answer: None,
            finished: false,
        }
    }

    /// A call that arrived. Answers its offer (or prepares ours) at once; call
    /// [`CallCore::start`] once its media session runs (or [`CallCore::media_failed`]).
    /// `seed` feeds the ids and tokens the core makes.
    pub fn incoming(call: Incoming, config: CoreConfig, seed: u64, now: Clock) -> CallCore {
        let mut core = CallCore::empty(config, seed);
        let caller = IncomingParty {
            sip_call_id: &call.sip_call_id,
            from: &call.from,
            to: &call.to,
            headers: &call.headers,
            trusted: call.trusted,
        }
        .caller();
        let record = CallRecord {
            id: call.call_id.clone(),
            sip_call_id: call.sip_call_id.clone(),
            direction: "incoming".into(),
            from: parse_address(&caller).target,
            to: parse_address(&call.to).target,
            flow_id: None,
            activeflow_id: None,
            status: "progressing".into(),
            created_at: now.wall,
            answered_at: None,
            ended_at: None,
            duration_ms: None,
            hangup_cause: None,
            hangup_side: None,
            outcome: None,
        };
        core.record = Some(record);
        core.call_event(Event::CallCreated, now);
        let admission = match call.admission {
            Ok(a) => a,
            Err(cause) => {
                core.refuse(cause, CallOutcome::Rejected, now);
                return core;
            }
        };
        let mut media = MediaState::new(admission.local);
        let answer = match &call.offer {
            Some(offer) => media.answer(offer),
            None => Ok(media.offer()),
        };
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                core.legs
                    .push(Leg::new(LegId::FIRST, Direction::Incoming, media));
                let _ = e; // the cause says which; the SDP error text is not for the caller
                core.refuse(e.cause(), CallOutcome::Rejected, now);
                return core;
            }
        };
        core.pending_answer = Some(answer);
        core.legs
            .push(Leg::new(LegId::FIRST, Direction::Incoming, media));
        let mut vars = call_variables(
            IncomingParty {
                sip_call_id: &call.sip_call_id,
                from: &call.from,
                to: &call.to,
                headers: &call.headers,
                trusted: call.trusted,
            },
            &call.call_id,
            &call.activeflow_id,
            &admission.flow_id,
        );
        // Refused variables were reported to whoever gave them; the call runs without them.
        let _ = vars.merge_external(call.variables);
        if let Some(r) = core.record.as_mut() {
            r.flow_id = Some(admission.flow_id.clone());
            r.activeflow_id = Some(call.activeflow_id.clone());
        }
        core.activeflow = Some(Activeflow::new(
            admission.flow,
            vars,
            Identity {
                activeflow_id: call.activeflow_id,
                flow_id: admission.flow_id,
                call_id: Some(call.call_id),
                webhook_uri: None,
                created_at: now.wall,
            },
            admission.stop_types,
            &core.config,
            true,
        ));
        core
    }

    /// An activeflow without a call; call [`CallCore::start`] to run it.
    pub fn headless(h: Headless, config: CoreConfig, seed: u64, now: Clock) -> CallCore {
        let mut core = CallCore::empty(config, seed);
        let mut vars = h.variables;
        vars.set("activeflow.id", h.activeflow_id.as_str());
        vars.set("activeflow.flow_id", h.flow_id.as_str());
        vars.set("activeflow.reference_type", "api");
        core.activeflow = Some(Activeflow::new(
            h.flow,
            vars,
            Identity {
                activeflow_id: h.activeflow_id,
                flow_id: h.flow_id,
                call_id: None,
                webhook_uri: h.webhook_uri.filter(|u| !u.trim().is_empty()),
                created_at: now.wall,
            },
            h.stop_types,
            &core.config,
            false,
        ));
        core
    }

    /// Start the activeflow (nothing for a refused call).
    pub fn start(&mut self, now: Clock) {
        let Some(af) = self.activeflow.as_ref() else {
            return;
        };
        if self.finished || self.closing.is_some() || self.placing() {
            return;
        }
        if self.observed {
            let event = Event::ActiveflowCreated {
                activeflow_id: af.identity.activeflow_id.clone(),
                flow_id: af.identity.flow_id.clone(),
                call_id: af.identity.call_id.clone(),
            };
            self.publish(event, now);
        }
        self.drive(now);
    }

    /// The first leg's RTP session could not start: the call is refused with 500.
    pub fn media_failed(&mut self, leg: LegId, now: Clock) {
        if leg == LegId::FIRST && self.placing() {
            self.awaiting_answer = None;
            self.not_answered(HangupCause::MediaError, CallOutcome::Failed, now);
        } else if leg == LegId::FIRST && self.closing.is_none() && !self.finished {
            self.activeflow = None;
            self.refuse(HangupCause::MediaError, CallOutcome::Failed, now);
        }
    }

    /// Whether events are wanted (someone listens). When not, the core builds none.
    pub fn set_observed(&mut self, observed: bool) {
        self.observed = observed;
    }

    // ----- queries -----

    /// The next output to perform.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`CallCore::handle_timeout`] is due (monotonic ms), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.finished {
            return None;
        }
        let job = self
            .activeflow
            .as_ref()
            .and_then(|af| af.job.as_ref())
            .and_then(Job::deadline);
        let closing = self
            .closing
            .and_then(|c| c.recording_until.or(c.legs_until));
        [job, closing, self.awaiting_answer, self.next_leg_limit()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The call and its activeflow are over: nothing more will come out.
    pub fn is_finished(&self) -> bool {
        self.finished && self.outputs.is_empty()
    }

    /// The CDR as it stands (`None` for an activeflow without a call).
    pub fn record(&self) -> Option<&CallRecord> {
        self.record.as_ref()
    }

    /// The activeflow as `GET /v1/activeflows/{id}` shows it.
    pub fn snapshot(&self) -> Option<Snapshot> {
        let af = self.activeflow.as_ref()?;
        Some(Snapshot::of(&af.cursor, &af.identity, self.waiting_on()))
    }

    /// Who the activeflow is.
    pub fn identity(&self) -> Option<&Identity> {
        self.activeflow.as_ref().map(|af| &af.identity)
    }

    /// The stream a leg's RTP session starts with; `None` for a leg that is not there or
    /// has ended.
    pub fn leg_stream(&self, leg: LegId) -> Option<StreamParams> {
        let l = self.leg(leg)?;
        (!l.state.ending()).then(|| l.stream())
    }

    /// The `o=` version of the last SDP sent on `leg`.
    pub fn sdp_version(&self, leg: LegId) -> Option<u64> {
        self.leg(leg).map(|l| l.media.sdp_version())
    }

    /// Whether the flow is collecting digits now (a simulator reads its input then).
    pub fn collecting_digits(&self) -> bool {
        self.activeflow
            .as_ref()
            .and_then(|af| af.job.as_ref())
            .is_some_and(Job::collects_digits)
    }

    pub(crate) fn leg(&self, id: LegId) -> Option<&Leg> {
        self.legs.iter().find(|l| l.id == id)
    }

    pub(crate) fn leg_mut(&mut self, id: LegId) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.id == id)
    }

    fn waiting_on(&self) -> Option<ParkTrace> {
        self.activeflow
            .as_ref()?
            .job
            .as_ref()?
            .parked()
            .map(|p| p.trace().clone())
    }

    // ----- inputs -----

    /// A leg's dialog reported `event`.
    pub fn handle_leg(&mut self, leg: LegId, event: LegEvent, now: Clock) {
        if self.finished {
            return;
        }
        if matches!(event, LegEvent::Answered { .. }) {
            if let Some(l) = self.leg_mut(leg) {
                l.answered_ms.get_or_insert(now.mono_ms);
            }
        }
        if leg != LegId::FIRST {
            self.job_on_leg(leg, event, now);
            self.check_closed(now);
            return;
        }
        if self.placing() {
            self.placed_leg_event(event, now);
            return;
        }
        match event {
            LegEvent::Acked { sdp } => {
                let Some(l) = self.leg_mut(leg) else { return };
                if let Some(body) = sdp.filter(|_| l.media.offer_pending()) {
                    // Our offer (late offer, or a re-INVITE without SDP) is answered here.
                    if l.media.take_answer(&body).is_ok() {
                        let stream = l.stream();
                        self.media(leg, MediaCommand::Update(stream));
                    }
                }
            }
            LegEvent::ReOffer { cseq, sdp, update } => self.on_reoffer(leg, cseq, sdp, update),
            LegEvent::Info { content_type, body } => {
                if let Some(d) = info_digit(&content_type, &body) {
                    self.media(leg, MediaCommand::InfoDigit(d));
                }
            }
            LegEvent::Cancelled => {
                self.first_leg_gone(CallOutcome::Cancelled, HangupCause::Cancelled, now)
            }
            LegEvent::RemoteBye => {
                self.first_leg_gone(CallOutcome::Completed, HangupCause::RemoteBye, now)
            }
            LegEvent::AckTimeout => {
                self.first_leg_gone(CallOutcome::Failed, HangupCause::NoAck, now)
            }
            LegEvent::Terminated => {
                let was = self.leg(leg).map(|l| l.state);
                if was == Some(LegState::HangingUp) || self.closing.is_some() {
                    self.set_leg_state(leg, LegState::Ended);
                    self.check_closed(now);
                } else {
                    self.first_leg_gone(CallOutcome::Completed, HangupCause::RemoteBye, now);
                }
            }
            LegEvent::ByeCompleted { status } => {
                if status.is_none() {
                    self.outcome = Some(CallOutcome::Failed);
                }
            }
            LegEvent::ReInviteAnswered { result } => self.on_reinvite_answered(leg, result),
            LegEvent::Progress { .. } | LegEvent::Answered { .. } | LegEvent::Refused { .. } => {}
        }
    }

    /// A leg's media session reported `event`.
    pub fn handle_media(&mut self, leg: LegId, event: MediaEvent, now: Clock) {
        if self.finished {
            return;
        }
        match event {
            MediaEvent::Digit(d) if leg == LegId::FIRST => self.on_digit(d, now),
            MediaEvent::Amd(v) if leg == LegId::FIRST => self.on_amd(v, now),
            MediaEvent::RecordingEnded(_) if leg == LegId::FIRST => {
                self.recording = false;
                if let Some(c) = self.closing.as_mut() {
                    c.recording_until = None;
                }
                self.continue_closing(now);
            }
            MediaEvent::PlaybackEnded { id, end } => self.job_on_playback(id, end, now),
            MediaEvent::DigitsSent { id } => self.job_on_digits_sent(id, now),
            MediaEvent::Digit(_) | MediaEvent::Amd(_) | MediaEvent::RecordingEnded(_) => {}
        }
    }

    /// The I/O request `id` completed.
    pub fn handle_io(&mut self, id: IoId, result: IoResult, now: Clock) {
        if !self.finished {
            self.job_on_io(id, result, now);
        }
    }

    /// An outbound leg's media is ready: its offer goes out in the INVITE.
    pub fn handle_leg_media(&mut self, leg: LegId, local: LocalMedia, now: Clock) {
        if leg == LegId::FIRST && self.placing() {
            self.first_leg_media(local);
            return;
        }
        self.job_on_leg_media(leg, local, now);
    }

    /// The time is `now`: timers due fire.
    pub fn handle_timeout(&mut self, now: Clock) {
        if self.finished {
            return;
        }
        self.job_on_timeout(now);
        self.ring_timeout(now);
        self.leg_limits(now);
        if let Some(c) = self.closing.as_mut() {
            if c.recording_until.is_some_and(|t| now.mono_ms >= t) {
                c.recording_until = None;
                self.continue_closing(now);
            } else if c.legs_until.is_some_and(|t| now.mono_ms >= t) {
                for l in &mut self.legs {
                    l.state = LegState::Ended;
                }
                self.check_closed(now);
            }
        }
    }

    /// When the next answered outbound leg reaches `max_outbound_ms`.
    fn next_leg_limit(&self) -> Option<u64> {
        let max = self.config.max_outbound_ms;
        (max > 0)
            .then(|| {
                self.legs
                    .iter()
                    .filter(|l| l.direction == Direction::Outgoing && !l.state.ending())
                    .filter_map(|l| l.answered_ms)
                    .map(|t| t.saturating_add(max))
                    .min()
            })
            .flatten()
    }

    /// Hang up every outbound leg past `max_outbound_ms`. A placed call's own leg ends its
    /// activeflow (`hangup`); a bridged leg ends its bridge and the flow goes on.
    fn leg_limits(&mut self, now: Clock) {
        let max = self.config.max_outbound_ms;
        if max == 0 {
            return;
        }
        let due: Vec<LegId> = self
            .legs
            .iter()
            .filter(|l| l.direction == Direction::Outgoing && !l.state.ending())
            .filter(|l| {
                l.answered_ms
                    .is_some_and(|t| now.mono_ms >= t.saturating_add(max))
            })
            .map(|l| l.id)
            .collect();
        for leg in due {
            self.hang_up_leg(leg, HangupCause::MaxDuration);
            if leg == LegId::FIRST && self.activeflow.as_ref().is_some_and(|af| !af.ended) {
                self.cancel_job();
                if let Some(af) = self.activeflow.as_mut() {
                    af.cursor.hangup(now);
                }
                self.activeflow_ended(now);
            }
        }
    }

    /// Stop the activeflow now (the API): its end reason is `api`; a call is hung up.
    pub fn stop(&mut self, now: Clock) {
        if self.placing() {
            self.cancel_placed(now);
            return;
        }
        let Some(af) = self.activeflow.as_mut() else {
            return;
        };
        if af.ended {
            return;
        }
        self.cancel_job();
        if let Some(af) = self.activeflow.as_mut() {
            af.cursor.stop(now);
        }
        self.activeflow_ended(now);
    }

    /// An event for a parked `custom` action: the first one wins.
    pub fn resume(&mut self, event: ResumeEvent, now: Clock) -> Result<ResumeOutcome, ResumeError> {
        self.job_resume(event, now)
    }

    // ----- the flow -----

    /// Run the cursor until a command waits on something, or the activeflow ends.
    pub(crate) fn drive(&mut self, now: Clock) {
        loop {
            let Some(af) = self.activeflow.as_mut() else {
                return;
            };
            if af.job.is_some() || af.ended {
                return;
            }
            let step = af.cursor.next(now);
            self.publish_progress(now);
            match step {
                Step::Ended(_) => {
                    self.activeflow_ended(now);
                    return;
                }
                Step::Execute(command) => self.execute(command, now),
            }
        }
    }

    /// The in-flight command ended: set `vars`, report `completion`.
    pub(crate) fn complete(
        &mut self,
        completion: flow::Completion,
        vars: Vec<(String, String)>,
        now: Clock,
    ) {
        let Some(af) = self.activeflow.as_mut() else {
            return;
        };
        af.job = None;
        for (k, v) in vars {
            af.cursor.variables_mut().set(k, v);
        }
        if matches!(completion, flow::Completion::Failed(_)) {
            self.outputs.push_back(Output::ActionFailed);
        }
        af.cursor.complete(now, completion);
    }

    /// Publish `activeflow_updated` for every action logged since the last time.
    fn publish_progress(&mut self, now: Clock) {
        let Some(af) = self.activeflow.as_mut() else {
            return;
        };
        let log = af.cursor.executed();
        if !self.observed {
            af.published = log.len();
            return;
        }
        let mut events = Vec::new();
        for e in log.iter().skip(af.published) {
            events.push(Event::ActiveflowUpdated {
                activeflow_id: af.identity.activeflow_id.clone(),
                call_id: af.identity.call_id.clone(),
                action_id: e.id.as_str().to_string(),
                action_type: e.action_type.as_str(),
                outcome: e.outcome.to_string(),
                tm_execute: e.tm_execute,
                duration_ms: e.duration_ms,
            });
        }
        af.published = log.len();
        for e in events {
            self.publish(e, now);
        }
    }

    // ----- outputs -----

    pub(crate) fn sip(&mut self, leg: LegId, command: SipCommand) {
        self.outputs.push_back(Output::Sip { leg, command });
    }

    pub(crate) fn media(&mut self, leg: LegId, command: MediaCommand) {
        self.outputs.push_back(Output::Media { leg, command });
    }

    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    /// Ask for I/O; its id.
    pub(crate) fn io(&mut self, request: IoRequest) -> IoId {
        let id = IoId(self.fresh());
        self.outputs.push_back(Output::Io { id, request });
        id
    }

    /// A number unique within this call (I/O and playback ids).
    pub(crate) fn fresh(&mut self) -> u64 {
        let n = self.next_id;
        self.next_id += 1;
        n
    }

    /// Whether events are wanted: build one only then.
    pub(crate) fn observed(&self) -> bool {
        self.observed
    }

    pub(crate) fn publish(&mut self, event: Event, now: Clock) {
        if self.observed {
            self.outputs
                .push_back(Output::Event(Published::new(event, now.wall)));
        }
    }

    pub(super) fn call_event(&mut self, make: fn(CallRecord) -> Event, now: Clock) {
        self.outputs.push_back(Output::CallUpdated);
        if !self.observed {
            return;
        }
        if let Some(r) = self.record.clone() {
            self.publish(make(r), now);
        }
    }
}

impl Activeflow {
    fn new(
        flow: Arc<Flow>,
        vars: Variables,
        identity: Identity,
        stop_types: Vec<String>,
        config: &CoreConfig,
        has_call: bool,
    ) -> Activeflow {
        Activeflow {
            cursor: Cursor::new(
                flow,
                vars,
                CursorOptions {
                    has_call,
                    max_actions: config.max_actions,
                    max_control_steps: config.max_control_steps,
                },
            ),
            identity,
            stop_types,
            published: 0,
            job: None,
            ended: false,
        }
    }
}
