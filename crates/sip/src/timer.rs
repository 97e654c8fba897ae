//! RFC 3261 §17 timer values, named as the RFC names them.

use std::time::Duration;

/// Transaction timer base values (RFC 3261 Table 4). Tests shrink nothing: they advance a fake
/// clock instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate: first retransmission interval.
    pub t1: Duration,
    /// Maximum retransmission interval for non-INVITE requests and INVITE responses.
    pub t2: Duration,
    /// Maximum time a message stays in the network.
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// Timer B/F/H/J: 64·T1, the give-up time of a transaction.
    pub fn timeout_64t1(&self) -> Duration {
        self.t1 * 64
    }
}

/// A message retransmitted on a doubling interval capped at T2 until stopped or `give_up`.
#[derive(Debug, Clone)]
pub struct Retransmit {
    pub bytes: Vec<u8>,
    pub next: std::time::Instant,
    pub interval: Duration,
    pub give_up: std::time::Instant,
    /// Whether the message is actually resent on `next` (false on reliable transports, where
    /// only `give_up` matters).
    pub resend: bool,
}

impl Retransmit {
    pub fn start(
        bytes: Vec<u8>,
        now: std::time::Instant,
        timers: &Timers,
        resend: bool,
    ) -> Retransmit {
        Retransmit {
            bytes,
            next: now + timers.t1,
            interval: timers.t1,
            give_up: now + timers.timeout_64t1(),
            resend,
        }
    }

    /// The next instant this retransmission wants attention.
    pub fn deadline(&self) -> std::time::Instant {
        if self.resend {
            self.next.min(self.give_up)
        } else {
            self.give_up
        }
    }

    /// Advance past `now`; returns the bytes to resend, if a resend is due.
    pub fn due(&mut self, now: std::time::Instant, t2: Duration) -> Option<&[u8]> {
        if !self.resend || now < self.next {
            return None;
        }
        self.interval = (self.interval * 2).min(t2);
        self.next = now + self.interval;
        Some(&self.bytes)
    }

    pub fn expired(&self, now: std::time::Instant) -> bool {
        now >= self.give_up
    }
}
