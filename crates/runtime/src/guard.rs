//! The private-address guard of outbound HTTP (custom-actions.md §3, "Limits and safety").
//!
//! A flow author controls URLs, so without a guard a flow could reach the server's own
//! loopback services, the LAN or a cloud metadata endpoint. Destinations are checked after DNS
//! resolution (every address a name resolves to) and again on every redirect. Entries of
//! `http.allow_private` (an address or a CIDR) are exempt.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, or an `http.allow_private` entry is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// An `http.allow_private` entry is not an address: fix the configuration.
    #[error("{0:?} is not an IP address or CIDR block")]
    NotAnAddress(String),
    /// An `http.allow_private` entry has a prefix longer than the address: fix the
    /// configuration.
    #[error("bad prefix length in {0:?}")]
    BadPrefix(String),
    /// The destination is not a public address and not allowed: the request is refused.
    #[error("destination {ip} is a {kind} address (add it to http.allow_private to permit it)")]
    Refused {
        /// The address.
        ip: IpAddr,
        /// `loopback`, `private`, `link-local or metadata`, `non-unicast`, ...
        kind: &'static str,
    },
}

/// A CIDR block `addr/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    /// Parse `"10.0.0.0/8"`, `"127.0.0.1"` (a /32), `"fd00::/8"`.
    pub fn parse(s: &str) -> Result<Cidr, GuardError> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| GuardError::NotAnAddress(s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match l {
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| GuardError::BadPrefix(s.to_string()))?,
            None => max,
        };
        Ok(Cidr { addr, len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Which destinations outbound HTTP may reach.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Vec<Cidr>,
}

impl Guard {
    /// A guard exempting `allow_private` entries; an unparsable entry is a config error.
    pub fn new(allow_private: &[String]) -> Result<Guard, GuardError> {
        let allow = allow_private
            .iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<_, _>>()?;
        Ok(Guard { allow })
    }

    /// `Err` with the reason when `ip` is loopback, private, link-local, metadata or otherwise
    /// not a public unicast address, and not allowed by configuration.
    pub fn check(&self, ip: IpAddr) -> Result<(), GuardError> {
        if self.allow.iter().any(|c| c.contains(ip)) {
            return Ok(());
        }
        match forbidden(canonical(ip)) {
            Some(kind) => Err(GuardError::Refused { ip, kind }),
            None => Ok(()),
        }
    }
}

fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
        Some("private")
    } else if ip.is_link_local() {
        // 169.254.169.254 (cloud metadata) is in here.
        Some("link-local or metadata")
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || o[0] == 0 {
        Some("non-unicast")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("non-unicast")
    } else if s[0] & 0xfe00 == 0xfc00 {
        // fc00::/7 unique local, which includes AWS's fd00:ec2::254 metadata address.
        Some("private")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_are_refused() {
        let g = Guard::default();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(g.check(ip(bad)).is_err(), "{bad} should be refused");
        }
        for good in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(g.check(ip(good)).is_ok(), "{good} should be allowed");
        }
    }

    #[test]
    fn allow_list_exempts_addresses_and_blocks() {
        let g = Guard::new(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        assert!(g.check(ip("127.0.0.1")).is_ok());
        assert!(g.check(ip("127.0.0.2")).is_err());
        assert!(g.check(ip("10.200.0.1")).is_ok());
        assert!(g.check(ip("192.168.0.1")).is_err());
        assert!(Guard::new(&["nonsense".into()]).is_err());
        assert!(Guard::new(&["10.0.0.0/33".into()]).is_err());
    }
}
