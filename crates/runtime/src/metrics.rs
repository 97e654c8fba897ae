//! Process-wide counters, rendered in the Prometheus text format for `GET /metrics`.
//!
//! Per-packet counters are relaxed atomic adds on the media hot path; the exposition is written
//! by hand (a dozen series) rather than through a metrics registry, so that nothing on that path
//! looks up a name or takes a lock.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// How a call ended, for `switchyard_calls_total{outcome=...}`.
pub use call::CallOutcome;

const OUTCOMES: [CallOutcome; 4] = [
    CallOutcome::Completed,
    CallOutcome::Cancelled,
    CallOutcome::Rejected,
    CallOutcome::Failed,
];

#[derive(Debug, Default)]
pub struct Metrics {
    pub active_calls: AtomicI64,
    calls_by_outcome: [AtomicU64; 4],
    pub rtp_packets_sent: AtomicU64,
    pub rtp_packets_received: AtomicU64,
    pub rtp_send_errors: AtomicU64,
    pub rtp_malformed: AtomicU64,
    pub late_frames: AtomicU64,
    pub actions_failed: AtomicU64,
    pub tts_failures: AtomicU64,
}

/// Counters owned by other layers, sampled at render time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SipCounters {
    pub messages_received: u64,
    pub malformed_answered: u64,
    pub malformed_dropped: u64,
    pub invites_received: u64,
    pub invites_refused: u64,
}

impl Metrics {
    pub fn call_ended(&self, outcome: CallOutcome) {
        let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.calls_by_outcome[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn calls_total(&self, outcome: CallOutcome) -> u64 {
        let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(0);
        self.calls_by_outcome[i].load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, sip: SipCounters) -> String {
        let mut s = String::with_capacity(2048);
        let mut one = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        one(
            "switchyard_active_calls",
            "gauge",
            "Calls in progress.",
            self.active_calls.load(Ordering::Relaxed).to_string(),
        );
        one(
            "switchyard_rtp_packets_sent_total",
            "counter",
            "RTP packets sent.",
            load(&self.rtp_packets_sent),
        );
        one(
            "switchyard_rtp_packets_received_total",
            "counter",
            "RTP packets received.",
            load(&self.rtp_packets_received),
        );
        one(
            "switchyard_rtp_send_errors_total",
            "counter",
            "RTP packets the socket refused.",
            load(&self.rtp_send_errors),
        );
        one(
            "switchyard_rtp_malformed_total",
            "counter",
            "Datagrams on RTP ports that were not RTP.",
            load(&self.rtp_malformed),
        );
        one(
            "switchyard_late_frames_total",
            "counter",
            "Media frames sent more than 5 ms after their deadline, or skipped.",
            load(&self.late_frames),
        );
        one(
            "switchyard_actions_failed_total",
            "counter",
            "Flow actions that ended with outcome failed.",
            load(&self.actions_failed),
        );
        one(
            "switchyard_tts_failures_total",
            "counter",
            "Speech synthesis failures.",
            load(&self.tts_failures),
        );
        one(
            "switchyard_sip_messages_received_total",
            "counter",
            "SIP messages received.",
            sip.messages_received.to_string(),
        );
        one(
            "switchyard_sip_invites_received_total",
            "counter",
            "New INVITEs received.",
            sip.invites_received.to_string(),
        );
        one(
            "switchyard_sip_invites_refused_total",
            "counter",
            "INVITEs refused before a call was created (503, 483).",
            sip.invites_refused.to_string(),
        );
        let _ = writeln!(
            s,
            "# HELP switchyard_sip_malformed_total Malformed SIP messages.\n\
             # TYPE switchyard_sip_malformed_total counter\n\
             switchyard_sip_malformed_total{{action=\"answered\"}} {}\n\
             switchyard_sip_malformed_total{{action=\"dropped\"}} {}",
            sip.malformed_answered, sip.malformed_dropped
        );
        let _ = writeln!(
            s,
            "# HELP switchyard_calls_total Calls ended, by outcome.\n# TYPE switchyard_calls_total counter"
        );
        for o in OUTCOMES {
            let _ = writeln!(
                s,
                "switchyard_calls_total{{outcome=\"{}\"}} {}",
                o.as_str(),
                self.calls_total(o)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_series() {
        let m = Metrics::default();
        m.call_ended(CallOutcome::Cancelled);
        m.rtp_packets_sent.fetch_add(3, Ordering::Relaxed);
        let text = m.render(SipCounters::default());
        assert!(text.contains("switchyard_calls_total{outcome=\"cancelled\"} 1"));
        assert!(text.contains("switchyard_rtp_packets_sent_total 3"));
        assert!(text.contains("switchyard_active_calls 0"));
        assert!(text.contains("switchyard_late_frames_total 0"));
    }
}
