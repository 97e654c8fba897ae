//! UDP and TCP listeners, stream framing, and the [`Peer`] a message came from.

use crate::message::MAX_MESSAGE_BYTES;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// A `sip.listen` entry: `udp:0.0.0.0:5060`, `tcp:[::]:5060`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    pub transport: Transport,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    /// The Via transport token.
    pub fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

impl std::str::FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (proto, addr) = s
            .split_once(':')
            .ok_or_else(|| format!("listen address {s:?} must look like udp:0.0.0.0:5060"))?;
        let transport = match proto.to_ascii_lowercase().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            other => return Err(format!("unsupported SIP transport {other:?} in {s:?}")),
        };
        let addr = addr
            .parse()
            .map_err(|e| format!("bad socket address in {s:?}: {e}"))?;
        Ok(ListenAddr { transport, addr })
    }
}

/// Where a message came from, and how to answer it.
#[derive(Debug, Clone)]
pub enum Peer {
    Udp {
        socket: Arc<UdpSocket>,
        addr: SocketAddr,
    },
    Tcp {
        writer: mpsc::UnboundedSender<Vec<u8>>,
        addr: SocketAddr,
        local: SocketAddr,
    },
}

impl Peer {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Peer::Udp { addr, .. } | Peer::Tcp { addr, .. } => *addr,
        }
    }

    pub fn transport(&self) -> Transport {
        match self {
            Peer::Udp { .. } => Transport::Udp,
            Peer::Tcp { .. } => Transport::Tcp,
        }
    }

    /// The local socket address the message arrived on (may be unspecified for UDP).
    pub fn local(&self) -> SocketAddr {
        match self {
            Peer::Udp { socket, .. } => socket
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0))),
            Peer::Tcp { local, .. } => *local,
        }
    }

    /// Send without waiting; errors are returned for counting, never fatal.
    pub fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Peer::Udp { socket, addr } => socket.try_send_to(bytes, *addr).map(|_| ()),
            Peer::Tcp { writer, .. } => writer
                .send(bytes.to_vec())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
        }
    }
}

/// What a stream reader produced.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// One complete message.
    Message(Vec<u8>),
    /// The stream carries something that cannot be framed (too large, bad Content-Length):
    /// answer if possible and close.
    Broken(Vec<u8>),
}

/// Split a byte stream into SIP messages by the empty line and Content-Length (RFC 3261 §18.3).
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
}

impl StreamFramer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped.
        let skip = self
            .buf
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.buf.drain(..skip);
        let head_end = match self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => i + 4,
            None => {
                if self.buf.len() > MAX_MESSAGE_BYTES {
                    return Some(Frame::Broken(std::mem::take(&mut self.buf)));
                }
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]);
        let mut length = Some(0usize);
        for line in head.split("\r\n").skip(1) {
            if let Some((n, v)) = line.split_once(':') {
                let n = n.trim();
                if n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("l") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let Some(length) = length else {
            return Some(Frame::Broken(std::mem::take(&mut self.buf)));
        };
        if head_end + length > MAX_MESSAGE_BYTES {
            return Some(Frame::Broken(std::mem::take(&mut self.buf)));
        }
        if self.buf.len() < head_end + length {
            return None;
        }
        let rest = self.buf.split_off(head_end + length);
        Some(Frame::Message(std::mem::replace(&mut self.buf, rest)))
    }
}

/// Read frames from one TCP connection, handing each to `on_frame`; writes come from the
/// returned peer's channel. Ends when the connection closes or breaks.
pub async fn serve_tcp_connection<F>(stream: TcpStream, mut on_frame: F)
where
    F: FnMut(Frame, &Peer),
{
    let (Ok(addr), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
        return;
    };
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let peer = Peer::Tcp {
        writer: tx,
        addr,
        local,
    };
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut framer = StreamFramer::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        let mut broken = false;
        while let Some(frame) = framer.next_frame() {
            broken = matches!(frame, Frame::Broken(_));
            on_frame(frame, &peer);
            if broken {
                break;
            }
        }
        if broken {
            break;
        }
    }
    drop(peer);
    let _ = write_task.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_parse() {
        let a: ListenAddr = "udp:0.0.0.0:5060".parse().unwrap();
        assert_eq!(a.transport, Transport::Udp);
        let b: ListenAddr = "tcp:[::1]:5070".parse().unwrap();
        assert_eq!(b.addr.port(), 5070);
        assert!("tls:0.0.0.0:5061".parse::<ListenAddr>().is_err());
        assert!("udp:nonsense".parse::<ListenAddr>().is_err());
    }

    #[test]
    fn framer_splits_back_to_back_messages_and_waits_for_bodies() {
        let mut f = StreamFramer::default();
        f.push(b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nContent-Length: 0\r\n\r\nINFO sip:a SIP/2.0\r\nl: 4\r\n\r\nab");
        assert!(matches!(f.next_frame(), Some(Frame::Message(m)) if m.starts_with(b"OPTIONS")));
        assert_eq!(f.next_frame(), None);
        f.push(b"cd");
        assert!(matches!(f.next_frame(), Some(Frame::Message(m)) if m.ends_with(b"abcd")));
        assert_eq!(f.next_frame(), None);
    }

    #[test]
    fn framer_breaks_on_oversized_or_unparsable_length() {
        let mut f = StreamFramer::default();
        f.push(b"INVITE sip:a SIP/2.0\r\nContent-Length: 99999999\r\n\r\n");
        assert!(matches!(f.next_frame(), Some(Frame::Broken(_))));
        let mut g = StreamFramer::default();
        g.push(b"INVITE sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n");
        assert!(matches!(g.next_frame(), Some(Frame::Broken(_))));
        let mut h = StreamFramer::default();
        h.push(&vec![b'a'; MAX_MESSAGE_BYTES + 1]);
        assert!(matches!(h.next_frame(), Some(Frame::Broken(_))));
    }
}
