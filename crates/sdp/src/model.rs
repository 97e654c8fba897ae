//! The session description model (RFC 8866 §5): what a parsed SDP holds and what the printer
//! writes.
//!
//! Every line of a parsed SDP lands somewhere in the model, so printing loses nothing but
//! line order that RFC 8866 §5 fixes anyway. Lines the model has no field for (type letters
//! SDP does not define, or a repeat of a single-valued line) are kept in `other_lines`.

use std::net::IpAddr;

use crate::attribute::{parse_payload_type, parse_ptime, split_fmtp, Attribute, Rtpmap, FMTP};
use crate::attribute::{PTIME, RTPMAP};
use crate::direction::Direction;

/// A complete session description: session-level lines, then the media descriptions.
///
/// Invariants of a parsed value: `media` keeps the order of the `m=` lines; every media
/// description has at least one format; `timings` is never empty (a missing `t=` reads as
/// `t=0 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: who created the session and which version of the description this is.
    pub origin: Origin,
    /// `s=`: session name; `-` when the peer sent none.
    pub session_name: String,
    /// `i=`: session information.
    pub information: Option<String>,
    /// `u=`: URI of a description.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=`: applies to every media description without its own.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines, each with its `r=` lines.
    pub timings: Vec<Timing>,
    /// `z=`: time zone adjustments, verbatim.
    pub time_zones: Option<String>,
    /// `k=`: encryption key (obsolete), verbatim.
    pub encryption_key: Option<String>,
    /// Session-level `a=` lines, including a session-wide direction.
    pub attributes: Vec<Attribute>,
    /// Session-level lines without a field of their own, in order.
    pub other_lines: Vec<Line>,
    /// `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
///
/// Session id and version are kept as text: they are compared, never computed with, and real
/// peers send values that do not fit an integer type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// Username, `-` when the creator has none.
    pub username: String,
    /// Session id, unique per session of this creator.
    pub session_id: String,
    /// Version, incremented on each change of the description within a dialog.
    pub session_version: String,
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Address of the creator's machine.
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// Address type, `IP4` or `IP6`.
    pub addr_type: String,
    /// Address as written, including a multicast TTL or count suffix (`224.2.1.1/127`).
    pub address: String,
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bandwidth type (`AS`, `CT`, `TIAS`, ...).
    pub bwtype: String,
    /// Bandwidth in the unit of the type (kbit/s for `AS`, bit/s for `TIAS`).
    pub bandwidth: u64,
}

/// `t=<start-time> <stop-time>` with its `r=` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// Start time (NTP seconds), 0 for an unbounded session.
    pub start: u64,
    /// Stop time (NTP seconds), 0 for an unbounded session.
    pub stop: u64,
    /// `r=` lines after this `t=`, verbatim.
    pub repeats: Vec<String>,
}

/// A line kept verbatim: `<kind>=<value>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// One `m=` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `video`, `image`, `application`, ...
    pub media: String,
    /// Transport port; 0 means the stream is rejected or disabled (RFC 3264 §6).
    pub port: u16,
    /// The `/<number of ports>` suffix, if present.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `RTP/SAVP`, `udptl`, ...
    pub proto: String,
    /// Formats: RTP payload types (validated as 0..=127) when `proto` is RTP-based.
    pub formats: Vec<String>,
    /// `i=`: media title.
    pub information: Option<String>,
    /// Media-level `c=`: overrides the session-level one.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=`: encryption key (obsolete), verbatim.
    pub encryption_key: Option<String>,
    /// Media-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// Media-level lines without a field of their own, in order.
    pub other_lines: Vec<Line>,
}

impl Connection {
    /// `c=IN IP4 <address>` or `c=IN IP6 <address>` for an IP address.
    pub fn for_ip(address: IpAddr) -> Connection {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: addr_type(address).to_owned(),
            address: address.to_string(),
        }
    }

    /// The IP address, without a multicast suffix; `None` for a host name or garbage.
    pub fn ip(&self) -> Option<IpAddr> {
        let address = self.address.split('/').next().unwrap_or_default();
        address.parse().ok()
    }

    /// Whether this is the unspecified address (`0.0.0.0` or `::`): old-style hold, RFC 3264
    /// §8.4. The peer will not receive media here.
    pub fn is_hold(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

/// `IP4` or `IP6` for an address.
pub(crate) fn addr_type(address: IpAddr) -> &'static str {
    match address {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

impl SessionDescription {
    /// The session-level direction attribute, if any (the first one wins).
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// The direction that applies to `media`: its own attribute, else the session-level one,
    /// else `sendrecv` (RFC 8866 §6.7).
    pub fn effective_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| self.direction())
            .unwrap_or_default()
    }

    /// The connection that applies to `media`: its own `c=`, else the session-level one.
    pub fn effective_connection<'a>(
        &'a self,
        media: &'a MediaDescription,
    ) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }
}

impl MediaDescription {
    /// A media description with the given `m=` line and nothing else.
    pub fn new(media: &str, port: u16, proto: &str, formats: Vec<String>) -> MediaDescription {
        MediaDescription {
            media: media.to_owned(),
            port,
            port_count: None,
            proto: proto.to_owned(),
            formats,
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
            other_lines: Vec::new(),
        }
    }

    /// Whether the stream is rejected or disabled (port 0).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }

    /// Whether `proto` carries RTP (`RTP/AVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, ...), so the
    /// formats are payload types.
    pub fn is_rtp(&self) -> bool {
        is_rtp_proto(&self.proto)
    }

    /// The formats as payload types, skipping any that are not (only possible for non-RTP
    /// protos or hand-built models).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|format| parse_payload_type(format))
    }

    /// The media-level direction attribute, if any (the first one wins).
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.attributes)
    }

    /// Replaces every media-level direction attribute with `direction`.
    pub fn set_direction(&mut self, direction: Direction) {
        self.attributes
            .retain(|attribute| Direction::from_attribute_name(&attribute.name).is_none());
        self.attributes
            .push(Attribute::property(direction.attribute_name()));
    }

    /// The value of the first attribute called `name` (ASCII case ignored); `Some("")` for a
    /// property attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|attribute| attribute.is(name))
            .map(|attribute| attribute.value.as_deref().unwrap_or_default())
    }

    /// Every well-formed `a=rtpmap`, in order.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap> + '_ {
        self.attributes
            .iter()
            .filter(|attribute| attribute.is(RTPMAP))
            .filter_map(|attribute| Rtpmap::parse(attribute.value.as_deref()?))
    }

    /// The first `a=rtpmap` for `payload_type`.
    pub fn rtpmap(&self, payload_type: u8) -> Option<Rtpmap> {
        self.rtpmaps()
            .find(|rtpmap| rtpmap.payload_type == payload_type)
    }

    /// The parameters of the first `a=fmtp` for `format` (e.g. `0-16` for `101`).
    pub fn fmtp(&self, format: &str) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.is(FMTP))
            .filter_map(|attribute| split_fmtp(attribute.value.as_deref()?))
            .find(|(fmtp_format, _)| *fmtp_format == format)
            .map(|(_, parameters)| parameters)
    }

    /// The `a=ptime` in milliseconds, if present and numeric.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute(PTIME).and_then(parse_ptime)
    }
}

/// Whether a transport protocol carries RTP.
pub(crate) fn is_rtp_proto(proto: &str) -> bool {
    proto.to_ascii_uppercase().contains("RTP/")
}

fn direction_of(attributes: &[Attribute]) -> Option<Direction> {
    attributes
        .iter()
        .filter(|attribute| attribute.value.is_none())
        .find_map(|attribute| Direction::from_attribute_name(&attribute.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(addr_type: &str, address: &str) -> Connection {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: addr_type.to_owned(),
            address: address.to_owned(),
        }
    }

    #[test]
    fn connection_address_reads_ip_and_hold() {
        // (addr type, address, ip, hold)
        let table = [
            ("IP4", "192.0.2.10", Some("192.0.2.10"), false),
            ("IP4", "0.0.0.0", Some("0.0.0.0"), true),
            ("IP4", "224.2.1.1/127/3", Some("224.2.1.1"), false),
            ("IP6", "2001:db8::1", Some("2001:db8::1"), false),
            ("IP6", "::", Some("::"), true),
            ("IP4", "host.example.com", None, false),
        ];
        for (addr_type, address, ip, hold) in table {
            let parsed = connection(addr_type, address);
            let expected: Option<IpAddr> = ip.map(|ip| ip.parse().expect("test address"));
            assert_eq!(parsed.ip(), expected, "{address}");
            assert_eq!(parsed.is_hold(), hold, "{address}");
        }
    }

    #[test]
    fn connection_for_ip_names_the_address_family() {
        let v4 = Connection::for_ip("203.0.113.5".parse().expect("test address"));
        assert_eq!(
            (v4.addr_type.as_str(), v4.address.as_str()),
            ("IP4", "203.0.113.5")
        );
        let v6 = Connection::for_ip("2001:db8::5".parse().expect("test address"));
        assert_eq!(
            (v6.addr_type.as_str(), v6.address.as_str()),
            ("IP6", "2001:db8::5")
        );
    }

    #[test]
    fn set_direction_replaces_existing_direction_attributes() {
        let mut media = MediaDescription::new("audio", 4000, "RTP/AVP", vec!["0".into()]);
        media.attributes.push(Attribute::property("sendonly"));
        media.attributes.push(Attribute::with_value("ptime", "20"));
        media.attributes.push(Attribute::property("inactive"));
        assert_eq!(media.direction(), Some(Direction::SendOnly));
        media.set_direction(Direction::SendRecv);
        assert_eq!(media.direction(), Some(Direction::SendRecv));
        assert_eq!(media.attributes.len(), 2);
        assert_eq!(media.ptime(), Some(20));
    }

    #[test]
    fn rtp_protos_are_recognised() {
        for proto in [
            "RTP/AVP",
            "rtp/avp",
            "RTP/SAVPF",
            "UDP/TLS/RTP/SAVPF",
            "TCP/RTP/AVP",
        ] {
            assert!(is_rtp_proto(proto), "{proto}");
        }
        for proto in ["udptl", "TCP", "UDP/BFCP"] {
            assert!(!is_rtp_proto(proto), "{proto}");
        }
    }
}
