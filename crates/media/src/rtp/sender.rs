//! State of one outgoing RTP stream (RFC 3550 §5.1, RFC 3551 §4.1).

use super::{RtpHeader, RtpTimestamp, SeqNo, Ssrc, HEADER_LEN};

/// Outgoing stream state: one per call direction.
///
/// Randomness is the caller's: RFC 3550 §5.1 wants the initial sequence number
/// and timestamp random, and the SSRC random and unique; all three are
/// arguments so tests are deterministic.
///
/// Contracts:
/// - each [`write_frame`](RtpSender::write_frame) uses the current sequence
///   number and timestamp, then advances the sequence by 1 and the timestamp
///   by the frame's sample count (both wrapping);
/// - the marker bit is set on the first packet of the stream and on the first
///   packet after [`start_talkspurt`](RtpSender::start_talkspurt), never
///   otherwise;
/// - [`skip`](RtpSender::skip) advances the timestamp only, so the receiver
///   sees a gap in time without a gap in sequence numbers (nothing was lost).
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: Ssrc,
    sequence: SeqNo,
    timestamp: RtpTimestamp,
    payload_type: u8,
    marker_pending: bool,
    packets_sent: u64,
    payload_octets_sent: u64,
}

impl RtpSender {
    /// A stream whose first packet will carry `initial_seq` and `initial_ts`.
    /// `payload_type` is masked to 7 bits when written.
    pub fn new(ssrc: Ssrc, initial_seq: u16, initial_ts: u32, payload_type: u8) -> Self {
        RtpSender {
            ssrc,
            sequence: SeqNo(initial_seq),
            timestamp: RtpTimestamp(initial_ts),
            payload_type,
            marker_pending: true,
            packets_sent: 0,
            payload_octets_sent: 0,
        }
    }

    /// Clears `out`, then writes the 12-byte header and `payload` for one frame
    /// of `samples` samples (160 for 20 ms at 8 kHz). Afterwards the sequence
    /// number is one higher and the timestamp `samples` higher.
    pub fn write_frame(&mut self, payload: &[u8], samples: u32, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(HEADER_LEN + payload.len());
        RtpHeader {
            marker: self.marker_pending,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        }
        .write_to(out);
        out.extend_from_slice(payload);
        self.marker_pending = false;
        self.sequence = self.sequence.next();
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.packets_sent = self.packets_sent.saturating_add(1);
        self.payload_octets_sent = self
            .payload_octets_sent
            .saturating_add(payload.len() as u64);
    }

    /// Clears `out`, then writes a packet with its own payload type, marker
    /// and timestamp, with this stream's SSRC and next sequence number: an
    /// RFC 4733 event packet ([`EventPacket`](crate::rfc4733::EventPacket))
    /// shares the audio stream's sequence space but not its payload type or
    /// timestamp. Only the sequence number advances; moving the stream's
    /// timestamp on (with [`skip`](RtpSender::skip)) is the caller's choice.
    pub fn write_packet(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: RtpTimestamp,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        out.clear();
        out.reserve(HEADER_LEN + payload.len());
        RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        }
        .write_to(out);
        out.extend_from_slice(payload);
        self.sequence = self.sequence.next();
        self.packets_sent = self.packets_sent.saturating_add(1);
        self.payload_octets_sent = self
            .payload_octets_sent
            .saturating_add(payload.len() as u64);
    }

    /// Marks the next written packet as the start of a talkspurt (M=1).
    /// Call it when playback begins after silence.
    pub fn start_talkspurt(&mut self) {
        self.marker_pending = true;
    }

    /// Changes the payload type of subsequent packets (e.g. after a re-INVITE).
    pub fn set_payload_type(&mut self, pt: u8) {
        self.payload_type = pt;
    }

    /// Advances the timestamp by `samples` without sending (frames dropped or
    /// not sent); the sequence number is unchanged.
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// The sequence number the next packet will carry.
    pub fn sequence(&self) -> SeqNo {
        self.sequence
    }

    /// The timestamp the next packet will carry.
    pub fn timestamp(&self) -> RtpTimestamp {
        self.timestamp
    }

    /// This stream's SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// The payload type of the next packet.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Packets written so far (RTCP SR "sender's packet count", saturating).
    pub fn packets_sent(&self) -> u64 {
        self.packets_sent
    }

    /// Payload bytes written so far (RTCP SR "sender's octet count", saturating).
    pub fn payload_octets_sent(&self) -> u64 {
        self.payload_octets_sent
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const FRAME: u32 = 160;

    fn send(sender: &mut RtpSender, payload: &[u8]) -> RtpHeader {
        let mut out = vec![0xAA; 3]; // stale content must be cleared
        sender.write_frame(payload, FRAME, &mut out);
        assert_eq!(out.len(), HEADER_LEN + payload.len());
        let packet = parse(&out).unwrap();
        assert_eq!(packet.payload, payload);
        packet.header
    }

    #[test]
    fn first_packet_carries_initial_values_and_marker() {
        let mut sender = RtpSender::new(Ssrc(42), 1000, 5000, 0);
        let h = send(&mut sender, &[0xFF; 160]);
        assert_eq!(h.sequence, SeqNo(1000));
        assert_eq!(h.timestamp, RtpTimestamp(5000));
        assert_eq!(h.ssrc, Ssrc(42));
        assert_eq!(h.payload_type, 0);
        assert!(h.marker);
        assert_eq!(sender.sequence(), SeqNo(1001));
        assert_eq!(sender.timestamp(), RtpTimestamp(5160));
    }

    #[test]
    fn marker_only_on_first_packet_and_after_start_talkspurt() {
        let mut sender = RtpSender::new(Ssrc(1), 0, 0, 8);
        let markers: Vec<bool> = (0..10)
            .map(|i| {
                if i == 6 {
                    sender.start_talkspurt();
                }
                send(&mut sender, &[0xD5; 160]).marker
            })
            .collect();
        let expected: Vec<bool> = (0..10).map(|i| i == 0 || i == 6).collect();
        assert_eq!(markers, expected);
    }

    #[test]
    fn sequence_and_timestamp_advance_per_frame_and_wrap() {
        let mut sender = RtpSender::new(Ssrc(7), u16::MAX - 1, u32::MAX - 200, 0);
        let headers: Vec<RtpHeader> = (0..4).map(|_| send(&mut sender, &[0; 160])).collect();
        let seqs: Vec<u16> = headers.iter().map(|h| h.sequence.0).collect();
        assert_eq!(seqs, [u16::MAX - 1, u16::MAX, 0, 1]);
        let tss: Vec<u32> = headers.iter().map(|h| h.timestamp.0).collect();
        assert_eq!(tss, [u32::MAX - 200, u32::MAX - 40, 119, 279]);
    }

    #[test]
    fn skip_advances_timestamp_but_not_sequence() {
        let mut sender = RtpSender::new(Ssrc(7), 10, 0, 0);
        send(&mut sender, &[0; 160]);
        sender.skip(3 * FRAME);
        let h = send(&mut sender, &[0; 160]);
        assert_eq!(h.sequence, SeqNo(11));
        assert_eq!(h.timestamp, RtpTimestamp(4 * FRAME));
        assert!(!h.marker, "skipping does not start a talkspurt by itself");
    }

    #[test]
    fn payload_type_change_applies_to_next_packet() {
        let mut sender = RtpSender::new(Ssrc(7), 0, 0, 0);
        assert_eq!(send(&mut sender, &[1]).payload_type, 0);
        sender.set_payload_type(8);
        assert_eq!(sender.payload_type(), 8);
        assert_eq!(send(&mut sender, &[1]).payload_type, 8);
    }

    #[test]
    fn write_packet_uses_its_own_pt_marker_and_timestamp_and_advances_only_the_sequence() {
        let mut sender = RtpSender::new(Ssrc(9), 100, 8000, 0);
        send(&mut sender, &[0; 160]);
        let mut out = Vec::new();
        sender.write_packet(101, true, RtpTimestamp(8160), &[5, 10, 0, 160], &mut out);
        let packet = parse(&out).unwrap();
        assert_eq!(packet.header.payload_type, 101);
        assert!(packet.header.marker);
        assert_eq!(packet.header.timestamp, RtpTimestamp(8160));
        assert_eq!(packet.header.sequence, SeqNo(101));
        assert_eq!(packet.payload, [5, 10, 0, 160]);
        assert_eq!(sender.sequence(), SeqNo(102));
        assert_eq!(
            sender.timestamp(),
            RtpTimestamp(8160),
            "audio clock untouched"
        );
        assert_eq!(sender.packets_sent(), 2);
    }

    #[test]
    fn counters_track_packets_and_payload_octets() {
        let mut sender = RtpSender::new(Ssrc(7), 0, 0, 0);
        send(&mut sender, &[0; 160]);
        send(&mut sender, &[0; 80]);
        assert_eq!(sender.packets_sent(), 2);
        assert_eq!(sender.payload_octets_sent(), 240);
    }
}
