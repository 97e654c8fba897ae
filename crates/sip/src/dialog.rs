//! The UAS side of one call: the INVITE server transaction, the dialog it creates, and the
//! in-dialog transactions that follow (ACK, CANCEL, BYE both ways, re-INVITE, UPDATE, INFO).
//!
//! A pure state machine in the style of the rest of switchyard: inputs through `on_request`,
//! `on_response` and the command methods, all taking `now`; outputs drained from `poll_output`;
//! the next deadline from `poll_timeout`, handled by `on_timeout(now)`. The shell owns sockets.
//!
//! RFC 3261: §13.3.1.4 (2xx retransmitted until ACK), §17.2.1 (Timer G/H/I), §9.2 (CANCEL →
//! 200 + 487), §12.2.2 (CSeq ordering), §14.2 (re-INVITE while one is pending → 500), §15
//! (no BYE before the ACK of our 2xx), §17.1.2 (Timer E/F for our BYE); RFC 3311 (UPDATE).

use crate::in_dialog::{Ending, InDialog, Parties};
use crate::message::{self, InboundRequest, InboundResponse, ResponseBuilder};
use crate::timer::{Retransmit, Timers};
use rsipstack::sip::Method;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

/// What the dialog tells the call it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum DialogEvent {
    /// The ACK for our 2xx arrived: media may flow both ways. `sdp` is the caller's answer
    /// when the INVITE carried no offer (RFC 3264 §5 late offer).
    Acked { sdp: Option<Vec<u8>> },
    /// The caller cancelled before we answered; 200 (CANCEL) and 487 (INVITE) are already sent.
    Cancelled,
    /// The caller hung up; 200 is already sent.
    RemoteBye { reason: Option<String> },
    /// A re-INVITE or UPDATE carrying a new offer (or none: we must offer). Answer it with
    /// [`UasDialog::answer_reoffer`] quoting `cseq`.
    ReOffer {
        cseq: u32,
        method: ReOfferMethod,
        sdp: Option<Vec<u8>>,
    },
    /// An INFO request (e.g. `application/dtmf-relay`); 200 is already sent.
    Info { content_type: String, body: Vec<u8> },
    /// No ACK came for our 2xx within 64·T1 (RFC 3261 §13.3.1.4). A BYE follows automatically.
    AckTimeout,
    /// Our BYE completed: the final status, or `None` when Timer F fired.
    ByeCompleted { status: Option<u16> },
    /// Our re-INVITE was answered: the peer's SDP answer (`Ok`), or the final status that
    /// refused it (`Err`; 408 when it timed out, 491 when an offer was already in flight).
    ReInviteAnswered {
        result: Result<Option<Vec<u8>>, u16>,
    },
    /// Outgoing: a provisional response (180, or 183 with SDP for early media).
    Progress { status: u16, sdp: Option<Vec<u8>> },
    /// Outgoing: the callee answered (the ACK is sent); `sdp` answers our offer.
    Answered { sdp: Option<Vec<u8>> },
    /// Outgoing: a final non-2xx status (408 when nothing answered, 487 after our CANCEL).
    Refused { status: u16 },
    /// The dialog has ended; no further events follow.
    Terminated,
}

/// Which request carried a re-offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReOfferMethod {
    Invite,
    Update,
}

/// Where the dialog is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE received, no final response yet (provisional responses allowed).
    Proceeding,
    /// 2xx sent, waiting for the ACK.
    Accepted,
    /// ACK received: the call is up.
    Confirmed,
    /// Final non-2xx sent, or BYE exchanged. Only retransmissions are answered.
    Ended,
}

/// Fixed facts about our side, provided by the shell.
#[derive(Debug, Clone)]
pub struct Local {
    /// Our To-tag for this dialog (random, from the shell).
    pub tag: String,
    /// The Contact header value we send, e.g. `<sip:switchyard@203.0.113.5:5060>`.
    pub contact: String,
    /// `host:port` for the Via of requests we send.
    pub via_sent_by: String,
    /// `UDP` or `TCP`.
    pub transport: &'static str,
    pub user_agent: String,
    /// Whether the transport is reliable (TCP/TLS): no retransmissions of our messages except
    /// 2xx to INVITE (RFC 3261 §13.3.1.4 applies to every transport).
    pub reliable: bool,
}

/// One UAS dialog. See the module documentation.
#[derive(Debug)]
pub struct UasDialog {
    local: Local,
    timers: Timers,
    invite: InboundRequest,
    source: SocketAddr,
    state: State,
    /// Last response to the initial INVITE, resent on retransmitted INVITEs.
    last_invite_response: Vec<u8>,
    /// 2xx retransmission (TU) or non-2xx Timer G/H for the initial INVITE.
    invite_retransmit: Option<Retransmit>,
    invite_final: Option<u16>,
    /// Requests within the dialog, both ways.
    in_dialog: InDialog,
    /// A BYE requested before the ACK of our 2xx (RFC 3261 §15): sent when the ACK arrives.
    bye_after_ack: Option<String>,
    linger_until: Option<Instant>,
    terminated_emitted: bool,
    outputs: VecDeque<Output>,
}

/// An ended dialog reduced to what answering retransmissions needs (see
/// [`UasDialog::tombstone`]).
#[derive(Debug, Clone)]
pub struct Tombstone {
    /// Stop answering after this instant (Timer J).
    pub until: Instant,
    /// `(CSeq, method, final response)` of the last in-dialog requests.
    pub responses: Vec<(u32, Method, Vec<u8>)>,
}

impl Tombstone {
    /// The cached response for a retransmitted request, if it is one.
    pub fn response_for(&self, cseq: u32, method: Method) -> Option<&[u8]> {
        self.responses
            .iter()
            .find(|(c, m, _)| *c == cseq && *m == method)
            .map(|(_, _, b)| b.as_slice())
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send these bytes to the dialog's peer over the dialog's transport.
    Send(Vec<u8>),
    /// Deliver this event to the call.
    Event(DialogEvent),
}

/// A Q.850 cause for the `Reason` header (RFC 3326).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Q850 {
    pub cause: u16,
    pub text: String,
}

impl Q850 {
    pub fn header_value(&self) -> String {
        format!(
            "Q.850;cause={};text=\"{}\"",
            self.cause,
            self.text.replace(['"', '\r', '\n'], "")
        )
    }
}

impl UasDialog {
    /// Start the dialog for `invite`, whose `100 Trying` the shell already sent as
    /// `trying_bytes` (resent on retransmissions until a later response replaces it).
    pub fn new(
        invite: InboundRequest,
        source: SocketAddr,
        local: Local,
        timers: Timers,
        trying_bytes: Vec<u8>,
    ) -> Self {
        let req = &invite.req;
        let parties = Parties {
            call_id: invite.call_id.clone(),
            us: format!(
                "{};tag={}",
                message::header_value(req, "To").unwrap_or_default(),
                local.tag
            ),
            them: message::header_value(req, "From").unwrap_or_default(),
            target: message::header_value(req, "Contact")
                .and_then(|c| message::uri_of(&c))
                .unwrap_or_else(|| req.uri.to_string()),
            routes: req
                .headers
                .iter()
                .filter_map(|h| match h {
                    rsipstack::sip::Header::RecordRoute(v) => Some(v.value().to_string()),
                    _ => None,
                })
                .collect(),
        };
        let in_dialog = InDialog::new(local.clone(), parties, timers, source, 0, invite.cseq);
        UasDialog {
            local,
            timers,
            source,
            state: State::Proceeding,
            last_invite_response: trying_bytes,
            invite_retransmit: None,
            invite_final: None,
            in_dialog,
            bye_after_ack: None,
            linger_until: None,
            terminated_emitted: false,
            outputs: VecDeque::new(),
            invite,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn invite(&self) -> &InboundRequest {
        &self.invite
    }

    pub fn local_tag(&self) -> &str {
        &self.local.tag
    }

    /// Whether a 2xx was sent for the initial INVITE.
    pub fn answered(&self) -> bool {
        matches!(self.invite_final, Some(s) if (200..300).contains(&s))
    }

    /// True once the dialog has ended and no retransmission can still need an answer.
    pub fn is_finished(&self, now: Instant) -> bool {
        self.state == State::Ended
            && self.invite_retransmit.is_none()
            && !self.in_dialog.bye_pending()
            && self.linger_until.is_none_or(|t| now >= t)
    }

    /// Once the dialog has ended with nothing left to retransmit, what its remaining linger
    /// needs: until when, and the final responses to resend for retransmitted requests. The
    /// shell can then drop the dialog (and its parsed INVITE) and keep only this.
    pub fn tombstone(&self) -> Option<Tombstone> {
        if self.state != State::Ended
            || self.invite_retransmit.is_some()
            || self.in_dialog.bye_pending()
            || !self.outputs.is_empty()
        {
            return None;
        }
        Some(Tombstone {
            until: self.linger_until?,
            responses: self.in_dialog.recent().cloned().collect(),
        })
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest instant `on_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.invite_retransmit.as_ref().map(Retransmit::deadline),
            self.in_dialog.poll_timeout(),
            self.linger_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- commands from the call ----

    /// Send a provisional response (180/183), optionally with SDP (early media).
    pub fn provisional(&mut self, status: u16, sdp: Option<Vec<u8>>) {
        if self.state != State::Proceeding || !(101..200).contains(&status) {
            return;
        }
        let mut b = self.invite_response(status);
        if let Some(sdp) = sdp {
            b = b.body("application/sdp", sdp);
        }
        let bytes = b.build();
        self.last_invite_response.clone_from(&bytes);
        self.send(bytes);
    }

    /// Answer with 200 OK and our SDP; retransmitted until the ACK (RFC 3261 §13.3.1.4).
    pub fn answer(&mut self, now: Instant, sdp: Vec<u8>) {
        if self.state != State::Proceeding {
            return;
        }
        let bytes = self
            .invite_response(200)
            .header("Allow", message::ALLOW)
            .body("application/sdp", sdp)
            .build();
        self.invite_final = Some(200);
        self.state = State::Accepted;
        self.last_invite_response.clone_from(&bytes);
        self.invite_retransmit = Some(Retransmit::start(bytes.clone(), now, &self.timers, true));
        self.send(bytes);
    }

    /// Refuse the call with a final non-2xx response (`reason` goes into a `Reason` header).
    pub fn reject(&mut self, now: Instant, status: u16, reason: Option<Q850>) {
        if self.state != State::Proceeding || status < 300 {
            return;
        }
        let mut b = self.invite_response(status);
        if status == 503 {
            b = b.header("Retry-After", "5");
        }
        if status == 405 {
            b = b.header("Allow", message::ALLOW);
        }
        if let Some(r) = reason {
            b = b.header("Reason", &r.header_value());
        }
        self.final_non_2xx(now, b.build(), status);
    }

    /// End the call from our side: BYE once answered (after the ACK), else a final response
    /// `unanswered_status` (e.g. 480 or 487).
    pub fn hangup(&mut self, now: Instant, unanswered_status: u16, reason: Option<Q850>) {
        match self.state {
            State::Proceeding => self.reject(now, unanswered_status, reason),
            State::Accepted => {
                self.bye_after_ack = Some(reason.map(|r| r.header_value()).unwrap_or_default())
            }
            State::Confirmed => self.send_bye(now, reason.map(|r| r.header_value())),
            State::Ended => {}
        }
    }

    /// Answer the re-offer received with `cseq`: `Ok(sdp)` sends 200 with our answer (an
    /// empty one for an UPDATE without offer: a session refresh), `Err(status)` refuses it
    /// (e.g. 488) and keeps the previous session.
    pub fn answer_reoffer(&mut self, now: Instant, cseq: u32, answer: Result<Vec<u8>, u16>) {
        self.in_dialog
            .answer_reoffer(now, cseq, answer, &mut self.outputs);
    }

    /// Send a re-INVITE with a new offer of ours (hold, resume) once the call is up; the
    /// outcome comes as [`DialogEvent::ReInviteAnswered`].
    pub fn reinvite(&mut self, now: Instant, sdp: Vec<u8>) {
        if self.state == State::Confirmed {
            self.in_dialog.send_reinvite(now, sdp, &mut self.outputs);
        } else {
            self.emit(DialogEvent::ReInviteAnswered { result: Err(491) });
        }
    }

    // ---- inputs from the network ----

    /// Handle a request routed to this dialog (same Call-ID).
    pub fn on_request(&mut self, now: Instant, req: InboundRequest) {
        let method = req.req.method;
        match method {
            Method::Ack => self.on_ack(now, &req),
            Method::Cancel => self.on_cancel(now, &req),
            Method::Invite if req.to_tag.is_none() || req.branch == self.invite.branch => {
                // A retransmission of the initial INVITE: same transaction, same answer.
                if req.branch == self.invite.branch {
                    let bytes = self.last_invite_response.clone();
                    self.send(bytes);
                } else {
                    // A second INVITE with the same Call-ID but a new branch and no tag:
                    // a merged request (RFC 3261 §8.2.2.2).
                    let b = ResponseBuilder::new(&req, 482, Some(&self.local.tag), self.source)
                        .reason("Loop Detected");
                    self.send(b.build());
                }
            }
            _ => self.on_in_dialog_request(now, req),
        }
    }

    /// Handle a response routed to this dialog (to our BYE or re-INVITE).
    pub fn on_response(&mut self, now: Instant, resp: InboundResponse) {
        if self.in_dialog.on_response(now, &resp, &mut self.outputs) {
            self.end(now);
        }
    }

    /// Fire every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        let t2 = self.timers.t2;
        // Initial INVITE final response.
        if let Some(r) = self.invite_retransmit.as_mut() {
            if r.expired(now) {
                self.invite_retransmit = None;
                if self.state == State::Accepted {
                    // No ACK: confirm and tear down (§13.3.1.4).
                    self.state = State::Confirmed;
                    self.emit(DialogEvent::AckTimeout);
                    let reason = self.bye_after_ack.take().filter(|r| !r.is_empty());
                    self.send_bye(now, reason);
                } else {
                    self.end(now);
                }
            } else if let Some(bytes) = r.due(now, t2) {
                let bytes = bytes.to_vec();
                self.send(bytes);
            }
        }
        if self.in_dialog.on_timeout(now, &mut self.outputs) {
            self.end(now);
        }
        if self.linger_until.is_some_and(|t| now >= t) {
            self.linger_until = None;
        }
    }

    // ---- internals ----

    fn on_ack(&mut self, now: Instant, req: &InboundRequest) {
        if req.cseq == self.invite.cseq {
            match self.state {
                State::Accepted => {
                    self.invite_retransmit = None;
                    self.state = State::Confirmed;
                    let sdp = (!req.req.body.is_empty()).then(|| req.req.body.clone());
                    self.emit(DialogEvent::Acked { sdp });
                    if let Some(reason) = self.bye_after_ack.take() {
                        let reason = (!reason.is_empty()).then_some(reason);
                        self.send_bye(now, reason);
                    }
                }
                State::Ended if self.invite_retransmit.is_some() => {
                    // ACK of our non-2xx: Timer I, then done (§17.2.1).
                    self.invite_retransmit = None;
                    self.linger(now, self.timers.t4);
                }
                _ => {}
            }
            return;
        }
        let ended = self.state == State::Ended;
        let _ = self
            .in_dialog
            .on_request(now, req.clone(), ended, &mut self.outputs);
    }

    fn on_cancel(&mut self, now: Instant, req: &InboundRequest) {
        if req.branch != self.invite.branch {
            let b = ResponseBuilder::new(req, 481, Some(&self.local.tag), self.source);
            self.send(b.build());
            return;
        }
        let ok = ResponseBuilder::new(req, 200, Some(&self.local.tag), self.source).build();
        self.send(ok);
        if self.state == State::Proceeding {
            self.emit(DialogEvent::Cancelled);
            let b = self.invite_response(487);
            self.final_non_2xx(now, b.build(), 487);
        }
    }

    fn on_in_dialog_request(&mut self, now: Instant, req: InboundRequest) {
        let ended = self.state == State::Ended;
        let Some(Ending::RemoteBye { reason }) =
            self.in_dialog
                .on_request(now, req, ended, &mut self.outputs)
        else {
            return;
        };
        if self.state == State::Proceeding {
            let b = self.invite_response(487);
            self.final_non_2xx(now, b.build(), 487);
        }
        self.invite_retransmit = None;
        self.emit(DialogEvent::RemoteBye { reason });
        self.end(now);
    }

    fn invite_response(&self, status: u16) -> ResponseBuilder {
        let mut b = ResponseBuilder::new(&self.invite, status, Some(&self.local.tag), self.source);
        if (101..300).contains(&status) {
            b = b
                .record_route(&self.invite)
                .header("Contact", &self.local.contact);
        }
        b.header("Server", &self.local.user_agent)
    }

    fn final_non_2xx(&mut self, now: Instant, bytes: Vec<u8>, status: u16) {
        self.invite_final = Some(status);
        self.last_invite_response.clone_from(&bytes);
        // Timer G (unreliable only) until ACK; Timer H gives up.
        self.invite_retransmit = Some(Retransmit::start(
            bytes.clone(),
            now,
            &self.timers,
            !self.local.reliable,
        ));
        self.send(bytes);
        self.state = State::Ended;
        self.emit_terminated();
    }

    fn send_bye(&mut self, now: Instant, reason: Option<String>) {
        self.in_dialog
            .send_bye(now, reason.as_deref(), &mut self.outputs);
    }

    fn end(&mut self, now: Instant) {
        self.state = State::Ended;
        // Timer J: keep answering retransmitted requests for 64·T1 on unreliable transports.
        let linger = if self.local.reliable {
            self.timers.t1
        } else {
            self.timers.timeout_64t1()
        };
        self.linger(now, linger);
        self.emit_terminated();
    }

    fn linger(&mut self, now: Instant, d: std::time::Duration) {
        self.linger_until = Some(now + d);
    }

    fn emit_terminated(&mut self) {
        if !self.terminated_emitted {
            self.terminated_emitted = true;
            self.emit(DialogEvent::Terminated);
        }
    }

    fn emit(&mut self, e: DialogEvent) {
        self.outputs.push_back(Output::Event(e));
    }

    fn send(&mut self, bytes: Vec<u8>) {
        self.outputs.push_back(Output::Send(bytes));
    }
}

#[cfg(test)]
#[path = "dialog_tests.rs"]
mod tests;
