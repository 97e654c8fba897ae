//! What a dialog does once it exists, the same for both roles (RFC 3261 §12–§15): the
//! requests the peer sends within it (BYE, re-INVITE, UPDATE, INFO, OPTIONS) and their
//! retransmissions, and the requests we send within it (BYE, re-INVITE) with their
//! retransmissions and ACKs. [`crate::dialog::UasDialog`] and [`crate::uac::UacDialog`]
//! each own one once their dialog is established (or early).

use crate::dialog::{DialogEvent, Local, Output, ReOfferMethod};
use crate::message::{self, InboundRequest, InboundResponse, ResponseBuilder};
use crate::timer::{Retransmit, Timers};
use rsipstack::sip::Method;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

/// The two sides of a dialog as our requests name them, and where they go.
#[derive(Debug, Clone)]
pub(crate) struct Parties {
    /// The Call-ID.
    pub(crate) call_id: String,
    /// Our From: `<uri>;tag=ours`.
    pub(crate) us: String,
    /// Our To: `<uri>;tag=theirs`.
    pub(crate) them: String,
    /// The Request-URI of our requests: the peer's Contact.
    pub(crate) target: String,
    /// Route headers of our requests, in order (the route set).
    pub(crate) routes: Vec<String>,
}

/// The in-dialog part of a dialog.
#[derive(Debug)]
pub(crate) struct InDialog {
    local: Local,
    parties: Parties,
    timers: Timers,
    /// Where responses to the peer's requests go (their source).
    peer: SocketAddr,
    local_cseq: u32,
    remote_cseq: u32,
    /// The peer's re-INVITE or UPDATE, waiting for our answer (then for its ACK).
    theirs: Option<PendingReOffer>,
    /// Our re-INVITE, waiting for its final response.
    ours: Option<OurReInvite>,
    /// Final responses to the peer's non-INVITE requests, for retransmissions (Timer J).
    recent: VecDeque<(u32, Method, Vec<u8>)>,
    bye: Option<ClientTransaction>,
    /// ACKs we sent for 2xx responses (re-INVITE), resent when the 2xx is retransmitted.
    acks: VecDeque<(u32, Vec<u8>)>,
}

#[derive(Debug)]
struct PendingReOffer {
    req: InboundRequest,
    method: ReOfferMethod,
    last_response: Option<Vec<u8>>,
    retransmit: Option<Retransmit>,
    answered: bool,
}

#[derive(Debug)]
struct ClientTransaction {
    cseq: u32,
    retransmit: Retransmit,
}

#[derive(Debug)]
struct OurReInvite {
    cseq: u32,
    branch: String,
    retransmit: Retransmit,
}

/// What a request from the peer did to the dialog.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    /// The peer hung up (200 sent): the owner ends the dialog.
    RemoteBye { reason: Option<String> },
}

impl InDialog {
    pub(crate) fn new(
        local: Local,
        parties: Parties,
        timers: Timers,
        peer: SocketAddr,
        local_cseq: u32,
        remote_cseq: u32,
    ) -> InDialog {
        InDialog {
            local,
            parties,
            timers,
            peer,
            local_cseq,
            remote_cseq,
            theirs: None,
            ours: None,
            recent: VecDeque::new(),
            bye: None,
            acks: VecDeque::new(),
        }
    }

    /// The parties, for building requests.
    pub(crate) fn parties(&self) -> &Parties {
        &self.parties
    }

    /// Whether a BYE of ours is in flight.
    pub(crate) fn bye_pending(&self) -> bool {
        self.bye.is_some()
    }

    /// Whether anything is left to retransmit or wait for.
    pub(crate) fn idle(&self) -> bool {
        self.bye.is_none() && self.theirs.is_none() && self.ours.is_none()
    }

    /// Final responses to recent requests, for a tombstone.
    pub(crate) fn recent(&self) -> impl Iterator<Item = &(u32, Method, Vec<u8>)> {
        self.recent.iter()
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.theirs
                .as_ref()
                .and_then(|r| r.retransmit.as_ref().map(Retransmit::deadline)),
            self.bye.as_ref().map(|b| b.retransmit.deadline()),
            self.ours.as_ref().map(|o| o.retransmit.deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Timers due at `now`. `true` when our BYE gave up (Timer F): the owner ends.
    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut VecDeque<Output>) -> bool {
        let t2 = self.timers.t2;
        if let Some(p) = self.theirs.as_mut() {
            if let Some(r) = p.retransmit.as_mut() {
                if r.expired(now) {
                    self.theirs = None;
                } else if let Some(bytes) = r.due(now, t2) {
                    out.push_back(Output::Send(bytes.to_vec()));
                }
            }
        }
        if let Some(o) = self.ours.as_mut() {
            if o.retransmit.expired(now) {
                self.ours = None;
                out.push_back(Output::Event(DialogEvent::ReInviteAnswered {
                    result: Err(408),
                }));
            } else if let Some(bytes) = o.retransmit.due(now, t2) {
                out.push_back(Output::Send(bytes.to_vec()));
            }
        }
        if let Some(b) = self.bye.as_mut() {
            if b.retransmit.expired(now) {
                self.bye = None;
                out.push_back(Output::Event(DialogEvent::ByeCompleted { status: None }));
                return true;
            } else if let Some(bytes) = b.retransmit.due(now, t2) {
                out.push_back(Output::Send(bytes.to_vec()));
            }
        }
        false
    }

    // ---- the peer's requests ----

    /// A request of the peer within the dialog (not the initial INVITE, not its ACK/CANCEL).
    /// `ended` says the dialog is over (only retransmissions are answered, others get 481).
    pub(crate) fn on_request(
        &mut self,
        _now: Instant,
        req: InboundRequest,
        ended: bool,
        out: &mut VecDeque<Output>,
    ) -> Option<Ending> {
        let method = req.req.method;
        if method == Method::Ack {
            if let Some(p) = self.theirs.as_ref() {
                if p.method == ReOfferMethod::Invite && p.req.cseq == req.cseq && p.answered {
                    self.theirs = None;
                }
            }
            return None;
        }
        if req.to_tag.as_deref() != Some(self.local.tag.as_str()) {
            out.push_back(send(
                ResponseBuilder::new(&req, 481, None, self.peer).build(),
            ));
            return None;
        }
        if let Some((_, _, bytes)) = self
            .recent
            .iter()
            .find(|(c, m, _)| *c == req.cseq && *m == method)
        {
            out.push_back(send(bytes.clone()));
            return None;
        }
        if let Some(p) = self.theirs.as_ref() {
            if p.req.cseq == req.cseq && p.req.req.method == method {
                if let Some(bytes) = p.last_response.clone() {
                    out.push_back(send(bytes));
                }
                return None;
            }
        }
        if req.cseq <= self.remote_cseq {
            let b = ResponseBuilder::new(&req, 500, Some(&self.local.tag), self.peer)
                .reason("CSeq Out Of Order");
            out.push_back(send(b.build()));
            return None;
        }
        self.remote_cseq = req.cseq;
        match method {
            Method::Bye => {
                let bytes = ResponseBuilder::new(&req, 200, None, self.peer)
                    .header("Server", &self.local.user_agent)
                    .build();
                self.remember(req.cseq, Method::Bye, bytes.clone());
                out.push_back(send(bytes));
                self.theirs = None;
                let reason = message::header_value(&req.req, "Reason");
                return Some(Ending::RemoteBye { reason });
            }
            Method::Invite | Method::Update if !ended => {
                if self.theirs.is_some() || (method == Method::Invite && self.ours.is_some()) {
                    // One offer at a time (RFC 3261 §14.2; glare: 491).
                    let status = if self.ours.is_some() { 491 } else { 500 };
                    let b = ResponseBuilder::new(&req, status, None, self.peer)
                        .header("Retry-After", "1");
                    out.push_back(send(b.build()));
                    return None;
                }
                let kind = if method == Method::Invite {
                    ReOfferMethod::Invite
                } else {
                    ReOfferMethod::Update
                };
                let sdp = (!req.req.body.is_empty()).then(|| req.req.body.clone());
                let cseq = req.cseq;
                self.theirs = Some(PendingReOffer {
                    req,
                    method: kind,
                    last_response: None,
                    retransmit: None,
                    answered: false,
                });
                out.push_back(Output::Event(DialogEvent::ReOffer {
                    cseq,
                    method: kind,
                    sdp,
                }));
            }
            Method::Info if !ended => {
                let bytes = ResponseBuilder::new(&req, 200, None, self.peer).build();
                self.remember(req.cseq, Method::Info, bytes.clone());
                out.push_back(send(bytes));
                let content_type = message::header_value(&req.req, "Content-Type")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                out.push_back(Output::Event(DialogEvent::Info {
                    content_type,
                    body: req.req.body.clone(),
                }));
            }
            Method::Options => {
                let bytes = ResponseBuilder::new(&req, 200, None, self.peer)
                    .header("Allow", message::ALLOW)
                    .header("Accept", message::ACCEPT)
                    .build();
                self.remember(req.cseq, Method::Options, bytes.clone());
                out.push_back(send(bytes));
            }
            _ => {
                let status = if ended { 481 } else { 405 };
                let bytes = ResponseBuilder::new(&req, status, None, self.peer)
                    .header("Allow", message::ALLOW)
                    .build();
                self.remember(req.cseq, method, bytes.clone());
                out.push_back(send(bytes));
            }
        }
        None
    }

    /// Answer the peer's re-offer received with `cseq`: `Ok(sdp)` sends 200 with our answer,
    /// `Err(status)` refuses it (e.g. 488) and keeps the previous session. An UPDATE without
    /// an offer (a session refresh) is answered with `Ok` of an empty body and gets a 200
    /// without SDP.
    pub(crate) fn answer_reoffer(
        &mut self,
        now: Instant,
        cseq: u32,
        answer: Result<Vec<u8>, u16>,
        out: &mut VecDeque<Output>,
    ) {
        let Some(pending) = self.theirs.as_mut() else {
            return;
        };
        if pending.req.cseq != cseq || pending.answered {
            return;
        }
        pending.answered = true;
        let (status, body) = match answer {
            Ok(sdp) => (200, Some(sdp).filter(|b| !b.is_empty())),
            Err(status) => (status, None),
        };
        let mut b = ResponseBuilder::new(&pending.req, status, Some(&self.local.tag), self.peer);
        if status < 300 {
            b = b
                .header("Contact", &self.local.contact)
                .header("Allow", message::ALLOW);
        }
        b = b.header("Server", &self.local.user_agent);
        if let Some(sdp) = body {
            b = b.body("application/sdp", sdp);
        }
        let bytes = b.build();
        match pending.method {
            ReOfferMethod::Invite => {
                let resend = status < 300 || !self.local.reliable;
                pending.retransmit =
                    Some(Retransmit::start(bytes.clone(), now, &self.timers, resend));
                pending.last_response = Some(bytes.clone());
            }
            ReOfferMethod::Update => {
                let req_cseq = pending.req.cseq;
                self.theirs = None;
                self.remember(req_cseq, Method::Update, bytes.clone());
            }
        }
        out.push_back(send(bytes));
    }

    // ---- our requests ----

    /// Send BYE (once). `reason` is a `Reason` header value.
    pub(crate) fn send_bye(
        &mut self,
        now: Instant,
        reason: Option<&str>,
        out: &mut VecDeque<Output>,
    ) {
        if self.bye.is_some() {
            return;
        }
        self.local_cseq += 1;
        let cseq = self.local_cseq;
        let mut extra = Vec::new();
        if let Some(r) = reason {
            extra.push(("Reason", r.to_string()));
        }
        let branch = self.branch(cseq, 'b');
        let bytes = self.request("BYE", cseq, &branch, &extra, None);
        self.bye = Some(ClientTransaction {
            cseq,
            retransmit: Retransmit::start(bytes.clone(), now, &self.timers, !self.local.reliable),
        });
        out.push_back(send(bytes));
    }

    /// Send a re-INVITE with our `sdp` (hold, resume); its outcome comes as
    /// [`DialogEvent::ReInviteAnswered`]. Refused with 491 semantics when an offer is already
    /// in flight either way.
    pub(crate) fn send_reinvite(&mut self, now: Instant, sdp: Vec<u8>, out: &mut VecDeque<Output>) {
        if self.ours.is_some() || self.theirs.is_some() || self.bye.is_some() {
            out.push_back(Output::Event(DialogEvent::ReInviteAnswered {
                result: Err(491),
            }));
            return;
        }
        self.local_cseq += 1;
        let cseq = self.local_cseq;
        let branch = self.branch(cseq, 'i');
        let extra = [("Contact", self.local.contact.clone())];
        let bytes = self.request("INVITE", cseq, &branch, &extra, Some(sdp));
        self.ours = Some(OurReInvite {
            cseq,
            branch,
            retransmit: Retransmit::start(bytes.clone(), now, &self.timers, !self.local.reliable),
        });
        out.push_back(send(bytes));
    }

    /// A response within the dialog. `true` when it completed our BYE (the owner ends).
    pub(crate) fn on_response(
        &mut self,
        _now: Instant,
        resp: &InboundResponse,
        out: &mut VecDeque<Output>,
    ) -> bool {
        match resp.cseq_method {
            Method::Bye => {
                let Some(bye) = self.bye.as_mut() else {
                    return false;
                };
                if resp.cseq != bye.cseq {
                    return false;
                }
                if resp.status < 200 {
                    // Timer E keeps running at T2 (RFC 3261 §17.1.2.2).
                    bye.retransmit.interval = self.timers.t2;
                    return false;
                }
                self.bye = None;
                out.push_back(Output::Event(DialogEvent::ByeCompleted {
                    status: Some(resp.status),
                }));
                true
            }
            Method::Invite => {
                // A 2xx retransmitted after we ACKed it: ACK again (RFC 3261 §13.2.2.4).
                if let Some((_, ack)) = self.acks.iter().find(|(c, _)| *c == resp.cseq) {
                    if (200..300).contains(&resp.status) {
                        out.push_back(send(ack.clone()));
                    }
                    return false;
                }
                let Some(o) = self.ours.as_ref().filter(|o| o.cseq == resp.cseq) else {
                    return false;
                };
                if resp.status < 200 {
                    // Proceeding: stop retransmitting (Timer A), keep Timer B's give-up.
                    if let Some(o) = self.ours.as_mut() {
                        o.retransmit.resend = false;
                    }
                    return false;
                }
                let cseq = o.cseq;
                let branch = o.branch.clone();
                self.ours = None;
                let ack = if resp.status < 300 {
                    // A new transaction (RFC 3261 §13.2.2.4).
                    let ack_branch = self.branch(cseq, 'a');
                    self.request("ACK", cseq, &ack_branch, &[], None)
                } else {
                    // Part of the INVITE transaction: same branch, the response's To.
                    let via = format!(
                        "SIP/2.0/{} {};branch={branch};rport",
                        self.local.transport, self.local.via_sent_by
                    );
                    let p = &self.parties;
                    message::ack_for_non_2xx(
                        resp,
                        &p.target,
                        &via,
                        &p.routes,
                        &self.local.user_agent,
                    )
                };
                self.remember_ack(cseq, ack.clone());
                out.push_back(send(ack));
                let result = if resp.status < 300 {
                    Ok((!resp.resp.body.is_empty()).then(|| resp.resp.body.clone()))
                } else {
                    Err(resp.status)
                };
                out.push_back(Output::Event(DialogEvent::ReInviteAnswered { result }));
                false
            }
            _ => false,
        }
    }

    fn branch(&self, cseq: u32, kind: char) -> String {
        format!("z9hG4bK{}{kind}{cseq}", self.local.tag)
    }

    /// An in-dialog request of ours (RFC 3261 §12.2.1.1).
    fn request(
        &self,
        method: &str,
        cseq: u32,
        branch: &str,
        extra: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Vec<u8> {
        let p = &self.parties;
        let mut s = String::with_capacity(512);
        let _ = write!(s, "{method} {} SIP/2.0\r\n", p.target);
        let _ = write!(
            s,
            "Via: SIP/2.0/{} {};branch={branch};rport\r\n",
            self.local.transport, self.local.via_sent_by
        );
        s.push_str("Max-Forwards: 70\r\n");
        let _ = write!(s, "From: {}\r\n", p.us);
        let _ = write!(s, "To: {}\r\n", p.them);
        let _ = write!(s, "Call-ID: {}\r\n", p.call_id);
        let _ = write!(s, "CSeq: {cseq} {method}\r\n");
        for r in &p.routes {
            let _ = write!(s, "Route: {r}\r\n");
        }
        for (name, value) in extra {
            let _ = write!(s, "{name}: {value}\r\n");
        }
        let _ = write!(s, "User-Agent: {}\r\n", self.local.user_agent);
        finish(s, body)
    }

    fn remember(&mut self, cseq: u32, method: Method, bytes: Vec<u8>) {
        if self.recent.len() >= 4 {
            self.recent.pop_front();
        }
        self.recent.push_back((cseq, method, bytes));
    }

    fn remember_ack(&mut self, cseq: u32, bytes: Vec<u8>) {
        if self.acks.len() >= 2 {
            self.acks.pop_front();
        }
        self.acks.push_back((cseq, bytes));
    }
}

fn send(bytes: Vec<u8>) -> Output {
    Output::Send(bytes)
}

/// Close the headers of a request and append its body.
pub(crate) fn finish(mut s: String, body: Option<Vec<u8>>) -> Vec<u8> {
    match body {
        Some(body) => {
            let _ = write!(
                s,
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let mut bytes = s.into_bytes();
            bytes.extend_from_slice(&body);
            bytes
        }
        None => {
            s.push_str("Content-Length: 0\r\n\r\n");
            s.into_bytes()
        }
    }
}
