//! The UAC side of one call: the INVITE client transaction, the dialog its 2xx creates, and
//! what follows (CANCEL, BYE both ways, re-INVITE both ways, digest authentication).
//!
//! A pure state machine like [`crate::dialog::UasDialog`]: commands and inputs take `now`,
//! outputs are drained from `poll_output`, the next deadline is `poll_timeout`. Every byte
//! goes to one next hop, the shell's `peer` (the destination, or the outbound proxy).
//!
//! RFC 3261: §17.1.1 (Timer A/B, ACK of non-2xx in the transaction, Timer D), §13.2.2.4 (ACK
//! of 2xx as a new transaction, resent for each retransmitted 2xx), §9.1 (CANCEL only after
//! a provisional response; a 2xx crossing our CANCEL is ACKed and BYEd), §12.1.2 (the dialog
//! from the 2xx: remote tag, Contact as target, reversed Record-Route as route set), §22.2
//! (401/407: the request again with credentials, CSeq + 1).

use crate::dialog::{DialogEvent, Local, Output};
use crate::digest::Challenge;
use crate::in_dialog::{finish, Ending, InDialog, Parties};
use crate::message::{self, InboundRequest, InboundResponse, ResponseBuilder};
use crate::timer::{Retransmit, Timers};
use rsipstack::sip::Method;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

/// Where and as whom to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// The Request-URI (`sip:bob@198.51.100.7:5060`).
    pub request_uri: String,
    /// Our From, without tag (`"Alice" <sip:+14155550100@switchyard.example>`).
    pub from: String,
    /// The To (`<sip:bob@198.51.100.7>`).
    pub to: String,
    /// A fresh Call-ID.
    pub call_id: String,
    /// Route headers (an outbound proxy, `<sip:proxy;lr>`).
    pub routes: Vec<String>,
    /// Digest credentials for 401/407 challenges: username and password.
    pub credentials: Option<(String, String)>,
    /// Further headers (`P-Asserted-Identity`, ...).
    pub headers: Vec<(String, String)>,
}

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UacState {
    /// INVITE sent, nothing heard (Timer A retransmits it on UDP, Timer B gives up).
    Calling,
    /// A provisional response came.
    Proceeding,
    /// 2xx came and was ACKed: the call is up.
    Confirmed,
    /// Refused, cancelled, or hung up.
    Ended,
}

/// One outgoing call. See the module documentation.
#[derive(Debug)]
pub struct UacDialog {
    local: Local,
    timers: Timers,
    dial: Dial,
    /// Where every request goes (the next hop).
    peer: SocketAddr,
    state: UacState,
    cseq: u32,
    branch: String,
    /// Our offer (resent with credentials after a challenge).
    sdp: Vec<u8>,
    invite: Option<Retransmit>,
    /// Our INVITE gives up at this instant when no final response came after a provisional
    /// (a CANCEL that is not answered with 487 within 64·T1, RFC 3261 §9.1).
    cancel_deadline: Option<Instant>,
    /// The Authorization header of the current INVITE, repeated on its CANCEL and ACK.
    authorization: Option<(&'static str, String)>,
    auth_tries: u32,
    /// Randomness for cnonces, from the shell.
    cnonce_seed: u64,
    cancel: Cancel,
    /// A hangup asked before the 2xx: BYE it as soon as it comes.
    bye_on_answer: Option<Option<String>>,
    in_dialog: Option<InDialog>,
    /// The ACK of the final response to our INVITE, resent on its retransmissions.
    final_ack: Option<Vec<u8>>,
    linger_until: Option<Instant>,
    terminated_emitted: bool,
    outputs: VecDeque<Output>,
}

#[derive(Debug)]
enum Cancel {
    No,
    /// Asked before any provisional response: sent when one comes.
    Wanted,
    Sent(Retransmit),
    Done,
}

impl UacDialog {
    /// A call to `dial` through `peer`, with `local` as our side. Nothing is sent until
    /// [`UacDialog::invite`].
    pub fn new(dial: Dial, peer: SocketAddr, local: Local, timers: Timers, seed: u64) -> Self {
        let branch = format!("z9hG4bK{}u1", local.tag);
        UacDialog {
            local,
            timers,
            dial,
            peer,
            state: UacState::Calling,
            cseq: 1,
            branch,
            sdp: Vec::new(),
            invite: None,
            cancel_deadline: None,
            authorization: None,
            auth_tries: 0,
            cnonce_seed: seed,
            cancel: Cancel::No,
            bye_on_answer: None,
            in_dialog: None,
            final_ack: None,
            linger_until: None,
            terminated_emitted: false,
            outputs: VecDeque::new(),
        }
    }

    pub fn state(&self) -> UacState {
        self.state
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        &self.dial.call_id
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest instant `on_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let cancel = match &self.cancel {
            Cancel::Sent(r) => Some(r.deadline()),
            _ => None,
        };
        [
            self.invite.as_ref().map(Retransmit::deadline),
            self.cancel_deadline,
            cancel,
            self.in_dialog.as_ref().and_then(InDialog::poll_timeout),
            self.linger_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// True once the call is over and nothing is left to retransmit or absorb.
    pub fn is_finished(&self, now: Instant) -> bool {
        self.state == UacState::Ended
            && self.invite.is_none()
            && !matches!(self.cancel, Cancel::Sent(_))
            && self.in_dialog.as_ref().is_none_or(InDialog::idle)
            && self.linger_until.is_none_or(|t| now >= t)
    }

    // ---- commands ----

    /// Send the INVITE with our `sdp` offer.
    pub fn invite(&mut self, now: Instant, sdp: Vec<u8>) {
        if self.invite.is_some() || self.state != UacState::Calling {
            return;
        }
        self.sdp = sdp;
        self.send_invite(now);
    }

    /// End the call: CANCEL while ringing (once a provisional response came), BYE once
    /// answered; `reason` is a `Reason` header value for the BYE.
    pub fn hangup(&mut self, now: Instant, reason: Option<String>) {
        match self.state {
            UacState::Calling if self.sdp.is_empty() && self.invite.is_none() => {
                // Nothing was sent: the call just does not happen.
                self.state = UacState::Ended;
                self.emit_terminated();
            }
            UacState::Calling => {
                self.bye_on_answer = Some(reason);
                if matches!(self.cancel, Cancel::No) {
                    self.cancel = Cancel::Wanted;
                }
            }
            UacState::Proceeding => {
                self.bye_on_answer = Some(reason);
                self.send_cancel(now);
            }
            UacState::Confirmed => {
                if let Some(d) = self.in_dialog.as_mut() {
                    d.send_bye(now, reason.as_deref(), &mut self.outputs);
                }
            }
            UacState::Ended => {}
        }
    }

    /// Send a re-INVITE with a new offer (hold, resume); the outcome comes as
    /// [`DialogEvent::ReInviteAnswered`].
    pub fn reinvite(&mut self, now: Instant, sdp: Vec<u8>) {
        match self.in_dialog.as_mut() {
            Some(d) if self.state == UacState::Confirmed => {
                d.send_reinvite(now, sdp, &mut self.outputs)
            }
            _ => self.emit(DialogEvent::ReInviteAnswered { result: Err(491) }),
        }
    }

    /// Answer the peer's re-offer received with `cseq`.
    pub fn answer_reoffer(&mut self, now: Instant, cseq: u32, answer: Result<Vec<u8>, u16>) {
        if let Some(d) = self.in_dialog.as_mut() {
            d.answer_reoffer(now, cseq, answer, &mut self.outputs);
        }
    }

    // ---- inputs ----

    /// A response routed to this call (same Call-ID).
    pub fn on_response(&mut self, now: Instant, resp: InboundResponse) {
        match resp.cseq_method {
            Method::Cancel => {
                if resp.status >= 200 {
                    if let Cancel::Sent(_) = self.cancel {
                        self.cancel = Cancel::Done;
                    }
                }
            }
            Method::Invite if resp.cseq == self.cseq => self.on_invite_response(now, resp),
            _ => {
                if let Some(d) = self.in_dialog.as_mut() {
                    if d.on_response(now, &resp, &mut self.outputs) {
                        self.end(now);
                    }
                }
            }
        }
    }

    /// A request of the callee (same Call-ID).
    pub fn on_request(&mut self, now: Instant, req: InboundRequest) {
        let ended = self.state == UacState::Ended;
        match self.in_dialog.as_mut() {
            Some(d) => {
                if let Some(Ending::RemoteBye { reason }) =
                    d.on_request(now, req, ended, &mut self.outputs)
                {
                    if self.state != UacState::Ended {
                        self.emit(DialogEvent::RemoteBye { reason });
                        self.end(now);
                    }
                }
            }
            None => {
                if req.req.method != Method::Ack {
                    let b = ResponseBuilder::new(&req, 481, None, self.peer);
                    self.send(b.build());
                }
            }
        }
    }

    /// Fire every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant) {
        let t2 = self.timers.t2;
        if let Some(r) = self.invite.as_mut() {
            if r.expired(now) {
                // Timer B: nobody answered.
                self.invite = None;
                self.finish_refused(now, 408);
            } else if let Some(bytes) = r.due(now, self.timers.t1 * 64) {
                let bytes = bytes.to_vec();
                self.send(bytes);
            }
        }
        if self.cancel_deadline.is_some_and(|t| now >= t) {
            // Our CANCEL was not followed by a final response: the transaction is over.
            self.cancel_deadline = None;
            if matches!(self.state, UacState::Calling | UacState::Proceeding) {
                self.finish_refused(now, 487);
            }
        }
        if let Cancel::Sent(r) = &mut self.cancel {
            if r.expired(now) {
                self.cancel = Cancel::Done;
            } else if let Some(bytes) = r.due(now, t2) {
                let bytes = bytes.to_vec();
                self.send(bytes);
            }
        }
        if let Some(d) = self.in_dialog.as_mut() {
            if d.on_timeout(now, &mut self.outputs) {
                self.end(now);
            }
        }
        if self.linger_until.is_some_and(|t| now >= t) {
            self.linger_until = None;
        }
    }

    // ---- internals ----

    fn on_invite_response(&mut self, now: Instant, resp: InboundResponse) {
        match resp.status {
            100..=199 => {
                if self.state != UacState::Calling {
                    if resp.status > 100 && self.state == UacState::Proceeding {
                        self.progress(&resp);
                    }
                    return;
                }
                self.state = UacState::Proceeding;
                if let Some(r) = self.invite.as_mut() {
                    r.resend = false; // Timer A stops; no Timer B once proceeding
                }
                self.invite = None;
                if matches!(self.cancel, Cancel::Wanted) {
                    self.send_cancel(now);
                }
                if resp.status > 100 {
                    self.progress(&resp);
                }
            }
            200..=299 => self.on_2xx(now, resp),
            _ => self.on_final_non_2xx(now, resp),
        }
    }

    fn progress(&mut self, resp: &InboundResponse) {
        let sdp = (!resp.resp.body.is_empty()).then(|| resp.resp.body.clone());
        self.emit(DialogEvent::Progress {
            status: resp.status,
            sdp,
        });
    }

    fn on_2xx(&mut self, now: Instant, resp: InboundResponse) {
        if self.state == UacState::Confirmed || self.state == UacState::Ended {
            // A retransmitted 2xx: ACK it again.
            if let Some(ack) = self.final_ack.clone() {
                self.send(ack);
            }
            return;
        }
        self.invite = None;
        self.cancel_deadline = None;
        let r = &resp.resp;
        let them = message::response_header(r, "To").unwrap_or_else(|| self.dial.to.clone());
        let target = message::response_header(r, "Contact")
            .and_then(|c| message::uri_of(&c))
            .unwrap_or_else(|| self.dial.request_uri.clone());
        let mut routes: Vec<String> = message::response_headers(r, "Record-Route")
            .iter()
            .flat_map(|v| message::split_values(v))
            .collect();
        routes.reverse();
        if routes.is_empty() {
            routes.clone_from(&self.dial.routes);
        }
        let parties = Parties {
            call_id: self.dial.call_id.clone(),
            us: format!("{};tag={}", self.dial.from, self.local.tag),
            them,
            target,
            routes,
        };
        let mut dialog = InDialog::new(
            self.local.clone(),
            parties,
            self.timers,
            self.peer,
            self.cseq,
            0,
        );
        let ack = self.ack_2xx(dialog.parties());
        self.final_ack = Some(ack.clone());
        self.send(ack);
        self.state = UacState::Confirmed;
        let sdp = (!r.body.is_empty()).then(|| r.body.clone());
        self.emit(DialogEvent::Answered { sdp });
        if let Some(reason) = self.bye_on_answer.take() {
            // A 2xx that crossed our CANCEL or came after a hangup: end the call now.
            dialog.send_bye(now, reason.as_deref(), &mut self.outputs);
        }
        self.in_dialog = Some(dialog);
        // Keep re-ACKing retransmitted 2xx for 64·T1.
        self.linger_until = Some(now + self.timers.timeout_64t1());
    }

    fn on_final_non_2xx(&mut self, now: Instant, resp: InboundResponse) {
        let via = format!(
            "SIP/2.0/{} {};branch={};rport",
            self.local.transport, self.local.via_sent_by, self.branch
        );
        let ack = message::ack_for_non_2xx(
            &resp,
            &self.dial.request_uri,
            &via,
            &self.dial.routes,
            &self.local.user_agent,
        );
        if self.state == UacState::Ended {
            // A retransmitted final response (Timer D): ACK it again.
            self.send(ack);
            return;
        }
        self.send(ack.clone());
        self.final_ack = Some(ack);
        self.invite = None;
        self.cancel_deadline = None;
        let cancelled = !matches!(self.cancel, Cancel::No);
        if matches!(resp.status, 401 | 407) && !cancelled && self.answer_challenge(now, &resp) {
            return;
        }
        self.finish_refused(now, resp.status);
    }

    /// Send the INVITE again with credentials for the challenge in `resp`; false when it
    /// cannot be answered (no credentials, tried twice, a challenge we do not support).
    fn answer_challenge(&mut self, now: Instant, resp: &InboundResponse) -> bool {
        let Some((user, password)) = self.dial.credentials.clone() else {
            return false;
        };
        if self.auth_tries >= 2 {
            return false;
        }
        let (challenge_header, answer_header) = if resp.status == 407 {
            ("Proxy-Authenticate", "Proxy-Authorization")
        } else {
            ("WWW-Authenticate", "Authorization")
        };
        let Some(challenge) = message::response_headers(&resp.resp, challenge_header)
            .iter()
            .find_map(|v| Challenge::parse(v).ok())
        else {
            return false;
        };
        self.auth_tries += 1;
        self.cnonce_seed = self
            .cnonce_seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1);
        let cnonce = format!("{:016x}", self.cnonce_seed);
        let value = challenge.answer(
            "INVITE",
            &self.dial.request_uri,
            &user,
            &password,
            &cnonce,
            1,
        );
        self.authorization = Some((answer_header, value));
        self.cseq += 1;
        self.branch = format!("z9hG4bK{}u{}", self.local.tag, self.cseq);
        self.state = UacState::Calling;
        self.send_invite(now);
        true
    }

    fn finish_refused(&mut self, now: Instant, status: u16) {
        self.state = UacState::Ended;
        self.emit(DialogEvent::Refused { status });
        // Timer D: absorb retransmitted final responses (32 s on UDP, 0 on TCP).
        let linger = if self.local.reliable {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_secs(32)
        };
        self.linger_until = Some(now + linger);
        self.emit_terminated();
    }

    fn end(&mut self, now: Instant) {
        self.state = UacState::Ended;
        let linger = if self.local.reliable {
            self.timers.t1
        } else {
            self.timers.timeout_64t1()
        };
        self.linger_until = Some(
            self.linger_until
                .map_or(now + linger, |t| t.max(now + linger)),
        );
        self.emit_terminated();
    }

    fn send_invite(&mut self, now: Instant) {
        let mut extra: Vec<(&str, String)> = vec![
            ("Contact", self.local.contact.clone()),
            ("Allow", message::ALLOW.to_string()),
        ];
        if let Some((name, value)) = &self.authorization {
            extra.push((name, value.clone()));
        }
        let headers = self.dial.headers.clone();
        for (n, v) in &headers {
            extra.push((n.as_str(), v.clone()));
        }
        let bytes = self.request("INVITE", self.cseq, &extra, Some(self.sdp.clone()));
        // Timer A only on unreliable transports; Timer B on every transport.
        self.invite = Some(Retransmit::start(
            bytes.clone(),
            now,
            &self.timers,
            !self.local.reliable,
        ));
        self.send(bytes);
    }

    fn send_cancel(&mut self, now: Instant) {
        if matches!(self.cancel, Cancel::Sent(_) | Cancel::Done) {
            return;
        }
        let mut extra: Vec<(&str, String)> = Vec::new();
        if let Some((name, value)) = &self.authorization {
            extra.push((name, value.clone()));
        }
        let bytes = self.request("CANCEL", self.cseq, &extra, None);
        self.cancel = Cancel::Sent(Retransmit::start(
            bytes.clone(),
            now,
            &self.timers,
            !self.local.reliable,
        ));
        self.cancel_deadline = Some(now + self.timers.timeout_64t1());
        self.send(bytes);
    }

    /// An out-of-dialog request of the INVITE transaction (INVITE, CANCEL): the same branch,
    /// Request-URI, From, To and Route set.
    fn request(
        &self,
        method: &str,
        cseq: u32,
        extra: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let d = &self.dial;
        let mut s = String::with_capacity(700);
        let _ = write!(s, "{method} {} SIP/2.0\r\n", d.request_uri);
        let _ = write!(
            s,
            "Via: SIP/2.0/{} {};branch={};rport\r\n",
            self.local.transport, self.local.via_sent_by, self.branch
        );
        s.push_str("Max-Forwards: 70\r\n");
        let _ = write!(s, "From: {};tag={}\r\n", d.from, self.local.tag);
        let _ = write!(s, "To: {}\r\n", d.to);
        let _ = write!(s, "Call-ID: {}\r\n", d.call_id);
        let _ = write!(s, "CSeq: {cseq} {method}\r\n");
        for r in &d.routes {
            let _ = write!(s, "Route: {r}\r\n");
        }
        for (name, value) in extra {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        let _ = write!(s, "User-Agent: {}\r\n", self.local.user_agent);
        finish(s, body)
    }

    /// The ACK of a 2xx: a new transaction within the dialog (RFC 3261 §13.2.2.4).
    fn ack_2xx(&self, p: &Parties) -> Vec<u8> {
        let mut s = String::with_capacity(500);
        let _ = write!(s, "ACK {} SIP/2.0\r\n", p.target);
        let _ = write!(
            s,
            "Via: SIP/2.0/{} {};branch=z9hG4bK{}a{};rport\r\n",
            self.local.transport, self.local.via_sent_by, self.local.tag, self.cseq
        );
        s.push_str("Max-Forwards: 70\r\n");
        let _ = write!(s, "From: {}\r\n", p.us);
        let _ = write!(s, "To: {}\r\n", p.them);
        let _ = write!(s, "Call-ID: {}\r\n", p.call_id);
        let _ = write!(s, "CSeq: {} ACK\r\n", self.cseq);
        for r in &p.routes {
            let _ = write!(s, "Route: {r}\r\n");
        }
        if let Some((name, value)) = &self.authorization {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        let _ = write!(s, "User-Agent: {}\r\n", self.local.user_agent);
        finish(s, None)
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
#[path = "uac_tests.rs"]
mod tests;
