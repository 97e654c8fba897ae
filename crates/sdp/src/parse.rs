//! Text to [`SessionDescription`] (RFC 8866 §5, §9).
//!
//! One pass over the lines, linear in the input. Tolerant where real peers are sloppy: `\n`
//! or `\r\n` line endings, blank lines, surrounding whitespace, lines in a non-standard
//! order, unknown type letters and attributes (all kept), a missing `s=` or `t=`. Strict where
//! a wrong value would mislead negotiation: the `v=`/`o=` structure, `c=`, `m=` ports, RTP
//! payload types and `a=rtpmap` values.

use crate::attribute::{parse_payload_type, Attribute, Rtpmap, RTPMAP};
use crate::model::{
    is_rtp_proto, Bandwidth, Connection, Line, MediaDescription, Origin, SessionDescription, Timing,
};

/// Why a text is not a usable session description.
///
/// Every variant means the peer sent a malformed SDP: answer the request with 488 Not
/// Acceptable Here (or 400 Bad Request) and log the error; nothing in this crate panics on
/// input. `line` numbers count from 1 and include blank lines; `found` quotes at most the
/// first 64 characters of the offending text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The text has no non-blank line.
    #[error("empty session description")]
    Empty,
    /// The first line is not `v=`.
    #[error("line {line}: a session description starts with `v=0`, found `{found}`")]
    MissingVersion { line: usize, found: String },
    /// `v=` carries something other than 0, the only version there is.
    #[error("line {line}: unsupported SDP version `{found}`, expected `v=0`")]
    UnsupportedVersion { line: usize, found: String },
    /// A line is not `<letter>=<value>`.
    #[error("line {line}: expected `<type>=<value>`, found `{found}`")]
    MalformedLine { line: usize, found: String },
    /// No `o=` line before the first `m=`.
    #[error("no `o=` line at session level")]
    MissingOrigin,
    /// `o=` does not have its six fields.
    #[error("line {line}: `o=` needs `<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`, found `{found}`")]
    InvalidOrigin { line: usize, found: String },
    /// `c=` does not have exactly `<nettype> <addrtype> <address>`.
    #[error("line {line}: `c=` needs `<nettype> <addrtype> <address>`, found `{found}`")]
    InvalidConnection { line: usize, found: String },
    /// `t=` is not two decimal numbers.
    #[error("line {line}: `t=` needs `<start> <stop>` as numbers, found `{found}`")]
    InvalidTiming { line: usize, found: String },
    /// `r=` comes before any `t=`.
    #[error("line {line}: `r=` before any `t=`")]
    RepeatWithoutTiming { line: usize },
    /// `b=` is not `<bwtype>:<number>`.
    #[error("line {line}: `b=` needs `<bwtype>:<bandwidth>`, found `{found}`")]
    InvalidBandwidth { line: usize, found: String },
    /// `m=` lacks its port, proto or formats.
    #[error("line {line}: `m=` needs `<media> <port> <proto> <fmt> ...`, found `{found}`")]
    InvalidMedia { line: usize, found: String },
    /// The `m=` port (or port count) is not a number in 0..=65535.
    #[error("line {line}: invalid port `{found}` in `m=`")]
    InvalidPort { line: usize, found: String },
    /// An RTP `m=` line lists a format that is not a payload type in 0..=127.
    #[error("line {line}: invalid RTP payload type `{found}` in `m=`")]
    InvalidPayloadType { line: usize, found: String },
    /// `a=rtpmap` is not `<payload type> <encoding>/<clock>[/<channels>]`.
    #[error("line {line}: `a=rtpmap` needs `<payload type> <encoding>/<clock>[/<channels>]`, found `{found}`")]
    InvalidRtpmap { line: usize, found: String },
}

impl SessionDescription {
    /// Parses a session description.
    ///
    /// Lines may end in `\n` or `\r\n`; blank lines and whitespace around lines are ignored.
    /// Unknown lines and attributes are kept (see [`SessionDescription::other_lines`]). A
    /// missing `s=` reads as `s=-`, a missing `t=` as `t=0 0`. Never panics; runs in time
    /// linear in `text`.
    pub fn parse(text: &str) -> Result<SessionDescription, ParseError> {
        parse(text)
    }
}

/// Length of the quote of offending text in an error.
const QUOTE_CHARS: usize = 64;

/// The session-level fields as they fill up; `media` starts at the first `m=`.
#[derive(Default)]
struct Session {
    origin: Option<Origin>,
    session_name: Option<String>,
    information: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timings: Vec<Timing>,
    time_zones: Option<String>,
    encryption_key: Option<String>,
    attributes: Vec<Attribute>,
    other_lines: Vec<Line>,
}

fn parse(text: &str) -> Result<SessionDescription, ParseError> {
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_ascii()))
        .filter(|(_, line)| !line.is_empty());

    let (line, first) = lines.next().ok_or(ParseError::Empty)?;
    match split_line(first).map(|(kind, value)| (kind, value.trim_ascii())) {
        Some(('v', "0")) => {}
        Some(('v', version)) => {
            return Err(ParseError::UnsupportedVersion {
                line,
                found: quote(version),
            })
        }
        _ => {
            return Err(ParseError::MissingVersion {
                line,
                found: quote(first),
            })
        }
    }

    let mut session = Session::default();
    let mut media: Vec<MediaDescription> = Vec::new();
    for (line, text) in lines {
        let (kind, value) = split_line(text).ok_or_else(|| ParseError::MalformedLine {
            line,
            found: quote(text),
        })?;
        if kind == 'm' {
            media.push(parse_media(line, value)?);
            continue;
        }
        match media.last_mut() {
            None => session_line(&mut session, line, kind, value)?,
            Some(current) => media_line(current, line, kind, value)?,
        }
    }

    let origin = session.origin.ok_or(ParseError::MissingOrigin)?;
    let mut timings = session.timings;
    if timings.is_empty() {
        timings.push(Timing::default());
    }
    Ok(SessionDescription {
        origin,
        session_name: session.session_name.unwrap_or_else(|| "-".to_owned()),
        information: session.information,
        uri: session.uri,
        emails: session.emails,
        phones: session.phones,
        connection: session.connection,
        bandwidths: session.bandwidths,
        timings,
        time_zones: session.time_zones,
        encryption_key: session.encryption_key,
        attributes: session.attributes,
        other_lines: session.other_lines,
        media,
    })
}

/// Splits `<letter>=<value>`; `None` when the line does not have that shape.
fn split_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let kind = chars.next().filter(char::is_ascii_alphabetic)?;
    // `kind` is ASCII, so `=` (if present) is the byte at index 1 and the value starts at 2.
    (chars.next() == Some('=')).then(|| (kind, line.get(2..).unwrap_or_default()))
}

fn session_line(
    session: &mut Session,
    line: usize,
    kind: char,
    value: &str,
) -> Result<(), ParseError> {
    let keep = match kind {
        'o' if session.origin.is_none() => {
            session.origin = Some(parse_origin(line, value)?);
            None
        }
        's' if session.session_name.is_none() => set(&mut session.session_name, value),
        'i' if session.information.is_none() => set(&mut session.information, value),
        'u' if session.uri.is_none() => set(&mut session.uri, value),
        'z' if session.time_zones.is_none() => set(&mut session.time_zones, value),
        'k' if session.encryption_key.is_none() => set(&mut session.encryption_key, value),
        'c' if session.connection.is_none() => {
            session.connection = Some(parse_connection(line, value)?);
            None
        }
        'e' => push(&mut session.emails, value),
        'p' => push(&mut session.phones, value),
        'b' => {
            session.bandwidths.push(parse_bandwidth(line, value)?);
            None
        }
        't' => {
            session.timings.push(parse_timing(line, value)?);
            None
        }
        'r' => {
            let timing = session
                .timings
                .last_mut()
                .ok_or(ParseError::RepeatWithoutTiming { line })?;
            push(&mut timing.repeats, value)
        }
        'a' => {
            session.attributes.push(parse_attribute(line, value)?);
            None
        }
        _ => Some(Line {
            kind,
            value: value.to_owned(),
        }),
    };
    session.other_lines.extend(keep);
    Ok(())
}

fn media_line(
    media: &mut MediaDescription,
    line: usize,
    kind: char,
    value: &str,
) -> Result<(), ParseError> {
    let keep = match kind {
        'i' if media.information.is_none() => set(&mut media.information, value),
        'k' if media.encryption_key.is_none() => set(&mut media.encryption_key, value),
        'c' if media.connection.is_none() => {
            media.connection = Some(parse_connection(line, value)?);
            None
        }
        'b' => {
            media.bandwidths.push(parse_bandwidth(line, value)?);
            None
        }
        'a' => {
            media.attributes.push(parse_attribute(line, value)?);
            None
        }
        _ => Some(Line {
            kind,
            value: value.to_owned(),
        }),
    };
    media.other_lines.extend(keep);
    Ok(())
}

/// Stores a single-valued line; returns nothing to keep in `other_lines`.
fn set(field: &mut Option<String>, value: &str) -> Option<Line> {
    *field = Some(value.to_owned());
    None
}

/// Stores a repeatable line; returns nothing to keep in `other_lines`.
fn push(field: &mut Vec<String>, value: &str) -> Option<Line> {
    field.push(value.to_owned());
    None
}

fn parse_origin(line: usize, value: &str) -> Result<Origin, ParseError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    // A username with spaces is not allowed, but some peers send one: the last five fields
    // are fixed, everything before them is the username.
    let Some(username_fields) = fields.len().checked_sub(5).filter(|count| *count > 0) else {
        return Err(ParseError::InvalidOrigin {
            line,
            found: quote(value),
        });
    };
    let (username, rest) = fields.split_at(username_fields);
    let [session_id, session_version, net_type, addr_type, address] = rest else {
        return Err(ParseError::InvalidOrigin {
            line,
            found: quote(value),
        });
    };
    Ok(Origin {
        username: username.join(" "),
        session_id: (*session_id).to_owned(),
        session_version: (*session_version).to_owned(),
        net_type: (*net_type).to_owned(),
        addr_type: (*addr_type).to_owned(),
        address: (*address).to_owned(),
    })
}

fn parse_connection(line: usize, value: &str) -> Result<Connection, ParseError> {
    let mut fields = value.split_ascii_whitespace();
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(net_type), Some(addr_type), Some(address), None) => Ok(Connection {
            net_type: net_type.to_owned(),
            addr_type: addr_type.to_owned(),
            address: address.to_owned(),
        }),
        _ => Err(ParseError::InvalidConnection {
            line,
            found: quote(value),
        }),
    }
}

fn parse_timing(line: usize, value: &str) -> Result<Timing, ParseError> {
    let mut fields = value.split_ascii_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next(), fields.next()) {
        (Some(Ok(start)), Some(Ok(stop)), None) => Ok(Timing {
            start,
            stop,
            repeats: Vec::new(),
        }),
        _ => Err(ParseError::InvalidTiming {
            line,
            found: quote(value),
        }),
    }
}

fn parse_bandwidth(line: usize, value: &str) -> Result<Bandwidth, ParseError> {
    value
        .split_once(':')
        .and_then(|(bwtype, bandwidth)| {
            Some(Bandwidth {
                bwtype: Some(bwtype.trim_ascii())
                    .filter(|bwtype| !bwtype.is_empty())?
                    .to_owned(),
                bandwidth: bandwidth.trim_ascii().parse().ok()?,
            })
        })
        .ok_or_else(|| ParseError::InvalidBandwidth {
            line,
            found: quote(value),
        })
}

fn parse_media(line: usize, value: &str) -> Result<MediaDescription, ParseError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(ParseError::InvalidMedia {
            line,
            found: quote(value),
        });
    };
    let formats: Vec<String> = fields.map(str::to_owned).collect();
    if formats.is_empty() {
        return Err(ParseError::InvalidMedia {
            line,
            found: quote(value),
        });
    }
    let invalid_port = || ParseError::InvalidPort {
        line,
        found: quote(port),
    };
    let (port_number, port_count) = match port.split_once('/') {
        Some((number, count)) => (number, Some(count.parse().map_err(|_| invalid_port())?)),
        None => (port, None),
    };
    let port_number = port_number.parse().map_err(|_| invalid_port())?;
    if is_rtp_proto(proto) {
        if let Some(bad) = formats
            .iter()
            .find(|format| parse_payload_type(format).is_none())
        {
            return Err(ParseError::InvalidPayloadType {
                line,
                found: quote(bad),
            });
        }
    }
    let mut description = MediaDescription::new(media, port_number, proto, formats);
    description.port_count = port_count;
    Ok(description)
}

fn parse_attribute(line: usize, value: &str) -> Result<Attribute, ParseError> {
    let attribute = Attribute::from_line_value(value);
    if attribute.is(RTPMAP) && attribute.value.as_deref().and_then(Rtpmap::parse).is_none() {
        return Err(ParseError::InvalidRtpmap {
            line,
            found: quote(value),
        });
    }
    Ok(attribute)
}

/// At most [`QUOTE_CHARS`] characters of `text`, for an error message.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        // `end` comes from `char_indices`, so it is a character boundary.
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_line_accepts_only_letter_equals_value() {
        let table = [
            ("v=0", Some(('v', "0"))),
            ("a=", Some(('a', ""))),
            ("x=anything at all", Some(('x', "anything at all"))),
            ("=0", None),
            ("v", None),
            ("vv=0", None),
            ("1=0", None),
            ("é=0", None),
            ("garbage", None),
        ];
        for (line, expected) in table {
            assert_eq!(split_line(line), expected, "{line:?}");
        }
    }

    #[test]
    fn quote_cuts_long_text_on_a_character_boundary() {
        assert_eq!(quote("short"), "short");
        let long = "é".repeat(100);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 3);
        assert!(quoted.ends_with("..."));
    }
}
