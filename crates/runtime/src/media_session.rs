//! One leg's RTP session: the socket around a [`media::session::MediaCore`].
//!
//! A task per session owns the socket and the core. It waits for the next frame deadline, a
//! datagram or a command, feeds it to the core, sends what the core made, and passes the
//! core's events on. Everything about pacing, latching, DTMF and recording limits is the
//! core's; this file only moves bytes and counts them.

use crate::metrics::Metrics;
use crate::ports::RtpPorts;
use crate::recording::Recorder;
use media::pacing::{phase_for, DEFAULT_PTIME};
use media::rtp::Ssrc;
use media::session::{
    MediaCommand, MediaCore, MediaEvent, Received, RecordingEnd, RecordingLimits, SessionParams,
    StreamParams,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Spreads consecutive sessions' frame phases over the 20 ms window.
static PHASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What the session's owner sends it.
#[derive(Debug)]
enum ToMedia {
    Command(MediaCommand),
    Record(Box<Recorder>, RecordingLimits),
}

/// What the session reports to its owner.
#[derive(Debug)]
pub(crate) enum FromMedia {
    /// An event of the core.
    Event(MediaEvent),
    /// A recording ended: its file is to be finished.
    Recorded(Box<Recorder>, RecordingEnd),
}

/// Handle to a leg's media task. Dropping it ends the task, which ends a running recording
/// (handed back as [`FromMedia::Recorded`]) and frees the ports.
#[derive(Debug, Clone)]
pub(crate) struct MediaSession {
    commands: mpsc::UnboundedSender<ToMedia>,
}

impl MediaSession {
    /// Start the media task on `ports` with `stream`. Must run inside a tokio runtime.
    pub(crate) fn start(
        ports: RtpPorts,
        stream: StreamParams,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(MediaSession, mpsc::UnboundedReceiver<FromMedia>)> {
        ports.rtp.set_nonblocking(true)?;
        ports.rtcp.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(ports.rtp.try_clone()?)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let params = SessionParams {
            stream,
            phase: phase_for(PHASE_COUNTER.fetch_add(1, Ordering::Relaxed), DEFAULT_PTIME),
            ssrc: Ssrc(rand::random()),
            first_sequence: rand::random(),
            first_timestamp: rand::random(),
        };
        let core = MediaCore::new(params, Instant::now());
        tokio::spawn(run(core, ports, socket, rx, events_tx, metrics));
        Ok((MediaSession { commands: tx }, events_rx))
    }

    pub(crate) fn send(&self, command: MediaCommand) {
        let _ = self.commands.send(ToMedia::Command(command));
    }

    /// Record into `recorder` from the next frame on.
    pub(crate) fn record(&self, recorder: Box<Recorder>, limits: RecordingLimits) {
        let _ = self.commands.send(ToMedia::Record(recorder, limits));
    }
}

async fn run(
    mut core: MediaCore<Box<Recorder>>,
    ports: RtpPorts,
    socket: UdpSocket,
    mut commands: mpsc::UnboundedReceiver<ToMedia>,
    events: mpsc::UnboundedSender<FromMedia>,
    metrics: Arc<Metrics>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = core.poll_timeout();
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {
                let late = core.handle_timeout(Instant::now());
                if late > 0 {
                    metrics.late_frames.fetch_add(u64::from(late), Ordering::Relaxed);
                }
                while let Some((to, packet)) = core.poll_transmit() {
                    let counter = match socket.try_send_to(packet, to) {
                        Ok(_) => &metrics.rtp_packets_sent,
                        Err(_) => &metrics.rtp_send_errors,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            received = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = received {
                    let data = buf.get(..n).unwrap_or_default();
                    let counter = match core.handle_packet(data, from, Instant::now()) {
                        Received::Rtp => &metrics.rtp_packets_received,
                        Received::Malformed => &metrics.rtp_malformed,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            command = commands.recv() => match command {
                None => break,
                Some(ToMedia::Command(c)) => core.handle_command(c, Instant::now()),
                Some(ToMedia::Record(r, limits)) => core.start_recording(r, limits),
            }
        }
        forward(&mut core, &events);
    }
    core.close();
    forward(&mut core, &events);
    drop(ports);
}

/// Pass the core's events and finished recordings on.
fn forward(core: &mut MediaCore<Box<Recorder>>, events: &mpsc::UnboundedSender<FromMedia>) {
    while let Some((recorder, why)) = core.poll_finished_recording() {
        let _ = events.send(FromMedia::Recorded(recorder, why));
    }
    while let Some(e) = core.poll_event() {
        let _ = events.send(FromMedia::Event(e));
    }
}
