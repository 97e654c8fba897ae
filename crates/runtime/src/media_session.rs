//! One call's RTP stream: paced playback out, packets in, symmetric-RTP latching.
//!
//! A task per call owns the socket. Playback frames go out on absolute 20 ms deadlines
//! ([`media::pacing::Pacer`]); when nothing is queued, silence frames keep the stream
//! continuous. The first RTP packets received decide where we send (symmetric RTP, RFC 4961
//! spirit): NATed phones are reached at the address they send from, not the one in their SDP.
//! Incoming audio is not decoded unless something listens.

use crate::metrics::Metrics;
use media::pacing::{phase_for, Pacer, DEFAULT_PTIME};
use media::prompt::EncodedPrompt;
use media::rtp::{RtpSender, Ssrc};
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

/// How a playback request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaybackEnd {
    /// Every frame was sent.
    Finished,
    /// Stopped early (barge-in, a new command, hang-up).
    Stopped,
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
    ) -> std::io::Result<MediaSession> {
        ports.rtp.set_nonblocking(true)?;
        ports.rtcp.set_nonblocking(true)?;
        let local_port = ports.port;
        let (tx, rx) = mpsc::unbounded_channel();
        let rtp = UdpSocket::from_std(ports.rtp.try_clone()?)?;
        tokio::spawn(run(ports, rtp, params, rx, metrics));
        Ok(MediaSession {
            commands: tx,
            local_port,
        })
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
        let _ = self.commands.send(MediaCommand::Stop);
    }

    pub fn update(
        &self,
        remote: Option<SocketAddr>,
        sending: bool,
        codec: AudioCodec,
        payload_type: u8,
    ) {
        let _ = self.commands.send(MediaCommand::Update {
            remote,
            sending,
            codec,
            payload_type,
        });
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

async fn run(
    ports: crate::ports::RtpPorts,
    socket: UdpSocket,
    params: MediaParams,
    mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    metrics: Arc<Metrics>,
) {
    let mut remote = params.remote;
    let mut latched = false;
    let mut sending = params.sending;
    let mut codec = params.codec;
    let ssrc = Ssrc(rand::random());
    let mut sender = RtpSender::new(ssrc, rand::random(), rand::random(), params.payload_type);
    let phase = phase_for(params.phase_index, DEFAULT_PTIME);
    let mut pacer = Pacer::new(Instant::now(), phase, DEFAULT_PTIME);
    let mut playout = Playout::idle();
    let mut silence = vec![codec.silence_byte(); FRAME_SAMPLES as usize];
    let mut packet = Vec::with_capacity(12 + FRAME_SAMPLES as usize);
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = pacer.next_deadline();
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {
                let due = pacer.poll(Instant::now());
                for _ in 0..due.skipped {
                    sender.skip(FRAME_SAMPLES);
                    let _ = playout.next_frame();
                }
                if due.late > 0 {
                    metrics.late_frames.fetch_add(u64::from(due.late), Ordering::Relaxed);
                }
                for _ in 0..due.send {
                    let payload = playout.next_frame().unwrap_or(&silence);
                    match (sending, remote) {
                        (true, Some(to)) => {
                            sender.write_frame(payload, FRAME_SAMPLES, &mut packet);
                            if socket.try_send_to(&packet, to).is_ok() {
                                metrics.rtp_packets_sent.fetch_add(1, Ordering::Relaxed);
                            } else {
                                metrics.rtp_send_errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => sender.skip(FRAME_SAMPLES),
                    }
                }
            }
            received = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = received else { continue };
                match media::rtp::parse(&buf[..n]) {
                    Ok(_packet) => {
                        metrics.rtp_packets_received.fetch_add(1, Ordering::Relaxed);
                        if !latched {
                            latched = true;
                            remote = Some(from);
                        }
                    }
                    Err(_) => {
                        metrics.rtp_malformed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            command = commands.recv() => {
                match command {
                    None => break,
                    Some(MediaCommand::Play { prompts, done }) => {
                        playout.stop();
                        playout.queue.extend(prompts.into_iter().filter(|p| p.len_frames() > 0));
                        if playout.queue.is_empty() {
                            let _ = done.send(PlaybackEnd::Finished);
                        } else {
                            playout.done = Some(done);
                        }
                    }
                    Some(MediaCommand::Stop) => playout.stop(),
                    Some(MediaCommand::Update { remote: r, sending: s, codec: c, payload_type }) => {
                        if r != remote && r.is_some() {
                            // A new address from a re-offer: latch again on what arrives.
                            latched = false;
                        }
                        if r.is_some() {
                            remote = r;
                        }
                        sending = s;
                        if c != codec {
                            codec = c;
                            silence = vec![codec.silence_byte(); FRAME_SAMPLES as usize];
                        }
                        sender.set_payload_type(payload_type);
                    }
                }
            }
        }
    }
    playout.stop();
    drop(ports);
}
