//! The audio codecs this crate encodes and decodes, with their RTP/AVP
//! static payload types (RFC 3551 §6, table 4).
//!
//! `crates/sdp` has its own `Codec` (which also names G.722); the runtime maps
//! between the two so that `media` does not depend on SDP.

use crate::g711;

/// A narrowband G.711 codec: 8 kHz clock, one byte per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// G.711 µ-law, RTP/AVP static payload type 0 (`PCMU/8000`).
    Pcmu,
    /// G.711 A-law, RTP/AVP static payload type 8 (`PCMA/8000`).
    Pcma,
}

impl AudioCodec {
    /// RTP clock rate in Hz (8000 for both G.711 laws, RFC 3551 §4.5.14).
    pub const CLOCK_RATE: u32 = 8000;

    /// The static RTP payload type: 0 for PCMU, 8 for PCMA.
    pub fn payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, or `None` for any other type
    /// (dynamic types must be mapped through SDP by the caller).
    pub fn from_payload_type(payload_type: u8) -> Option<Self> {
        match payload_type {
            0 => Some(AudioCodec::Pcmu),
            8 => Some(AudioCodec::Pcma),
            _ => None,
        }
    }

    /// The encoding name as written in SDP `a=rtpmap` (`PCMU`, `PCMA`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    /// RTP clock rate in Hz; see [`AudioCodec::CLOCK_RATE`].
    pub fn clock_rate(self) -> u32 {
        Self::CLOCK_RATE
    }

    /// The code byte of digital silence: [`g711::ULAW_SILENCE`] or [`g711::ALAW_SILENCE`].
    pub fn silence_byte(self) -> u8 {
        match self {
            AudioCodec::Pcmu => g711::ULAW_SILENCE,
            AudioCodec::Pcma => g711::ALAW_SILENCE,
        }
    }

    /// Encodes one sample.
    #[inline]
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            AudioCodec::Pcmu => g711::ulaw_encode(sample),
            AudioCodec::Pcma => g711::alaw_encode(sample),
        }
    }

    /// Decodes one code byte.
    #[inline]
    pub fn decode_sample(self, code: u8) -> i16 {
        match self {
            AudioCodec::Pcmu => g711::ulaw_decode(code),
            AudioCodec::Pcma => g711::alaw_decode(code),
        }
    }

    /// Encodes 8 kHz linear PCM: one output byte per input sample.
    pub fn encode(self, pcm: &[i16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(pcm.len());
        self.encode_into(pcm, &mut out);
        out
    }

    /// Encodes 8 kHz linear PCM, appending one byte per sample to `out`.
    pub fn encode_into(self, pcm: &[i16], out: &mut Vec<u8>) {
        match self {
            AudioCodec::Pcmu => g711::ulaw_encode_into(pcm, out),
            AudioCodec::Pcma => g711::alaw_encode_into(pcm, out),
        }
    }

    /// Decodes a payload: one output sample per input byte. Any bytes are valid.
    pub fn decode(self, payload: &[u8]) -> Vec<i16> {
        let mut out = Vec::with_capacity(payload.len());
        self.decode_into(payload, &mut out);
        out
    }

    /// Decodes a payload, appending one sample per byte to `out`.
    pub fn decode_into(self, payload: &[u8], out: &mut Vec<i16>) {
        out.extend(payload.iter().map(|&code| self.decode_sample(code)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [AudioCodec; 2] = [AudioCodec::Pcmu, AudioCodec::Pcma];

    #[test]
    fn payload_types_are_the_rfc3551_static_ones() {
        assert_eq!(AudioCodec::Pcmu.payload_type(), 0);
        assert_eq!(AudioCodec::Pcma.payload_type(), 8);
        for codec in BOTH {
            assert_eq!(
                AudioCodec::from_payload_type(codec.payload_type()),
                Some(codec)
            );
            assert_eq!(codec.clock_rate(), 8000);
        }
        assert_eq!(AudioCodec::from_payload_type(9), None);
        assert_eq!(AudioCodec::from_payload_type(101), None);
    }

    #[test]
    fn encoding_names_match_sdp_rtpmap() {
        assert_eq!(AudioCodec::Pcmu.encoding_name(), "PCMU");
        assert_eq!(AudioCodec::Pcma.encoding_name(), "PCMA");
    }

    #[test]
    fn silence_byte_decodes_to_near_zero() {
        for codec in BOTH {
            assert!(codec.decode_sample(codec.silence_byte()).abs() <= 8);
            assert_eq!(codec.encode_sample(0), codec.silence_byte());
        }
    }

    #[test]
    fn encode_then_decode_preserves_length_and_approximates_signal() {
        let pcm: Vec<i16> = (0..800)
            .map(|i| ((i * 97) % 20000 - 10000) as i16)
            .collect();
        for codec in BOTH {
            let encoded = codec.encode(&pcm);
            assert_eq!(encoded.len(), pcm.len());
            let decoded = codec.decode(&encoded);
            assert_eq!(decoded.len(), pcm.len());
            for (&a, &b) in pcm.iter().zip(&decoded) {
                assert!(
                    (i32::from(a) - i32::from(b)).abs() <= 512,
                    "{codec:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn empty_input_encodes_and_decodes_to_empty() {
        for codec in BOTH {
            assert!(codec.encode(&[]).is_empty());
            assert!(codec.decode(&[]).is_empty());
        }
    }
}
