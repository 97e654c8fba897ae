//! The payload formats switchyard speaks: three audio codecs with static payload types
//! (RFC 3551 §6) and RFC 4733 telephone-event.

use std::fmt;

use crate::attribute::Rtpmap;

/// RTP clock rate of every payload format switchyard negotiates.
///
/// G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551 §4.5.2); telephone-event is
/// negotiated at 8000 to match the audio clock (RFC 4733 §2.1).
pub const CLOCK_RATE: u32 = 8000;

/// Encoding name of RFC 4733 named telephone events (DTMF), matched case-insensitively.
pub const TELEPHONE_EVENT: &str = "telephone-event";

/// Payload type switchyard offers for telephone-event (dynamic range, the de-facto default).
pub const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;

/// The events switchyard offers, and answers with when an offer has no `a=fmtp` for
/// telephone-event: DTMF digits 0-9, `*`, `#`, A-D and flash (RFC 4733 §3.2).
pub const TELEPHONE_EVENTS: &str = "0-16";

/// An audio codec switchyard can encode and decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
    /// G.722, static payload type 9 (RTP clock 8000 although sampled at 16 kHz).
    G722,
}

impl Codec {
    /// Every codec, in switchyard's default order of preference.
    pub const ALL: [Codec; 3] = [Codec::Pcmu, Codec::Pcma, Codec::G722];

    /// The static payload type from RFC 3551 table 4.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::G722 => 9,
        }
    }

    /// The encoding name used in `a=rtpmap` (`PCMU`, `PCMA`, `G722`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
        }
    }

    /// The RTP clock rate: 8000 for all three codecs.
    pub fn clock_rate(self) -> u32 {
        CLOCK_RATE
    }

    /// The codec with this encoding name, ignoring ASCII case (`pcmu` is PCMU).
    pub fn from_encoding_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|codec| codec.encoding_name().eq_ignore_ascii_case(name))
    }

    /// The codec that owns this static payload type, if any (0, 8 or 9).
    pub fn from_payload_type(payload_type: u8) -> Option<Codec> {
        Codec::ALL
            .into_iter()
            .find(|codec| codec.payload_type() == payload_type)
    }

    /// The codec an `a=rtpmap` names, if it is one of ours: encoding name, clock rate 8000 and
    /// mono. G.722 is also recognised at clock 16000, a common mistake of real peers.
    pub fn from_rtpmap(rtpmap: &Rtpmap) -> Option<Codec> {
        let codec = Codec::from_encoding_name(&rtpmap.encoding_name)?;
        let clock_ok = rtpmap.clock_rate == codec.clock_rate()
            || (codec == Codec::G722 && rtpmap.clock_rate == 16_000);
        (clock_ok && is_mono(rtpmap)).then_some(codec)
    }

    /// The `a=rtpmap` for this codec under `payload_type` (e.g. `0 PCMU/8000`).
    pub fn rtpmap(self, payload_type: u8) -> Rtpmap {
        Rtpmap {
            payload_type,
            encoding_name: self.encoding_name().to_owned(),
            clock_rate: self.clock_rate(),
            channels: None,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encoding_name())
    }
}

/// Whether an `a=rtpmap` names RFC 4733 telephone-event at clock 8000.
pub(crate) fn is_telephone_event(rtpmap: &Rtpmap) -> bool {
    rtpmap.encoding_name.eq_ignore_ascii_case(TELEPHONE_EVENT)
        && rtpmap.clock_rate == CLOCK_RATE
        && is_mono(rtpmap)
}

/// The `a=rtpmap` for telephone-event/8000 under `payload_type`.
pub(crate) fn telephone_event_rtpmap(payload_type: u8) -> Rtpmap {
    Rtpmap {
        payload_type,
        encoding_name: TELEPHONE_EVENT.to_owned(),
        clock_rate: CLOCK_RATE,
        channels: None,
    }
}

fn is_mono(rtpmap: &Rtpmap) -> bool {
    matches!(rtpmap.channels, None | Some(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtpmap(value: &str) -> Rtpmap {
        Rtpmap::parse(value).expect("test rtpmap is valid")
    }

    #[test]
    fn static_payload_types_and_names_follow_rfc_3551() {
        let table = [
            (Codec::Pcmu, 0, "PCMU"),
            (Codec::Pcma, 8, "PCMA"),
            (Codec::G722, 9, "G722"),
        ];
        for (codec, payload_type, name) in table {
            assert_eq!(codec.payload_type(), payload_type);
            assert_eq!(codec.encoding_name(), name);
            assert_eq!(codec.clock_rate(), 8000);
            assert_eq!(Codec::from_payload_type(payload_type), Some(codec));
            assert_eq!(Codec::from_encoding_name(name), Some(codec));
            assert_eq!(codec.to_string(), name);
        }
    }

    #[test]
    fn encoding_names_match_case_insensitively() {
        assert_eq!(Codec::from_encoding_name("pcmu"), Some(Codec::Pcmu));
        assert_eq!(Codec::from_encoding_name("Pcma"), Some(Codec::Pcma));
        assert_eq!(Codec::from_encoding_name("g722"), Some(Codec::G722));
        assert_eq!(Codec::from_encoding_name("opus"), None);
        assert_eq!(Codec::from_encoding_name(""), None);
        assert_eq!(Codec::from_payload_type(3), None);
    }

    #[test]
    fn rtpmap_matches_by_name_clock_and_channels() {
        let table = [
            ("0 PCMU/8000", Some(Codec::Pcmu)),
            ("112 pcmu/8000/1", Some(Codec::Pcmu)),
            ("8 PCMA/8000", Some(Codec::Pcma)),
            ("9 G722/8000", Some(Codec::G722)),
            ("9 G722/16000", Some(Codec::G722)),
            ("0 PCMU/16000", None),
            ("0 PCMU/8000/2", None),
            ("96 opus/48000/2", None),
            ("3 GSM/8000", None),
        ];
        for (value, expected) in table {
            assert_eq!(Codec::from_rtpmap(&rtpmap(value)), expected, "{value}");
        }
    }

    #[test]
    fn telephone_event_is_recognised_only_at_8000() {
        assert!(is_telephone_event(&rtpmap("101 telephone-event/8000")));
        assert!(is_telephone_event(&rtpmap("96 Telephone-Event/8000")));
        assert!(!is_telephone_event(&rtpmap("100 telephone-event/48000")));
        assert_eq!(
            telephone_event_rtpmap(101).to_string(),
            "101 telephone-event/8000"
        );
    }
}
