//! MediaCore with fake time: latching, DTMF in and out, echo, recording limits, pacing.

use super::*;
use crate::rfc4733::EventSender;
use crate::rtp::{self, RtpSender};

const PEER: &str = "127.0.0.1:4000";
const NAT: &str = "192.0.2.9:5000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A recording sink that keeps every frame.
#[derive(Debug, Default)]
struct Tape {
    caller: Vec<(u64, i16)>,
    ours: Vec<u64>,
    capacity: Option<usize>,
}

impl RecordingSink for Tape {
    fn push_caller(&mut self, frame: u64, pcm: &[i16]) -> bool {
        self.caller.push((frame, pcm[0]));
        true
    }
    fn push_ours(&mut self, frame: u64, _: &[i16]) -> bool {
        self.ours.push(frame);
        self.capacity.is_none_or(|c| self.ours.len() < c)
    }
}

struct Peer {
    sender: RtpSender,
    buf: Vec<u8>,
}

impl Peer {
    fn new() -> Peer {
        Peer {
            sender: RtpSender::new(rtp::Ssrc(77), 100, 1000, 0),
            buf: Vec::new(),
        }
    }

    /// One µ-law frame of constant `level`.
    fn audio(&mut self, level: i16) -> &[u8] {
        let pcm = [level; 160];
        let mut payload = Vec::new();
        AudioCodec::Pcmu.encode_into(&pcm, &mut payload);
        self.sender.write_frame(&payload, 160, &mut self.buf);
        &self.buf
    }

    /// Every packet of one telephone-event for `digit`.
    fn event(&mut self, digit: char) -> Vec<Vec<u8>> {
        let mut ev = EventSender::new(digit, 100, self.sender.timestamp()).unwrap();
        let mut out = Vec::new();
        while let Some(p) = ev.next_packet() {
            let mut b = Vec::new();
            self.sender
                .write_packet(101, p.marker, p.timestamp, &p.payload, &mut b);
            self.sender.skip(160);
            out.push(b);
        }
        out
    }
}

struct Rig {
    core: MediaCore<Tape>,
    now: Instant,
    sent: Vec<(SocketAddr, Vec<u8>)>,
}

impl Rig {
    fn new(remote: Option<SocketAddr>) -> Rig {
        let now = Instant::now();
        Rig {
            core: MediaCore::new(SessionParams::pcmu(remote), now),
            now,
            sent: Vec::new(),
        }
    }

    /// Advance to the next deadline and send what is due; returns the late count.
    fn tick(&mut self) -> u32 {
        self.now = self.core.poll_timeout();
        let late = self.core.handle_timeout(self.now);
        while let Some((to, p)) = self.core.poll_transmit() {
            self.sent.push((to, p.to_vec()));
        }
        late
    }

    fn ticks(&mut self, n: usize) {
        for _ in 0..n {
            self.tick();
        }
    }

    fn events(&mut self) -> Vec<MediaEvent> {
        std::iter::from_fn(|| self.core.poll_event()).collect()
    }

    fn receive(&mut self, data: &[u8], from: SocketAddr) -> Received {
        self.core.handle_packet(data, from, self.now)
    }
}

fn prompt(frames: usize) -> Arc<EncodedPrompt> {
    Arc::new(EncodedPrompt::encode(
        &vec![1000i16; frames * 160],
        AudioCodec::Pcmu,
    ))
}

#[test]
fn idle_stream_sends_silence_every_frame_on_absolute_deadlines() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let start = rig.core.poll_timeout();
    rig.ticks(5);
    assert_eq!(rig.sent.len(), 5);
    assert!(rig.sent.iter().all(|(to, p)| *to == addr(PEER)
        && rtp::parse(p).unwrap().payload == [AudioCodec::Pcmu.silence_byte(); 160]));
    assert_eq!(rig.core.poll_timeout(), start + Duration::from_millis(100));
}

#[test]
fn playback_plays_every_frame_then_reports_finished() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let play = MediaCommand::Play {
        id: PlaybackId(7),
        prompts: vec![prompt(2), prompt(1)],
    };
    rig.core.handle_command(play, rig.now);
    rig.ticks(3);
    assert!(rig.events().is_empty(), "still playing after 3 frames");
    rig.tick();
    assert_eq!(
        rig.events(),
        [MediaEvent::PlaybackEnded {
            id: PlaybackId(7),
            end: PlaybackEnd::Finished
        }]
    );
}

#[test]
fn a_new_playback_stops_the_current_one() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let play = |id| MediaCommand::Play {
        id: PlaybackId(id),
        prompts: vec![prompt(10)],
    };
    rig.core.handle_command(play(1), rig.now);
    rig.tick();
    rig.core.handle_command(play(2), rig.now);
    rig.core.handle_command(MediaCommand::StopPlayback, rig.now);
    let stopped = |id| MediaEvent::PlaybackEnded {
        id: PlaybackId(id),
        end: PlaybackEnd::Stopped,
    };
    assert_eq!(rig.events(), [stopped(1), stopped(2)]);
}

#[test]
fn the_first_packet_latches_the_destination_and_a_reoffer_relatches() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let mut peer = Peer::new();
    let p = peer.audio(0).to_vec();
    assert_eq!(rig.receive(&p, addr(NAT)), Received::Rtp);
    rig.tick();
    assert_eq!(
        rig.sent.last().unwrap().0,
        addr(NAT),
        "latched to the source"
    );
    // A second source does not move the stream once latched.
    rig.receive(&p, addr(PEER));
    rig.tick();
    assert_eq!(rig.sent.last().unwrap().0, addr(NAT));
    // A re-offer with a new address: send there until a packet latches again.
    let mut s = rig.core.stream();
    s.remote = Some(addr("198.51.100.1:6000"));
    rig.core.handle_command(MediaCommand::Update(s), rig.now);
    rig.tick();
    assert_eq!(rig.sent.last().unwrap().0, addr("198.51.100.1:6000"));
    rig.receive(&p, addr(PEER));
    rig.tick();
    assert_eq!(rig.sent.last().unwrap().0, addr(PEER));
}

#[test]
fn hold_stops_sending_but_time_goes_on() {
    let mut rig = Rig::new(Some(addr(PEER)));
    rig.tick();
    let seq = |p: &[u8]| rtp::parse(p).unwrap().header.sequence;
    let before = seq(&rig.sent[0].1);
    let mut s = rig.core.stream();
    s.sending = false;
    rig.core.handle_command(MediaCommand::Update(s), rig.now);
    rig.ticks(3);
    assert_eq!(rig.sent.len(), 1, "nothing sent on hold");
    s.sending = true;
    rig.core.handle_command(MediaCommand::Update(s), rig.now);
    rig.tick();
    let p = rtp::parse(&rig.sent[1].1).unwrap();
    assert_eq!(p.header.sequence, before.next(), "no sequence gap");
    let ts0 = rtp::parse(&rig.sent[0].1).unwrap().header.timestamp;
    assert_eq!(
        p.header.timestamp,
        ts0.wrapping_add(4 * 160),
        "timestamps kept time"
    );
}

#[test]
fn garbage_is_malformed_and_changes_nothing() {
    let mut rig = Rig::new(None);
    assert_eq!(rig.receive(b"\x00\x01", addr(NAT)), Received::Malformed);
    rig.tick();
    assert!(rig.sent.is_empty(), "not latched by garbage");
}

#[test]
fn a_telephone_event_is_one_digit_and_an_info_duplicate_is_dropped() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let mut peer = Peer::new();
    for p in peer.event('5') {
        rig.receive(&p, addr(PEER));
    }
    rig.core
        .handle_command(MediaCommand::InfoDigit('5'), rig.now);
    assert_eq!(rig.events(), [MediaEvent::Digit('5')]);
    rig.now += Duration::from_secs(2);
    rig.core
        .handle_command(MediaCommand::InfoDigit('5'), rig.now);
    assert_eq!(
        rig.events(),
        [MediaEvent::Digit('5')],
        "a later press counts"
    );
}

#[test]
fn digits_are_sent_as_events_with_gaps_then_reported() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let send = MediaCommand::SendDigits {
        id: PlaybackId(3),
        digits: "12".into(),
        duration_ms: 100,
        interval_ms: 40,
    };
    rig.core.handle_command(send, rig.now);
    rig.ticks(20);
    let types: Vec<u8> = rig
        .sent
        .iter()
        .map(|(_, p)| rtp::parse(p).unwrap().header.payload_type)
        .collect();
    // 7 packets per 100 ms event, 2 frames of audio between them.
    assert_eq!(&types[..7], &[101; 7]);
    assert_eq!(&types[7..9], &[0, 0]);
    assert_eq!(&types[9..16], &[101; 7]);
    assert!(rig
        .events()
        .contains(&MediaEvent::DigitsSent { id: PlaybackId(3) }));
}

#[test]
fn sending_digits_without_telephone_event_ends_at_once() {
    let mut params = SessionParams::pcmu(Some(addr(PEER)));
    params.stream.telephone_event = None;
    let now = Instant::now();
    let mut core: MediaCore<Tape> = MediaCore::new(params, now);
    let send = MediaCommand::SendDigits {
        id: PlaybackId(1),
        digits: "1".into(),
        duration_ms: 100,
        interval_ms: 0,
    };
    core.handle_command(send, now);
    assert_eq!(
        core.poll_event(),
        Some(MediaEvent::DigitsSent { id: PlaybackId(1) })
    );
}

#[test]
fn echo_returns_the_callers_frames_and_stream_echo_reflects_events() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let mut peer = Peer::new();
    rig.core
        .handle_command(MediaCommand::Echo(Some(Echo::AudioAndEvents)), rig.now);
    let p = peer.audio(3000).to_vec();
    rig.receive(&p, addr(PEER));
    rig.tick();
    let heard = rtp::parse(&p).unwrap().payload.to_vec();
    assert_eq!(rtp::parse(&rig.sent[0].1).unwrap().payload, &heard[..]);
    for e in peer.event('#') {
        rig.receive(&e, addr(PEER));
    }
    rig.tick();
    assert_eq!(rtp::parse(&rig.sent[1].1).unwrap().header.payload_type, 101);
    rig.core.handle_command(MediaCommand::Echo(None), rig.now);
    rig.receive(&p, addr(PEER));
    rig.ticks(8);
    assert!(
        rig.sent[2..]
            .iter()
            .all(|(_, s)| rtp::parse(s).unwrap().payload != &heard[..]),
        "echo off: the caller's audio is not returned"
    );
}

#[test]
fn recording_takes_both_sides_and_ends_on_its_key() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let mut peer = Peer::new();
    let limits = RecordingLimits {
        end_of_key: Some("#"),
        ..Default::default()
    };
    rig.core.start_recording(Tape::default(), limits);
    for _ in 0..3 {
        let p = peer.audio(2000).to_vec();
        rig.receive(&p, addr(PEER));
        rig.tick();
    }
    for e in peer.event('#') {
        rig.receive(&e, addr(PEER));
    }
    assert_eq!(
        rig.events(),
        [
            MediaEvent::Digit('#'),
            MediaEvent::RecordingEnded(RecordingEnd::Key)
        ]
    );
    let (tape, reason) = rig.core.poll_finished_recording().unwrap();
    assert_eq!(reason, RecordingEnd::Key);
    assert_eq!(tape.ours, [0, 1, 2]);
    assert_eq!(tape.caller.len(), 3);
    assert!(tape.caller.iter().all(|(_, s)| *s > 1000));
}

#[test]
fn recording_ends_after_its_silence_limit_even_when_the_caller_sends_nothing() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let limits = RecordingLimits {
        end_of_silence_ms: Some(200),
        ..Default::default()
    };
    rig.core.start_recording(Tape::default(), limits);
    rig.ticks(9);
    assert!(rig.core.is_recording());
    rig.ticks(1);
    assert_eq!(
        rig.events(),
        [MediaEvent::RecordingEnded(RecordingEnd::Silence)]
    );
}

#[test]
fn recording_ends_at_its_duration_and_when_the_sink_is_full() {
    let mut rig = Rig::new(Some(addr(PEER)));
    let limits = RecordingLimits {
        max_frames: Some(4),
        ..Default::default()
    };
    rig.core.start_recording(Tape::default(), limits);
    rig.ticks(4);
    let (tape, reason) = rig.core.poll_finished_recording().unwrap();
    assert_eq!((tape.ours.len(), reason), (4, RecordingEnd::Duration));

    let full = Tape {
        capacity: Some(2),
        ..Default::default()
    };
    rig.core.start_recording(full, RecordingLimits::default());
    rig.ticks(3);
    let (tape, reason) = rig.core.poll_finished_recording().unwrap();
    assert_eq!((tape.ours.len(), reason), (2, RecordingEnd::Duration));
}

#[test]
fn closing_ends_playback_and_recording_as_hangup() {
    let mut rig = Rig::new(Some(addr(PEER)));
    rig.core
        .start_recording(Tape::default(), RecordingLimits::default());
    let play = MediaCommand::Play {
        id: PlaybackId(1),
        prompts: vec![prompt(50)],
    };
    rig.core.handle_command(play, rig.now);
    rig.core.close();
    assert_eq!(
        rig.events(),
        [
            MediaEvent::PlaybackEnded {
                id: PlaybackId(1),
                end: PlaybackEnd::Stopped
            },
            MediaEvent::RecordingEnded(RecordingEnd::Hangup)
        ]
    );
}

#[test]
fn frames_too_late_are_skipped_and_counted() {
    let mut rig = Rig::new(Some(addr(PEER)));
    rig.tick();
    rig.now += Duration::from_millis(200);
    let late = rig.core.handle_timeout(rig.now);
    let mut sent = 0;
    while rig.core.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, 3, "at most the burst is sent");
    assert!(late >= 7, "skipped frames are late: {late}");
}

#[test]
fn in_band_tones_are_detected_only_without_telephone_event() {
    let mut params = SessionParams::pcmu(Some(addr(PEER)));
    params.stream.telephone_event = None;
    let mut now = Instant::now();
    let mut core: MediaCore<Tape> = MediaCore::new(params, now);
    let tone = crate::dtmf::generate('7', 100, 0.5).unwrap();
    let mut peer = Peer::new();
    for chunk in tone
        .chunks(160)
        .chain(std::iter::repeat_n(&[0i16; 160][..], 4))
    {
        let mut frame = chunk.to_vec();
        frame.resize(160, 0);
        let mut payload = Vec::new();
        AudioCodec::Pcmu.encode_into(&frame, &mut payload);
        peer.sender.write_frame(&payload, 160, &mut peer.buf);
        core.handle_packet(&peer.buf, addr(PEER), now);
        now += Duration::from_millis(20);
    }
    assert_eq!(core.poll_event(), Some(MediaEvent::Digit('7')));
}

#[test]
fn a_bridged_session_relays_what_it_hears_and_sends_what_it_is_given() {
    let mut a = Rig::new(Some(addr(PEER)));
    let mut params = SessionParams::pcmu(Some(addr(NAT)));
    params.stream.codec = AudioCodec::Pcma;
    params.stream.payload_type = 8;
    params.stream.telephone_event = None;
    let now = a.now;
    let mut b: MediaCore<Tape> = MediaCore::new(params, now);
    a.core.set_bridged(true);
    b.set_bridged(true);
    let mut peer = Peer::new();
    let frame = peer.audio(4000).to_vec();
    a.receive(&frame, addr(PEER));
    for e in peer.event('4') {
        a.receive(&e, addr(PEER));
    }
    let heard = std::iter::from_fn(|| a.core.poll_relay()).collect::<Vec<_>>();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert!(
        matches!(&heard[0], Relayed::Audio { codec: AudioCodec::Pcmu, payload } if payload.len() == 160)
    );
    assert_eq!(heard[1], Relayed::Digit('4'));
    for item in heard {
        b.handle_relayed(item);
    }
    // PCMU in, PCMA out; the key becomes tones (no telephone-event on this side).
    b.handle_timeout(b.poll_timeout());
    let (to, packet) = b.poll_transmit().unwrap();
    assert_eq!(to, addr(NAT));
    let p = rtp::parse(packet).unwrap();
    assert_eq!(p.header.payload_type, 8);
    let mut pcm = Vec::new();
    AudioCodec::Pcma.decode_into(p.payload, &mut pcm);
    assert!(
        pcm.iter().all(|s| (3800..4200).contains(s)),
        "transcoded level kept"
    );
    // Unbridged: back to silence and playback.
    b.set_bridged(false);
    b.handle_relayed(Relayed::Digit('1'));
    assert!(b.poll_relay().is_none());
}

#[test]
fn relayed_audio_beyond_the_queue_drops_the_oldest() {
    let mut a = Rig::new(Some(addr(PEER)));
    a.core.set_bridged(true);
    for i in 0..8u8 {
        a.core.handle_relayed(Relayed::Audio {
            codec: AudioCodec::Pcmu,
            payload: vec![i; 160],
        });
    }
    a.tick();
    let first = rtp::parse(&a.sent[0].1).unwrap().payload[0];
    assert_eq!(first, 3, "frames 0-2 were dropped");
}
