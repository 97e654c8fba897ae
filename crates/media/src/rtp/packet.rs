//! RTP fixed header and datagram parsing (RFC 3550 §5.1, §5.3.1).

use super::{RtpTimestamp, SeqNo, Ssrc};

/// Length of the fixed RTP header in bytes.
pub const HEADER_LEN: usize = 12;
/// The only RTP version this crate reads and writes.
pub const VERSION: u8 = 2;

/// The RTP fixed header fields a media engine acts on (RFC 3550 §5.1).
///
/// CSRCs, the header extension and padding live on [`RtpPacket`]; a header
/// written by [`RtpHeader::write_to`] has none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// M bit: for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// PT, 7 bits. [`RtpHeader::write_to`] keeps only the low 7 bits.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: SeqNo,
    /// Media timestamp in clock-rate units.
    pub timestamp: RtpTimestamp,
    /// Synchronisation source.
    pub ssrc: Ssrc,
}

impl RtpHeader {
    /// Appends the 12-byte fixed header (V=2, no padding, no extension, CC=0) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let marker = if self.marker { 0x80 } else { 0x00 };
        out.push(VERSION << 6);
        out.push(marker | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.0.to_be_bytes());
        out.extend_from_slice(&self.timestamp.0.to_be_bytes());
        out.extend_from_slice(&self.ssrc.0.to_be_bytes());
    }
}

/// A header extension (RFC 3550 §5.3.1): a 16-bit profile-defined value
/// (0xBEDE for RFC 8285 one-byte headers) and its data, a multiple of 4 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The "defined by profile" field.
    pub profile: u16,
    /// Extension data, without the 4-byte extension header.
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the datagram it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Fixed header fields.
    pub header: RtpHeader,
    /// Contributing sources, raw: `4 × CC` bytes; see [`RtpPacket::csrcs`].
    pub csrc_bytes: &'a [u8],
    /// Header extension, when the X bit is set.
    pub extension: Option<RtpExtension<'a>>,
    /// Number of padding bytes removed from the end (0 when P is clear).
    pub padding: u8,
    /// The payload, with CSRCs, extension and padding removed. May be empty.
    pub payload: &'a [u8],
}

impl RtpPacket<'_> {
    /// The contributing sources listed in the header, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        self.csrc_bytes
            .chunks_exact(4)
            .filter_map(|c| c.first_chunk::<4>())
            .map(|c| Ssrc(u32::from_be_bytes(*c)))
    }
}

/// Why a datagram is not a valid RTP packet.
///
/// The caller should drop the datagram and count it; one bad packet never ends
/// a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Fewer than the 12 bytes of the fixed header.
    #[error("datagram of {len} bytes is shorter than the 12-byte RTP header")]
    TooShort {
        /// Datagram length.
        len: usize,
    },
    /// The version field is not 2 (0 is often STUN or another protocol on the port).
    #[error("RTP version {version} is not supported (only version 2)")]
    UnsupportedVersion {
        /// The two version bits.
        version: u8,
    },
    /// The CSRC list announced by CC runs past the end of the datagram.
    #[error("{csrc_count} CSRCs do not fit in a datagram of {len} bytes")]
    CsrcBeyondEnd {
        /// The CC field.
        csrc_count: u8,
        /// Datagram length.
        len: usize,
    },
    /// The header extension (its 4-byte header or its announced data) runs past the end.
    #[error("header extension needs {needed} bytes but the datagram has {len}")]
    ExtensionBeyondEnd {
        /// Bytes needed up to the end of the extension.
        needed: usize,
        /// Datagram length.
        len: usize,
    },
    /// The P bit is set but the padding count (last byte) is 0; the count includes itself.
    #[error("padding bit set with a padding count of 0")]
    ZeroPadding,
    /// The padding count is larger than what follows the headers.
    #[error("padding of {padding} bytes exceeds the {available} bytes after the headers")]
    PaddingBeyondPayload {
        /// The padding count (last byte).
        padding: u8,
        /// Bytes after the fixed header, CSRCs and extension.
        available: usize,
    },
}

/// Parses one RTP datagram (version 2), honouring CSRCs, the header extension
/// and padding. Every malformed shape is an [`RtpError`]; this never panics.
///
/// The payload type is not checked against anything: RTCP demultiplexing
/// (RFC 5761) and codec mapping are the caller's job.
pub fn parse(datagram: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let len = datagram.len();
    let fixed: &[u8; HEADER_LEN] = datagram.first_chunk().ok_or(RtpError::TooShort { len })?;
    let [b0, b1, s0, s1, t0, t1, t2, t3, i0, i1, i2, i3] = *fixed;

    let version = b0 >> 6;
    if version != VERSION {
        return Err(RtpError::UnsupportedVersion { version });
    }
    let has_padding = b0 & 0x20 != 0;
    let has_extension = b0 & 0x10 != 0;
    let csrc_count = b0 & 0x0F;

    let header = RtpHeader {
        marker: b1 & 0x80 != 0,
        payload_type: b1 & 0x7F,
        sequence: SeqNo(u16::from_be_bytes([s0, s1])),
        timestamp: RtpTimestamp(u32::from_be_bytes([t0, t1, t2, t3])),
        ssrc: Ssrc(u32::from_be_bytes([i0, i1, i2, i3])),
    };

    let csrc_end = HEADER_LEN + 4 * usize::from(csrc_count);
    let csrc_bytes = datagram
        .get(HEADER_LEN..csrc_end)
        .ok_or(RtpError::CsrcBeyondEnd { csrc_count, len })?;

    let (extension, body_start) = if has_extension {
        let ext_header_end = csrc_end + 4;
        let [p0, p1, l0, l1] = *datagram
            .get(csrc_end..ext_header_end)
            .and_then(|b| b.first_chunk::<4>())
            .ok_or(RtpError::ExtensionBeyondEnd {
                needed: ext_header_end,
                len,
            })?;
        let ext_end = ext_header_end + 4 * usize::from(u16::from_be_bytes([l0, l1]));
        let data = datagram
            .get(ext_header_end..ext_end)
            .ok_or(RtpError::ExtensionBeyondEnd {
                needed: ext_end,
                len,
            })?;
        let profile = u16::from_be_bytes([p0, p1]);
        (Some(RtpExtension { profile, data }), ext_end)
    } else {
        (None, csrc_end)
    };

    // body_start <= len: every range above was checked by `get`.
    let body = datagram.get(body_start..).unwrap_or_default();
    let (payload, padding) = if has_padding {
        let padding = *body.last().ok_or(RtpError::PaddingBeyondPayload {
            padding: 0,
            available: 0,
        })?;
        if padding == 0 {
            return Err(RtpError::ZeroPadding);
        }
        let payload_len =
            body.len()
                .checked_sub(usize::from(padding))
                .ok_or(RtpError::PaddingBeyondPayload {
                    padding,
                    available: body.len(),
                })?;
        (body.get(..payload_len).unwrap_or_default(), padding)
    } else {
        (body, 0)
    };

    Ok(RtpPacket {
        header,
        csrc_bytes,
        extension,
        padding,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: SeqNo(0xBEEF),
            timestamp: RtpTimestamp(0xDEAD_BEEF),
            ssrc: Ssrc(0x1234_5678),
        }
    }

    /// V=2, P=1, X=1, CC=2, M=0, PT=0; two CSRCs, a one-word 0xBEDE
    /// extension, a 5-byte payload of 0xEE and 3 bytes of padding.
    fn full_packet() -> Vec<u8> {
        let mut p = vec![0xB2, 0x00, 0x00, 0x07, 0x00, 0x00, 0x01, 0x40];
        p.extend_from_slice(&[0xCA, 0xFE, 0xBA, 0xBE]); // SSRC
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // CSRCs
        p.extend_from_slice(&[0xBE, 0xDE, 0x00, 0x01, 0x10, 0xAA, 0x00, 0x00]);
        p.extend_from_slice(&[0xEE; 5]);
        p.extend_from_slice(&[0x00, 0x00, 0x03]);
        p
    }

    #[test]
    fn written_header_parses_back_identically() {
        let mut bytes = Vec::new();
        header().write_to(&mut bytes);
        assert_eq!(bytes.len(), HEADER_LEN);
        bytes.extend_from_slice(b"payload");
        let packet = parse(&bytes).unwrap();
        assert_eq!(packet.header, header());
        assert_eq!(packet.payload, b"payload");
        assert_eq!(packet.extension, None);
        assert_eq!(packet.padding, 0);
        assert_eq!(packet.csrcs().count(), 0);
    }

    #[test]
    fn write_keeps_only_seven_bits_of_payload_type() {
        let mut bytes = Vec::new();
        RtpHeader {
            payload_type: 0xFF,
            marker: false,
            ..header()
        }
        .write_to(&mut bytes);
        assert_eq!(bytes[1], 0x7F);
    }

    #[test]
    fn header_only_packet_has_empty_payload() {
        let mut bytes = Vec::new();
        header().write_to(&mut bytes);
        assert_eq!(parse(&bytes).unwrap().payload, b"");
    }

    #[test]
    fn csrcs_extension_and_padding_are_stripped_from_payload() {
        let bytes = full_packet();
        let packet = parse(&bytes).unwrap();
        assert_eq!(packet.header.sequence, SeqNo(7));
        assert_eq!(packet.header.timestamp, RtpTimestamp(320));
        assert_eq!(packet.header.ssrc, Ssrc(0xCAFE_BABE));
        assert!(!packet.header.marker);
        assert_eq!(packet.csrcs().collect::<Vec<_>>(), [Ssrc(1), Ssrc(2)]);
        let ext = packet.extension.unwrap();
        assert_eq!(ext.profile, 0xBEDE);
        assert_eq!(ext.data, &[0x10, 0xAA, 0x00, 0x00]);
        assert_eq!(packet.padding, 3);
        assert_eq!(packet.payload, &[0xEE; 5]);
    }

    #[test]
    fn every_truncation_of_a_full_packet_is_an_error() {
        let bytes = full_packet();
        for cut in 0..bytes.len() {
            assert!(
                parse(&bytes[..cut]).is_err(),
                "prefix of {cut} bytes parsed"
            );
        }
    }

    #[test]
    fn malformed_shapes_map_to_their_error_variant() {
        let full = full_packet();
        assert_eq!(parse(&[]), Err(RtpError::TooShort { len: 0 }));
        assert_eq!(parse(&full[..11]), Err(RtpError::TooShort { len: 11 }));

        let mut v0 = full.clone();
        v0[0] &= 0x3F;
        assert_eq!(parse(&v0), Err(RtpError::UnsupportedVersion { version: 0 }));
        let mut v3 = full.clone();
        v3[0] |= 0xC0;
        assert_eq!(parse(&v3), Err(RtpError::UnsupportedVersion { version: 3 }));

        assert_eq!(
            parse(&full[..16]),
            Err(RtpError::CsrcBeyondEnd {
                csrc_count: 2,
                len: 16
            })
        );
        assert_eq!(
            parse(&full[..22]),
            Err(RtpError::ExtensionBeyondEnd {
                needed: 24,
                len: 22
            })
        );
        assert_eq!(
            parse(&full[..26]),
            Err(RtpError::ExtensionBeyondEnd {
                needed: 28,
                len: 26
            })
        );

        let mut zero_pad = full.clone();
        *zero_pad.last_mut().unwrap() = 0;
        assert_eq!(parse(&zero_pad), Err(RtpError::ZeroPadding));

        let mut big_pad = full.clone();
        *big_pad.last_mut().unwrap() = 9;
        assert_eq!(
            parse(&big_pad),
            Err(RtpError::PaddingBeyondPayload {
                padding: 9,
                available: 8
            })
        );
    }

    #[test]
    fn padding_bit_without_body_is_an_error() {
        let mut bytes = Vec::new();
        header().write_to(&mut bytes);
        bytes[0] |= 0x20;
        assert_eq!(
            parse(&bytes),
            Err(RtpError::PaddingBeyondPayload {
                padding: 0,
                available: 0
            })
        );
    }

    #[test]
    fn padding_may_consume_the_whole_body() {
        let mut bytes = Vec::new();
        header().write_to(&mut bytes);
        bytes[0] |= 0x20;
        bytes.extend_from_slice(&[0, 0, 0, 4]);
        let packet = parse(&bytes).unwrap();
        assert_eq!(packet.payload, b"");
        assert_eq!(packet.padding, 4);
    }

    #[test]
    fn fifteen_csrcs_and_max_extension_length_are_bounds_checked() {
        let mut bytes = vec![0x9F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0u8; 60]);
        bytes.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
        assert_eq!(
            parse(&bytes),
            Err(RtpError::ExtensionBeyondEnd {
                needed: 12 + 60 + 4 + 4 * 0xFFFF,
                len: 76
            })
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Deterministic xorshift so failures reproduce.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 80) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(first) = bytes.first_mut() {
                *first = (*first & 0x3F) | 0x80; // mostly version 2 to reach deeper paths
            }
            if let Ok(packet) = parse(&bytes) {
                assert!(packet.payload.len() <= bytes.len());
            }
        }
    }
}
