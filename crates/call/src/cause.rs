//! Why a call ended: [`HangupCause`] (what the SIP side sends and the CDR says) and
//! [`CallOutcome`] (how the call went, for metrics and the CDR).

use flow::HangupReason;

/// Why a leg is hung up or refused. One type maps to the three places a cause shows:
/// the SIP final status of an unanswered INVITE ([`HangupCause::sip_status`]), the Q.850
/// `Reason` header ([`HangupCause::q850`], RFC 3326) and the CDR's `hangup_cause`
/// ([`HangupCause::as_str`]).
///
/// | cause | SIP (unanswered) | Q.850 | CDR |
/// |---|---|---|---|
/// | `Flow(reason)` | see [`HangupReason`] | see [`HangupReason`] | `normal`, `busy`, `noanswer`, `failed`, `timeout`, `cancel`, `amd` |
/// | `FlowEnded` | 480 | 16 Normal Clearing | `normal` |
/// | `Machine` | 480 | 16 Answering machine | `amd` |
/// | `RemoteBye` | — | — | `normal` |
/// | `Cancelled` | — | — | `cancel` |
/// | `NoAck` | — | — | `failed` |
/// | `NoRoute` | 404 | — | `no_route` |
/// | `NoCircuit` | 503 | 34 No circuit available | `no_circuit` |
/// | `BadOffer` | 488 | 88 Incompatible destination | `incompatible_destination` |
/// | `NoCommonMedia` | 488 | 65 Bearer capability not implemented | `bearer_not_implemented` |
/// | `MediaError` | 500 | — | `media_error` |
/// | `Busy` (remote) | — | — | `busy` |
/// | `NoAnswer` (remote) | — | — | `noanswer` |
/// | `Rejected(status)` (remote) | — | — | `failed` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupCause {
    /// A `hangup` action with its reason.
    Flow(HangupReason),
    /// The flow finished, ran `stop`, or was stopped through the API (flows.md §2).
    FlowEnded,
    /// `amd` with `machine_handle: hangup` heard a machine.
    Machine,
    /// The other side sent BYE.
    RemoteBye,
    /// The caller cancelled before the answer.
    Cancelled,
    /// Our 2xx was never acknowledged (RFC 3261 §13.3.1.4).
    NoAck,
    /// No route takes the dialed number, or the route's flow is not loaded.
    NoRoute,
    /// No RTP port pair is free.
    NoCircuit,
    /// The offer is not valid SDP.
    BadOffer,
    /// The offer has no audio stream we can use.
    NoCommonMedia,
    /// The RTP session could not start.
    MediaError,
    /// An outbound leg was answered 486/600.
    Busy,
    /// An outbound leg rang out (408/480, or the ring timeout).
    NoAnswer,
    /// An outbound leg got another final status.
    Rejected(u16),
    /// An outbound leg reached `[outbound] max_call_duration_s`.
    MaxDuration,
}

impl HangupCause {
    /// The final status for an INVITE we have not answered yet.
    pub fn sip_status(self) -> u16 {
        match self {
            HangupCause::Flow(r) => r.sip_status(),
            HangupCause::FlowEnded | HangupCause::Machine => 480,
            HangupCause::NoRoute => 404,
            HangupCause::NoCircuit => 503,
            HangupCause::BadOffer | HangupCause::NoCommonMedia => 488,
            HangupCause::MediaError => 500,
            HangupCause::Busy => 486,
            HangupCause::NoAnswer => 480,
            HangupCause::Rejected(s) => s,
            HangupCause::MaxDuration => 480,
            HangupCause::RemoteBye | HangupCause::Cancelled | HangupCause::NoAck => 480,
        }
    }

    /// The Q.850 cause and text of the `Reason` header, when we send one.
    pub fn q850(self) -> Option<(u16, &'static str)> {
        match self {
            HangupCause::Flow(r) => {
                let cause = r.q850_cause();
                Some((cause, q850_text(cause)))
            }
            HangupCause::FlowEnded => Some((16, "Normal Clearing")),
            HangupCause::Machine => Some((16, "Answering machine")),
            HangupCause::NoCircuit => Some((34, "No circuit available")),
            HangupCause::BadOffer => Some((88, "Incompatible destination")),
            HangupCause::NoCommonMedia => Some((65, "Bearer capability not implemented")),
            HangupCause::MaxDuration => Some((102, "Recovery on timer expiry")),
            HangupCause::NoRoute
            | HangupCause::MediaError
            | HangupCause::RemoteBye
            | HangupCause::Cancelled
            | HangupCause::NoAck
            | HangupCause::Busy
            | HangupCause::NoAnswer
            | HangupCause::Rejected(_) => None,
        }
    }

    /// The CDR's `hangup_cause`.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupCause::Flow(r) => match r {
                HangupReason::Normal => "normal",
                HangupReason::Busy => "busy",
                HangupReason::Noanswer => "noanswer",
                HangupReason::Failed => "failed",
                HangupReason::Timeout => "timeout",
                HangupReason::Cancel => "cancel",
                HangupReason::Amd => "amd",
            },
            HangupCause::FlowEnded | HangupCause::RemoteBye => "normal",
            HangupCause::Machine => "amd",
            HangupCause::Cancelled => "cancel",
            HangupCause::NoAck | HangupCause::Rejected(_) => "failed",
            HangupCause::NoRoute => "no_route",
            HangupCause::NoCircuit => "no_circuit",
            HangupCause::BadOffer => "incompatible_destination",
            HangupCause::NoCommonMedia => "bearer_not_implemented",
            HangupCause::MediaError => "media_error",
            HangupCause::Busy => "busy",
            HangupCause::NoAnswer => "noanswer",
            HangupCause::MaxDuration => "max_duration",
        }
    }

    /// The cause of an outbound leg's final non-2xx status.
    pub fn of_status(status: u16) -> HangupCause {
        match status {
            486 | 600 => HangupCause::Busy,
            408 | 480 | 487 => HangupCause::NoAnswer,
            s => HangupCause::Rejected(s),
        }
    }
}

/// The Q.850 cause text for the causes switchyard sends.
pub fn q850_text(cause: u16) -> &'static str {
    match cause {
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "No answer from user",
        21 => "Call rejected",
        31 => "Normal, unspecified",
        34 => "No circuit available",
        41 => "Temporary failure",
        65 => "Bearer capability not implemented",
        88 => "Incompatible destination",
        102 => "Recovery on timer expiry",
        _ => "Unspecified",
    }
}

/// How a call went, for the CDR's `outcome` and the `switchyard_calls_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// Answered (or reached the flow) and ended normally.
    Completed,
    /// The caller cancelled before the answer.
    Cancelled,
    /// Refused with a final non-2xx status (no route, no media, no ports).
    Rejected,
    /// A transport or protocol failure (no ACK, BYE unanswered, media failure).
    Failed,
}

impl CallOutcome {
    /// The CDR's `outcome` and the metric's label.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Completed => "completed",
            CallOutcome::Cancelled => "cancelled",
            CallOutcome::Rejected => "rejected",
            CallOutcome::Failed => "failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_maps_to_sip_q850_and_a_cdr_string() {
        let all = [
            HangupCause::Flow(HangupReason::Busy),
            HangupCause::FlowEnded,
            HangupCause::Machine,
            HangupCause::NoCircuit,
            HangupCause::BadOffer,
            HangupCause::NoCommonMedia,
        ];
        let got: Vec<_> = all
            .iter()
            .map(|c| (c.sip_status(), c.q850().map(|q| q.0), c.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (486, Some(17), "busy"),
                (480, Some(16), "normal"),
                (480, Some(16), "amd"),
                (503, Some(34), "no_circuit"),
                (488, Some(88), "incompatible_destination"),
                (488, Some(65), "bearer_not_implemented"),
            ]
        );
        assert_eq!(HangupCause::NoRoute.q850(), None);
        assert_eq!(HangupCause::of_status(486), HangupCause::Busy);
        assert_eq!(HangupCause::of_status(487), HangupCause::NoAnswer);
        assert_eq!(HangupCause::of_status(503), HangupCause::Rejected(503));
    }
}
