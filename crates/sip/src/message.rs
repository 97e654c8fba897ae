//! Parsing of inbound SIP messages and building of the responses and requests we send.
//!
//! Bytes become a [`Inbound`] at the edge: a message parsed by `rsipstack`'s parser plus the
//! fields every layer above needs (Call-ID, CSeq, top Via branch, tags), checked for the
//! mandatory headers of RFC 3261 §8.1.1. Anything that does not make it through is a
//! [`Malformed`] carrying what we could still salvage to answer with a 400 or 501.

use rsipstack::sip::headers::ToTypedHeader;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, Method, Request, Response, SipMessage};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Largest SIP message accepted on any transport (headers + body).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The SIP methods this user agent implements, for `Allow`.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE";
/// Option tags (RFC 3261 §19.2) we implement: none yet. A request that `Require`s any is
/// answered 420 with `Unsupported` (§8.2.2.3); nothing is advertised in `Supported`.
pub const SUPPORTED: &[&str] = &[];

/// The option tags in `require` (a `Require` header value) that we do not implement.
pub fn unsupported(require: &str) -> Vec<String> {
    require
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && !SUPPORTED.contains(&t.as_str()))
        .collect()
}
/// Bodies we accept, for `Accept`.
pub const ACCEPT: &str = "application/sdp, application/dtmf-relay, application/dtmf";

/// A parsed inbound message with the fields the transaction and dialog layers key on.
#[derive(Debug, Clone)]
pub enum Inbound {
    Request(InboundRequest),
    Response(InboundResponse),
}

/// A request that passed the RFC 3261 §8.1.1 mandatory-header checks.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub req: Request,
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: Method,
    /// Top Via branch (RFC 3261 magic cookie or not; compared as a string).
    pub branch: String,
    pub from_tag: String,
    pub to_tag: Option<String>,
    /// Max-Forwards, when present and numeric.
    pub max_forwards: Option<u32>,
}

/// A response with the fields a client transaction matches on.
#[derive(Debug, Clone)]
pub struct InboundResponse {
    pub resp: Response,
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: Method,
    pub branch: String,
    pub status: u16,
}

/// Why an inbound datagram or stream message was not accepted, and what we can answer with.
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    /// Human-readable reason (goes into logs and the `Warning`-less 400 reason phrase).
    pub reason: String,
    /// The status to answer with when `salvage` lets us: 400, 501 or 513.
    pub status: u16,
    /// Header lines recovered leniently; `None` when the message is not a request or has no Via.
    pub salvage: Option<Box<Salvage>>,
}

/// The header lines needed to address a response to a request we could not parse.
#[derive(Debug, Clone, PartialEq)]
pub struct Salvage {
    pub vias: Vec<String>,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub cseq: String,
}

/// Parse one complete SIP message. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8]) -> Result<Inbound, Malformed> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(malformed(bytes, 513, "message too large"));
    }
    if let Some(reason) = unknown_method(bytes) {
        return Err(malformed(bytes, 501, &reason));
    }
    let msg = match SipMessage::try_from(bytes) {
        Ok(m) => m,
        Err(e) => return Err(malformed(bytes, 400, &format!("unparsable: {e}"))),
    };
    if let Some(reason) = content_length_mismatch(bytes, &msg) {
        return Err(malformed(bytes, 400, &reason));
    }
    match msg {
        SipMessage::Request(req) => check_request(req).map_err(|r| malformed(bytes, 400, &r)),
        SipMessage::Response(resp) => check_response(resp).map_err(|reason| Malformed {
            reason,
            status: 0,
            salvage: None,
        }),
    }
}

fn check_request(req: Request) -> Result<Inbound, String> {
    let call_id = req
        .call_id_header()
        .map_err(|_| "missing Call-ID".to_string())?
        .value()
        .trim()
        .to_string();
    if call_id.is_empty() {
        return Err("empty Call-ID".into());
    }
    let cseq = req
        .cseq_header()
        .map_err(|_| "missing CSeq".to_string())?
        .typed()
        .map_err(|e| format!("bad CSeq: {e}"))?;
    if cseq.method != req.method && req.method != Method::Ack && req.method != Method::Cancel {
        return Err("CSeq method does not match the request method".into());
    }
    if (req.method == Method::Ack || req.method == Method::Cancel) && cseq.method != req.method {
        return Err("CSeq method does not match the request method".into());
    }
    let via = req
        .top_via_header()
        .map_err(|_| "missing Via".to_string())?
        .typed()
        .map_err(|e| format!("bad Via: {e}"))?;
    let branch = via
        .branch()
        .map(|b| b.to_string())
        .unwrap_or_default()
        .trim_start_matches("branch=")
        .to_string();
    let from = req
        .from_header()
        .map_err(|_| "missing From".to_string())?
        .typed()
        .map_err(|e| format!("bad From: {e}"))?;
    let from_tag = from
        .tag()
        .map(|t| t.value().to_string())
        .ok_or_else(|| "From has no tag".to_string())?;
    let to = req
        .to_header()
        .map_err(|_| "missing To".to_string())?
        .typed()
        .map_err(|e| format!("bad To: {e}"))?;
    let to_tag = to.tag().map(|t| t.value().to_string());
    let max_forwards = req.headers.iter().find_map(|h| match h {
        Header::MaxForwards(v) => v.value().trim().parse().ok(),
        _ => None,
    });
    Ok(Inbound::Request(InboundRequest {
        call_id,
        cseq: cseq.seq,
        cseq_method: cseq.method,
        branch,
        from_tag,
        to_tag,
        max_forwards,
        req,
    }))
}

fn check_response(resp: Response) -> Result<Inbound, String> {
    let call_id = resp
        .call_id_header()
        .map_err(|_| "missing Call-ID".to_string())?
        .value()
        .trim()
        .to_string();
    let cseq = resp
        .cseq_header()
        .map_err(|_| "missing CSeq".to_string())?
        .typed()
        .map_err(|e| format!("bad CSeq: {e}"))?;
    let via = resp
        .top_via_header()
        .map_err(|_| "missing Via".to_string())?
        .typed()
        .map_err(|e| format!("bad Via: {e}"))?;
    let branch = via
        .branch()
        .map(|b| b.to_string())
        .unwrap_or_default()
        .trim_start_matches("branch=")
        .to_string();
    let status = u16::from(resp.status_code.clone());
    Ok(Inbound::Response(InboundResponse {
        call_id,
        cseq: cseq.seq,
        cseq_method: cseq.method,
        branch,
        status,
        resp,
    }))
}

/// RFC 3261 §18.3: over a message transport, a Content-Length larger than the body is malformed.
fn content_length_mismatch(bytes: &[u8], msg: &SipMessage) -> Option<String> {
    let declared = header_lines(bytes).find_map(|(name, value)| {
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().to_string())
    })?;
    let Ok(declared) = declared.parse::<usize>() else {
        return Some(format!("bad Content-Length {declared:?}"));
    };
    let body = match msg {
        SipMessage::Request(r) => r.body.len(),
        SipMessage::Response(r) => r.body.len(),
    };
    (declared > body).then(|| format!("Content-Length {declared} exceeds the body ({body} bytes)"))
}

/// A request line whose method is a well-formed token that we do not know: 501.
fn unknown_method(bytes: &[u8]) -> Option<String> {
    let line_end = bytes.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let line = std::str::from_utf8(&bytes[..line_end]).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let _uri = parts.next()?;
    let version = parts.next()?;
    if version != "SIP/2.0" || method.starts_with("SIP/") {
        return None;
    }
    let is_token = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    let known = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "REGISTER",
        "PRACK",
        "SUBSCRIBE",
        "NOTIFY",
        "PUBLISH",
        "MESSAGE",
        "REFER",
    ];
    (is_token && !known.contains(&method)).then(|| format!("method {method} not implemented"))
}

/// Iterate `(name, value)` over the header section, unfolding nothing (good enough for salvage).
fn header_lines(bytes: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    let head_end = find_subslice(bytes, b"\r\n\r\n")
        .or_else(|| find_subslice(bytes, b"\n\n"))
        .unwrap_or(bytes.len());
    let head = std::str::from_utf8(&bytes[..head_end]).unwrap_or("");
    head.lines().skip(1).filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        Some((name.trim(), value.trim()))
    })
}

fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn malformed(bytes: &[u8], status: u16, reason: &str) -> Malformed {
    Malformed {
        reason: reason.to_string(),
        status,
        salvage: salvage(bytes),
    }
}

/// Recover the lines needed to answer a request we could not parse (RFC 3261 §8.2.6.2 copies).
fn salvage(bytes: &[u8]) -> Option<Box<Salvage>> {
    let first = bytes.split(|&b| b == b'\n').next()?;
    if first.starts_with(b"SIP/") || first.is_empty() {
        return None;
    }
    let (mut vias, mut from, mut to, mut call_id, mut cseq) = (Vec::new(), None, None, None, None);
    for (name, value) in header_lines(bytes) {
        let n = name.to_ascii_lowercase();
        match n.as_str() {
            "via" | "v" => vias.push(value.to_string()),
            "from" | "f" => from = Some(value.to_string()),
            "to" | "t" => to = Some(value.to_string()),
            "call-id" | "i" => call_id = Some(value.to_string()),
            "cseq" => cseq = Some(value.to_string()),
            _ => {}
        }
    }
    if vias.is_empty() {
        return None;
    }
    Some(Box::new(Salvage {
        vias,
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
        call_id: call_id.unwrap_or_default(),
        cseq: cseq.unwrap_or_default(),
    }))
}

/// The standard reason phrase for the status codes we send.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        513 => "Message Too Large",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// A response we are about to send, built from the request it answers (RFC 3261 §8.2.6).
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    reason: String,
    lines: Vec<String>,
    body: Option<(String, Vec<u8>)>,
}

impl ResponseBuilder {
    /// Copies Via (all, with `received`/`rport` filled in on the top one), From, To (adding
    /// `to_tag` when the To has none), Call-ID and CSeq from `req`.
    pub fn new(
        req: &InboundRequest,
        status: u16,
        to_tag: Option<&str>,
        source: SocketAddr,
    ) -> Self {
        let mut lines = Vec::with_capacity(10);
        let mut first_via = true;
        for h in req.req.headers.iter() {
            match h {
                Header::Via(v) => {
                    // A Via header may carry several comma-separated hops; keep the text as is.
                    let value = if first_via {
                        first_via = false;
                        stamp_received(v.value(), source)
                    } else {
                        v.value().to_string()
                    };
                    lines.push(format!("Via: {value}"));
                }
                Header::From(v) => lines.push(format!("From: {}", v.value())),
                Header::To(v) => {
                    let value = v.value();
                    match (to_tag, req.to_tag.is_none()) {
                        (Some(tag), true) if status != 100 => {
                            lines.push(format!("To: {value};tag={tag}"))
                        }
                        _ => lines.push(format!("To: {value}")),
                    }
                }
                Header::CallId(v) => lines.push(format!("Call-ID: {}", v.value())),
                Header::CSeq(v) => lines.push(format!("CSeq: {}", v.value())),
                _ => {}
            }
        }
        ResponseBuilder {
            status,
            reason: reason_phrase(status).to_string(),
            lines,
            body: None,
        }
    }

    /// Build a response for a request we could not parse, from its salvaged lines.
    pub fn from_salvage(s: &Salvage, status: u16, source: SocketAddr) -> Self {
        let mut lines = Vec::new();
        for (i, via) in s.vias.iter().enumerate() {
            let v = if i == 0 {
                stamp_received(via, source)
            } else {
                via.clone()
            };
            lines.push(format!("Via: {v}"));
        }
        lines.push(format!("From: {}", s.from));
        lines.push(format!("To: {}", s.to));
        lines.push(format!("Call-ID: {}", s.call_id));
        lines.push(format!("CSeq: {}", s.cseq));
        ResponseBuilder {
            status,
            reason: reason_phrase(status).to_string(),
            lines,
            body: None,
        }
    }

    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = reason.replace(['\r', '\n'], " ");
        self
    }

    /// Add a header line `Name: value`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.lines.push(format!("{name}: {value}"));
        self
    }

    /// Copy every Record-Route of `req`, in order (RFC 3261 §12.1.1).
    pub fn record_route(mut self, req: &InboundRequest) -> Self {
        for h in req.req.headers.iter() {
            if let Header::RecordRoute(v) = h {
                self.lines.push(format!("Record-Route: {}", v.value()));
            }
        }
        self
    }

    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = Some((content_type.to_string(), body));
        self
    }

    pub fn build(self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        for l in &self.lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
        let mut bytes = match &self.body {
            Some((ct, body)) => {
                let _ = write!(
                    out,
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let mut b = out.into_bytes();
                b.extend_from_slice(body);
                b
            }
            None => {
                out.push_str("Content-Length: 0\r\n\r\n");
                out.into_bytes()
            }
        };
        bytes.shrink_to_fit();
        bytes
    }
}

/// RFC 3261 §18.2.1 and RFC 3581: add `received` when the source differs from sent-by, and fill
/// an empty `rport`.
fn stamp_received(via: &str, source: SocketAddr) -> String {
    // Only the first hop of a comma-separated Via value is stamped.
    let (hop, rest) = match via.find(',') {
        Some(i) => (&via[..i], Some(&via[i..])),
        None => (via, None),
    };
    let mut params: Vec<String> = hop.split(';').map(|p| p.trim().to_string()).collect();
    let sent_by_host = params
        .first()
        .and_then(|p| p.split_whitespace().nth(1))
        .map(|hp| host_of(hp).to_string())
        .unwrap_or_default();
    let mut has_received = false;
    for p in params.iter_mut().skip(1) {
        if p.eq_ignore_ascii_case("rport") {
            *p = format!("rport={}", source.port());
        } else if p.to_ascii_lowercase().starts_with("received=") {
            has_received = true;
        }
    }
    if !has_received && sent_by_host != source.ip().to_string() {
        params.push(format!("received={}", source.ip()));
    }
    let mut s = params.join(";");
    if let Some(rest) = rest {
        s.push_str(rest);
    }
    s
}

fn host_of(host_port: &str) -> &str {
    if let Some(stripped) = host_port.strip_prefix('[') {
        return stripped.split(']').next().unwrap_or(stripped);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// Text of the first header named `name` (case-insensitive, long form) in `req`.
pub fn header_value(req: &Request, name: &str) -> Option<String> {
    req.headers.iter().find_map(|h| {
        let text = h.to_string();
        let (n, v) = text.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Every header of `req` as `(lower-case name, value)`, in order.
pub fn all_headers(req: &Request) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter_map(|h| {
            let text = h.to_string();
            let (n, v) = text.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// Text of the first header named `name` in `resp`.
pub fn response_header(resp: &Response, name: &str) -> Option<String> {
    response_headers(resp, name).into_iter().next()
}

/// Texts of every header named `name` in `resp`, in order (a comma-separated header counts
/// once per line, as received).
pub fn response_headers(resp: &Response, name: &str) -> Vec<String> {
    resp.headers
        .iter()
        .filter_map(|h| {
            let text = h.to_string();
            let (n, v) = text.split_once(':')?;
            let long = n.trim();
            (long.eq_ignore_ascii_case(name) || compact(long) == Some(name))
                .then(|| v.trim().to_string())
        })
        .collect()
}

/// The long name of a compact header name we look up.
fn compact(name: &str) -> Option<&'static str> {
    match name {
        "m" => Some("Contact"),
        "t" => Some("To"),
        "f" => Some("From"),
        "i" => Some("Call-ID"),
        "v" => Some("Via"),
        _ => None,
    }
}

/// The comma-separated values of one header line (`<sip:a;lr>, <sip:b;lr>`), commas inside
/// `<...>` or quotes kept.
pub fn split_values(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(v[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(v[start..].trim().to_string());
    out.retain(|s| !s.is_empty());
    out
}

/// The URI inside a name-addr or addr-spec header value (`"Bob" <sip:bob@h>;tag=1` →
/// `sip:bob@h`).
pub fn uri_of(value: &str) -> Option<String> {
    let v = value.trim();
    let uri = match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v),
    };
    let uri = uri.trim();
    (!uri.is_empty()).then(|| uri.to_string())
}

/// The ACK of a non-2xx final response to an INVITE of ours (RFC 3261 §17.1.1.3): the
/// INVITE's Request-URI, top Via (`via`, same branch) and Route set; From, To (with the
/// response's tag) and Call-ID as the response has them.
pub fn ack_for_non_2xx(
    resp: &InboundResponse,
    request_uri: &str,
    via: &str,
    routes: &[String],
    user_agent: &str,
) -> Vec<u8> {
    let r = &resp.resp;
    let mut s = String::with_capacity(400);
    let _ = write!(s, "ACK {request_uri} SIP/2.0\r\n");
    let _ = write!(s, "Via: {via}\r\n");
    s.push_str("Max-Forwards: 70\r\n");
    let _ = write!(
        s,
        "From: {}\r\n",
        response_header(r, "From").unwrap_or_default()
    );
    let _ = write!(
        s,
        "To: {}\r\n",
        response_header(r, "To").unwrap_or_default()
    );
    let _ = write!(s, "Call-ID: {}\r\n", resp.call_id);
    let _ = write!(s, "CSeq: {} ACK\r\n", resp.cseq);
    for route in routes {
        let _ = write!(s, "Route: {route}\r\n");
    }
    let _ = write!(s, "User-Agent: {user_agent}\r\n");
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:1000@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport\r\n\
From: sipp <sip:sipp@127.0.0.1:5061>;tag=abc\r\n\
To: <sip:1000@127.0.0.1:5060>\r\n\
Call-ID: call-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:sipp@127.0.0.1:5061>\r\n\
Max-Forwards: 70\r\n\
Content-Length: 0\r\n\r\n";

    fn src() -> SocketAddr {
        "127.0.0.1:5061".parse().unwrap()
    }

    #[test]
    fn parses_invite_fields() {
        let Ok(Inbound::Request(r)) = parse(INVITE.as_bytes()) else {
            panic!("expected request")
        };
        assert_eq!(r.call_id, "call-1@127.0.0.1");
        assert_eq!(r.cseq, 1);
        assert_eq!(r.branch, "z9hG4bK-1");
        assert_eq!(r.from_tag, "abc");
        assert_eq!(r.to_tag, None);
        assert_eq!(r.max_forwards, Some(70));
    }

    #[test]
    fn compact_headers_are_understood() {
        let compact = INVITE
            .replace("Via:", "v:")
            .replace("From:", "f:")
            .replace("To:", "t:")
            .replace("Call-ID:", "i:")
            .replace("Content-Length:", "l:");
        assert!(matches!(parse(compact.as_bytes()), Ok(Inbound::Request(_))));
    }

    #[test]
    fn missing_call_id_is_a_400_with_salvage() {
        let bad = INVITE.replace("Call-ID: call-1@127.0.0.1\r\n", "");
        let err = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.salvage.is_some());
    }

    #[test]
    fn unknown_method_is_501() {
        let bad = INVITE
            .replace("INVITE sip", "FROBNICATE sip")
            .replace("1 INVITE", "1 FROBNICATE");
        assert_eq!(parse(bad.as_bytes()).unwrap_err().status, 501);
    }

    #[test]
    fn content_length_beyond_body_is_400() {
        let bad = INVITE.replace("Content-Length: 0", "Content-Length: 300");
        assert_eq!(parse(bad.as_bytes()).unwrap_err().status, 400);
    }

    #[test]
    fn oversized_message_is_513() {
        let mut big = INVITE.as_bytes().to_vec();
        big.resize(MAX_MESSAGE_BYTES + 1, b'a');
        assert_eq!(parse(&big).unwrap_err().status, 513);
    }

    #[test]
    fn garbage_never_panics_and_truncations_never_panic() {
        for len in 0..INVITE.len() {
            let _ = parse(&INVITE.as_bytes()[..len]);
        }
        let _ = parse(&[0xff, 0xfe, 0x00, 0x13]);
        let _ = parse(b"\r\n\r\n");
        let _ = parse(b"INVITE  SIP/2.0\r\n\r\n");
    }

    #[test]
    fn response_copies_headers_adds_tag_and_rport() {
        let Ok(Inbound::Request(r)) = parse(INVITE.as_bytes()) else {
            panic!()
        };
        let text =
            String::from_utf8(ResponseBuilder::new(&r, 200, Some("xyz"), src()).build()).unwrap();
        assert!(text.starts_with("SIP/2.0 200 OK\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport=5061\r\n"));
        assert!(text.contains("To: <sip:1000@127.0.0.1:5060>;tag=xyz\r\n"));
        assert!(text.contains("CSeq: 1 INVITE\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn received_is_added_when_source_differs() {
        let v = stamp_received("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1", src());
        assert_eq!(
            v,
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=127.0.0.1"
        );
    }
}
