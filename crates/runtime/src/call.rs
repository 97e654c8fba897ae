//! The call shell: one task per call (or per activeflow without a call) around a
//! [`call::CallCore`].
//!
//! The loop waits for one thing (a dialog event of any leg, a media event, an API request, an
//! I/O or dial completion, the core's deadline), feeds it to the core with the time, and
//! performs what the core asks, in order. Everything a call decides is the core's; this file
//! only talks to the SIP dialogs, the call's media task, the services and the live registry.

use crate::live::{CallState, Control};
use crate::media_session::{CallMedia, FromMedia};
use crate::outbound::{Refusal, Route};
use crate::perform::perform;
use crate::recording::{Recorder, RecordingMeta};
use crate::records::Record;
use crate::services::Services;
use crate::trunks::TrunkSeat;
use call::{
    Admission, CallCore, DialRequest, HangupCause, Incoming, IoId, IoRequest, IoResult, LegEvent,
    LegId, Output, SipCommand, Snapshot,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use media::session::{MediaEvent, RecordingEnd};
use sip::DialogEvent;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

/// Something the shell started that completes later.
enum Done {
    Io(IoId, IoResult),
    Dialed(LegId, Result<sip::OutgoingCall, String>, Option<TrunkSeat>),
}

type Pending = Pin<Box<dyn Future<Output = Done> + Send>>;

/// Run one incoming call to its end. Never panics on anything the caller or the flow sends.
pub(crate) async fn run(services: Arc<Services>, incoming: sip::IncomingCall) {
    let span = tracing::info_span!("call", call_id = %incoming.call_id);
    async move {
        services
            .metrics
            .active_calls
            .fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut shell = Shell::incoming(services.clone(), incoming, started);
        shell.run().await;
        services
            .metrics
            .active_calls
            .fetch_sub(1, Ordering::Relaxed);
    }
    .instrument(span)
    .await
}

/// Start an activeflow without a call (`POST /v1/activeflows`); its id, or why not.
pub(crate) fn start_headless(
    services: &Arc<Services>,
    req: crate::HeadlessRequest,
) -> Result<String, crate::engine::StartActiveflowError> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut variables = flow::Variables::new();
    variables
        .merge_external(req.variables)
        .map_err(|p| crate::engine::StartActiveflowError::Variables(p.message))?;
    let started = Instant::now();
    let core = CallCore::headless(
        call::Headless {
            activeflow_id: id.clone(),
            flow_id: req.flow_id.clone(),
            flow: req.flow,
            variables,
            webhook_uri: req.webhook_uri,
            stop_types: req.stop_types,
        },
        services.core_config(&req.flow_id),
        rand::random(),
        clock(started),
    );
    let (control_tx, control) = mpsc::unbounded_channel();
    services.live.activeflows.insert(id.clone(), control_tx);
    let mut shell = Shell::new(services.clone(), core, control, started);
    tokio::spawn(async move {
        shell.start();
        shell.run().await
    });
    Ok(id)
}

/// Place a call (`POST /v1/calls`): its task dials, and runs the flow once answered. The
/// call's id, or why it cannot be placed.
pub(crate) fn start_outgoing(
    services: &Arc<Services>,
    req: crate::OriginateRequest,
) -> Result<String, crate::OriginateError> {
    use crate::OriginateError;
    if services.dialer.is_none() {
        return Err(OriginateError::NoRoute(
            "this server has no SIP stack to place calls with".into(),
        ));
    }
    flow::Variables::new()
        .merge_external(req.variables.clone())
        .map_err(|p| OriginateError::Variables(p.message))?;
    let kind = req.destination.address_type.as_deref().unwrap_or("tel");
    let caller = Some(req.source.target.as_str()).filter(|s| !s.is_empty());
    let route = crate::outbound::route(
        services,
        kind,
        &req.destination.target,
        caller,
        Instant::now(),
    )
    .map_err(|r| match r {
        Refusal::NoRoute(m) => OriginateError::NoRoute(m),
        Refusal::Forbidden(_) => OriginateError::Forbidden(r.to_string()),
        Refusal::Limit { .. } => OriginateError::Limit(r.to_string()),
    })?;
    let call_id = uuid::Uuid::new_v4().to_string();
    let activeflow_id = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let core = CallCore::outgoing(
        call::Outgoing {
            call_id: call_id.clone(),
            activeflow_id: activeflow_id.clone(),
            source: req.source,
            destination: req.destination,
            flow_id: req.flow_id.clone(),
            flow: req.flow,
            variables: req.variables,
            ring_timeout_ms: req.ring_timeout_ms.unwrap_or(call::ORIGINATE_RING_MS),
        },
        services.core_config(&req.flow_id),
        rand::random(),
        clock(started),
    );
    let (control_tx, control) = mpsc::unbounded_channel();
    let mut shell = Shell::new(services.clone(), core, control, started);
    shell.routed = Some((LegId::FIRST, route));
    if let Some(record) = shell.core.record() {
        let state = Arc::new(CallState::new(record.clone(), control_tx.clone()));
        services.live.calls.insert(call_id.clone(), state.clone());
        shell.state = Some(state);
    }
    services.live.activeflows.insert(activeflow_id, control_tx);
    let span = tracing::info_span!("call", call_id = %call_id);
    let services = services.clone();
    services
        .metrics
        .active_calls
        .fetch_add(1, Ordering::Relaxed);
    tokio::spawn(
        async move {
            shell.start();
            shell.run().await;
            services
                .metrics
                .active_calls
                .fetch_sub(1, Ordering::Relaxed);
        }
        .instrument(span),
    );
    Ok(call_id)
}

fn clock(started: Instant) -> flow::Clock {
    flow::Clock {
        wall: chrono::Utc::now(),
        mono_ms: started.elapsed().as_millis() as u64,
    }
}

/// A leg's SIP dialog as the shell holds it.
struct LegDialog {
    leg: LegId,
    handle: sip::CallHandle,
    /// `None` once the dialog has said all it will.
    events: Option<mpsc::UnboundedReceiver<DialogEvent>>,
    /// The trunk place an outbound leg holds until its dialog ends.
    seat: Option<TrunkSeat>,
}

struct Shell {
    services: Arc<Services>,
    core: CallCore,
    started: Instant,
    dialogs: Vec<LegDialog>,
    media: Option<(CallMedia, mpsc::UnboundedReceiver<FromMedia>)>,
    control: mpsc::UnboundedReceiver<Control>,
    state: Option<Arc<CallState>>,
    pending: FuturesUnordered<Pending>,
    webhook: Option<String>,
    /// A leg routed before the call started (originate checks the trunk's limits first).
    routed: Option<(LegId, Route)>,
}

impl Shell {
    fn new(
        services: Arc<Services>,
        core: CallCore,
        control: mpsc::UnboundedReceiver<Control>,
        started: Instant,
    ) -> Shell {
        let webhook = core.identity().and_then(|i| i.webhook_uri.clone());
        Shell {
            services,
            core,
            started,
            dialogs: Vec::new(),
            media: None,
            control,
            state: None,
            pending: FuturesUnordered::new(),
            webhook,
            routed: None,
        }
    }

    /// Admit the call (route, ports), build its core and its media.
    fn incoming(services: Arc<Services>, call: sip::IncomingCall, started: Instant) -> Shell {
        let call_id = uuid::Uuid::new_v4().to_string();
        let activeflow_id = uuid::Uuid::new_v4().to_string();
        let trunk = services.trunks.of_source(call.remote.ip());
        let dialed = dialed_number(&call, trunk.as_deref());
        let (admission, ports) = match admit(&services, &dialed, call.media_address) {
            Ok((a, p)) => (Ok(a), Some(p)),
            Err(cause) => (Err(cause), None),
        };
        let flow_id = admission
            .as_ref()
            .map(|a| a.flow_id.clone())
            .unwrap_or_default();
        let sip::IncomingCall {
            call_id: sip_call_id,
            from,
            to,
            headers,
            offer,
            handle,
            events,
            ..
        } = call;
        let core = CallCore::incoming(
            Incoming {
                call_id: call_id.clone(),
                activeflow_id: activeflow_id.clone(),
                sip_call_id,
                from,
                to,
                headers,
                trusted: trunk.is_some(),
                variables: Vec::new(),
                offer,
                admission,
            },
            services.core_config(&flow_id),
            rand::random(),
            clock(started),
        );
        let (control_tx, control) = mpsc::unbounded_channel();
        let mut shell = Shell::new(services.clone(), core, control, started);
        if let Some(record) = shell.core.record() {
            let state = Arc::new(CallState::new(record.clone(), control_tx.clone()));
            services.live.calls.insert(call_id, state.clone());
            shell.state = Some(state);
        }
        if shell.core.identity().is_some() {
            services.live.activeflows.insert(activeflow_id, control_tx);
        }
        shell.dialogs.push(LegDialog {
            leg: LegId::FIRST,
            handle,
            events: Some(events),
            seat: None,
        });
        if let (Some(ports), Some(stream)) = (ports, shell.core.leg_stream(LegId::FIRST)) {
            if let Err(e) = shell.media().add_leg(LegId::FIRST, ports, stream) {
                warn!(error = %e, "cannot start the RTP session");
                shell.core.media_failed(LegId::FIRST, shell.now());
            }
        }
        shell.start();
        shell
    }

    fn start(&mut self) {
        self.observe();
        self.core.start(self.now());
    }

    fn now(&self) -> flow::Clock {
        clock(self.started)
    }

    /// The call's media task, started on first use.
    fn media(&mut self) -> &CallMedia {
        let metrics = self.services.metrics.clone();
        &self
            .media
            .get_or_insert_with(|| CallMedia::start(metrics))
            .0
    }

    /// Tell the core whether anyone listens to events now.
    fn observe(&mut self) {
        let wanted = self.services.events.wanted(self.webhook.as_deref());
        self.core.set_observed(wanted);
    }

    async fn run(&mut self) {
        loop {
            self.drain();
            if self.core.is_finished() {
                break;
            }
            let deadline = self
                .core
                .poll_timeout()
                .map(|ms| self.started + std::time::Duration::from_millis(ms));
            let media = self.media.as_mut().map(|m| &mut m.1);
            let input = tokio::select! {
                (leg, ev) = next_dialog_event(&mut self.dialogs) => Input::Dialog(leg, ev),
                ev = recv(media) => Input::Media(ev),
                ctl = self.control.recv() => Input::Control(ctl),
                Some(done) = self.pending.next(), if !self.pending.is_empty() => Input::Done(done),
                _ = sleep_until(deadline) => Input::Timeout,
            };
            self.observe();
            let now = self.now();
            match input {
                Input::Dialog(leg, Some(ev)) => {
                    let ended = matches!(ev, DialogEvent::Terminated);
                    if ended {
                        self.release_seat(leg);
                    }
                    self.core.handle_leg(leg, leg_event(ev), now);
                    if ended && leg != LegId::FIRST {
                        if let Some((m, _)) = &self.media {
                            m.remove_leg(leg);
                        }
                    }
                }
                Input::Dialog(leg, None) => {
                    if let Some(d) = self.dialogs.iter_mut().find(|d| d.leg == leg) {
                        d.events = None;
                        d.seat = None;
                    }
                    self.core.handle_leg(leg, LegEvent::Terminated, now);
                }
                Input::Media(Some(FromMedia::Event(leg, e))) => self.core.handle_media(leg, e, now),
                Input::Media(Some(FromMedia::Recorded(recorder, why))) => {
                    tokio::spawn(finish_recording(self.services.clone(), recorder, why));
                }
                Input::Media(None) => {
                    self.media = None;
                    // The media task is gone: a recording it held is over.
                    self.core.handle_media(
                        LegId::FIRST,
                        MediaEvent::RecordingEnded(RecordingEnd::Hangup),
                        now,
                    );
                }
                Input::Control(Some(c)) => self.on_control(c, now),
                Input::Control(None) => {}
                Input::Done(Done::Io(id, r)) => self.core.handle_io(id, r, now),
                Input::Done(Done::Dialed(leg, r, seat)) => self.dialed(leg, r, seat),
                Input::Timeout => self.core.handle_timeout(now),
            }
        }
    }

    fn on_control(&mut self, c: Control, now: flow::Clock) {
        match c {
            Control::Snapshot(reply) => {
                let snap = self.core.snapshot().map(|s| s.to_value());
                let _ = reply.send(snap.unwrap_or_default());
            }
            Control::Resume { event, reply } => {
                let _ = reply.send(self.core.resume(event, now));
            }
            Control::Stop => self.core.stop(now),
        }
    }

    /// Perform every output, in order.
    fn drain(&mut self) {
        while let Some(output) = self.core.poll_output() {
            match output {
                Output::Sip { leg, command } => self.sip(leg, command),
                Output::Media { leg, command } => match &self.media {
                    Some((m, _)) => m.send(leg, command),
                    None => debug!(?leg, "media command for a call without media"),
                },
                Output::Io { id, request } => self.io(id, request),
                Output::Dial { leg, request } => self.dial(leg, request),
                Output::Bridge { legs } => self.media().bridge(legs, true),
                Output::Unbridge { legs } => {
                    if let Some((m, _)) = &self.media {
                        m.bridge(legs, false);
                    }
                }
                Output::Event(e) => self.services.events.publish(e, self.webhook.as_deref()),
                Output::CallUpdated => {
                    if let (Some(state), Some(r)) = (&self.state, self.core.record()) {
                        state.set(r);
                    }
                }
                Output::ActionFailed => {
                    self.services
                        .metrics
                        .actions_failed
                        .fetch_add(1, Ordering::Relaxed);
                }
                Output::ActiveflowEnded(snapshot) => self.activeflow_ended(*snapshot),
                Output::CallEnded { record, outcome } => {
                    let live = &self.services.live;
                    // A placed call that was never answered ran no activeflow to remove it.
                    if let Some(af) = &record.activeflow_id {
                        live.activeflows.remove(af);
                    }
                    live.ended_calls
                        .insert(record.id.clone(), (*record).clone());
                    live.calls.remove(&record.id);
                    self.services.metrics.call_ended(outcome);
                    info!(outcome = outcome.as_str(), "call ended");
                    self.services.persist(Record::Call(*record));
                }
            }
        }
    }

    fn activeflow_ended(&mut self, snapshot: Snapshot) {
        info!(end_reason = ?snapshot.end_reason, actions = snapshot.executed_actions.len(), "activeflow ended");
        let live = &self.services.live;
        let mut record = store::ActiveflowRecord {
            id: snapshot.id.clone(),
            flow_id: snapshot.flow_id.clone(),
            call_id: snapshot.call_id.clone(),
            status: "ended".into(),
            end_reason: snapshot.end_reason_text(),
            variables: serde_json::Value::Null,
            executed_actions: serde_json::Value::Null,
            webhook_uri: snapshot.webhook_uri.clone(),
            created_at: snapshot.created_at,
            ended_at: Some(chrono::Utc::now()),
        };
        let value = snapshot.into_value();
        record.variables = value["variables"].clone();
        record.executed_actions = value["executed_actions"].clone();
        live.activeflows.remove(&record.id);
        live.ended_activeflows.insert(record.id.clone(), value);
        self.services.persist(Record::Activeflow(record));
    }

    fn sip(&self, leg: LegId, command: SipCommand) {
        let Some(d) = self.dialogs.iter().find(|d| d.leg == leg) else {
            return;
        };
        let h = &d.handle;
        match command {
            SipCommand::Ring => h.provisional(180, None),
            SipCommand::Answer { sdp } => h.answer(sdp),
            SipCommand::Reject { cause } => h.reject(cause.sip_status(), q850(cause)),
            SipCommand::Hangup { cause } => h.hangup(cause.sip_status(), q850(cause)),
            SipCommand::AnswerReoffer { cseq, answer } => h.answer_reoffer(cseq, answer),
            SipCommand::Invite { sdp } => h.invite(sdp),
        }
    }

    /// Place an outbound leg; its dialog comes back as [`Done::Dialed`].
    fn dial(&mut self, leg: LegId, request: DialRequest) {
        let refuse = |shell: &mut Shell, status: u16| {
            let now = shell.now();
            shell
                .core
                .handle_leg(leg, LegEvent::Refused { status }, now);
        };
        let Some(dialer) = self.services.dialer.clone() else {
            return refuse(self, 503);
        };
        let routed = match self.routed.take() {
            Some((l, r)) if l == leg => Ok(r),
            other => {
                self.routed = other;
                crate::outbound::route(
                    &self.services,
                    &request.destination_type,
                    &request.destination,
                    request.source.as_deref(),
                    Instant::now(),
                )
            }
        };
        let Route { spec, seat } = match routed {
            Ok(r) => r,
            Err(refusal) => {
                warn!(destination = %request.destination, %refusal, "outbound leg not placed");
                return refuse(self, refusal.sip_status());
            }
        };
        self.pending.push(Box::pin(async move {
            let result = dialer.dial(spec).await.map_err(|e| e.to_string());
            Done::Dialed(leg, result, seat)
        }));
    }

    /// The trunk place of `leg`'s dialog is free again.
    fn release_seat(&mut self, leg: LegId) {
        if let Some(d) = self.dialogs.iter_mut().find(|d| d.leg == leg) {
            d.seat = None;
        }
    }

    /// An outbound leg's dialog exists: give it ports and media; its INVITE follows.
    fn dialed(
        &mut self,
        leg: LegId,
        result: Result<sip::OutgoingCall, String>,
        seat: Option<TrunkSeat>,
    ) {
        let now = self.now();
        let out = match result {
            Ok(o) => o,
            Err(e) => {
                warn!(?leg, error = %e, "cannot place the call");
                self.core
                    .handle_leg(leg, LegEvent::Refused { status: 404 }, now);
                return;
            }
        };
        let bind_ip = bind_address(&self.services, out.media_address);
        let Some(ports) = self.services.media.ports.allocate(bind_ip) else {
            warn!("no free RTP port pair for an outbound leg");
            out.handle.hangup(503, None);
            self.core
                .handle_leg(leg, LegEvent::Refused { status: 503 }, now);
            return;
        };
        let local = local_media(out.media_address, ports.port);
        self.dialogs.push(LegDialog {
            leg,
            handle: out.handle,
            events: Some(out.events),
            seat,
        });
        self.core.handle_leg_media(leg, local, now);
        let stream = self.core.leg_stream(leg);
        if let Some(stream) = stream {
            if let Err(e) = self.media().add_leg(leg, ports, stream) {
                warn!(?leg, error = %e, "cannot start the RTP session of an outbound leg");
            }
        }
    }

    /// Start `request`; its result comes back through `pending`.
    fn io(&mut self, id: IoId, request: IoRequest) {
        let services = self.services.clone();
        if let IoRequest::StartRecording { leg, .. } = request {
            let media = self.media.as_ref().map(|(m, _)| m.clone());
            self.pending.push(Box::pin(async move {
                Done::Io(id, start_recording(&services, media, leg, request).await)
            }));
            return;
        }
        self.pending.push(Box::pin(async move {
            Done::Io(id, perform(&services, request).await)
        }));
    }
}

enum Input {
    Dialog(LegId, Option<DialogEvent>),
    Media(Option<FromMedia>),
    Control(Option<Control>),
    Done(Done),
    Timeout,
}

/// The next event of any leg's dialog (`None`: that dialog has no more to say).
async fn next_dialog_event(dialogs: &mut [LegDialog]) -> (LegId, Option<DialogEvent>) {
    std::future::poll_fn(|cx| {
        for d in dialogs.iter_mut() {
            if let Some(rx) = d.events.as_mut() {
                if let Poll::Ready(ev) = rx.poll_recv(cx) {
                    return Poll::Ready((d.leg, ev));
                }
            }
        }
        Poll::Pending
    })
    .await
}

/// The next message of `rx`, or never when there is no receiver.
async fn recv<T>(rx: Option<&mut mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

fn q850(cause: HangupCause) -> Option<sip::Q850> {
    cause.q850().map(|(cause, text)| sip::Q850 {
        cause,
        text: text.to_string(),
    })
}

fn leg_event(ev: DialogEvent) -> LegEvent {
    match ev {
        DialogEvent::Acked { sdp } => LegEvent::Acked { sdp },
        DialogEvent::Cancelled => LegEvent::Cancelled,
        DialogEvent::RemoteBye { .. } => LegEvent::RemoteBye,
        DialogEvent::ReOffer { cseq, sdp, method } => LegEvent::ReOffer {
            cseq,
            sdp,
            update: method == sip::ReOfferMethod::Update,
        },
        DialogEvent::Info { content_type, body } => LegEvent::Info { content_type, body },
        DialogEvent::AckTimeout => LegEvent::AckTimeout,
        DialogEvent::ByeCompleted { status } => LegEvent::ByeCompleted { status },
        DialogEvent::Terminated => LegEvent::Terminated,
        DialogEvent::ReInviteAnswered { result } => LegEvent::ReInviteAnswered { result },
        DialogEvent::Progress { status, sdp } => LegEvent::Progress { status, sdp },
        DialogEvent::Answered { sdp } => LegEvent::Answered { sdp },
        DialogEvent::Refused { status } => LegEvent::Refused { status },
    }
}

/// The address RTP sockets bind to: all interfaces behind a public address, else the address
/// our SDP gives.
fn bind_address(services: &Services, media_address: IpAddr) -> IpAddr {
    match (services.media.public_address, media_address) {
        (Some(_), IpAddr::V4(_)) => IpAddr::from([0, 0, 0, 0]),
        (Some(_), IpAddr::V6(_)) => IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED),
        (None, a) => a,
    }
}

/// Our media for a leg at `address`:`port`: PCMU, PCMA and telephone-event.
fn local_media(address: IpAddr, port: u16) -> sdp::LocalMedia {
    sdp::LocalMedia {
        address,
        port,
        codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
        telephone_event: true,
        session_id: u64::from(rand::random::<u32>()),
        session_version: 1,
        username: "switchyard".into(),
    }
}

/// The number a call dialed, which routes it: the Request-URI's user, except when a trunk
/// sends the call to the account it registered (`sip:acct@us`), where the number dialed is
/// the To's.
fn dialed_number(call: &sip::IncomingCall, trunk: Option<&crate::trunks::Trunk>) -> String {
    match trunk {
        Some(t) if !t.config.username.is_empty() && call.dialed_user == t.config.username => {
            let to = call::parse_address(&call.to);
            to.target.split('@').next().unwrap_or_default().to_string()
        }
        _ => call.dialed_user.clone(),
    }
}

/// The route's flow and an RTP port pair, or why the call is refused.
fn admit(
    services: &Services,
    dialed_user: &str,
    media_address: IpAddr,
) -> Result<(Admission, crate::ports::RtpPorts), HangupCause> {
    let Some((flow_id, stop_types)) = services.catalog.route(&services.config, dialed_user) else {
        warn!(user = %dialed_user, "no route for the dialed user");
        return Err(HangupCause::NoRoute);
    };
    let Some(flow) = services.catalog.flows.get(&flow_id) else {
        warn!(flow = %flow_id, "route names a flow that is not loaded");
        return Err(HangupCause::NoRoute);
    };
    let Some(ports) = services
        .media
        .ports
        .allocate(bind_address(services, media_address))
    else {
        warn!("no free RTP port pair");
        return Err(HangupCause::NoCircuit);
    };
    let local = local_media(media_address, ports.port);
    Ok((
        Admission {
            flow_id,
            flow,
            stop_types,
            local,
        },
        ports,
    ))
}

/// Open the recording file, index it, and hand it to the leg's media session.
async fn start_recording(
    services: &Services,
    media: Option<CallMedia>,
    leg: LegId,
    request: IoRequest,
) -> IoResult {
    let IoRequest::StartRecording {
        recording_id,
        started_at,
        call_id,
        activeflow_id,
        flow_id,
        limits,
        ..
    } = request
    else {
        return IoResult::Recording(Err("not a recording request".into()));
    };
    let Some(media) = media else {
        return IoResult::Recording(Err("the call has no media session".into()));
    };
    let meta = RecordingMeta {
        id: recording_id.clone(),
        call_id: call_id.clone(),
        activeflow_id: activeflow_id.clone(),
        flow_id,
        started_at,
    };
    let dir = services.config.recordings.dir.clone();
    let recorder = match tokio::task::spawn_blocking(move || Recorder::start(&dir, meta)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return IoResult::Recording(Err(e.to_string())),
        Err(e) => return IoResult::Recording(Err(e.to_string())),
    };
    if let Some(store) = &services.store {
        let row = store::RecordingRecord {
            id: recording_id.clone(),
            call_id: Some(call_id),
            activeflow_id: Some(activeflow_id),
            filename: format!("{recording_id}.wav"),
            format: "wav".into(),
            duration_ms: None,
            size_bytes: None,
            started_at,
            ended_at: None,
        };
        if let Err(e) = store.put_recording(&row).await {
            warn!(error = %e, "cannot index the recording");
        }
    }
    media.record(leg, Box::new(recorder), limits);
    IoResult::Recording(Ok(()))
}

/// Close a recording file, index it, and publish `recording_finished`.
async fn finish_recording(services: Arc<Services>, recorder: Box<Recorder>, why: RecordingEnd) {
    let path = recorder.wav_path().to_path_buf();
    let info = match tokio::task::spawn_blocking(move || recorder.finish(why)).await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => return warn!(error = %e, "recording could not be finished"),
        Err(e) => return warn!(error = %e, "recording task failed"),
    };
    let size = tokio::fs::metadata(&path).await.map(|m| m.len()).ok();
    if let Some(store) = &services.store {
        let rec = store::RecordingRecord {
            id: info.id.clone(),
            call_id: Some(info.call_id.clone()),
            activeflow_id: Some(info.activeflow_id.clone()),
            filename: info.filename.clone(),
            format: "wav".into(),
            duration_ms: Some(info.duration_ms as i64),
            size_bytes: size.map(|s| s as i64),
            started_at: info.started_at,
            ended_at: info.ended_at,
        };
        if let Err(e) = store.put_recording(&rec).await {
            warn!(error = %e, "cannot index the recording");
        }
    }
    services.events.publish(
        call::Published::new(call::Event::RecordingFinished(info), chrono::Utc::now()),
        None,
    );
}
