//! A raw-socket SIP caller for tests that need to see RTP themselves: INVITE with PCMU and
//! telephone-event, ACK, then the test reads and writes RTP directly.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

pub struct Caller {
    pub sip: UdpSocket,
    pub rtp: UdpSocket,
    pub server_rtp: u16,
}

/// Dial 127.0.0.1:`server_port`, wait for the 200 OK and ACK it.
pub fn call(server_port: u16, call_id: &str) -> Caller {
    let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    sip.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let (lp, rp) = (
        sip.local_addr().unwrap().port(),
        rtp.local_addr().unwrap().port(),
    );
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {rp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let invite = format!(
        "INVITE sip:1@127.0.0.1:{server_port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-{call_id}\r\n\
From: <sip:w@127.0.0.1>;tag=w1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
Contact: <sip:w@127.0.0.1:{lp}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sip.send_to(invite.as_bytes(), ("127.0.0.1", server_port))
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        let Ok((n, _)) = sip.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 200") {
            continue;
        }
        let to = text
            .lines()
            .find(|l| l.starts_with("To:"))
            .unwrap()
            .to_string();
        let server_rtp = text
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|l| l.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap();
        let ack = format!(
            "ACK sip:1@127.0.0.1:{server_port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-a{call_id}\r\n\
From: <sip:w@127.0.0.1>;tag=w1\r\n{to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        sip.send_to(ack.as_bytes(), ("127.0.0.1", server_port))
            .unwrap();
        return Caller {
            sip,
            rtp,
            server_rtp,
        };
    }
    panic!("no 200 OK");
}

/// (payload type, marker, timestamp, payload) of every RTP packet within `for_ms`.
pub fn collect(rtp: &UdpSocket, for_ms: u64) -> Vec<(u8, bool, u32, Vec<u8>)> {
    rtp.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(for_ms) {
        if let Ok((n, _)) = rtp.recv_from(&mut buf) {
            if n >= 12 {
                out.push((
                    buf[1] & 0x7f,
                    buf[1] & 0x80 != 0,
                    u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
                    buf[12..n].to_vec(),
                ));
            }
        }
    }
    out
}

/// One RFC 4733 packet (PT 101) for `digit`.
pub fn event_packet(
    seq: u16,
    ts: u32,
    digit: u8,
    end: bool,
    duration: u16,
    marker: bool,
) -> Vec<u8> {
    let mut p = vec![0x80, if marker { 0x80 | 101 } else { 101 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x0102_0304u32.to_be_bytes());
    p.extend_from_slice(&[digit, if end { 0x80 | 10 } else { 10 }]);
    p.extend_from_slice(&duration.to_be_bytes());
    p
}

/// A raw-socket SIP callee: answers one INVITE with PCMU, so the test reads what the server
/// sends over RTP itself.
pub struct Callee {
    pub sip: UdpSocket,
    pub rtp: UdpSocket,
}

/// The header lines of `msg` named `name` (case-insensitive), each ending in CRLF.
fn headers(msg: &str, name: &str) -> String {
    msg.lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
        .map(|l| format!("{l}\r\n"))
        .collect()
}

impl Callee {
    pub fn bind() -> Callee {
        let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
        sip.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Callee {
            sip,
            rtp: UdpSocket::bind("127.0.0.1:0").unwrap(),
        }
    }

    pub fn uri(&self) -> String {
        format!(
            "sip:bob@127.0.0.1:{}",
            self.sip.local_addr().unwrap().port()
        )
    }

    /// The next request whose method is `method` within `within`, and where it came from.
    pub fn request(
        &self,
        method: &str,
        within: Duration,
    ) -> Option<(String, std::net::SocketAddr)> {
        let mut buf = vec![0u8; 8192];
        let start = Instant::now();
        while start.elapsed() < within {
            let Ok((n, from)) = self.sip.recv_from(&mut buf) else {
                continue;
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with(&format!("{method} ")) {
                return Some((text, from));
            }
        }
        None
    }

    /// A response to `request` with `status` and the lines in `extra`, To-tagged.
    pub fn respond(&self, request: &str, to: std::net::SocketAddr, status: &str, extra: &str) {
        let to_header = headers(request, "to");
        let tagged = if to_header.contains("tag=") {
            to_header
        } else {
            format!("{};tag=callee1\r\n", to_header.trim_end())
        };
        // A UAS copies Record-Route into its responses (RFC 3261 §12.1.1).
        let msg = format!(
            "SIP/2.0 {status}\r\n{}{}{}{tagged}{}{}{extra}",
            headers(request, "via"),
            headers(request, "record-route"),
            headers(request, "from"),
            headers(request, "call-id"),
            headers(request, "cseq"),
        );
        let msg = if extra.is_empty() {
            format!("{msg}Content-Length: 0\r\n\r\n")
        } else {
            msg
        };
        self.sip.send_to(msg.as_bytes(), to).unwrap();
    }

    /// Wait for the INVITE, ring `ring_ms`, answer with PCMU at our RTP socket. The INVITE.
    pub fn answer(&self, ring_ms: u64) -> String {
        let (invite, from) = self
            .request("INVITE", Duration::from_secs(5))
            .expect("an INVITE");
        self.respond(&invite, from, "180 Ringing", "");
        std::thread::sleep(Duration::from_millis(ring_ms));
        let port = self.rtp.local_addr().unwrap().port();
        let sip_port = self.sip.local_addr().unwrap().port();
        let body = format!(
            "v=0\r\no=callee 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        );
        let extra = format!(
            "Contact: <sip:bob@127.0.0.1:{sip_port}>\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.respond(&invite, from, "200 OK", &extra);
        invite
    }

    /// Wait for the server's BYE and answer it 200; whether it came.
    pub fn answer_bye(&self, within: Duration) -> bool {
        match self.request("BYE", within) {
            Some((bye, from)) => {
                self.respond(&bye, from, "200 OK", "");
                true
            }
            None => false,
        }
    }
}
