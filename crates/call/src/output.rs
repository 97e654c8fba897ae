//! What goes in and out of the core besides I/O: dialog events in ([`LegEvent`]), and the
//! typed outputs ([`Output`]) the shell performs in order.

use media::session::MediaCommand;

use crate::cause::{CallOutcome, HangupCause};
use crate::event::Published;
use crate::io::{IoId, IoRequest};
use crate::leg::LegId;
use crate::record::{CallRecord, Snapshot};

/// What a leg's SIP dialog reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LegEvent {
    /// Incoming: the ACK for our 2xx arrived (`sdp`: the answer to our offer, when we made
    /// one). Outgoing: not used.
    Acked {
        /// The ACK's body.
        sdp: Option<Vec<u8>>,
    },
    /// A re-INVITE or UPDATE: answer it with [`SipCommand::AnswerReoffer`] quoting `cseq`.
    ReOffer {
        /// The request's CSeq.
        cseq: u32,
        /// Its offer. `None` in a re-INVITE asks us to offer; in an UPDATE it is a session
        /// refresh, answered without SDP (RFC 3311, RFC 6337).
        sdp: Option<Vec<u8>>,
        /// It came in an UPDATE.
        update: bool,
    },
    /// An INFO request (200 already sent).
    Info {
        /// Its Content-Type.
        content_type: String,
        /// Its body.
        body: Vec<u8>,
    },
    /// Our re-INVITE was answered (`Ok`: the peer's SDP) or refused (`Err`: the status).
    ReInviteAnswered {
        /// The outcome.
        result: Result<Option<Vec<u8>>, u16>,
    },
    /// Outgoing: 180, or 183 (with SDP: early media).
    Progress {
        /// The status.
        status: u16,
        /// The SDP of a 183.
        sdp: Option<Vec<u8>>,
    },
    /// Outgoing: 2xx (the ACK is sent by the dialog).
    Answered {
        /// The answer to our offer.
        sdp: Option<Vec<u8>>,
    },
    /// Outgoing: a final non-2xx status.
    Refused {
        /// The status.
        status: u16,
    },
    /// Incoming: the caller cancelled before the answer (200 and 487 already sent).
    Cancelled,
    /// The peer hung up (200 already sent).
    RemoteBye,
    /// Incoming: our 2xx was never acknowledged.
    AckTimeout,
    /// Our BYE completed: its status, or `None` when it timed out.
    ByeCompleted {
        /// The final status.
        status: Option<u16>,
    },
    /// The dialog is over; nothing follows.
    Terminated,
}

/// A SIP action on one leg's dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipCommand {
    /// Send 180 Ringing.
    Ring,
    /// Send 200 with our SDP.
    Answer {
        /// Our SDP.
        sdp: Vec<u8>,
    },
    /// Refuse the INVITE with `cause.sip_status()` and its Q.850 reason.
    Reject {
        /// Why.
        cause: HangupCause,
    },
    /// End the leg: BYE when answered, else the final status of `cause` (incoming) or CANCEL
    /// (outgoing); with the Q.850 reason of `cause`.
    Hangup {
        /// Why.
        cause: HangupCause,
    },
    /// Outgoing: send the INVITE with our offer (after [`Output::Dial`] and the leg's media).
    Invite {
        /// Our offer.
        sdp: Vec<u8>,
    },
    /// Answer the re-offer with CSeq `cseq`: our SDP, or a final status (488).
    AnswerReoffer {
        /// The re-offer's CSeq.
        cseq: u32,
        /// Our answer, or the status refusing it.
        answer: Result<Vec<u8>, u16>,
    },
}

/// A new outbound leg to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialRequest {
    /// The call id of the new leg (its CDR).
    pub call_id: String,
    /// Where: the address object's `type` (`tel`, `sip`, `extension`, `agent`, ...).
    pub destination_type: String,
    /// Where: the number, URI, user or id.
    pub destination: String,
    /// Caller id: the source address's target, if the flow gives one.
    pub source: Option<String>,
}

/// Something the shell must do, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Act on a leg's SIP dialog.
    Sip {
        /// The leg.
        leg: LegId,
        /// What to do.
        command: SipCommand,
    },
    /// Command a leg's RTP session.
    Media {
        /// The leg.
        leg: LegId,
        /// What to do.
        command: MediaCommand,
    },
    /// Perform I/O; report with [`crate::CallCore::handle_io`] quoting `id`.
    Io {
        /// Quote it in the result.
        id: IoId,
        /// What to do.
        request: IoRequest,
    },
    /// Place an outbound leg: give it media with [`crate::CallCore::handle_leg_media`] (its
    /// INVITE follows as [`SipCommand::Invite`]), then report its progress with
    /// [`crate::CallCore::handle_leg`] under `leg`. A shell that cannot dial reports
    /// [`LegEvent::Refused`] with 503.
    Dial {
        /// The new leg's name.
        leg: LegId,
        /// Where to.
        request: DialRequest,
    },
    /// Relay media between two legs (each hears the other), until [`Output::Unbridge`].
    Bridge {
        /// The two legs.
        legs: [LegId; 2],
    },
    /// Stop relaying media between two legs.
    Unbridge {
        /// The two legs.
        legs: [LegId; 2],
    },
    /// Publish an event.
    Event(Published),
    /// The call's record changed (status, answer): the live view should show
    /// [`crate::CallCore::record`].
    CallUpdated,
    /// An action failed (for `switchyard_actions_failed_total`).
    ActionFailed,
    /// The activeflow ended: keep its final state.
    ActiveflowEnded(Box<Snapshot>),
    /// The call ended: keep its CDR. The last output of a call.
    CallEnded {
        /// The final record.
        record: Box<CallRecord>,
        /// How it went.
        outcome: CallOutcome,
    },
}
