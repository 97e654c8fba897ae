//! [`SessionDescription`] to text (RFC 8866 §5).
//!
//! Lines end in `\r\n` and come in the order RFC 8866 §5 fixes: `v o s i u e p c b t r z k a`,
//! then each `m` section as `m i c b k a`. Lines kept in `other_lines` are printed just
//! before the `a=` lines of their level. For every `x` that [`SessionDescription::parse`]
//! returned, `parse(&x.to_string()) == Ok(x)`; the same holds for hand-built values whose text
//! fields have no line breaks and no surrounding whitespace.

use std::fmt::{self, Display, Formatter};

use crate::model::{
    Bandwidth, Connection, Line, MediaDescription, Origin, SessionDescription, Timing,
};

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        line(f, 'v', "0")?;
        line(f, 'o', &self.origin)?;
        // An empty name is written `s= ` (RFC 8866 §5.3); it reads back as empty.
        line(
            f,
            's',
            if self.session_name.is_empty() {
                " "
            } else {
                &self.session_name
            },
        )?;
        optional(f, 'i', &self.information)?;
        optional(f, 'u', &self.uri)?;
        each(f, 'e', &self.emails)?;
        each(f, 'p', &self.phones)?;
        optional(f, 'c', &self.connection)?;
        each(f, 'b', &self.bandwidths)?;
        for timing in &self.timings {
            write_timing(f, timing)?;
        }
        optional(f, 'z', &self.time_zones)?;
        optional(f, 'k', &self.encryption_key)?;
        other_lines(f, &self.other_lines)?;
        each(f, 'a', &self.attributes)?;
        for media in &self.media {
            write!(f, "{media}")?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    /// The whole `m=` section, each line ending in `\r\n`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str("\r\n")?;
        optional(f, 'i', &self.information)?;
        optional(f, 'c', &self.connection)?;
        each(f, 'b', &self.bandwidths)?;
        optional(f, 'k', &self.encryption_key)?;
        other_lines(f, &self.other_lines)?;
        each(f, 'a', &self.attributes)
    }
}

impl Display for Origin {
    /// The value of the `o=` line.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

impl Display for Connection {
    /// The value of the `c=` line.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

impl Display for Bandwidth {
    /// The value of the `b=` line.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bwtype, self.bandwidth)
    }
}

fn write_timing(f: &mut Formatter<'_>, timing: &Timing) -> fmt::Result {
    line(f, 't', format_args!("{} {}", timing.start, timing.stop))?;
    each(f, 'r', &timing.repeats)
}

fn line(f: &mut Formatter<'_>, kind: char, value: impl Display) -> fmt::Result {
    write!(f, "{kind}={value}\r\n")
}

fn optional<T: Display>(f: &mut Formatter<'_>, kind: char, value: &Option<T>) -> fmt::Result {
    match value {
        Some(value) => line(f, kind, value),
        None => Ok(()),
    }
}

fn each<T: Display>(f: &mut Formatter<'_>, kind: char, values: &[T]) -> fmt::Result {
    values.iter().try_for_each(|value| line(f, kind, value))
}

fn other_lines(f: &mut Formatter<'_>, lines: &[Line]) -> fmt::Result {
    lines
        .iter()
        .try_for_each(|other| line(f, other.kind, &other.value))
}

#[cfg(test)]
mod tests {
    use crate::model::SessionDescription;

    #[test]
    fn printer_orders_lines_as_rfc_8866_and_ends_them_with_crlf() {
        let text = "v=0\nt=0 0\na=tool:x\nc=IN IP4 192.0.2.1\no=- 1 2 IN IP4 192.0.2.1\n\
                    m=audio 4000 RTP/AVP 0\na=sendrecv\nc=IN IP4 192.0.2.2\n";
        let sdp = SessionDescription::parse(text).expect("valid");
        assert_eq!(
            sdp.to_string(),
            "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             a=tool:x\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 192.0.2.2\r\na=sendrecv\r\n"
        );
    }
}
