//! One call's RTP stream: paced playback out, packets in, symmetric-RTP latching, and the
//! listeners that need the caller's audio (DTMF, recording, AMD, echo).
//!
//! A task per call owns the socket. Frames go out on absolute 20 ms deadlines
//! ([`media::pacing::Pacer`]); when nothing is queued, silence frames keep the stream
//! continuous. The first RTP packets received decide where we send (symmetric RTP): NATed
//! phones are reached at the address they send from, not the one in their SDP.
//! RFC 4733 events are read without decoding; audio is decoded only while something listens
//! (in-band DTMF when no telephone-event was negotiated, a recording, AMD, echo).

use crate::metrics::Metrics;
use crate::recording::{EndReason as RecordingEnd, Recorder};
use media::amd::{Amd, AmdConfig, AmdVerdict};
use media::dedup::{Dedup, DigitSource};
use media::dtmf::DtmfDetector;
use media::pacing::{phase_for, Pacer, DEFAULT_PTIME};
use media::prompt::EncodedPrompt;
use media::rfc4733::{EventReceiver, EventSender};
use media::rtp::{RtpSender, Ssrc};
use media::vad::SilenceTracker;
use media::AudioCodec;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// Samples in one 20 ms frame at 8 kHz.
const FRAME_SAMPLES: u32 = 160;
/// Caller frames kept for echo before the oldest is dropped.
const ECHO_QUEUE: usize = 10;

/// How a playback request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEnd {
    /// Every frame was sent.
    Finished,
    /// Stopped early (barge-in, a new command, hang-up).
    Stopped,
}

/// What stops a recording besides `recording_stop` and hang-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordingLimits {
    /// Caller silence that ends it (ms); `None` = never.
    pub end_of_silence_ms: Option<u32>,
    /// Digits that end it; `None` = none, `Some("")` = any.
    pub end_of_key: Option<&'static str>,
    /// Longest recording in frames.
    pub max_frames: Option<u64>,
}

/// Commands to the media task.
#[derive(Debug)]
pub enum MediaCommand {
    /// Queue prompts to play back to back; `done` fires when the last frame is sent.
    Play {
        prompts: Vec<Arc<EncodedPrompt>>,
        done: oneshot::Sender<PlaybackEnd>,
    },
    /// Stop current playback (its `done` gets `Stopped`).
    Stop,
    /// New negotiated parameters after a re-offer.
    Update {
        remote: Option<SocketAddr>,
        sending: bool,
        codec: AudioCodec,
        payload_type: u8,
        telephone_event: Option<u8>,
    },
    /// A digit from SIP INFO, de-duplicated with the other sources here.
    InfoDigit(char),
    /// Send digits as RFC 4733 events (requires a negotiated telephone-event).
    SendDigits {
        digits: String,
        duration_ms: u32,
        interval_ms: u32,
        done: oneshot::Sender<()>,
    },
    StartRecording {
        recorder: Box<Recorder>,
        limits: RecordingLimits,
    },
    StopRecording(RecordingEnd),
    StartAmd(AmdConfig),
    StopAmd,
    /// Loop the caller's audio back; `dtmf` also reflects telephone-events (stream_echo).
    Echo {
        on: bool,
        dtmf: bool,
    },
}

/// What the media task tells the call.
#[derive(Debug)]
pub enum MediaEvent {
    /// A key press, once, whatever carried it.
    Digit(char),
    Amd(AmdVerdict),
    /// A recording ended (limit, key, silence or stop); the call finishes the file.
    RecordingEnded {
        recorder: Box<Recorder>,
        reason: RecordingEnd,
    },
}

/// Handle to a call's media task. Dropping it stops the task and frees the ports.
#[derive(Debug)]
pub struct MediaSession {
    commands: mpsc::UnboundedSender<MediaCommand>,
    local_port: u16,
}

/// Parameters fixed at the start of a session.
#[derive(Debug)]
pub struct MediaParams {
    pub remote: Option<SocketAddr>,
    pub codec: AudioCodec,
    pub payload_type: u8,
    pub telephone_event: Option<u8>,
    pub sending: bool,
    /// Index used to spread this call's frame phase across the 20 ms window.
    pub phase_index: u64,
}

static PHASE_COUNTER: AtomicU64 = AtomicU64::new(0);

impl MediaSession {
    /// Start the media task on `ports` (already bound). Must run inside a tokio runtime.
    pub fn start(
        ports: crate::ports::RtpPorts,
        params: MediaParams,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(MediaSession, mpsc::UnboundedReceiver<MediaEvent>)> {
        ports.rtp.set_nonblocking(true)?;
        ports.rtcp.set_nonblocking(true)?;
        let local_port = ports.port;
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let rtp = UdpSocket::from_std(ports.rtp.try_clone()?)?;
        let task = Task::new(params, events_tx, metrics);
        tokio::spawn(task.run(ports, rtp, rx));
        Ok((
            MediaSession {
                commands: tx,
                local_port,
            },
            events_rx,
        ))
    }

    pub fn local_port(&self) -> u16 {
        self.local_port
    }

    /// Play prompts; resolves when they finish or are stopped. A closed session reports
    /// `Stopped` at once.
    pub async fn play(&self, prompts: Vec<Arc<EncodedPrompt>>) -> PlaybackEnd {
        let (done, rx) = oneshot::channel();
        if self
            .commands
            .send(MediaCommand::Play { prompts, done })
            .is_err()
        {
            return PlaybackEnd::Stopped;
        }
        rx.await.unwrap_or(PlaybackEnd::Stopped)
    }

    pub fn stop_playback(&self) {
        self.send(MediaCommand::Stop);
    }

    pub fn send(&self, command: MediaCommand) {
        let _ = self.commands.send(command);
    }

    /// Send RFC 4733 digits; resolves when the last end packet left.
    pub async fn send_digits(&self, digits: String, duration_ms: u32, interval_ms: u32) {
        let (done, rx) = oneshot::channel();
        self.send(MediaCommand::SendDigits {
            digits,
            duration_ms,
            interval_ms,
            done,
        });
        let _ = rx.await;
    }
}

/// A phase index for a new call: consecutive calls get well-spread phases.
pub fn next_phase_index() -> u64 {
    PHASE_COUNTER.fetch_add(1, Ordering::Relaxed)
}

struct Playout {
    queue: VecDeque<Arc<EncodedPrompt>>,
    frame: usize,
    done: Option<oneshot::Sender<PlaybackEnd>>,
}

impl Playout {
    fn idle() -> Playout {
        Playout {
            queue: VecDeque::new(),
            frame: 0,
            done: None,
        }
    }

    /// The next frame to send, advancing; `None` when idle (send silence).
    fn next_frame(&mut self) -> Option<&[u8]> {
        loop {
            let prompt = self.queue.front()?;
            if self.frame < prompt.len_frames() {
                self.frame += 1;
                let i = self.frame - 1;
                return self.queue.front().and_then(|p| p.frame(i));
            }
            self.queue.pop_front();
            self.frame = 0;
            if self.queue.is_empty() {
                if let Some(done) = self.done.take() {
                    let _ = done.send(PlaybackEnd::Finished);
                }
                return None;
            }
        }
    }

    fn stop(&mut self) {
        self.queue.clear();
        self.frame = 0;
        if let Some(done) = self.done.take() {
            let _ = done.send(PlaybackEnd::Stopped);
        }
    }
}

/// Digits being sent as telephone-events, one at a time with gaps.
struct DigitQueue {
    digits: VecDeque<char>,
    duration_ms: u32,
    interval_frames: u32,
    current: Option<EventSender>,
    gap: u32,
    done: Option<oneshot::Sender<()>>,
}

struct Recording {
    recorder: Box<Recorder>,
    first_frame: u64,
    limits: RecordingLimits,
    silence: SilenceTracker,
}

struct Task {
    remote: Option<SocketAddr>,
    latched: bool,
    sending: bool,
    codec: AudioCodec,
    telephone_event: Option<u8>,
    sender: RtpSender,
    pacer: Pacer,
    started: Instant,
    playout: Playout,
    silence: Vec<u8>,
    events: mpsc::UnboundedSender<MediaEvent>,
    metrics: Arc<Metrics>,
    // receive side
    rfc4733: EventReceiver,
    inband: DtmfDetector,
    dedup: Dedup,
    recording: Option<Recording>,
    amd: Option<Amd>,
    echo: Option<bool>,
    echo_queue: VecDeque<Vec<u8>>,
    heard_this_frame: bool,
    pcm: Vec<i16>,
    // send side
    digits: Option<DigitQueue>,
    reflected: VecDeque<EventSender>,
}

impl Task {
    fn new(
        params: MediaParams,
        events: mpsc::UnboundedSender<MediaEvent>,
        metrics: Arc<Metrics>,
    ) -> Task {
        let phase = phase_for(params.phase_index, DEFAULT_PTIME);
        let now = Instant::now();
        Task {
            remote: params.remote,
            latched: false,
            sending: params.sending,
            codec: params.codec,
            telephone_event: params.telephone_event,
            sender: RtpSender::new(
                Ssrc(rand::random()),
                rand::random(),
                rand::random(),
                params.payload_type,
            ),
            pacer: Pacer::new(now, phase, DEFAULT_PTIME),
            started: now,
            playout: Playout::idle(),
            silence: vec![params.codec.silence_byte(); FRAME_SAMPLES as usize],
            events,
            metrics,
            rfc4733: EventReceiver::new(),
            inband: DtmfDetector::new(),
            dedup: Dedup::default(),
            recording: None,
            amd: None,
            echo: None,
            echo_queue: VecDeque::new(),
            heard_this_frame: false,
            pcm: Vec::with_capacity(FRAME_SAMPLES as usize),
            digits: None,
            reflected: VecDeque::new(),
        }
    }

    async fn run(
        mut self,
        ports: crate::ports::RtpPorts,
        socket: UdpSocket,
        mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    ) {
        let mut packet = Vec::with_capacity(12 + FRAME_SAMPLES as usize);
        let mut buf = vec![0u8; 2048];
        loop {
            let deadline = self.pacer.next_deadline();
            tokio::select! {
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.tick(&socket, &mut packet);
                }
                received = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received {
                        self.on_packet(&buf[..n], from);
                    }
                }
                command = commands.recv() => match command {
                    None => break,
                    Some(c) => self.on_command(c),
                }
            }
        }
        self.playout.stop();
        if let Some(r) = self.recording.take() {
            // The call is gone: hand the recorder back to be finished as a hang-up.
            let _ = self.events.send(MediaEvent::RecordingEnded {
                recorder: r.recorder,
                reason: RecordingEnd::Hangup,
            });
        }
        drop(ports);
    }

    fn digit(&mut self, d: char, source: DigitSource) {
        if !self.dedup.accept(d, source, self.started.elapsed()) {
            return;
        }
        let _ = self.events.send(MediaEvent::Digit(d));
        let stop = self.recording.as_ref().is_some_and(|r| {
            r.limits
                .end_of_key
                .is_some_and(|k| k.is_empty() || k.contains(d))
        });
        if stop {
            self.end_recording(RecordingEnd::Key);
        }
    }

    fn end_recording(&mut self, reason: RecordingEnd) {
        if let Some(r) = self.recording.take() {
            let _ = self.events.send(MediaEvent::RecordingEnded {
                recorder: r.recorder,
                reason,
            });
        }
    }

    fn on_packet(&mut self, data: &[u8], from: SocketAddr) {
        let p = match media::rtp::parse(data) {
            Ok(p) => p,
            Err(_) => {
                self.metrics.rtp_malformed.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        self.metrics
            .rtp_packets_received
            .fetch_add(1, Ordering::Relaxed);
        if !self.latched {
            self.latched = true;
            self.remote = Some(from);
        }
        let h = p.header;
        if Some(h.payload_type) == self.telephone_event {
            if let Ok(Some(d)) =
                self.rfc4733
                    .receive(h.ssrc, h.sequence, h.timestamp, h.marker, p.payload)
            {
                if self.echo == Some(true) {
                    if let Some(ev) = EventSender::new(d, 100, self.sender.timestamp()) {
                        self.reflected.push_back(ev);
                    }
                }
                self.digit(d, DigitSource::Rfc4733);
            }
            return;
        }
        if h.payload_type != self.sender.payload_type() {
            return; // comfort noise, another codec: nothing listens to those
        }
        let inband = self.telephone_event.is_none();
        let listening =
            inband || self.recording.is_some() || self.amd.is_some() || self.echo.is_some();
        if !listening {
            return;
        }
        if self.echo.is_some() {
            if self.echo_queue.len() >= ECHO_QUEUE {
                self.echo_queue.pop_front();
            }
            self.echo_queue.push_back(p.payload.to_vec());
        }
        self.pcm.clear();
        self.codec.decode_into(p.payload, &mut self.pcm);
        self.heard_this_frame = true;
        let pcm = std::mem::take(&mut self.pcm);
        self.hear(&pcm);
        self.pcm = pcm;
        if inband {
            if let Some(d) = self.inband.process(&self.pcm) {
                self.digit(d, DigitSource::InBand);
            }
        }
    }

    /// Feed one frame of the caller's audio to the recording and AMD.
    fn hear(&mut self, pcm: &[i16]) {
        let frame = self.pacer.next_frame();
        let mut ended = None;
        if let Some(r) = self.recording.as_mut() {
            let idx = frame.saturating_sub(r.first_frame);
            if r.recorder.push_caller(idx, pcm).is_err() {
                ended = Some(RecordingEnd::Duration);
            }
            let silent = r.silence.process(pcm);
            if r.limits.end_of_silence_ms.is_some_and(|l| silent >= l) {
                ended = Some(RecordingEnd::Silence);
            }
        }
        if let Some(reason) = ended {
            self.end_recording(reason);
        }
        if let Some(amd) = self.amd.as_mut() {
            if let Some(v) = amd.process(pcm) {
                self.amd = None;
                let _ = self.events.send(MediaEvent::Amd(v));
            }
        }
    }

    fn tick(&mut self, socket: &UdpSocket, packet: &mut Vec<u8>) {
        let due = self.pacer.poll(Instant::now());
        if due.late > 0 {
            self.metrics
                .late_frames
                .fetch_add(u64::from(due.late), Ordering::Relaxed);
        }
        for _ in 0..due.skipped {
            self.sender.skip(FRAME_SAMPLES);
            let _ = self.playout.next_frame();
        }
        let first = self.pacer.next_frame().wrapping_sub(u64::from(due.send));
        for i in 0..u64::from(due.send) {
            self.send_frame(first.wrapping_add(i), socket, packet);
        }
        // Time passes for the listeners even when the caller sends nothing.
        if !self.heard_this_frame && (self.amd.is_some() || self.recording.is_some()) {
            let zeros = [0i16; FRAME_SAMPLES as usize];
            self.hear(&zeros);
        }
        self.heard_this_frame = false;
    }

    fn send_frame(&mut self, frame: u64, socket: &UdpSocket, packet: &mut Vec<u8>) {
        // Telephone-events replace audio while they last.
        if let Some(te) = self.telephone_event {
            if let Some(p) = self.next_event_packet() {
                self.sender
                    .write_packet(te, p.marker, p.timestamp, &p.payload, packet);
                self.sender.skip(FRAME_SAMPLES);
                self.transmit(socket, packet);
                self.record_ours(frame, None);
                return;
            }
        }
        let echoed = if self.echo.is_some() {
            self.echo_queue.pop_front()
        } else {
            None
        };
        // The frame is copied once into a stack buffer: the playout and silence borrow `self`.
        let mut buf = [0u8; FRAME_SAMPLES as usize];
        let bytes: &[u8] = match &echoed {
            Some(e) => e,
            None => {
                let src = self.playout.next_frame().unwrap_or(&self.silence);
                let n = src.len().min(buf.len());
                buf[..n].copy_from_slice(&src[..n]);
                &buf[..n]
            }
        };
        self.record_ours(frame, Some(bytes));
        if self.sending && self.remote.is_some() {
            self.sender.write_frame(bytes, FRAME_SAMPLES, packet);
            self.transmit(socket, packet);
        } else {
            self.sender.skip(FRAME_SAMPLES);
        }
    }

    fn transmit(&self, socket: &UdpSocket, packet: &[u8]) {
        let Some(to) = self.remote.filter(|_| self.sending) else {
            return;
        };
        if socket.try_send_to(packet, to).is_ok() {
            self.metrics
                .rtp_packets_sent
                .fetch_add(1, Ordering::Relaxed);
        } else {
            self.metrics.rtp_send_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn record_ours(&mut self, frame: u64, payload: Option<&[u8]>) {
        let Some(r) = self.recording.as_mut() else {
            return;
        };
        let idx = frame.saturating_sub(r.first_frame);
        let pcm = &mut self.pcm;
        pcm.clear();
        match payload {
            Some(p) => self.codec.decode_into(p, pcm),
            None => pcm.resize(FRAME_SAMPLES as usize, 0),
        }
        let failed = r.recorder.push_ours(idx, pcm).is_err();
        let limit = r.limits.max_frames.is_some_and(|m| idx + 1 >= m);
        if failed || limit {
            self.end_recording(RecordingEnd::Duration);
        }
    }

    /// The next telephone-event packet: reflected events first, then queued digits.
    fn next_event_packet(&mut self) -> Option<media::rfc4733::EventPacket> {
        while let Some(ev) = self.reflected.front_mut() {
            if let Some(p) = ev.next_packet() {
                return Some(p);
            }
            self.reflected.pop_front();
        }
        let q = self.digits.as_mut()?;
        loop {
            if let Some(ev) = q.current.as_mut() {
                if let Some(p) = ev.next_packet() {
                    return Some(p);
                }
                q.current = None;
                q.gap = q.interval_frames;
            }
            if q.gap > 0 {
                q.gap -= 1;
                return None;
            }
            match q.digits.pop_front() {
                Some(d) => {
                    q.current = EventSender::new(d, q.duration_ms, self.sender.timestamp());
                }
                None => {
                    if let Some(done) = self.digits.take().and_then(|q| q.done) {
                        let _ = done.send(());
                    }
                    return None;
                }
            }
        }
    }

    fn on_command(&mut self, command: MediaCommand) {
        match command {
            MediaCommand::Play { prompts, done } => {
                self.playout.stop();
                self.playout
                    .queue
                    .extend(prompts.into_iter().filter(|p| p.len_frames() > 0));
                if self.playout.queue.is_empty() {
                    let _ = done.send(PlaybackEnd::Finished);
                } else {
                    self.playout.done = Some(done);
                }
            }
            MediaCommand::Stop => self.playout.stop(),
            MediaCommand::Update {
                remote,
                sending,
                codec,
                payload_type,
                telephone_event,
            } => {
                if remote != self.remote && remote.is_some() {
                    // A new address from a re-offer: latch again on what arrives.
                    self.latched = false;
                }
                if remote.is_some() {
                    self.remote = remote;
                }
                self.sending = sending;
                if codec != self.codec {
                    self.codec = codec;
                    self.silence = vec![codec.silence_byte(); FRAME_SAMPLES as usize];
                }
                self.telephone_event = telephone_event;
                self.sender.set_payload_type(payload_type);
            }
            MediaCommand::InfoDigit(d) => self.digit(d, DigitSource::SipInfo),
            MediaCommand::SendDigits {
                digits,
                duration_ms,
                interval_ms,
                done,
            } => {
                self.digits = Some(DigitQueue {
                    digits: digits.chars().collect(),
                    duration_ms,
                    interval_frames: interval_ms / 20,
                    current: None,
                    gap: 0,
                    done: Some(done),
                });
            }
            MediaCommand::StartRecording { recorder, limits } => {
                self.end_recording(RecordingEnd::Stop);
                self.recording = Some(Recording {
                    recorder,
                    first_frame: self.pacer.next_frame(),
                    limits,
                    silence: SilenceTracker::default(),
                });
            }
            MediaCommand::StopRecording(reason) => self.end_recording(reason),
            MediaCommand::StartAmd(cfg) => self.amd = Some(Amd::new(cfg)),
            MediaCommand::StopAmd => self.amd = None,
            MediaCommand::Echo { on, dtmf } => {
                self.echo = on.then_some(dtmf);
                self.echo_queue.clear();
            }
        }
    }
}
