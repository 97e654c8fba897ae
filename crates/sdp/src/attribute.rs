//! `a=` lines (RFC 8866 §5.13) and the typed values switchyard reads from them: `rtpmap`
//! (RFC 8866 §6.6), `fmtp` (§6.15) and `ptime` (§6.4).

use std::fmt;

/// Name of the `a=rtpmap` attribute.
pub(crate) const RTPMAP: &str = "rtpmap";
/// Name of the `a=fmtp` attribute.
pub(crate) const FMTP: &str = "fmtp";
/// Name of the `a=ptime` attribute.
pub(crate) const PTIME: &str = "ptime";

/// Highest RTP payload type: the field is 7 bits wide (RFC 3550 §5.1).
pub const MAX_PAYLOAD_TYPE: u8 = 127;

/// One `a=` line: a property attribute (`a=sendrecv`, `value` is `None`) or a value attribute
/// (`a=rtpmap:0 PCMU/8000`, `value` is everything after the first `:`).
///
/// Unknown attributes are kept as they are; the name is compared case-insensitively by the
/// accessors in this crate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Attribute name, without surrounding whitespace.
    pub name: String,
    /// Attribute value, verbatim after the first `:`; `None` for a property attribute.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute such as `a=sendrecv`.
    pub fn property(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// A value attribute such as `a=ptime:20`.
    pub fn with_value(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// Whether this attribute is called `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The attribute text after `a=`, split at the first `:`; the name is trimmed.
    pub(crate) fn from_line_value(text: &str) -> Attribute {
        match text.split_once(':') {
            Some((name, value)) => Attribute::with_value(name.trim_ascii(), value),
            None => Attribute::property(text.trim_ascii()),
        }
    }
}

impl fmt::Display for Attribute {
    /// The attribute as it appears after `a=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}:{}", self.name, value),
            None => f.write_str(&self.name),
        }
    }
}

/// An `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rtpmap {
    /// RTP payload type, 0..=127.
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`, `opus`).
    pub encoding_name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters; for audio the channel count. `None` when absent (one channel).
    pub channels: Option<u16>,
}

impl Rtpmap {
    /// Parses the value of an `a=rtpmap` attribute; `None` when it is malformed (payload type
    /// not a number in 0..=127, empty encoding name, non-numeric clock rate or channels).
    pub fn parse(value: &str) -> Option<Rtpmap> {
        let (payload_type, encoding) = value
            .trim_ascii()
            .split_once(|c: char| c.is_ascii_whitespace())?;
        let payload_type = parse_payload_type(payload_type)?;
        let mut parts = encoding.trim_ascii().split('/');
        let encoding_name = parts.next().filter(|name| !name.is_empty())?;
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(channels) => Some(channels.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Rtpmap {
            payload_type,
            encoding_name: encoding_name.to_owned(),
            clock_rate,
            channels,
        })
    }

    /// This rtpmap as an `a=rtpmap` attribute.
    pub fn to_attribute(&self) -> Attribute {
        Attribute::with_value(RTPMAP, self.to_string())
    }
}

impl fmt::Display for Rtpmap {
    /// The attribute value, e.g. `101 telephone-event/8000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding_name, self.clock_rate
        )?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// Parses an RTP payload type: a decimal number in 0..=127.
pub fn parse_payload_type(text: &str) -> Option<u8> {
    text.parse::<u8>()
        .ok()
        .filter(|payload_type| *payload_type <= MAX_PAYLOAD_TYPE)
}

/// Splits an `a=fmtp` value into its format and its parameters (`101 0-16` gives
/// `("101", "0-16")`); `None` when there is no format.
pub(crate) fn split_fmtp(value: &str) -> Option<(&str, &str)> {
    let value = value.trim_ascii();
    let (format, parameters) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    (!format.is_empty()).then_some((format, parameters.trim_ascii()))
}

/// Parses an `a=ptime` value in milliseconds; a fractional part (`20.0`) is dropped.
pub(crate) fn parse_ptime(value: &str) -> Option<u32> {
    let value = value.trim_ascii();
    let whole = value.split_once('.').map_or(value, |(whole, _)| whole);
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_splits_at_the_first_colon_and_prints_back() {
        let table = [
            ("sendrecv", "sendrecv", None),
            ("rtpmap:0 PCMU/8000", "rtpmap", Some("0 PCMU/8000")),
            (
                "fingerprint:sha-256 AB:CD",
                "fingerprint",
                Some("sha-256 AB:CD"),
            ),
            ("empty:", "empty", Some("")),
        ];
        for (text, name, value) in table {
            let attribute = Attribute::from_line_value(text);
            assert_eq!(attribute.name, name);
            assert_eq!(attribute.value.as_deref(), value);
            assert_eq!(attribute.to_string(), text);
        }
    }

    #[test]
    fn rtpmap_parses_with_and_without_channels() {
        let table = [
            ("0 PCMU/8000", Some((0, "PCMU", 8000, None))),
            ("96 opus/48000/2", Some((96, "opus", 48000, Some(2)))),
            (
                " 101  telephone-event/8000 ",
                Some((101, "telephone-event", 8000, None)),
            ),
            ("x PCMU/8000", None),
            ("128 PCMU/8000", None),
            ("0 PCMU", None),
            ("0 /8000", None),
            ("0 PCMU/fast", None),
            ("0 PCMU/8000/two", None),
            ("0 PCMU/8000/1/1", None),
            ("0", None),
            ("", None),
        ];
        for (value, expected) in table {
            let parsed = Rtpmap::parse(value);
            let fields = parsed.as_ref().map(|rtpmap| {
                (
                    rtpmap.payload_type,
                    rtpmap.encoding_name.as_str(),
                    rtpmap.clock_rate,
                    rtpmap.channels,
                )
            });
            assert_eq!(fields, expected, "{value:?}");
            if let Some(rtpmap) = parsed {
                assert_eq!(Rtpmap::parse(&rtpmap.to_string()), Some(rtpmap));
            }
        }
    }

    #[test]
    fn fmtp_and_ptime_values_parse_leniently() {
        assert_eq!(split_fmtp("101 0-16"), Some(("101", "0-16")));
        assert_eq!(split_fmtp(" 96  0-15,66 "), Some(("96", "0-15,66")));
        assert_eq!(split_fmtp("101"), Some(("101", "")));
        assert_eq!(split_fmtp("  "), None);
        assert_eq!(parse_ptime("20"), Some(20));
        assert_eq!(parse_ptime(" 30.0"), Some(30));
        assert_eq!(parse_ptime("fast"), None);
    }
}
