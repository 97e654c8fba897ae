//! The caller-facing media actions of the call actor (flows.md §5): barge-in, digits_receive,
//! digits_send, recording, amd, echo, and what the media task reports back.

use super::{CallContext, Executed};
use crate::activeflow::Tracker;
use crate::api_actions::Trigger;
use crate::engine::Shared;
use crate::events::Event;
use crate::media_session::{MediaCommand, MediaEvent, MediaSession, PlaybackEnd, RecordingLimits};
use crate::recording::{EndReason as RecordingEnd, Recorder, RecordingMeta};
use flow::options::{
    AmdOption, DigitsReceiveOption, DigitsSendOption, EndOfKey, MachineHandle, RecordingFormat,
    RecordingStartOption,
};
use flow::{Completion, Cursor};
use media::amd::{AmdConfig, AmdResult};
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::warn;

/// `digits_receive` waits this long for the first digit when the flow gives no `duration`.
const DEFAULT_FIRST_DIGIT_MS: u64 = 5_000;

impl CallContext<'_> {
    /// Play `prompts`; with `barge_in`, a digit (already typed ahead, or arriving) stops them.
    pub(super) async fn play_interruptible(
        &self,
        prompts: Vec<Arc<media::prompt::EncodedPrompt>>,
        barge_in: bool,
    ) -> PlaybackEnd {
        let flow_id = self.flow_id;
        let keys = self.shared.api_actions.keys(flow_id);
        if !barge_in && keys.is_empty() {
            return self.media.play(prompts).await;
        }
        if barge_in && !self.digits.is_empty() {
            return PlaybackEnd::Stopped;
        }
        let play = self.media.play(prompts);
        tokio::pin!(play);
        loop {
            let arrived = self.digits.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            // A key bound to an API action fires it (and is consumed); others barge in or wait.
            if let Some(key) = keys.iter().copied().find(|k| self.digits.take(*k)) {
                self.media.stop_playback();
                (&mut play).await;
                if let Some(def) = self.shared.api_actions.for_key(flow_id, key) {
                    let fired = self
                        .fire_api_action(&def, Trigger::Dtmf, &key.to_string())
                        .await;
                    self.say(fired.say).await;
                    self.pending_vars
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(fired.vars);
                }
                return PlaybackEnd::Stopped;
            }
            if barge_in && !self.digits.is_empty() {
                self.media.stop_playback();
                (&mut play).await;
                return PlaybackEnd::Stopped;
            }
            tokio::select! {
                end = &mut play => return end,
                _ = arrived => {}
            }
        }
    }

    /// Run `fut`; if it takes longer than `filler_after_ms` on an answered call, play the
    /// configured filler (looped) until it finishes (custom-actions.md §5).
    pub(super) async fn with_filler<F: std::future::Future>(&self, fut: F) -> F::Output {
        let cfg = &self.shared.config.custom_actions;
        if cfg.filler.is_empty() {
            return fut.await;
        }
        tokio::pin!(fut);
        tokio::select! {
            out = &mut fut => return out,
            _ = tokio::time::sleep(Duration::from_millis(cfg.filler_after_ms)) => {}
        }
        if !self.answered.load(Ordering::SeqCst) {
            return fut.await;
        }
        let filler = match self.shared.sounds.prompt(&cfg.filler, self.codec()).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "filler unavailable");
                return fut.await;
            }
        };
        // Loops until the action ends (or the media session is gone: then wait quietly).
        let music =
            async { while self.media.play(vec![filler.clone()]).await == PlaybackEnd::Finished {} };
        tokio::pin!(music);
        tokio::select! {
            out = &mut fut => {
                self.media.stop_playback();
                return out;
            }
            _ = &mut music => {}
        }
        fut.await
    }

    /// Fire an API action for this call.
    pub(super) async fn fire_api_action(
        &self,
        def: &crate::api_actions::ApiActionDef,
        trigger: Trigger,
        user_message: &str,
    ) -> crate::api_actions::Fired {
        let record = self.state.record();
        let vars = self
            .vars_snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let ctx = crate::api_actions::Context {
            call_id: &record.id,
            flow_id: record.flow_id.as_deref().unwrap_or(""),
            caller: &record.from,
            user_message,
            trigger,
            vars: &vars,
        };
        let fired = crate::api_actions::fire(&self.shared.http, def, &ctx).await;
        if let Some(e) = &fired.error {
            warn!(action = %def.name, error = %e, "API action failed");
        }
        fired
    }

    /// Speak each text in turn (a digit interrupts).
    pub(super) async fn say(&self, texts: Vec<String>) {
        for text in texts {
            let u = crate::tts::Utterance {
                text,
                language: "en-US".into(),
                voice: None,
            };
            match self.shared.tts.synthesize(&u).await {
                Ok(pcm) => {
                    let key = crate::tts::Tts::cache_key(&u);
                    let prompt = self.shared.sounds.encoded(&key, self.codec(), &pcm);
                    let arrived = self.digits.arrived.notified();
                    tokio::pin!(arrived);
                    arrived.as_mut().enable();
                    let play = self.media.play(vec![prompt]);
                    tokio::pin!(play);
                    tokio::select! {
                        _ = &mut play => {}
                        _ = arrived => {
                            self.media.stop_playback();
                            play.await;
                            return;
                        }
                    }
                }
                Err(e) => warn!(error = %e, "cannot say the API action's answer"),
            }
        }
    }

    /// An `api_action` step: fire, say the answer, set `<name>.*`; failures say the
    /// definition's `error_message` and fail the step (its `failure_target_id` applies).
    pub(super) async fn api_action(&self, o: flow::options::ApiActionOption) -> Executed {
        let Some(def) = self.shared.api_actions.get(&o.name) else {
            return Completion::Failed(format!("no API action named {:?}", o.name)).into();
        };
        self.ensure_answered();
        let fired = self.fire_api_action(&def, Trigger::Flow, "").await;
        self.say(fired.say).await;
        Executed {
            completion: match fired.error {
                Some(e) => Completion::Failed(e),
                None => Completion::Done,
            },
            vars: fired.vars,
            hung_up: false,
        }
    }

    /// flows.md `digits_receive`: type-ahead first; `length` digits, or the `key` (kept), or
    /// `duration` before the first digit, then `inter_digit_timeout` between digits.
    pub(super) async fn digits_receive(&self, o: DigitsReceiveOption) -> Executed {
        self.ensure_answered();
        let length = o.length.max(1) as usize;
        let key = o.key.unwrap_or_default();
        let first = Duration::from_millis(o.duration.unwrap_or(DEFAULT_FIRST_DIGIT_MS));
        let between = Duration::from_millis(o.inter_digit_timeout);
        let mut got = String::new();
        let mut deadline = tokio::time::Instant::now() + first;
        let done = loop {
            let arrived = self.digits.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let mut finished = false;
            while let Some(d) = self.digits.pop() {
                got.push(d);
                deadline = tokio::time::Instant::now() + between;
                if key.contains(d) || got.chars().count() >= length {
                    finished = true;
                    break;
                }
            }
            if finished {
                break true;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                break false;
            }
        };
        let completion = if done || !got.is_empty() {
            Completion::Done
        } else {
            Completion::Timeout
        };
        let mut vars = vec![("call.digits".into(), got.clone())];
        if !got.is_empty() {
            for def in self.shared.api_actions.after_capture(self.flow_id) {
                let fired = self
                    .fire_api_action(&def, Trigger::AfterCapture, &got)
                    .await;
                self.say(fired.say).await;
                vars.extend(fired.vars);
            }
        }
        Executed {
            completion,
            vars,
            hung_up: false,
        }
    }

    /// RFC 4733 events when telephone-event was negotiated, else in-band tones.
    pub(super) async fn digits_send(&self, o: DigitsSendOption) -> Completion {
        self.ensure_answered();
        let duration = o.duration.clamp(100, 1000) as u32;
        let interval = o.interval.min(5000) as u32;
        if self.session().telephone_event.is_some() {
            self.media
                .send_digits(o.digits.clone(), duration, interval)
                .await;
            return Completion::Done;
        }
        let mut pcm = Vec::new();
        for d in o.digits.chars() {
            if let Some(tone) = media::dtmf::generate(d, duration, 0.5) {
                pcm.extend(tone);
                pcm.extend(std::iter::repeat_n(0i16, (interval * 8) as usize));
            }
        }
        let prompt = Arc::new(media::prompt::EncodedPrompt::encode(&pcm, self.codec()));
        self.media.play(vec![prompt]).await;
        Completion::Done
    }

    pub(super) async fn recording_start(&self, o: RecordingStartOption) -> Executed {
        if o.format != RecordingFormat::Wav {
            return Completion::Failed(format!(
                "recording format {:?} is not supported by this build; use wav",
                o.format
            ))
            .into();
        }
        self.ensure_answered();
        if o.beep_start {
            let beep = self
                .shared
                .sounds
                .encoded("beep", self.codec(), &media::tone::beep());
            self.media.play(vec![beep]).await;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let record = self.state.record();
        let meta = RecordingMeta {
            id: id.clone(),
            call_id: record.id.clone(),
            activeflow_id: record.activeflow_id.clone().unwrap_or_default(),
            flow_id: record.flow_id.clone().unwrap_or_default(),
            started_at: chrono::Utc::now(),
        };
        let dir = self.shared.config.recordings.dir.clone();
        let started = tokio::task::spawn_blocking(move || Recorder::start(&dir, meta)).await;
        let recorder = match started {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Completion::Failed(e.to_string()).into(),
            Err(e) => return Completion::Failed(e.to_string()).into(),
        };
        let limits = RecordingLimits {
            end_of_silence_ms: (o.end_of_silence > 0)
                .then(|| (o.end_of_silence.min(3600) * 1000) as u32),
            end_of_key: match o.end_of_key {
                EndOfKey::None => None,
                EndOfKey::Any => Some(""),
                EndOfKey::Star => Some("*"),
                EndOfKey::Hash => Some("#"),
            },
            max_frames: (o.duration > 0).then(|| o.duration * 50),
        };
        let filename = format!("{id}.wav");
        if let Some(store) = &self.shared.store {
            let _ = store
                .put_recording(&store::RecordingRecord {
                    id: id.clone(),
                    call_id: Some(record.id.clone()),
                    activeflow_id: record.activeflow_id.clone(),
                    filename: filename.clone(),
                    format: "wav".into(),
                    duration_ms: None,
                    size_bytes: None,
                    started_at: chrono::Utc::now(),
                    ended_at: None,
                })
                .await;
        }
        self.recording_active.store(true, Ordering::SeqCst);
        self.media.send(MediaCommand::StartRecording {
            recorder: Box::new(recorder),
            limits,
        });
        self.shared.events.publish(
            Event::new(
                "recording_started",
                Some(&record.id),
                record.activeflow_id.as_deref(),
                json!({"recording_id": id, "call_id": record.id, "filename": filename}),
            ),
            None,
        );
        Executed {
            completion: Completion::Done,
            vars: vec![
                ("recording.id".into(), id),
                ("recording.filenames".into(), filename),
            ],
            hung_up: false,
        }
    }

    /// Answering machine detection; blocking unless `async`.
    pub(super) async fn amd(&self, o: AmdOption) -> Executed {
        self.ensure_answered();
        *self.amd.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let cfg = AmdConfig::default();
        let limit = Duration::from_millis(u64::from(cfg.total_analysis_ms) + 1_000);
        self.amd_hangup
            .store(o.machine_handle == MachineHandle::Hangup, Ordering::SeqCst);
        self.media.send(MediaCommand::StartAmd(cfg));
        if o.run_async {
            return Completion::Done.into();
        }
        let ready = self.amd_ready.notified();
        tokio::pin!(ready);
        ready.as_mut().enable();
        let verdict = *self.amd.lock().unwrap_or_else(|e| e.into_inner());
        let verdict = match verdict {
            Some(v) => Some(v),
            None => match tokio::time::timeout(limit, ready).await {
                Ok(()) => *self.amd.lock().unwrap_or_else(|e| e.into_inner()),
                Err(_) => None,
            },
        };
        let Some(v) = verdict else {
            self.media.send(MediaCommand::StopAmd);
            return Executed {
                completion: Completion::Timeout,
                vars: vec![
                    ("amd.result".into(), "notsure".into()),
                    ("amd.cause".into(), "TOOLONG".into()),
                ],
                hung_up: false,
            };
        };
        let hang_up = v.result == AmdResult::Machine && o.machine_handle == MachineHandle::Hangup;
        if hang_up {
            self.hang_up_machine();
        }
        Executed {
            completion: Completion::Done,
            vars: Vec::new(),
            hung_up: hang_up,
        }
    }

    fn hang_up_machine(&self) {
        self.state.set_cause("amd");
        self.handle.hangup(
            480,
            Some(sip::Q850 {
                cause: 16,
                text: "Answering machine".into(),
            }),
        );
    }

    /// Park on a `custom` action: hold audio (looped) or silence until the event or timeout.
    pub(super) async fn custom(
        &self,
        o: flow::options::CustomOption,
        c: super::CustomContext,
    ) -> Completion {
        let hold = o.hold.clone();
        let shared = self.shared;
        let publish = |trace: serde_json::Value| {
            shared.events.publish(
                Event::new(
                    "activeflow_waiting",
                    Some(&c.call_id),
                    Some(&c.activeflow_id),
                    trace,
                ),
                None,
            )
        };
        let wait = Tracker::custom(
            &c.park,
            &c.stop_types,
            publish,
            o,
            &c.action_id,
            &c.activeflow_id,
            Some(&c.call_id),
        );
        let Some(hold) = hold.filter(|h| !h.stream_urls.is_empty()) else {
            return self.with_filler(wait).await;
        };
        self.ensure_answered();
        let mut prompts = Vec::new();
        for url in &hold.stream_urls {
            if let Ok(p) = self.shared.sounds.prompt(url, self.codec()).await {
                prompts.push(p);
            }
        }
        let music = async {
            if prompts.is_empty() {
                return std::future::pending::<()>().await;
            }
            loop {
                self.media.play(prompts.clone()).await;
            }
        };
        tokio::pin!(wait);
        tokio::select! {
            c = &mut wait => {
                self.media.stop_playback();
                c
            }
            _ = music => Completion::CustomDefault,
        }
    }

    pub(super) async fn echo(&self, duration_ms: Option<u64>, dtmf: bool) -> Completion {
        self.ensure_answered();
        self.media.send(MediaCommand::Echo { on: true, dtmf });
        match duration_ms {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => std::future::pending::<()>().await,
        }
        self.media.send(MediaCommand::Echo { on: false, dtmf });
        Completion::Done
    }

    /// What the media task reported, handled between the actor's other inputs.
    pub(super) fn on_media_event(&self, event: MediaEvent, cursor: &mut Cursor, tracker: &Tracker) {
        match event {
            MediaEvent::Digit(d) => {
                self.digits.push(d);
                cursor.variables_mut().set("call.dtmf.last", d.to_string());
                tracker.publish(
                    self.shared,
                    "dtmf_received",
                    json!({"digit": d.to_string(), "call_id": tracker.call_id, "activeflow_id": tracker.id}),
                );
            }
            MediaEvent::Amd(v) => {
                let vars = cursor.variables_mut();
                vars.set("amd.result", v.result.as_str());
                vars.set("amd.cause", v.cause.as_str());
                *self.amd.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
                self.amd_ready.notify_waiters();
                tracker.publish(
                    self.shared,
                    "amd_result",
                    json!({"call_id": tracker.call_id, "result": v.result.as_str(), "cause": v.cause.as_str(),
                           "decided_after_ms": v.decided_after_ms}),
                );
                // async amd with machine_handle hangup acts when the verdict arrives.
                if v.result == AmdResult::Machine && self.amd_hangup.load(Ordering::SeqCst) {
                    self.hang_up_machine();
                }
            }
            MediaEvent::RecordingEnded { recorder, reason } => {
                self.recording_active.store(false, Ordering::SeqCst);
                tokio::spawn(finish(self.shared.clone(), recorder, reason));
            }
        }
    }
}

/// Close a recording file, index it, and publish `recording_finished`.
async fn finish(shared: Arc<Shared>, recorder: Box<Recorder>, reason: RecordingEnd) {
    let path = recorder.wav_path().to_path_buf();
    let info = match tokio::task::spawn_blocking(move || recorder.finish(reason)).await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => return warn!(error = %e, "recording could not be finished"),
        Err(e) => return warn!(error = %e, "recording task failed"),
    };
    let size = tokio::fs::metadata(&path).await.map(|m| m.len()).ok();
    if let Some(store) = &shared.store {
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
    shared.events.publish(
        Event::new(
            "recording_finished",
            Some(&info.call_id),
            Some(&info.activeflow_id),
            serde_json::to_value(&info).unwrap_or_default(),
        ),
        None,
    );
}

/// At the end of a call: stop a recording still running and finish it before the call's
/// task ends (the media task hands the recorder back).
pub(super) async fn finish_recordings(
    shared: &Arc<Shared>,
    media: &MediaSession,
    events: &mut mpsc::UnboundedReceiver<MediaEvent>,
    active: bool,
) {
    if !active {
        return;
    }
    media.send(MediaCommand::StopRecording(RecordingEnd::Hangup));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if let MediaEvent::RecordingEnded { recorder, reason } = e {
            finish(shared.clone(), recorder, reason).await;
            return;
        }
    }
}
