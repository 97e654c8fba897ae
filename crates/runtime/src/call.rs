//! The call actor: one task per call that owns the dialog handle, the RTP session and the flow
//! cursor, executes the commands the cursor emits, and reacts to dialog events meanwhile.

use crate::activeflow::{Control, Tracker};
use crate::engine::Shared;
use crate::flows::capabilities;
use crate::http_actions::{self, FetchContext};
use crate::live::CallState;
use crate::media_session::{
    next_phase_index, MediaCommand, MediaParams, MediaSession, PlaybackEnd,
};
use crate::metrics::CallOutcome;
use crate::tts::Utterance;
use crate::variables::call_variables;
use flow::{Clock, Command, Completion, Cursor, CursorOptions, EndReason, Step};
use media::AudioCodec;
use sip::{DialogEvent, IncomingCall, Q850};
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::{debug, info, warn, Instrument};

/// Run one call to its end. Never panics on anything the caller or the flow sends.
pub async fn run(shared: Arc<Shared>, call: IncomingCall) {
    let span = tracing::info_span!("call", call_id = %call.call_id);
    async move {
        shared.metrics.active_calls.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(CallState::new(&shared, &call));
        shared.live.calls.insert(state.id.clone(), state.clone());
        let (outcome, side) = handle(&shared, call, &state).await;
        state.ended(&shared, outcome, side).await;
        shared.live.calls.remove(&state.id);
        shared.metrics.active_calls.fetch_sub(1, Ordering::Relaxed);
        shared.metrics.call_ended(outcome);
        info!(?outcome, "call ended");
    }
    .instrument(span)
    .await
}

fn q850(cause: u16, text: &str) -> Option<Q850> {
    Some(Q850 {
        cause,
        text: text.to_string(),
    })
}

/// The Q.850 cause text for the causes switchyard sends.
fn q850_text(cause: u16) -> &'static str {
    match cause {
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "No answer from user",
        21 => "Call rejected",
        31 => "Normal, unspecified",
        41 => "Temporary failure",
        102 => "Recovery on timer expiry",
        _ => "Unspecified",
    }
}

/// What the media stream negotiated.
#[derive(Debug, Clone, Copy)]
struct Session {
    codec: AudioCodec,
    payload_type: u8,
    sends: bool,
    remote: Option<std::net::SocketAddr>,
    telephone_event: Option<u8>,
}

fn media_codec(c: sdp::Codec) -> Option<AudioCodec> {
    match c {
        sdp::Codec::Pcmu => Some(AudioCodec::Pcmu),
        sdp::Codec::Pcma => Some(AudioCodec::Pcma),
        sdp::Codec::G722 => None,
    }
}

fn session_of(n: &sdp::Negotiated) -> Option<Session> {
    Some(Session {
        codec: media_codec(n.codec)?,
        payload_type: n.payload_type,
        sends: n.direction.sends(),
        remote: n.remote_rtp,
        telephone_event: n.telephone_event,
    })
}

async fn handle(
    shared: &Arc<Shared>,
    mut call: IncomingCall,
    state: &Arc<CallState>,
) -> (CallOutcome, &'static str) {
    let handle = call.handle.clone();
    let Some(flow_id) = shared.route(&call.dialed_user) else {
        warn!(user = %call.dialed_user, "no route for the dialed user");
        handle.reject(404, None);
        return (CallOutcome::Rejected, "switchyard");
    };
    let Some(flow) = shared.flows.get(&flow_id) else {
        warn!(flow = %flow_id, "route names a flow that is not loaded");
        handle.reject(404, None);
        return (CallOutcome::Rejected, "switchyard");
    };

    // Media: a port pair, then the answer to the offer (or our offer when there is none).
    let bind_ip: IpAddr = if shared.public_address.is_some() {
        if call.media_address.is_ipv4() {
            IpAddr::from([0, 0, 0, 0])
        } else {
            IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED)
        }
    } else {
        call.media_address
    };
    let Some(ports) = shared.ports.allocate(bind_ip) else {
        warn!("no free RTP port pair");
        handle.reject(503, q850(34, "No circuit available"));
        return (CallOutcome::Failed, "switchyard");
    };
    let mut local = sdp::LocalMedia {
        address: call.media_address,
        port: ports.port,
        codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
        telephone_event: true,
        session_id: rand::random::<u32>() as u64,
        session_version: 1,
        username: "switchyard".into(),
    };
    let (our_sdp, session) = match &call.offer {
        Some(offer) => {
            let text = String::from_utf8_lossy(offer);
            let parsed = match sdp::SessionDescription::parse(&text) {
                Ok(p) => p,
                Err(e) => {
                    warn!(error = %e, "invalid SDP offer");
                    handle.reject(488, q850(88, "Incompatible destination"));
                    return (CallOutcome::Rejected, "switchyard");
                }
            };
            match sdp::answer(&parsed, &local) {
                Ok((answer, negotiated)) => match session_of(&negotiated) {
                    Some(s) => (answer.to_string(), s),
                    None => {
                        handle.reject(488, q850(65, "Bearer capability not implemented"));
                        return (CallOutcome::Rejected, "switchyard");
                    }
                },
                Err(e) => {
                    info!(error = %e, "no acceptable media in the offer");
                    handle.reject(488, q850(65, "Bearer capability not implemented"));
                    return (CallOutcome::Rejected, "switchyard");
                }
            }
        }
        None => (
            sdp::offer(&local).to_string(),
            Session {
                codec: AudioCodec::Pcmu,
                payload_type: 0,
                sends: true,
                remote: None,
                telephone_event: Some(sdp::TELEPHONE_EVENT_PAYLOAD_TYPE),
            },
        ),
    };
    let (media, mut media_events) = match MediaSession::start(
        ports,
        MediaParams {
            remote: session.remote,
            codec: session.codec,
            payload_type: session.payload_type,
            telephone_event: session.telephone_event,
            sending: false,
            phase_index: next_phase_index(),
        },
        shared.metrics.clone(),
    ) {
        Ok(m) => m,
        Err(e) => {
            warn!(error = %e, "cannot start RTP session");
            handle.reject(500, None);
            return (CallOutcome::Failed, "switchyard");
        }
    };

    let call_uuid = state.id.clone();
    let activeflow_id = uuid::Uuid::new_v4().to_string();
    state.set_flow(&flow_id, &activeflow_id);
    let mut tracker = Tracker::new(
        activeflow_id.clone(),
        flow_id.clone(),
        Some(call_uuid.clone()),
        None,
    );
    tracker.stop_types = shared.stop_types(&call.dialed_user);
    let (control_tx, mut control) = mpsc::unbounded_channel();
    shared
        .live
        .activeflows
        .insert(activeflow_id.clone(), control_tx.clone());
    state.set_control(control_tx);
    tracker.publish(
        shared,
        "activeflow_created",
        serde_json::json!({"activeflow_id": activeflow_id, "flow_id": flow_id, "call_id": call_uuid}),
    );
    let vars = call_variables(&call, &call_uuid, &activeflow_id, &flow_id);
    let mut cursor = Cursor::new(
        flow,
        vars,
        CursorOptions {
            has_call: true,
            max_actions: shared.max_actions,
            max_control_steps: shared.max_control_steps,
        },
    );
    let start = Instant::now();
    let clock = || Clock {
        wall: chrono::Utc::now(),
        mono_ms: start.elapsed().as_millis() as u64,
    };
    let ctx = CallContext {
        shared,
        handle: &handle,
        media: &media,
        session: Mutex::new(session),
        digits: DigitBuffer::default(),
        amd: Mutex::new(None),
        amd_ready: tokio::sync::Notify::new(),
        amd_hangup: AtomicBool::new(false),
        recording_active: AtomicBool::new(false),
        vars_snapshot: Mutex::new(flow::Variables::new()),
        pending_vars: Mutex::new(Vec::new()),
        answered: AtomicBool::new(false),
        ringing: AtomicBool::new(false),
        state,
        flow_id: &flow_id,
        our_sdp,
        local: &mut local,
        has_offer: call.offer.is_some(),
    };

    let mut hung_up_by_flow = false;
    let end = loop {
        let step = cursor.next(clock());
        tracker.publish_progress(shared, &cursor);
        let command = match step {
            Step::Ended(reason) => break CallEnd::Flow(reason),
            Step::Execute(c) => c,
        };
        debug!(?command, "executing");
        if matches!(command, Command::Hangup { .. }) {
            hung_up_by_flow = true;
        }
        let api_vars =
            matches!(command, Command::ApiRequest(_)).then(|| cursor.variables().clone());
        let fetch = matches!(command, Command::Fetch { .. }).then(|| FetchContext {
            activeflow_id: activeflow_id.clone(),
            call_id: call_uuid.clone(),
            variables: cursor
                .variables()
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                .collect(),
        });
        let custom = CustomContext {
            park: tracker.park.clone(),
            stop_types: tracker.stop_types.clone(),
            action_id: cursor
                .current()
                .map(|a| a.id().as_str().to_string())
                .unwrap_or_default(),
            activeflow_id: activeflow_id.clone(),
            call_id: call_uuid.clone(),
        };
        if !shared.api_actions.is_empty() {
            *ctx.vars_snapshot.lock().unwrap_or_else(|e| e.into_inner()) =
                cursor.variables().clone();
        }
        let fut = ctx.execute(command, fetch, custom, api_vars);
        tokio::pin!(fut);
        let completion = loop {
            tokio::select! {
                c = &mut fut => break Ok(c),
                me = media_events.recv() => {
                    if let Some(me) = me {
                        ctx.on_media_event(me, &mut cursor, &tracker);
                    }
                }
                ev = call.events.recv() => {
                    if let Some(end) = ctx.on_event(ev) {
                        break Err(end);
                    }
                }
                ctl = control.recv() => match ctl {
                    Some(Control::Snapshot(reply)) => {
                        let _ = reply.send(tracker.snapshot(&cursor));
                    }
                    Some(Control::Resume { event, reply }) => tracker.resume(event, reply),
                    Some(Control::Stop) | None => break Err(CallEnd::Api),
                }
            }
        };
        match completion {
            Ok(Executed {
                completion,
                vars,
                hung_up,
            }) => {
                if matches!(completion, Completion::Failed(_)) {
                    shared
                        .metrics
                        .actions_failed
                        .fetch_add(1, Ordering::Relaxed);
                }
                let pending: Vec<(String, String)> = ctx
                    .pending_vars
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .drain(..)
                    .collect();
                for (k, v) in vars.into_iter().chain(pending) {
                    cursor.variables_mut().set(k, v);
                }
                cursor.complete(clock(), completion);
                if hung_up {
                    hung_up_by_flow = true;
                    break CallEnd::Flow(EndReason::Hangup);
                }
            }
            Err(CallEnd::Api) => {
                cursor.stop(clock());
                break CallEnd::Flow(EndReason::Api);
            }
            Err(end) => {
                cursor.hangup(clock());
                break end;
            }
        }
    };
    tracker.publish_progress(shared, &cursor);
    // The activeflow is over now, even if the BYE transaction still takes a while.
    crate::activeflow::finish(shared, &tracker, &cursor).await;
    let recording = ctx.recording_active.load(Ordering::SeqCst);
    drop(ctx);
    media.stop_playback();
    media_actions::finish_recordings(shared, &media, &mut media_events, recording).await;

    let (outcome, side) = match end {
        CallEnd::Flow(reason) => {
            if !hung_up_by_flow {
                // Finishing or stopping the flow hangs up with normal clearing (flows.md §2).
                handle.hangup(480, q850(16, "Normal Clearing"));
                state.set_cause("normal");
            }
            debug!(?reason, "flow ended");
            drop(media);
            (wait_terminated(&mut call.events).await, "switchyard")
        }
        CallEnd::Remote(outcome) => (outcome, "caller"),
        CallEnd::Api => (CallOutcome::Completed, "switchyard"),
    };
    info!(end_reason = ?cursor.end_reason(), actions = cursor.executed().len(), "activeflow ended");
    (outcome, side)
}

/// Wait for the dialog to finish after we hung up (bounded by Timer F).
async fn wait_terminated(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<DialogEvent>,
) -> CallOutcome {
    let mut outcome = CallOutcome::Completed;
    let deadline = tokio::time::sleep(Duration::from_secs(40));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return outcome,
            ev = events.recv() => match ev {
                None | Some(DialogEvent::Terminated) => return outcome,
                Some(DialogEvent::ByeCompleted { status: None }) => outcome = CallOutcome::Failed,
                Some(_) => {}
            }
        }
    }
}

#[path = "call_media.rs"]
mod media_actions;

/// What a `custom` action needs to park.
struct CustomContext {
    park: Arc<crate::park::ParkSlot>,
    stop_types: Vec<String>,
    action_id: String,
    activeflow_id: String,
    call_id: String,
}

/// How a command ended, with variables to set before the cursor hears of it.
struct Executed {
    completion: Completion,
    vars: Vec<(String, String)>,
    /// The action hung the call up (amd with machine_handle hangup).
    hung_up: bool,
}

impl From<Completion> for Executed {
    fn from(completion: Completion) -> Executed {
        Executed {
            completion,
            vars: Vec::new(),
            hung_up: false,
        }
    }
}

/// Whether a DTMF digit interrupts the prompt (`digits_handle: "next"`).
fn barge_in(h: &Option<flow::options::DigitsHandle>) -> bool {
    matches!(h, Some(flow::options::DigitsHandle::Next))
}

#[derive(Debug)]
enum CallEnd {
    /// The flow ended (finished, stopped, hangup action, budget).
    Flow(EndReason),
    /// The caller or the network ended the call.
    Remote(CallOutcome),
    /// Stopped through the API.
    Api,
}

struct CallContext<'a> {
    shared: &'a Arc<Shared>,
    handle: &'a sip::CallHandle,
    media: &'a MediaSession,
    /// The media parameters as last negotiated.
    session: Mutex<Session>,
    /// Digits received and not yet consumed (type-ahead), and a wake-up for waiters.
    digits: DigitBuffer,
    /// The last AMD verdict, for a blocking `amd` action.
    amd: Mutex<Option<media::amd::AmdVerdict>>,
    amd_ready: tokio::sync::Notify,
    /// The running `amd` hangs up on a machine verdict.
    amd_hangup: AtomicBool,
    /// A recording is running (so the end of the call must finish it).
    recording_active: AtomicBool,
    /// The flow's variables as of the current command (API action templates read them).
    vars_snapshot: Mutex<flow::Variables>,
    /// Variables produced outside a command's own result (API actions fired by a key).
    pending_vars: Mutex<Vec<(String, String)>>,
    answered: AtomicBool,
    ringing: AtomicBool,
    state: &'a Arc<CallState>,
    /// The flow this call runs (API-action key bindings are per flow).
    flow_id: &'a str,
    our_sdp: String,
    local: &'a mut sdp::LocalMedia,
    has_offer: bool,
}

impl CallContext<'_> {
    fn session(&self) -> Session {
        // A poisoned lock only means another thread panicked mid-update; Session is Copy.
        *self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_session(&self, s: &Session) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = *s;
    }

    fn codec(&self) -> AudioCodec {
        self.session().codec
    }

    /// Tell the media task the current parameters (sending only once answered).
    fn apply_session(&self) {
        let s = self.session();
        let sending = s.sends && self.answered.load(Ordering::SeqCst);
        self.media.send(MediaCommand::Update {
            remote: s.remote,
            sending,
            codec: s.codec,
            payload_type: s.payload_type,
            telephone_event: s.telephone_event,
        });
    }

    fn ensure_answered(&self) {
        if self.answered.swap(true, Ordering::SeqCst) {
            return;
        }
        self.handle.answer(self.our_sdp.clone().into_bytes());
        self.state.answered(self.shared);
        self.apply_session();
    }

    /// Ring before anything that takes time while the call is not answered yet.
    fn ring_if_needed(&self) {
        if !self.answered.load(Ordering::SeqCst) && !self.ringing.swap(true, Ordering::SeqCst) {
            self.handle.provisional(180, None);
            self.state.ringing(self.shared);
        }
    }

    /// Perform `command`; media actions live in [`media_actions`].
    async fn execute(
        &self,
        command: Command,
        fetch: Option<FetchContext>,
        custom: CustomContext,
        api_vars: Option<flow::Variables>,
    ) -> Executed {
        match command {
            Command::ApiRequest(o) => {
                let r = self
                    .with_filler(crate::api_request::run(self.shared, &o, api_vars))
                    .await;
                Executed {
                    completion: r.completion,
                    vars: r.vars,
                    hung_up: false,
                }
            }
            Command::Custom(o) => self.custom(o, custom).await.into(),
            Command::ApiAction(o) => self.api_action(o).await,
            Command::CustomAction(o) => crate::library::enter(self.shared, &o).into(),
            Command::DigitsReceive(o) => self.digits_receive(o).await,
            Command::DigitsSend(o) => self.digits_send(o).await.into(),
            Command::RecordingStart(o) => self.recording_start(o).await,
            Command::RecordingStop => {
                self.media.send(MediaCommand::StopRecording(
                    crate::recording::EndReason::Stop,
                ));
                Completion::Done.into()
            }
            Command::Amd(o) => self.amd(o).await,
            Command::Echo { duration_ms } => self.echo(duration_ms, false).await.into(),
            Command::StreamEcho { duration_ms } => self.echo(duration_ms, true).await.into(),
            other => self.execute_basic(other, fetch).await.into(),
        }
    }

    async fn execute_basic(&self, command: Command, fetch: Option<FetchContext>) -> Completion {
        match command {
            Command::Answer => {
                self.ensure_answered();
                Completion::Done
            }
            Command::Talk(opt) => {
                self.ensure_answered();
                let u = Utterance {
                    text: opt.text.clone(),
                    language: opt.language.clone().unwrap_or_else(|| "en-US".into()),
                    voice: opt.voice_id.clone(),
                };
                match self.shared.tts.synthesize(&u).await {
                    Ok(pcm) => {
                        let key = crate::tts::Tts::cache_key(&u);
                        let prompt = self.shared.sounds.encoded(&key, self.codec(), &pcm);
                        self.play_interruptible(vec![prompt], barge_in(&opt.digits_handle))
                            .await;
                        Completion::Done
                    }
                    Err(e) => {
                        self.shared
                            .metrics
                            .tts_failures
                            .fetch_add(1, Ordering::Relaxed);
                        warn!(error = %e, "talk failed");
                        Completion::Failed(e.to_string())
                    }
                }
            }
            Command::Play(opt) => {
                self.ensure_answered();
                let mut failure = None;
                for url in &opt.stream_urls {
                    match self.shared.sounds.prompt(url, self.codec()).await {
                        Ok(p) => {
                            let end = self
                                .play_interruptible(vec![p], barge_in(&opt.digits_handle))
                                .await;
                            if end == PlaybackEnd::Stopped {
                                break;
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, "play failed");
                            failure.get_or_insert(e.to_string());
                        }
                    }
                }
                failure.map_or(Completion::Done, Completion::Failed)
            }
            Command::Beep => {
                self.ensure_answered();
                let pcm = media::tone::beep();
                let prompt = self.shared.sounds.encoded("beep", self.codec(), &pcm);
                self.media.play(vec![prompt]).await;
                Completion::Done
            }
            Command::Sleep { duration_ms } => {
                self.ring_if_needed();
                tokio::time::sleep(Duration::from_millis(duration_ms)).await;
                Completion::Done
            }
            Command::Hangup { reason, .. } => {
                let cause = reason.q850_cause();
                self.state.set_cause(&format!("{reason:?}").to_lowercase());
                self.handle
                    .hangup(reason.sip_status(), q850(cause, q850_text(cause)));
                Completion::Done
            }
            Command::WebhookSend(opt) => {
                self.ring_if_needed();
                self.with_filler(http_actions::webhook_send(&self.shared.http, opt))
                    .await
            }
            Command::Fetch { url, method } => {
                self.ring_if_needed();
                let Some(ctx) = fetch else {
                    return Completion::Failed("fetch without context".into());
                };
                http_actions::fetch(&self.shared.http, &url, method, ctx, &capabilities()).await
            }
            Command::FetchFlow { flow_id } => match self.shared.flows.get(&flow_id) {
                Some(f) => Completion::Pushed(f.actions().to_vec()),
                None => Completion::Failed(format!("no flow with id {flow_id:?}")),
            },
            other => {
                self.ring_if_needed();
                let name = format!("{other:?}");
                let name = name.split(['(', ' ', '{']).next().unwrap_or("");
                Completion::Failed(format!("action {name} is not supported by this build"))
            }
        }
    }

    /// React to a dialog event; `Some` when the call is over.
    fn on_event(&self, ev: Option<DialogEvent>) -> Option<CallEnd> {
        match ev? {
            DialogEvent::Acked { sdp } => {
                if let (false, Some(body)) = (self.has_offer, sdp) {
                    // Late offer: the ACK carries the answer to our offer.
                    let text = String::from_utf8_lossy(&body);
                    if let Ok(answer) = sdp::SessionDescription::parse(&text) {
                        if let Ok(our) = sdp::SessionDescription::parse(&self.our_sdp) {
                            if let Ok(n) = sdp::process_answer(&our, &answer) {
                                if let Some(s) = session_of(&n) {
                                    self.set_session(&s);
                                    self.apply_session();
                                }
                            }
                        }
                    }
                }
                None
            }
            DialogEvent::ReOffer { cseq, sdp, .. } => {
                self.on_reoffer(cseq, sdp);
                None
            }
            DialogEvent::Info { content_type, body } => {
                if let Some(d) = info_digit(&content_type, &body) {
                    self.media.send(MediaCommand::InfoDigit(d));
                }
                None
            }
            DialogEvent::Cancelled => Some(CallEnd::Remote(CallOutcome::Cancelled)),
            DialogEvent::RemoteBye { .. } => Some(CallEnd::Remote(CallOutcome::Completed)),
            DialogEvent::AckTimeout => Some(CallEnd::Remote(CallOutcome::Failed)),
            DialogEvent::ByeCompleted { .. } => None,
            DialogEvent::Terminated => Some(CallEnd::Remote(CallOutcome::Completed)),
        }
    }

    /// Answer a re-INVITE/UPDATE: hold (sendonly/inactive) and resume change whether we send.
    fn on_reoffer(&self, cseq: u32, offer: Option<Vec<u8>>) {
        let mut local = self.local.clone();
        local.session_version += 1;
        let Some(offer) = offer else {
            // No offer: offer our current session again.
            let o = sdp::offer(&local).to_string();
            self.handle.answer_reoffer(cseq, Ok(o.into_bytes()));
            return;
        };
        let text = String::from_utf8_lossy(&offer);
        let result = sdp::SessionDescription::parse(&text)
            .ok()
            .and_then(|o| sdp::answer(&o, &local).ok())
            .and_then(|(answer, n)| session_of(&n).map(|s| (answer, s)));
        match result {
            Some((answer, s)) => {
                self.set_session(&s);
                self.apply_session();
                info!(sending = s.sends, "re-offer answered");
                self.handle
                    .answer_reoffer(cseq, Ok(answer.to_string().into_bytes()));
            }
            None => self.handle.answer_reoffer(cseq, Err(488)),
        }
    }
}

/// The DTMF key in a SIP INFO body: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (`5`).
fn info_digit(content_type: &str, body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let value = if content_type.contains("dtmf-relay") {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then_some(v.trim())
        })?
    } else if content_type.contains("application/dtmf") {
        text.trim()
    } else {
        return None;
    };
    let c = value.chars().next()?.to_ascii_uppercase();
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        _ if value.len() == 1 && "0123456789*#ABCD".contains(c) => Some(c),
        _ => None,
    }
}

/// Digits received and not consumed yet (type-ahead), with a wake-up for whoever waits.
#[derive(Default)]
struct DigitBuffer {
    queue: Mutex<std::collections::VecDeque<char>>,
    arrived: tokio::sync::Notify,
}

impl DigitBuffer {
    fn push(&self, d: char) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(d);
        self.arrived.notify_waiters();
    }

    /// Remove the first `key` in the buffer; whether there was one.
    fn take(&self, key: char) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match q.iter().position(|&d| d == key) {
            Some(i) => {
                q.remove(i);
                true
            }
            None => false,
        }
    }

    fn pop(&self) -> Option<char> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    fn is_empty(&self) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::info_digit;

    #[test]
    fn info_bodies_carry_digits() {
        assert_eq!(
            info_digit("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"),
            Some('5')
        );
        assert_eq!(
            info_digit("application/dtmf-relay", b"Signal= #\r\n"),
            Some('#')
        );
        assert_eq!(info_digit("application/dtmf", b"11"), Some('#'));
        assert_eq!(info_digit("application/dtmf", b"b"), Some('B'));
        assert_eq!(info_digit("text/plain", b"5"), None);
        assert_eq!(info_digit("application/dtmf-relay", b"Duration=160"), None);
        assert_eq!(info_digit("application/dtmf", b"\xff"), None);
    }
}
