//! The RTP port pool: one even/odd port pair per call from `[rtp]`, returned on drop.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Hands out RTP/RTCP port pairs. Cloning shares the pool.
#[derive(Debug, Clone)]
pub struct PortPool {
    free: Arc<Mutex<VecDeque<u16>>>,
}

/// A bound RTP socket and its RTCP sibling; the pair returns to the pool when dropped.
#[derive(Debug)]
pub struct RtpPorts {
    pub rtp: std::net::UdpSocket,
    /// Bound so that RTCP from the peer is absorbed rather than answered with ICMP errors.
    pub rtcp: std::net::UdpSocket,
    pub port: u16,
    pool: PortPool,
}

impl Drop for RtpPorts {
    fn drop(&mut self) {
        if let Ok(mut free) = self.pool.free.lock() {
            free.push_back(self.port);
        }
    }
}

impl PortPool {
    /// Even ports in `[min, max)` whose odd sibling is also in range.
    pub fn new(min: u16, max: u16) -> PortPool {
        let start = min + (min % 2);
        let free = (start..max.saturating_sub(1)).step_by(2).collect();
        PortPool {
            free: Arc::new(Mutex::new(free)),
        }
    }

    pub fn available(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Bind the next free pair on `ip`. Pairs that cannot be bound (another process holds them)
    /// go to the back of the queue. `None` when every pair is taken.
    pub fn allocate(&self, ip: IpAddr) -> Option<RtpPorts> {
        let attempts = self.available();
        for _ in 0..attempts {
            let port = self.free.lock().ok()?.pop_front()?;
            let rtp = std::net::UdpSocket::bind(SocketAddr::new(ip, port));
            let rtcp = std::net::UdpSocket::bind(SocketAddr::new(ip, port + 1));
            match (rtp, rtcp) {
                (Ok(rtp), Ok(rtcp)) => {
                    return Some(RtpPorts {
                        rtp,
                        rtcp,
                        port,
                        pool: self.clone(),
                    })
                }
                _ => {
                    if let Ok(mut free) = self.free.lock() {
                        free.push_back(port);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_even_and_returned_on_drop() {
        let pool = PortPool::new(41001, 41011);
        assert_eq!(pool.available(), 4); // 41002, 41004, 41006, 41008
        let a = pool.allocate("127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(a.port % 2, 0);
        assert_eq!(pool.available(), 3);
        drop(a);
        assert_eq!(pool.available(), 4);
    }
}
