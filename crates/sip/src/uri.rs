//! SIP URIs as far as dialing needs them (RFC 3261 §19.1): scheme, user, host, port and the
//! `transport` parameter.

use std::fmt;

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sips` asks for TLS.
    pub secure: bool,
    /// The user part, if any (`bob`, `+14155550100`).
    pub user: Option<String>,
    /// A name, an IPv4 address or an IPv6 reference without brackets.
    pub host: String,
    /// The port, when given.
    pub port: Option<u16>,
    /// The `transport` parameter, lower case, when given.
    pub transport: Option<String>,
}

/// Why a string is not a SIP URI we can dial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Not `sip:` or `sips:`.
    #[error("{0:?} is not a sip: or sips: URI")]
    Scheme(String),
    /// No host, or a port that is not a number.
    #[error("{0:?} has no usable host and port")]
    HostPort(String),
}

impl SipUri {
    /// Parse `sip:bob@198.51.100.7:5070;transport=udp` (and `<...>` around it).
    pub fn parse(text: &str) -> Result<SipUri, UriError> {
        let t = text.trim().trim_start_matches('<').trim_end_matches('>');
        let (secure, rest) = if let Some(r) = strip_prefix_ci(t, "sips:") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(t, "sip:") {
            (false, r)
        } else {
            return Err(UriError::Scheme(text.to_string()));
        };
        let (main, params) = rest.split_once(';').unwrap_or((rest, ""));
        let main = main.split('?').next().unwrap_or(main);
        let (user, hostport) = match main.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()).filter(|u| !u.is_empty()), h),
            None => (None, main),
        };
        let bad = || UriError::HostPort(text.to_string());
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (h.to_string(), port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().map_err(|_| bad())?)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let transport = params
            .split(';')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("transport"))
            .map(|(_, v)| v.trim().to_ascii_lowercase());
        Ok(SipUri {
            secure,
            user,
            host,
            port,
            transport,
        })
    }

    /// The port, or the default of the scheme (5060, 5061 for `sips`).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(t) = &self.transport {
            write!(f, ";transport={t}")?;
        }
        Ok(())
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_parsed_with_their_defaults() {
        let u = SipUri::parse("sip:bob@198.51.100.7:5070;transport=UDP").unwrap();
        assert_eq!(u.user.as_deref(), Some("bob"));
        assert_eq!((u.host.as_str(), u.port), ("198.51.100.7", Some(5070)));
        assert_eq!(u.transport.as_deref(), Some("udp"));
        let v = SipUri::parse("<sips:[2001:db8::1]>").unwrap();
        assert_eq!(
            (v.host.as_str(), v.port_or_default()),
            ("2001:db8::1", 5061)
        );
        assert_eq!(v.to_string(), "sips:[2001:db8::1]");
        let w = SipUri::parse("sip:carrier.example").unwrap();
        assert_eq!((w.user.as_deref(), w.port_or_default()), (None, 5060));
    }

    #[test]
    fn bad_uris_are_refused() {
        for bad in [
            "tel:+1555",
            "sip:",
            "sip:bob@",
            "sip:bob@h:port",
            "sip:[::1",
            "http://x",
        ] {
            assert!(SipUri::parse(bad).is_err(), "{bad}");
        }
    }
}
