//! The call shell: one task per call (or per activeflow without a call) around a
//! [`call::CallCore`].
//!
//! The loop waits for one thing (a dialog event, a media event, an API request, an I/O
//! completion, the core's deadline), feeds it to the core with the time, and performs what
//! the core asks, in order. Everything a call decides is the core's; this file only talks to
//! the SIP dialog, the media session, the services and the live registry.

use crate::live::{CallState, Control};
use crate::media_session::{FromMedia, MediaSession};
use crate::perform::perform;
use crate::recording::{Recorder, RecordingMeta};
use crate::records::Record;
use crate::services::Services;
use call::{
    Admission, CallCore, HangupCause, Incoming, IoId, IoRequest, IoResult, LegEvent, LegId, Output,
    SipCommand, Snapshot,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use media::session::{MediaEvent, RecordingEnd};
use sip::DialogEvent;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

type Pending = Pin<Box<dyn Future<Output = (IoId, IoResult)> + Send>>;

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

fn clock(started: Instant) -> flow::Clock {
    flow::Clock {
        wall: chrono::Utc::now(),
        mono_ms: started.elapsed().as_millis() as u64,
    }
}

/// The first leg's SIP dialog and RTP session.
struct FirstLeg {
    dialog: sip::CallHandle,
    events: Option<mpsc::UnboundedReceiver<DialogEvent>>,
    media: Option<(MediaSession, mpsc::UnboundedReceiver<FromMedia>)>,
}

struct Shell {
    services: Arc<Services>,
    core: CallCore,
    started: Instant,
    leg: Option<FirstLeg>,
    control: mpsc::UnboundedReceiver<Control>,
    state: Option<Arc<CallState>>,
    pending: FuturesUnordered<Pending>,
    webhook: Option<String>,
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
            leg: None,
            control,
            state: None,
            pending: FuturesUnordered::new(),
            webhook,
        }
    }

    /// Admit the call (route, ports), build its core and its media session.
    fn incoming(services: Arc<Services>, call: sip::IncomingCall, started: Instant) -> Shell {
        let call_id = uuid::Uuid::new_v4().to_string();
        let activeflow_id = uuid::Uuid::new_v4().to_string();
        let (admission, ports) = match admit(&services, &call.dialed_user, call.media_address) {
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
        let mut leg = FirstLeg {
            dialog: handle,
            events: Some(events),
            media: None,
        };
        if let (Some(ports), Some(stream)) = (ports, shell.core.leg_stream(LegId::FIRST)) {
            match MediaSession::start(ports, stream, services.metrics.clone()) {
                Ok(m) => leg.media = Some(m),
                Err(e) => {
                    warn!(error = %e, "cannot start the RTP session");
                    shell.core.media_failed(LegId::FIRST, shell.now());
                }
            }
        }
        shell.leg = Some(leg);
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
            let (dialog, media) = match self.leg.as_mut() {
                Some(l) => (l.events.as_mut(), l.media.as_mut().map(|m| &mut m.1)),
                None => (None, None),
            };
            let input = tokio::select! {
                ev = recv(dialog) => Input::Dialog(ev),
                ev = recv(media) => Input::Media(ev),
                ctl = self.control.recv() => Input::Control(ctl),
                Some((id, r)) = self.pending.next(), if !self.pending.is_empty() => Input::Io(id, r),
                _ = sleep_until(deadline) => Input::Timeout,
            };
            self.observe();
            let now = self.now();
            match input {
                Input::Dialog(Some(ev)) => self.core.handle_leg(LegId::FIRST, leg_event(ev), now),
                Input::Dialog(None) => {
                    if let Some(l) = self.leg.as_mut() {
                        l.events = None;
                    }
                    self.core
                        .handle_leg(LegId::FIRST, LegEvent::Terminated, now);
                }
                Input::Media(Some(FromMedia::Event(e))) => {
                    self.core.handle_media(LegId::FIRST, e, now)
                }
                Input::Media(Some(FromMedia::Recorded(recorder, why))) => {
                    tokio::spawn(finish_recording(self.services.clone(), recorder, why));
                }
                Input::Media(None) => {
                    if let Some(l) = self.leg.as_mut() {
                        l.media = None;
                    }
                    // The session is gone: a recording it held is over.
                    self.core.handle_media(
                        LegId::FIRST,
                        MediaEvent::RecordingEnded(RecordingEnd::Hangup),
                        now,
                    );
                }
                Input::Control(Some(c)) => self.on_control(c, now),
                Input::Control(None) => {}
                Input::Io(id, r) => self.core.handle_io(id, r, now),
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
                Output::Media { leg, command } => match self.media_of(leg) {
                    Some(m) => m.send(command),
                    None => debug!(?leg, "media command for a leg without a session"),
                },
                Output::Io { id, request } => self.io(id, request),
                Output::Dial { leg, .. } => {
                    warn!("outbound legs are not supported by this build");
                    let now = self.now();
                    self.core
                        .handle_leg(leg, LegEvent::Refused { status: 503 }, now);
                }
                Output::Bridge { .. } | Output::Unbridge { .. } => {
                    warn!("bridges are not supported by this build");
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

    fn media_of(&self, leg: LegId) -> Option<&MediaSession> {
        self.leg
            .as_ref()
            .filter(|_| leg == LegId::FIRST)
            .and_then(|l| l.media.as_ref())
            .map(|m| &m.0)
    }

    fn sip(&self, leg: LegId, command: SipCommand) {
        let Some(l) = self.leg.as_ref().filter(|_| leg == LegId::FIRST) else {
            return;
        };
        let h = &l.dialog;
        match command {
            SipCommand::Ring => h.provisional(180, None),
            SipCommand::Answer { sdp } => h.answer(sdp),
            SipCommand::Reject { cause } => h.reject(cause.sip_status(), q850(cause)),
            SipCommand::Hangup { cause } => h.hangup(cause.sip_status(), q850(cause)),
            SipCommand::AnswerReoffer { cseq, answer } => h.answer_reoffer(cseq, answer),
            SipCommand::Invite { .. } => warn!("INVITE asked of an incoming leg"),
        }
    }

    /// Start `request`; its result comes back through `pending`.
    fn io(&mut self, id: IoId, request: IoRequest) {
        let services = self.services.clone();
        if let IoRequest::StartRecording { .. } = request {
            let media = self.media_of(LegId::FIRST).cloned();
            self.pending.push(Box::pin(async move {
                (id, start_recording(&services, media, request).await)
            }));
            return;
        }
        self.pending.push(Box::pin(
            async move { (id, perform(&services, request).await) },
        ));
    }
}

enum Input {
    Dialog(Option<DialogEvent>),
    Media(Option<FromMedia>),
    Control(Option<Control>),
    Io(IoId, IoResult),
    Timeout,
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
    let bind_ip: IpAddr = match (services.media.public_address, media_address) {
        (Some(_), IpAddr::V4(_)) => IpAddr::from([0, 0, 0, 0]),
        (Some(_), IpAddr::V6(_)) => IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED),
        (None, a) => a,
    };
    let Some(ports) = services.media.ports.allocate(bind_ip) else {
        warn!("no free RTP port pair");
        return Err(HangupCause::NoCircuit);
    };
    let local = sdp::LocalMedia {
        address: media_address,
        port: ports.port,
        codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
        telephone_event: true,
        session_id: u64::from(rand::random::<u32>()),
        session_version: 1,
        username: "switchyard".into(),
    };
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
    media: Option<MediaSession>,
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
    media.record(Box::new(recorder), limits);
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
