//! DTMF as RTP telephone-events (RFC 4733): payload parsing, a receiver that
//! reports each key press once, and a sender.
//!
//! - [`parse_event`] reads the 4-byte event payload (§2.3).
//! - [`EventReceiver`] turns the packets of one stream into key presses. A
//!   press is reported on the first packet of its event that arrives (§2.5.2):
//!   an event is identified by its SSRC and RTP timestamp (§2.5.1.2), so the
//!   updates and the repeated end packets (§2.5.1.4) of one event, a long
//!   press, a lost first packet, a sequence-number wrap or reordering change
//!   nothing, while a new timestamp or a new SSRC is a new press.
//! - [`EventSender`] produces the packets of one key press for `digits_send`,
//!   one per 20 ms: marker on the first, the event's start timestamp on all,
//!   increasing durations, and the end packet sent three times (§2.5.1.4).
//!
//! Time is an argument: the receiver needs none, and the sender is stepped
//! once per 20 ms by the caller. [`dedup`](crate::dedup) merges these digits
//! with in-band and SIP INFO ones.
//!
//! ```
//! use media::rfc4733::{EventReceiver, EventSender};
//! use media::rtp::{RtpTimestamp, SeqNo, Ssrc};
//!
//! let mut sender = EventSender::new('5', 100, RtpTimestamp(8000)).unwrap();
//! let mut receiver = EventReceiver::new();
//! let mut seq = SeqNo(1);
//! let mut digits = Vec::new();
//! while let Some(packet) = sender.next_packet() {
//!     let press = receiver.receive(Ssrc(7), seq, packet.timestamp, packet.marker, &packet.payload);
//!     digits.extend(press.ok().flatten());
//!     seq = seq.next();
//! }
//! assert_eq!(digits, ['5']);
//! ```

use crate::rtp::{RtpTimestamp, SeqNo, Ssrc};

/// Length of one event payload (§2.3).
pub const PAYLOAD_LEN: usize = 4;
/// RTP clock rate of `telephone-event/8000`.
pub const CLOCK_RATE: u32 = 8000;
/// Timestamp units per 20 ms packet at [`CLOCK_RATE`].
pub const PACKET_TICKS: u32 = 160;
/// How many times the sender sends the end packet (§2.5.1.4).
pub const END_REPEATS: u8 = 3;
/// Volume the sender reports: 10, i.e. -10 dBm0 (§2.3.4).
pub const DEFAULT_VOLUME: u8 = 10;
/// Shortest event the sender produces, in ms: one packet.
pub const MIN_DURATION_MS: u32 = 20;
/// Longest event the sender produces, in ms: the 16-bit duration field at 8 kHz.
pub const MAX_DURATION_MS: u32 = 8000;
/// Packets this far behind the newest (by sequence number) are late or
/// duplicated and ignored; further behind means the sender restarted
/// (RFC 3550 appendix A.1, `MAX_MISORDER`).
pub const MAX_MISORDER: u16 = 100;

/// One telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code: 0-9 digits, 10 `*`, 11 `#`, 12-15 `A`-`D`, 16 flash, ... (§3.2).
    pub event: u8,
    /// E bit: the event has ended; `duration` is final.
    pub end: bool,
    /// Power level as -dBm0, 0..=63 (6 bits).
    pub volume: u8,
    /// Duration so far in timestamp units, from the event's RTP timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// The 4-byte payload. The reserved bit is zero; `volume` is masked to 6 bits.
    pub fn to_bytes(&self) -> [u8; PAYLOAD_LEN] {
        let end = if self.end { 0x80 } else { 0x00 };
        let [hi, lo] = self.duration.to_be_bytes();
        [self.event, end | (self.volume & 0x3F), hi, lo]
    }

    /// The DTMF character of this event, if it is one.
    pub fn digit(&self) -> Option<char> {
        event_to_char(self.event)
    }
}

/// Why a payload is not a telephone-event.
///
/// The caller should drop the packet and count it; one bad packet does not
/// end the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Fewer than the 4 bytes of one event.
    #[error("telephone-event payload of {len} bytes is shorter than 4")]
    TooShort {
        /// Length of the payload received.
        len: usize,
    },
}

/// Parses a telephone-event payload (§2.3). Only the first event is read:
/// bytes past the first 4 are ignored, and so is the reserved bit (§2.3.3).
pub fn parse_event(payload: &[u8]) -> Result<TelephoneEvent, EventError> {
    let &[event, flags, hi, lo] = payload
        .first_chunk::<PAYLOAD_LEN>()
        .ok_or(EventError::TooShort { len: payload.len() })?;
    Ok(TelephoneEvent {
        event,
        end: flags & 0x80 != 0,
        volume: flags & 0x3F,
        duration: u16::from_be_bytes([hi, lo]),
    })
}

/// The DTMF character of an event code: 0-9, `*` (10), `#` (11), `A`-`D`
/// (12-15); `None` for other events.
pub fn event_to_char(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => char::from_u32(u32::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The event code of a DTMF character (`a`-`d` accepted); `None` otherwise.
pub fn char_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => d.to_digit(10).and_then(|v| u8::try_from(v).ok()),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => u8::try_from(u32::from(d) - u32::from('A') + 12).ok(),
        _ => None,
    }
}

/// Receive-side state of one telephone-event stream: reports each key press
/// once.
///
/// Rules, for each packet:
/// 1. a payload that does not parse is an error and changes nothing;
/// 2. a packet at most [`MAX_MISORDER`] sequence numbers behind the newest
///    one seen from this SSRC (or a duplicate) is ignored: it is late, and
///    its event was already handled;
/// 3. a packet of the current event (same SSRC, same timestamp, same code)
///    is an update or an end repeat: ignored;
/// 4. a packet continuing a long event in a new segment (§2.5.1.3: same code,
///    no marker, previous segment not ended, timestamp where the previous
///    segment stopped) is the same press: ignored;
/// 5. anything else starts a new event: reported if it is a DTMF digit
///    (other events, such as flash, are tracked but not reported).
#[derive(Debug, Clone, Default)]
pub struct EventReceiver {
    /// Newest sequence number seen, with its SSRC.
    newest: Option<(Ssrc, SeqNo)>,
    current: Option<CurrentEvent>,
}

#[derive(Debug, Clone, Copy)]
struct CurrentEvent {
    ssrc: Ssrc,
    timestamp: RtpTimestamp,
    event: u8,
    /// Longest duration seen for this segment.
    duration: u16,
    ended: bool,
}

impl EventReceiver {
    /// A receiver that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet: its RTP header fields and payload.
    /// Returns the digit when this packet starts a new key press.
    pub fn receive(
        &mut self,
        ssrc: Ssrc,
        sequence: SeqNo,
        timestamp: RtpTimestamp,
        marker: bool,
        payload: &[u8],
    ) -> Result<Option<char>, EventError> {
        let event = parse_event(payload)?;

        if let Some((newest_ssrc, newest_seq)) = self.newest {
            if newest_ssrc == ssrc {
                let ahead = sequence.distance_from(newest_seq);
                if ahead <= 0 && ahead >= -i16::try_from(MAX_MISORDER).unwrap_or(i16::MAX) {
                    return Ok(None);
                }
            }
        }
        self.newest = Some((ssrc, sequence));

        if let Some(current) = self.current.as_mut() {
            if current.ssrc == ssrc {
                if current.timestamp == timestamp && current.event == event.event {
                    current.duration = current.duration.max(event.duration);
                    current.ended |= event.end;
                    return Ok(None);
                }
                let continues = !marker
                    && !current.ended
                    && current.event == event.event
                    && continues_segment(current, timestamp);
                if continues {
                    *current = CurrentEvent {
                        ssrc,
                        timestamp,
                        event: event.event,
                        duration: event.duration,
                        ended: event.end,
                    };
                    return Ok(None);
                }
            }
        }

        self.current = Some(CurrentEvent {
            ssrc,
            timestamp,
            event: event.event,
            duration: event.duration,
            ended: event.end,
        });
        Ok(event.digit())
    }

    /// Forgets all state (e.g. after a re-INVITE changed the stream).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// True when `timestamp` is where the segment `current` stopped (§2.5.1.3:
/// the next segment starts at the previous timestamp plus the previous
/// duration), within one packet of slack for a lost last update.
fn continues_segment(current: &CurrentEvent, timestamp: RtpTimestamp) -> bool {
    let offset = i64::from(timestamp.distance_from(current.timestamp));
    let expected = i64::from(current.duration);
    offset > 0 && (offset - expected).abs() <= i64::from(PACKET_TICKS)
}

/// One packet of an outgoing event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The telephone-event payload.
    pub payload: [u8; PAYLOAD_LEN],
    /// RTP marker bit: set on the first packet of the event only.
    pub marker: bool,
    /// RTP timestamp: the event's start, the same on every packet.
    pub timestamp: RtpTimestamp,
    /// True on the end packet and its repeats.
    pub end: bool,
}

/// The packets of one key press, one per 20 ms (§2.5.1).
///
/// Packet `i` (from 0) reports a duration of `(i + 1) × 160` ticks until the
/// full duration is reached; that packet has the E bit and is sent
/// [`END_REPEATS`] times in all. So a 100 ms event is 4 updates (160, 320,
/// 480, 640) and 3 end packets (800): 7 packets over 140 ms.
#[derive(Debug, Clone)]
pub struct EventSender {
    event: u8,
    volume: u8,
    start: RtpTimestamp,
    duration: u16,
    sent: u32,
    ends_sent: u8,
}

impl EventSender {
    /// A sender for `digit` lasting `duration_ms` (clamped to
    /// [`MIN_DURATION_MS`]..=[`MAX_DURATION_MS`]) starting at RTP timestamp
    /// `start` (the timestamp the next audio packet would carry).
    /// `None` when `digit` is not a DTMF character.
    pub fn new(digit: char, duration_ms: u32, start: RtpTimestamp) -> Option<Self> {
        let event = char_to_event(digit)?;
        let ms = duration_ms.clamp(MIN_DURATION_MS, MAX_DURATION_MS);
        let duration = u16::try_from(ms * (CLOCK_RATE / 1000)).unwrap_or(u16::MAX);
        Some(EventSender {
            event,
            volume: DEFAULT_VOLUME,
            start,
            duration,
            sent: 0,
            ends_sent: 0,
        })
    }

    /// Sets the reported volume (-dBm0, masked to 0..=63).
    #[must_use]
    pub fn with_volume(mut self, volume: u8) -> Self {
        self.volume = volume & 0x3F;
        self
    }

    /// The packet to send for the next 20 ms, or `None` when the event is
    /// complete (all end packets sent).
    pub fn next_packet(&mut self) -> Option<EventPacket> {
        if self.ends_sent >= END_REPEATS {
            return None;
        }
        let so_far = u64::from(self.sent + 1) * u64::from(PACKET_TICKS);
        let end = so_far >= u64::from(self.duration);
        let duration = if end {
            self.duration
        } else {
            // Below `self.duration`, itself a u16.
            u16::try_from(so_far).unwrap_or(self.duration)
        };
        let packet = EventPacket {
            payload: TelephoneEvent {
                event: self.event,
                end,
                volume: self.volume,
                duration,
            }
            .to_bytes(),
            marker: self.sent == 0,
            timestamp: self.start,
            end,
        };
        self.sent += 1;
        if end {
            self.ends_sent += 1;
        }
        Some(packet)
    }

    /// True once every packet, end repeats included, has been produced.
    pub fn is_done(&self) -> bool {
        self.ends_sent >= END_REPEATS
    }

    /// The event's duration in timestamp units.
    pub fn duration_ticks(&self) -> u16 {
        self.duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSRC: Ssrc = Ssrc(0xCAFE);

    /// A packet as a sender would put it on the wire.
    #[derive(Clone, Copy)]
    struct Wire {
        ssrc: Ssrc,
        seq: u16,
        ts: u32,
        marker: bool,
        payload: [u8; 4],
    }

    fn event(code: u8, end: bool, duration: u16) -> [u8; 4] {
        TelephoneEvent {
            event: code,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    /// A typical press: marker packet, `updates` more updates every 160
    /// ticks, then 3 end packets.
    fn press(code: u8, first_seq: u16, ts: u32, updates: u16) -> Vec<Wire> {
        let mut out = Vec::new();
        let mut seq = first_seq;
        for i in 0..=updates {
            out.push(Wire {
                ssrc: SSRC,
                seq,
                ts,
                marker: i == 0,
                payload: event(code, false, (i + 1) * 160),
            });
            seq = seq.wrapping_add(1);
        }
        for _ in 0..3 {
            out.push(Wire {
                ssrc: SSRC,
                seq,
                ts,
                marker: false,
                payload: event(code, true, (updates + 2) * 160),
            });
            seq = seq.wrapping_add(1);
        }
        out
    }

    fn feed(receiver: &mut EventReceiver, packets: &[Wire]) -> String {
        packets
            .iter()
            .filter_map(|p| {
                receiver
                    .receive(
                        p.ssrc,
                        SeqNo(p.seq),
                        RtpTimestamp(p.ts),
                        p.marker,
                        &p.payload,
                    )
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn payload_parses_per_rfc_4733_section_2_3() {
        // Digit 5, end bit, reserved bit set (ignored), volume 10, duration 800.
        let parsed = parse_event(&[0x05, 0x80 | 0x40 | 0x0A, 0x03, 0x20]).unwrap();
        assert_eq!(
            parsed,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(parsed.digit(), Some('5'));
        // Round trip; the reserved bit is written as zero.
        assert_eq!(parsed.to_bytes(), [0x05, 0x8A, 0x03, 0x20]);
        // Extra bytes are ignored.
        assert_eq!(
            parse_event(&[11, 0x0A, 0, 160, 0xFF]).unwrap().digit(),
            Some('#')
        );
    }

    #[test]
    fn short_payloads_are_errors() {
        for len in 0..4 {
            assert_eq!(
                parse_event(&[0u8; 3][..len]),
                Err(EventError::TooShort { len })
            );
        }
        let mut receiver = EventReceiver::new();
        assert!(receiver
            .receive(SSRC, SeqNo(1), RtpTimestamp(0), true, &[1, 2])
            .is_err());
    }

    #[test]
    fn event_codes_map_to_dtmf_characters_and_back() {
        let all = "0123456789*#ABCD";
        for (code, c) in all.chars().enumerate() {
            assert_eq!(event_to_char(code as u8), Some(c));
            assert_eq!(char_to_event(c), Some(code as u8));
        }
        assert_eq!(char_to_event('b'), Some(13));
        assert_eq!(event_to_char(16), None, "flash is not a digit");
        assert_eq!(event_to_char(255), None);
        assert_eq!(char_to_event('E'), None);
    }

    #[test]
    fn a_realistic_press_is_one_digit_on_its_first_packet() {
        let mut receiver = EventReceiver::new();
        let packets = press(1, 500, 16_000, 5);
        assert_eq!(packets.len(), 9);
        let first = packets[0];
        assert_eq!(
            receiver
                .receive(
                    SSRC,
                    SeqNo(first.seq),
                    RtpTimestamp(first.ts),
                    true,
                    &first.payload
                )
                .unwrap(),
            Some('1')
        );
        assert_eq!(feed(&mut receiver, &packets[1..]), "");
    }

    #[test]
    fn two_different_presses_are_two_digits() {
        let mut receiver = EventReceiver::new();
        let mut packets = press(1, 10, 16_000, 5);
        packets.extend(press(2, 19, 20_000, 5));
        assert_eq!(feed(&mut receiver, &packets), "12");
    }

    #[test]
    fn the_same_key_pressed_twice_is_two_digits() {
        let mut receiver = EventReceiver::new();
        let mut packets = press(9, 10, 16_000, 3);
        packets.extend(press(9, 17, 17_600, 3));
        assert_eq!(feed(&mut receiver, &packets), "99");
    }

    #[test]
    fn a_sequence_wrap_mid_event_changes_nothing() {
        let mut receiver = EventReceiver::new();
        let mut packets = press(11, u16::MAX - 3, u32::MAX - 100, 6);
        packets.extend(press(11, 6, 2_000, 2));
        assert_eq!(feed(&mut receiver, &packets), "##");
    }

    #[test]
    fn an_ssrc_change_starts_a_new_stream() {
        let mut receiver = EventReceiver::new();
        let mut packets = press(4, 100, 8_000, 3);
        // Another source, lower sequence numbers, even the same timestamp.
        let mut other = press(4, 7, 8_000, 3);
        for p in &mut other {
            p.ssrc = Ssrc(0xBEEF);
        }
        packets.extend(other);
        assert_eq!(feed(&mut receiver, &packets), "44");
    }

    #[test]
    fn a_lost_first_packet_still_gives_one_digit() {
        let mut receiver = EventReceiver::new();
        let packets = press(3, 40, 9_999, 5);
        assert_eq!(feed(&mut receiver, &packets[2..]), "3");
        // Only the end packets of the next press arrive.
        let next = press(3, 49, 12_000, 2);
        assert_eq!(feed(&mut receiver, &next[3..]), "3");
    }

    #[test]
    fn late_and_duplicated_packets_are_ignored() {
        let mut receiver = EventReceiver::new();
        let first = press(6, 200, 1_000, 2);
        let second = press(7, 206, 3_000, 2);
        let mut order: Vec<Wire> = Vec::new();
        order.extend(&first[..4]);
        order.push(second[0]);
        // A late end repeat of the first press, after the second began.
        order.push(first[5]);
        order.extend(&second[1..]);
        order.push(second[1]); // duplicate
        assert_eq!(feed(&mut receiver, &order), "67");
    }

    #[test]
    fn a_long_press_is_one_digit_even_across_segments() {
        let mut receiver = EventReceiver::new();
        // 10 s press: first segment reaches 0xFFFF (§2.5.1.3), not ended...
        let mut packets = Vec::new();
        let mut seq = 0u16;
        let mut duration = 160u32;
        while duration <= 0xFFFF {
            packets.push(Wire {
                ssrc: SSRC,
                seq,
                ts: 50_000,
                marker: seq == 0,
                payload: event(0, false, duration as u16),
            });
            seq += 1;
            duration += 160;
        }
        // ...then a segment starting 0xFFFF later, no marker, ending the press.
        let segment_ts = 50_000 + 0xFFFF;
        for (i, end) in [(1u16, false), (2, false), (3, true), (3, true), (3, true)] {
            packets.push(Wire {
                ssrc: SSRC,
                seq,
                ts: segment_ts,
                marker: false,
                payload: event(0, end, i * 160),
            });
            seq += 1;
        }
        assert!(packets.len() > 400);
        assert_eq!(feed(&mut receiver, &packets), "0");
    }

    #[test]
    fn non_digit_events_are_not_reported() {
        let mut receiver = EventReceiver::new();
        assert_eq!(feed(&mut receiver, &press(16, 1, 0, 2)), "");
        assert_eq!(feed(&mut receiver, &press(1, 7, 800, 2)), "1");
    }

    #[test]
    fn sender_output_follows_rfc_4733() {
        let mut sender = EventSender::new('#', 100, RtpTimestamp(123_456)).unwrap();
        let packets: Vec<EventPacket> = std::iter::from_fn(|| sender.next_packet()).collect();
        assert!(sender.is_done());
        assert_eq!(packets.len(), 4 + 3);
        let parsed: Vec<TelephoneEvent> = packets
            .iter()
            .map(|p| parse_event(&p.payload).unwrap())
            .collect();
        let durations: Vec<u16> = parsed.iter().map(|e| e.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = parsed.iter().map(|e| e.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(packets.iter().all(|p| p.timestamp == RtpTimestamp(123_456)));
        let markers: Vec<bool> = packets.iter().map(|p| p.marker).collect();
        assert_eq!(markers, [true, false, false, false, false, false, false]);
        assert!(parsed
            .iter()
            .all(|e| e.event == 11 && e.volume == DEFAULT_VOLUME));
        assert!(packets.iter().zip(&parsed).all(|(p, e)| p.end == e.end));
        assert_eq!(sender.next_packet(), None);
    }

    #[test]
    fn sender_clamps_duration_and_rejects_non_digits() {
        assert!(EventSender::new('x', 100, RtpTimestamp(0)).is_none());
        let mut short = EventSender::new('1', 0, RtpTimestamp(0)).unwrap();
        assert_eq!(short.duration_ticks(), 160);
        let first = short.next_packet().unwrap();
        assert!(
            first.marker && first.end,
            "a one-packet event starts and ends at once"
        );
        let long = EventSender::new('1', u32::MAX, RtpTimestamp(0)).unwrap();
        assert_eq!(long.duration_ticks(), 64_000);
        let quiet = EventSender::new('1', 100, RtpTimestamp(0))
            .unwrap()
            .with_volume(0xFF);
        let mut quiet = quiet;
        assert_eq!(
            parse_event(&quiet.next_packet().unwrap().payload)
                .unwrap()
                .volume,
            63
        );
    }

    #[test]
    fn receiver_decodes_the_senders_digits_across_a_timestamp_wrap() {
        let mut receiver = EventReceiver::new();
        let mut seq = SeqNo(65_530);
        let mut ts = RtpTimestamp(u32::MAX - 500);
        let mut got = String::new();
        for digit in "1#1D".chars() {
            let mut sender = EventSender::new(digit, 120, ts).unwrap();
            let mut frames = 0;
            while let Some(p) = sender.next_packet() {
                got.extend(
                    receiver
                        .receive(SSRC, seq, p.timestamp, p.marker, &p.payload)
                        .unwrap(),
                );
                seq = seq.next();
                frames += 1;
            }
            // The caller's clock moved on by the packets sent plus a pause.
            ts = ts.wrapping_add((frames + 5) * PACKET_TICKS);
        }
        assert_eq!(got, "1#1D");
    }
}
