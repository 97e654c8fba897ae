//! One leg's RTP session, sans-IO: [`MediaCore`].
//!
//! Packets in ([`MediaCore::handle_packet`]), paced frames out
//! ([`MediaCore::handle_timeout`] then [`MediaCore::poll_transmit`]), events out
//! ([`MediaCore::poll_event`]), the next deadline from [`MediaCore::poll_timeout`]. The shell
//! owns the socket, the clock and the recording file; it waits for a packet, a command or the
//! deadline, feeds it in, and drains the outputs.
//!
//! What the core does:
//!
//! - **Pacing.** Frame `n` leaves at `epoch + phase + n·20 ms` ([`crate::pacing::Pacer`]); when
//!   nothing is queued, silence frames keep the stream continuous. Late frames are counted, and
//!   frames too late to send are skipped (their time still passes).
//! - **Latching** (symmetric RTP): the first packet received decides where we send; a new
//!   remote address from a re-offer latches again.
//! - **DTMF in:** RFC 4733 events without decoding, in-band tones only when no telephone-event
//!   was negotiated, SIP INFO digits handed in by the shell; one [`MediaEvent::Digit`] per key
//!   press whatever carried it ([`crate::dedup`]).
//! - **DTMF out:** telephone-events replace audio while they last (digits sent, and the caller's
//!   own events reflected by `stream_echo`).
//! - **Listeners:** audio is decoded only while something listens: in-band DTMF, a recording
//!   (with its silence, key and duration limits), AMD, echo.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media::session::{MediaCore, MediaCommand, NoRecording, PlaybackId, SessionParams};
//! use media::{prompt::EncodedPrompt, tone, AudioCodec};
//! use std::sync::Arc;
//!
//! let start = Instant::now(); // the shell's clock; tests use any base
//! let remote = "127.0.0.1:4000".parse().ok();
//! let mut core: MediaCore<NoRecording> = MediaCore::new(SessionParams::pcmu(remote), start);
//! let beep = Arc::new(EncodedPrompt::encode(&tone::beep(), AudioCodec::Pcmu));
//! core.handle_command(MediaCommand::Play { id: PlaybackId(1), prompts: vec![beep] }, start);
//! core.handle_timeout(core.poll_timeout());
//! let (to, packet) = core.poll_transmit().expect("frame 0 is due");
//! assert_eq!(Some(to), remote);
//! assert_eq!(packet.len(), 12 + 160);
//! ```

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::amd::{Amd, AmdConfig, AmdVerdict};
use crate::dedup::{Dedup, DigitSource};
use crate::dtmf::DtmfDetector;
use crate::pacing::{Pacer, DEFAULT_PTIME};
use crate::prompt::EncodedPrompt;
use crate::rfc4733::{EventPacket, EventReceiver, EventSender};
use crate::rtp::{RtpSender, Ssrc};
use crate::vad::SilenceTracker;
use crate::AudioCodec;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: u32 = 160;
/// Caller frames kept for echo before the oldest is dropped.
const ECHO_QUEUE: usize = 10;
/// Duration of a telephone-event reflected by `stream_echo` (ms).
const REFLECTED_EVENT_MS: u32 = 100;

/// Names one playback request, so its end is told apart from an earlier one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaybackId(pub u64);

/// How a playback request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEnd {
    /// Every frame was sent.
    Finished,
    /// Stopped early (barge-in, a new playback, the session closing).
    Stopped,
}

/// Why a recording ended (the recording sidecar's `end_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingEnd {
    /// `recording_stop`, or a new `recording_start`.
    Stop,
    /// The call ended.
    Hangup,
    /// `end_of_silence` of caller silence.
    Silence,
    /// The `end_of_key` DTMF digit.
    Key,
    /// The `duration` limit, or the sink could take no more.
    Duration,
}

/// What stops a recording besides a stop command and the end of the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordingLimits {
    /// Caller silence that ends it (ms); `None` = never.
    pub end_of_silence_ms: Option<u32>,
    /// Digits that end it; `None` = none, `Some("")` = any.
    pub end_of_key: Option<&'static str>,
    /// Longest recording in frames.
    pub max_frames: Option<u64>,
}

/// Where a recording's frames go (a WAV file in the shell; a buffer in tests). Frame indexes
/// count 20 ms frames since the recording started, on the session's pacing clock.
pub trait RecordingSink {
    /// The caller's audio of frame `frame`; false when the sink takes no more (the recording
    /// then ends with [`RecordingEnd::Duration`]).
    fn push_caller(&mut self, frame: u64, pcm: &[i16]) -> bool;
    /// Our own audio of frame `frame` (silence included); false as for `push_caller`.
    fn push_ours(&mut self, frame: u64, pcm: &[i16]) -> bool;
}

impl<T: RecordingSink + ?Sized> RecordingSink for Box<T> {
    fn push_caller(&mut self, frame: u64, pcm: &[i16]) -> bool {
        (**self).push_caller(frame, pcm)
    }
    fn push_ours(&mut self, frame: u64, pcm: &[i16]) -> bool {
        (**self).push_ours(frame, pcm)
    }
}

/// The sink of sessions that never record.
#[derive(Debug)]
pub enum NoRecording {}

impl RecordingSink for NoRecording {
    fn push_caller(&mut self, _: u64, _: &[i16]) -> bool {
        match *self {}
    }
    fn push_ours(&mut self, _: u64, _: &[i16]) -> bool {
        match *self {}
    }
}

/// What was negotiated for the stream: where to send, with which codec and payload types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    /// Where to send; `None` until known (latching fills it in).
    pub remote: Option<SocketAddr>,
    /// Whether we send at all (answered, not on hold).
    pub sending: bool,
    /// The audio codec.
    pub codec: AudioCodec,
    /// The payload type the peer expects for `codec`.
    pub payload_type: u8,
    /// The telephone-event payload type, when negotiated.
    pub telephone_event: Option<u8>,
}

/// Everything a session starts with: the stream and the shell's randomness and phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionParams {
    /// The negotiated stream.
    pub stream: StreamParams,
    /// Offset of this session's frames within the 20 ms window ([`crate::pacing::phase_for`]).
    pub phase: Duration,
    /// Random SSRC.
    pub ssrc: Ssrc,
    /// Random initial sequence number.
    pub first_sequence: u16,
    /// Random initial timestamp.
    pub first_timestamp: u32,
}

impl SessionParams {
    /// PCMU payload type 0 with telephone-event 101, sending to `remote`, phase 0 and fixed
    /// "random" values: for examples and tests.
    pub fn pcmu(remote: Option<SocketAddr>) -> SessionParams {
        SessionParams {
            stream: StreamParams {
                remote,
                sending: true,
                codec: AudioCodec::Pcmu,
                payload_type: 0,
                telephone_event: Some(101),
            },
            phase: Duration::ZERO,
            ssrc: Ssrc(0x5EED),
            first_sequence: 1,
            first_timestamp: 0,
        }
    }
}

/// Echo of the caller's audio back to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Audio only (`echo`).
    Audio,
    /// Audio and telephone-events (`stream_echo`).
    AudioAndEvents,
}

/// Commands to the session.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Play prompts back to back, replacing (stopping) any current playback. Its end is
    /// reported as [`MediaEvent::PlaybackEnded`] with `id`.
    Play {
        /// Names this playback.
        id: PlaybackId,
        /// The prompts, in the session's codec.
        prompts: Vec<Arc<EncodedPrompt>>,
    },
    /// Stop the current playback (reported `Stopped`); nothing when idle.
    StopPlayback,
    /// New negotiated parameters (answer, re-offer, hold, resume).
    Update(StreamParams),
    /// A digit that arrived by SIP INFO, de-duplicated with the other sources here.
    InfoDigit(char),
    /// Send digits as RFC 4733 events (telephone-event must be negotiated, else the command
    /// ends at once). [`MediaEvent::DigitsSent`] with `id` follows the last end packet.
    SendDigits {
        /// Names this request.
        id: PlaybackId,
        /// Keys `0-9*#A-D`; others are skipped.
        digits: String,
        /// Each event's duration.
        duration_ms: u32,
        /// Gap between events.
        interval_ms: u32,
    },
    /// End the recording, if any.
    StopRecording(RecordingEnd),
    /// Start answering machine detection on the caller's audio.
    StartAmd(AmdConfig),
    /// Stop it without a verdict.
    StopAmd,
    /// Loop the caller's audio back (`Some`), or stop (`None`).
    Echo(Option<Echo>),
}

/// What the session reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaEvent {
    /// A key press, once, whatever carried it.
    Digit(char),
    /// The answering machine detector decided.
    Amd(AmdVerdict),
    /// A playback ended.
    PlaybackEnded {
        /// The playback.
        id: PlaybackId,
        /// How.
        end: PlaybackEnd,
    },
    /// The last digit of a [`MediaCommand::SendDigits`] has been sent.
    DigitsSent {
        /// The request.
        id: PlaybackId,
    },
    /// The recording ended; its sink is in [`MediaCore::poll_finished_recording`].
    RecordingEnded(RecordingEnd),
}

/// What a bridged session hands its partner: the caller's audio as received, or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relayed {
    /// One frame of audio in `codec`.
    Audio {
        /// The codec of `payload`.
        codec: AudioCodec,
        /// The RTP payload.
        payload: Vec<u8>,
    },
    /// A key press (sent on as a telephone-event, or as tones without one).
    Digit(char),
}

/// Relayed frames kept ahead before the oldest is dropped (5 × 20 ms).
const RELAY_QUEUE: usize = 5;

/// What became of a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// An RTP packet (used or not).
    Rtp,
    /// Not RTP: counted by the shell as malformed.
    Malformed,
}

/// One leg's RTP session. `R` is where recordings go.
#[derive(Debug)]
pub struct MediaCore<R> {
    stream: StreamParams,
    latched: bool,
    sender: RtpSender,
    pacer: Pacer,
    started: Instant,
    playout: Playout,
    silence: Vec<u8>,
    events: VecDeque<MediaEvent>,
    // receive side
    rfc4733: EventReceiver,
    inband: DtmfDetector,
    dedup: Dedup,
    recording: Option<Recording<R>>,
    finished_recordings: VecDeque<(R, RecordingEnd)>,
    amd: Option<Amd>,
    echo: Option<Echo>,
    echo_queue: VecDeque<Vec<u8>>,
    heard_this_frame: bool,
    pcm: Vec<i16>,
    // send side
    digits: Option<DigitQueue>,
    reflected: VecDeque<EventSender>,
    /// [`MediaCore::close`] was called.
    closed: bool,
    // bridge
    /// Bridged: what we hear goes to `relay_out`, what we send comes from `relay_in`.
    bridged: bool,
    relay_out: VecDeque<Relayed>,
    relay_in: VecDeque<Vec<u8>>,
    /// Frames due and not yet produced by `poll_transmit`: (first frame index, count).
    due: (u64, u32),
    packet: Vec<u8>,
}

#[derive(Debug)]
struct Recording<R> {
    sink: R,
    first_frame: u64,
    limits: RecordingLimits,
    silence: SilenceTracker,
}

#[derive(Debug, Default)]
struct Playout {
    id: Option<PlaybackId>,
    queue: VecDeque<Arc<EncodedPrompt>>,
    frame: usize,
}

impl Playout {
    /// The next frame to send, advancing; `None` when idle (send silence). A playback that
    /// runs out reports its end into `events`.
    fn next_frame(&mut self, events: &mut VecDeque<MediaEvent>) -> Option<&[u8]> {
        loop {
            let len = self.queue.front()?.len_frames();
            if self.frame < len {
                self.frame += 1;
                let i = self.frame - 1;
                return self.queue.front().and_then(|p| p.frame(i));
            }
            self.queue.pop_front();
            self.frame = 0;
            if self.queue.is_empty() {
                if let Some(id) = self.id.take() {
                    events.push_back(MediaEvent::PlaybackEnded {
                        id,
                        end: PlaybackEnd::Finished,
                    });
                }
                return None;
            }
        }
    }

    fn stop(&mut self, events: &mut VecDeque<MediaEvent>) {
        self.queue.clear();
        self.frame = 0;
        if let Some(id) = self.id.take() {
            events.push_back(MediaEvent::PlaybackEnded {
                id,
                end: PlaybackEnd::Stopped,
            });
        }
    }
}

/// Digits being sent as telephone-events, one at a time with gaps.
#[derive(Debug)]
struct DigitQueue {
    id: PlaybackId,
    digits: VecDeque<char>,
    duration_ms: u32,
    interval_frames: u32,
    current: Option<EventSender>,
    gap: u32,
}

impl<R: RecordingSink> MediaCore<R> {
    /// A session whose frame 0 is due at `now + params.phase`.
    pub fn new(params: SessionParams, now: Instant) -> MediaCore<R> {
        let stream = params.stream;
        MediaCore {
            stream,
            latched: false,
            sender: RtpSender::new(
                params.ssrc,
                params.first_sequence,
                params.first_timestamp,
                stream.payload_type,
            ),
            pacer: Pacer::new(now, params.phase, DEFAULT_PTIME),
            started: now,
            playout: Playout::default(),
            silence: vec![stream.codec.silence_byte(); FRAME_SAMPLES as usize],
            events: VecDeque::new(),
            rfc4733: EventReceiver::new(),
            inband: DtmfDetector::new(),
            dedup: Dedup::default(),
            recording: None,
            finished_recordings: VecDeque::new(),
            amd: None,
            echo: None,
            echo_queue: VecDeque::new(),
            heard_this_frame: false,
            pcm: Vec::with_capacity(FRAME_SAMPLES as usize),
            digits: None,
            reflected: VecDeque::new(),
            closed: false,
            bridged: false,
            relay_out: VecDeque::new(),
            relay_in: VecDeque::new(),
            due: (0, 0),
            packet: Vec::with_capacity(12 + FRAME_SAMPLES as usize),
        }
    }

    /// The stream as it stands (the remote address after latching).
    pub fn stream(&self) -> StreamParams {
        self.stream
    }

    /// When the next frame is due: call [`MediaCore::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Instant {
        self.pacer.next_deadline()
    }

    /// Carry out a command.
    pub fn handle_command(&mut self, command: MediaCommand, now: Instant) {
        match command {
            MediaCommand::Play { id, prompts } => {
                self.playout.stop(&mut self.events);
                self.playout
                    .queue
                    .extend(prompts.into_iter().filter(|p| p.len_frames() > 0));
                if self.playout.queue.is_empty() {
                    self.events.push_back(MediaEvent::PlaybackEnded {
                        id,
                        end: PlaybackEnd::Finished,
                    });
                } else {
                    self.playout.id = Some(id);
                }
            }
            MediaCommand::StopPlayback => self.playout.stop(&mut self.events),
            MediaCommand::Update(stream) => self.update(stream),
            MediaCommand::InfoDigit(d) => self.digit(d, DigitSource::SipInfo, now),
            MediaCommand::SendDigits {
                id,
                digits,
                duration_ms,
                interval_ms,
            } => {
                if let Some(old) = self.digits.take() {
                    self.events.push_back(MediaEvent::DigitsSent { id: old.id });
                }
                if self.stream.telephone_event.is_none() {
                    self.events.push_back(MediaEvent::DigitsSent { id });
                    return;
                }
                self.digits = Some(DigitQueue {
                    id,
                    digits: digits.chars().collect(),
                    duration_ms,
                    interval_frames: interval_ms / 20,
                    current: None,
                    gap: 0,
                });
            }
            MediaCommand::StopRecording(reason) => self.end_recording(reason),
            MediaCommand::StartAmd(cfg) => self.amd = Some(Amd::new(cfg)),
            MediaCommand::StopAmd => self.amd = None,
            MediaCommand::Echo(mode) => {
                self.echo = mode;
                self.echo_queue.clear();
            }
        }
    }

    /// Record both directions into `sink` from the next frame on; a recording already
    /// running ends with [`RecordingEnd::Stop`].
    pub fn start_recording(&mut self, sink: R, limits: RecordingLimits) {
        self.end_recording(RecordingEnd::Stop);
        self.recording = Some(Recording {
            sink,
            first_frame: self.pacer.next_frame(),
            limits,
            silence: SilenceTracker::default(),
        });
    }

    /// Bridge this session to another (`true`): from now on what it hears is relayed out
    /// ([`MediaCore::poll_relay`]) and what it sends comes from
    /// [`MediaCore::handle_relayed`] (silence while nothing comes), instead of playback.
    /// Playback stops. `false` ends the bridge.
    pub fn set_bridged(&mut self, bridged: bool) {
        if bridged {
            self.playout.stop(&mut self.events);
        }
        self.bridged = bridged;
        self.relay_out.clear();
        self.relay_in.clear();
    }

    /// The next item for the partner session.
    pub fn poll_relay(&mut self) -> Option<Relayed> {
        self.relay_out.pop_front()
    }

    /// An item from the partner session: audio is converted to this session's codec when it
    /// differs (PCMU ↔ PCMA) and sent on the next frames; a key is sent as a telephone-event
    /// (or as tones when none was negotiated).
    pub fn handle_relayed(&mut self, item: Relayed) {
        if !self.bridged {
            return;
        }
        match item {
            Relayed::Audio { codec, payload } => {
                let frame = if codec == self.stream.codec {
                    payload
                } else {
                    let mut pcm = std::mem::take(&mut self.pcm);
                    pcm.clear();
                    codec.decode_into(&payload, &mut pcm);
                    let mut out = Vec::with_capacity(pcm.len());
                    self.stream.codec.encode_into(&pcm, &mut out);
                    self.pcm = pcm;
                    out
                };
                if self.relay_in.len() >= RELAY_QUEUE {
                    self.relay_in.pop_front();
                }
                self.relay_in.push_back(frame);
            }
            Relayed::Digit(d) => {
                if self.stream.telephone_event.is_some() {
                    if let Some(ev) =
                        EventSender::new(d, REFLECTED_EVENT_MS, self.sender.timestamp())
                    {
                        self.reflected.push_back(ev);
                    }
                } else if let Some(tone) = crate::dtmf::generate(d, REFLECTED_EVENT_MS, 0.5) {
                    for chunk in tone.chunks(FRAME_SAMPLES as usize) {
                        let mut frame = Vec::with_capacity(chunk.len());
                        self.stream.codec.encode_into(chunk, &mut frame);
                        self.relay_in.push_back(frame);
                    }
                }
            }
        }
    }

    /// Whether a recording is running.
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// A recording that ended, with why: the shell finishes its file.
    pub fn poll_finished_recording(&mut self) -> Option<(R, RecordingEnd)> {
        self.finished_recordings.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// The session ends: playback stops and a recording ends with [`RecordingEnd::Hangup`].
    pub fn close(&mut self) {
        self.playout.stop(&mut self.events);
        self.end_recording(RecordingEnd::Hangup);
        self.closed = true;
    }

    /// Whether [`MediaCore::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// A datagram from `from` arrived on the RTP port.
    pub fn handle_packet(&mut self, data: &[u8], from: SocketAddr, now: Instant) -> Received {
        let Ok(p) = crate::rtp::parse(data) else {
            return Received::Malformed;
        };
        if !self.latched {
            self.latched = true;
            self.stream.remote = Some(from);
        }
        let h = p.header;
        if Some(h.payload_type) == self.stream.telephone_event {
            if let Ok(Some(d)) =
                self.rfc4733
                    .receive(h.ssrc, h.sequence, h.timestamp, h.marker, p.payload)
            {
                if self.echo == Some(Echo::AudioAndEvents) {
                    if let Some(ev) =
                        EventSender::new(d, REFLECTED_EVENT_MS, self.sender.timestamp())
                    {
                        self.reflected.push_back(ev);
                    }
                }
                if self.bridged {
                    self.relay_out.push_back(Relayed::Digit(d));
                }
                self.digit(d, DigitSource::Rfc4733, now);
            }
            return Received::Rtp;
        }
        if h.payload_type != self.sender.payload_type() {
            return Received::Rtp; // comfort noise, another codec: nothing listens to those
        }
        if self.bridged {
            self.relay_out.push_back(Relayed::Audio {
                codec: self.stream.codec,
                payload: p.payload.to_vec(),
            });
        }
        let inband = self.stream.telephone_event.is_none();
        let listening =
            inband || self.recording.is_some() || self.amd.is_some() || self.echo.is_some();
        if !listening {
            return Received::Rtp;
        }
        if self.echo.is_some() {
            if self.echo_queue.len() >= ECHO_QUEUE {
                self.echo_queue.pop_front();
            }
            self.echo_queue.push_back(p.payload.to_vec());
        }
        let mut pcm = std::mem::take(&mut self.pcm);
        pcm.clear();
        self.stream.codec.decode_into(p.payload, &mut pcm);
        self.heard_this_frame = true;
        self.hear(&pcm);
        if inband {
            if let Some(d) = self.inband.process(&pcm) {
                self.digit(d, DigitSource::InBand, now);
            }
        }
        self.pcm = pcm;
        Received::Rtp
    }

    /// Time passed: the frames due at `now` are made ready for [`MediaCore::poll_transmit`].
    /// Returns how many frames were late (skipped or sent past the late threshold).
    pub fn handle_timeout(&mut self, now: Instant) -> u32 {
        // Frames due earlier and never polled out still count as sent.
        while self.due.1 > 0 {
            if self.poll_transmit().is_none() {
                break;
            }
        }
        let due = self.pacer.poll(now);
        for _ in 0..due.skipped {
            self.sender.skip(FRAME_SAMPLES);
            let _ = self.playout.next_frame(&mut self.events);
        }
        let first = self.pacer.next_frame().wrapping_sub(u64::from(due.send));
        self.due = (first, due.send);
        due.late
    }

    /// The next datagram to send and where, until the frames due are out.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, &[u8])> {
        while self.due.1 > 0 {
            let frame = self.due.0;
            self.due = (frame.wrapping_add(1), self.due.1 - 1);
            let to = self.produce_frame(frame);
            if self.due.1 == 0 {
                self.after_frames();
            }
            if let Some(to) = to {
                return Some((to, &self.packet));
            }
        }
        None
    }

    /// Time passes for the listeners even when the caller sends nothing.
    fn after_frames(&mut self) {
        if !self.heard_this_frame && (self.amd.is_some() || self.recording.is_some()) {
            let zeros = [0i16; FRAME_SAMPLES as usize];
            self.hear(&zeros);
        }
        self.heard_this_frame = false;
    }

    fn update(&mut self, s: StreamParams) {
        if s.remote != self.stream.remote && s.remote.is_some() {
            // A new address from a re-offer: latch again on what arrives.
            self.latched = false;
        }
        if s.remote.is_some() {
            self.stream.remote = s.remote;
        }
        self.stream.sending = s.sending;
        if s.codec != self.stream.codec {
            self.stream.codec = s.codec;
            self.silence = vec![s.codec.silence_byte(); FRAME_SAMPLES as usize];
        }
        self.stream.telephone_event = s.telephone_event;
        self.stream.payload_type = s.payload_type;
        self.sender.set_payload_type(s.payload_type);
    }

    fn digit(&mut self, d: char, source: DigitSource, now: Instant) {
        if !self
            .dedup
            .accept(d, source, now.saturating_duration_since(self.started))
        {
            return;
        }
        self.events.push_back(MediaEvent::Digit(d));
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
            self.finished_recordings.push_back((r.sink, reason));
            self.events.push_back(MediaEvent::RecordingEnded(reason));
        }
    }

    /// Feed one frame of the caller's audio to the recording and AMD.
    fn hear(&mut self, pcm: &[i16]) {
        let frame = self.pacer.next_frame();
        let mut ended = None;
        if let Some(r) = self.recording.as_mut() {
            let idx = frame.saturating_sub(r.first_frame);
            if !r.sink.push_caller(idx, pcm) {
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
                self.events.push_back(MediaEvent::Amd(v));
            }
        }
    }

    /// Write frame `frame` into `self.packet`; where to send it, if anywhere.
    fn produce_frame(&mut self, frame: u64) -> Option<SocketAddr> {
        // Telephone-events replace audio while they last.
        if let Some(te) = self.stream.telephone_event {
            if let Some(p) = self.next_event_packet() {
                self.sender
                    .write_packet(te, p.marker, p.timestamp, &p.payload, &mut self.packet);
                self.sender.skip(FRAME_SAMPLES);
                self.record_ours(frame, None);
                return self.destination();
            }
        }
        let echoed = if self.echo.is_some() {
            self.echo_queue.pop_front()
        } else if self.bridged {
            // The partner's audio; silence while none is queued.
            Some(
                self.relay_in
                    .pop_front()
                    .unwrap_or_else(|| self.silence.clone()),
            )
        } else {
            None
        };
        // The frame is copied once into a stack buffer: the playout and silence borrow `self`.
        let mut buf = [0u8; FRAME_SAMPLES as usize];
        let bytes: &[u8] = match &echoed {
            Some(e) => e,
            None => {
                let src = self
                    .playout
                    .next_frame(&mut self.events)
                    .unwrap_or(&self.silence);
                let n = src.len().min(buf.len());
                buf.get_mut(..n)?.copy_from_slice(src.get(..n)?);
                buf.get(..n)?
            }
        };
        self.record_ours(frame, Some(bytes));
        match self.destination() {
            Some(to) => {
                self.sender
                    .write_frame(bytes, FRAME_SAMPLES, &mut self.packet);
                Some(to)
            }
            None => {
                self.sender.skip(FRAME_SAMPLES);
                None
            }
        }
    }

    fn destination(&self) -> Option<SocketAddr> {
        self.stream.remote.filter(|_| self.stream.sending)
    }

    fn record_ours(&mut self, frame: u64, payload: Option<&[u8]>) {
        let Some(r) = self.recording.as_mut() else {
            return;
        };
        let idx = frame.saturating_sub(r.first_frame);
        let pcm = &mut self.pcm;
        pcm.clear();
        match payload {
            Some(p) => self.stream.codec.decode_into(p, pcm),
            None => pcm.resize(FRAME_SAMPLES as usize, 0),
        }
        let failed = !r.sink.push_ours(idx, pcm);
        let limit = r.limits.max_frames.is_some_and(|m| idx + 1 >= m);
        if failed || limit {
            self.end_recording(RecordingEnd::Duration);
        }
    }

    /// The next telephone-event packet: reflected events first, then queued digits.
    fn next_event_packet(&mut self) -> Option<EventPacket> {
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
                    let id = q.id;
                    self.digits = None;
                    self.events.push_back(MediaEvent::DigitsSent { id });
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
