//! A call's media: one task owning every leg's RTP session (a socket around a
//! [`media::session::MediaCore`]) and the bridges between them.
//!
//! The task waits for the earliest frame deadline of its legs, a datagram on any leg's
//! socket, or a command; feeds it to that leg's core; sends what the cores made; relays
//! between bridged legs without leaving the task; and passes the cores' events on, tagged
//! with their leg. Everything about pacing, latching, DTMF, bridging and recording limits is
//! the core's; this file only moves bytes and counts them.

use crate::metrics::Metrics;
use crate::ports::RtpPorts;
use crate::recording::Recorder;
use call::LegId;
use media::pacing::{phase_for, DEFAULT_PTIME};
use media::rtp::Ssrc;
use media::session::{
    MediaCommand, MediaCore, MediaEvent, Received, RecordingEnd, RecordingLimits, SessionParams,
    StreamParams,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Spreads consecutive sessions' frame phases over the 20 ms window.
static PHASE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What the call's shell sends its media task.
#[derive(Debug)]
enum ToMedia {
    AddLeg(LegId, Box<RtpPorts>, UdpSocket, StreamParams),
    Command(LegId, MediaCommand),
    Record(LegId, Box<Recorder>, RecordingLimits),
    Bridge([LegId; 2], bool),
    RemoveLeg(LegId),
}

/// What the media task reports to the call's shell.
#[derive(Debug)]
pub(crate) enum FromMedia {
    /// An event of a leg's core.
    Event(LegId, MediaEvent),
    /// A recording ended: its file is to be finished.
    Recorded(Box<Recorder>, RecordingEnd),
}

/// Handle to a call's media task. Dropping every handle ends the task, which ends running
/// recordings (handed back as [`FromMedia::Recorded`]) and frees every leg's ports.
#[derive(Debug, Clone)]
pub(crate) struct CallMedia {
    commands: mpsc::UnboundedSender<ToMedia>,
}

impl CallMedia {
    /// Start a call's media task (with no leg yet). Must run inside a tokio runtime.
    pub(crate) fn start(metrics: Arc<Metrics>) -> (CallMedia, mpsc::UnboundedReceiver<FromMedia>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(rx, events_tx, metrics));
        (CallMedia { commands: tx }, events_rx)
    }

    /// Give `leg` an RTP session on `ports` with `stream`. Must run inside a tokio runtime.
    pub(crate) fn add_leg(
        &self,
        leg: LegId,
        ports: RtpPorts,
        stream: StreamParams,
    ) -> std::io::Result<()> {
        ports.rtp.set_nonblocking(true)?;
        ports.rtcp.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(ports.rtp.try_clone()?)?;
        let _ = self
            .commands
            .send(ToMedia::AddLeg(leg, Box::new(ports), socket, stream));
        Ok(())
    }

    pub(crate) fn send(&self, leg: LegId, command: MediaCommand) {
        let _ = self.commands.send(ToMedia::Command(leg, command));
    }

    /// Record `leg` into `recorder` from the next frame on.
    pub(crate) fn record(&self, leg: LegId, recorder: Box<Recorder>, limits: RecordingLimits) {
        let _ = self.commands.send(ToMedia::Record(leg, recorder, limits));
    }

    /// Relay media between two legs (`true`), or stop (`false`).
    pub(crate) fn bridge(&self, legs: [LegId; 2], on: bool) {
        let _ = self.commands.send(ToMedia::Bridge(legs, on));
    }

    /// End `leg`'s session and free its ports.
    pub(crate) fn remove_leg(&self, leg: LegId) {
        let _ = self.commands.send(ToMedia::RemoveLeg(leg));
    }
}

/// One leg's session in the task.
struct Session {
    leg: LegId,
    core: MediaCore<Box<Recorder>>,
    socket: UdpSocket,
    /// The leg its audio is relayed to.
    partner: Option<LegId>,
    _ports: Box<RtpPorts>,
}

async fn run(
    mut commands: mpsc::UnboundedReceiver<ToMedia>,
    events: mpsc::UnboundedSender<FromMedia>,
    metrics: Arc<Metrics>,
) {
    let mut sessions: Vec<Session> = Vec::new();
    let mut buf = vec![0u8; 2048];
    loop {
        let deadline = sessions.iter().map(|s| s.core.poll_timeout()).min();
        tokio::select! {
            _ = sleep_until(deadline) => {
                let now = Instant::now();
                for s in sessions.iter_mut().filter(|s| s.core.poll_timeout() <= now) {
                    let late = s.core.handle_timeout(now);
                    if late > 0 {
                        metrics.late_frames.fetch_add(u64::from(late), Ordering::Relaxed);
                    }
                    while let Some((to, packet)) = s.core.poll_transmit() {
                        let counter = match s.socket.try_send_to(packet, to) {
                            Ok(_) => &metrics.rtp_packets_sent,
                            Err(_) => &metrics.rtp_send_errors,
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            (i, received) = recv_any(&sessions, &mut buf) => {
                if let (Some(s), Ok((n, from))) = (sessions.get_mut(i), received) {
                    let data = buf.get(..n).unwrap_or_default();
                    let counter = match s.core.handle_packet(data, from, Instant::now()) {
                        Received::Rtp => &metrics.rtp_packets_received,
                        Received::Malformed => &metrics.rtp_malformed,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    relay(&mut sessions, i);
                }
            }
            command = commands.recv() => match command {
                None => break,
                Some(c) => on_command(&mut sessions, c),
            }
        }
        forward(&mut sessions, &events);
    }
    for s in &mut sessions {
        s.core.close();
    }
    forward(&mut sessions, &events);
}

fn on_command(sessions: &mut Vec<Session>, c: ToMedia) {
    let now = Instant::now();
    match c {
        ToMedia::AddLeg(leg, ports, socket, stream) => {
            sessions.push(open(leg, ports, socket, stream, now))
        }
        ToMedia::Command(leg, command) => {
            if let Some(s) = sessions.iter_mut().find(|s| s.leg == leg) {
                s.core.handle_command(command, now);
            }
        }
        ToMedia::Record(leg, recorder, limits) => {
            if let Some(s) = sessions.iter_mut().find(|s| s.leg == leg) {
                s.core.start_recording(recorder, limits);
            }
        }
        ToMedia::Bridge([a, b], on) => {
            for (me, other) in [(a, b), (b, a)] {
                if let Some(s) = sessions.iter_mut().find(|s| s.leg == me) {
                    s.core.set_bridged(on);
                    s.partner = on.then_some(other);
                }
            }
        }
        ToMedia::RemoveLeg(leg) => {
            if let Some(s) = sessions.iter_mut().find(|s| s.leg == leg) {
                s.core.close();
            }
            // Its events are forwarded before the session goes.
        }
    }
}

fn open(
    leg: LegId,
    ports: Box<RtpPorts>,
    socket: UdpSocket,
    stream: StreamParams,
    now: Instant,
) -> Session {
    let params = SessionParams {
        stream,
        phase: phase_for(PHASE_COUNTER.fetch_add(1, Ordering::Relaxed), DEFAULT_PTIME),
        ssrc: Ssrc(rand::random()),
        first_sequence: rand::random(),
        first_timestamp: rand::random(),
    };
    Session {
        leg,
        core: MediaCore::new(params, now),
        socket,
        partner: None,
        _ports: ports,
    }
}

/// Move what session `i` heard to its partner, within the task.
fn relay(sessions: &mut [Session], i: usize) {
    let Some(partner) = sessions.get(i).and_then(|s| s.partner) else {
        return;
    };
    let Some(j) = sessions.iter().position(|s| s.leg == partner) else {
        return;
    };
    while let Some(item) = sessions.get_mut(i).and_then(|s| s.core.poll_relay()) {
        if let Some(p) = sessions.get_mut(j) {
            p.core.handle_relayed(item);
        }
    }
}

/// Pass every session's events and finished recordings on; drop closed sessions.
fn forward(sessions: &mut Vec<Session>, events: &mpsc::UnboundedSender<FromMedia>) {
    for s in sessions.iter_mut() {
        while let Some((recorder, why)) = s.core.poll_finished_recording() {
            let _ = events.send(FromMedia::Recorded(recorder, why));
        }
        while let Some(e) = s.core.poll_event() {
            let _ = events.send(FromMedia::Event(s.leg, e));
        }
    }
    sessions.retain(|s| !s.core.is_closed());
}

/// The next datagram on any session's socket: its index and what `recv_from` gave.
async fn recv_any(
    sessions: &[Session],
    buf: &mut [u8],
) -> (usize, std::io::Result<(usize, std::net::SocketAddr)>) {
    std::future::poll_fn(|cx| {
        for (i, s) in sessions.iter().enumerate() {
            let mut rb = ReadBuf::new(buf);
            if let Poll::Ready(r) = s.socket.poll_recv_from(cx, &mut rb) {
                return Poll::Ready((i, r.map(|from| (rb.filled().len(), from))));
            }
        }
        Poll::Pending
    })
    .await
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
