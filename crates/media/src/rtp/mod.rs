//! RTP (RFC 3550): the fixed header, parsing of received datagrams, and the
//! state of one outgoing stream.
//!
//! - [`parse`] turns bytes into an [`RtpPacket`] borrowing the datagram, or an
//!   [`RtpError`] for every malformed shape. It never panics.
//! - [`RtpSender`] writes header + payload for each frame and keeps sequence
//!   number, timestamp and marker right (RFC 3550 §5.1, RFC 3551 §4.1).
//!
//! Sequence numbers and timestamps are newtypes with wrapping arithmetic so a
//! wrap at `u16::MAX` / `u32::MAX` is ordinary, not an overflow.

mod packet;
mod sender;

pub use packet::{parse, RtpError, RtpExtension, RtpHeader, RtpPacket, HEADER_LEN, VERSION};
pub use sender::RtpSender;

use std::fmt;

/// Synchronisation source identifier (RFC 3550 §3). Chosen at random by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ssrc(pub u32);

/// RTP sequence number (RFC 3550 §5.1): 16 bits, wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqNo(pub u16);

/// RTP media timestamp (RFC 3550 §5.1): 32 bits in clock-rate units, wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpTimestamp(pub u32);

impl SeqNo {
    /// The sequence number `n` packets later, wrapping at `u16::MAX`.
    #[must_use]
    pub fn wrapping_add(self, n: u16) -> Self {
        SeqNo(self.0.wrapping_add(n))
    }

    /// The next sequence number.
    #[must_use]
    pub fn next(self) -> Self {
        self.wrapping_add(1)
    }

    /// Signed distance `self - earlier` on the 16-bit circle, in -32768..=32767
    /// (positive when `self` is newer, as in RFC 3550 appendix A.1).
    pub fn distance_from(self, earlier: SeqNo) -> i16 {
        // Reinterpreting the wrapped difference as two's complement is the point.
        self.0.wrapping_sub(earlier.0) as i16
    }
}

impl RtpTimestamp {
    /// The timestamp `ticks` clock units later, wrapping at `u32::MAX`.
    #[must_use]
    pub fn wrapping_add(self, ticks: u32) -> Self {
        RtpTimestamp(self.0.wrapping_add(ticks))
    }

    /// Signed distance `self - earlier` on the 32-bit circle, in clock units.
    pub fn distance_from(self, earlier: RtpTimestamp) -> i32 {
        // Reinterpreting the wrapped difference as two's complement is the point.
        self.0.wrapping_sub(earlier.0) as i32
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for RtpTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_at_u16_max() {
        assert_eq!(SeqNo(u16::MAX).next(), SeqNo(0));
        assert_eq!(SeqNo(65530).wrapping_add(10), SeqNo(4));
    }

    #[test]
    fn sequence_distance_is_signed_across_the_wrap() {
        assert_eq!(SeqNo(2).distance_from(SeqNo(65534)), 4);
        assert_eq!(SeqNo(65534).distance_from(SeqNo(2)), -4);
        assert_eq!(SeqNo(10).distance_from(SeqNo(10)), 0);
    }

    #[test]
    fn timestamp_wraps_at_u32_max() {
        assert_eq!(
            RtpTimestamp(u32::MAX - 100).wrapping_add(160),
            RtpTimestamp(59)
        );
        assert_eq!(
            RtpTimestamp(59).distance_from(RtpTimestamp(u32::MAX - 100)),
            160
        );
        assert_eq!(
            RtpTimestamp(u32::MAX - 100).distance_from(RtpTimestamp(59)),
            -160
        );
    }

    #[test]
    fn ssrc_displays_as_fixed_width_hex() {
        assert_eq!(Ssrc(0xABC).to_string(), "0x00000abc");
    }
}
