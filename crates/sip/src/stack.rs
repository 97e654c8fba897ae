//! The I/O shell of the SIP layer: listeners, dispatch by Call-ID, one task per dialog.
//!
//! Out-of-dialog requests are answered here (OPTIONS 200, unknown dialog 481, unsupported
//! methods 405/501, malformed 400). A new INVITE gets `100 Trying` at once, a [`UasDialog`] in
//! its own task, and an [`IncomingCall`] on the channel returned by [`SipStack::bind`].

use crate::dialog::{DialogEvent, Local, Output, UasDialog, Q850};
use crate::message::{self, Inbound, InboundRequest, InboundResponse, ResponseBuilder};
use crate::timer::Timers;
use crate::transport::{self, Frame, ListenAddr, Peer, Transport};
use crate::uac::{Dial, UacDialog};
use crate::uri::{SipUri, UriError};
use dashmap::DashMap;
use rsipstack::sip::Method;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

mod registrar;
mod registration;
pub use registrar::{IncomingRegister, RegisterReply};
pub use registration::{RegisterSpec, RegistrationHandle};

/// Settings of the SIP layer (the `[sip]` section).
#[derive(Debug, Clone)]
pub struct SipConfig {
    pub listen: Vec<ListenAddr>,
    /// Address to advertise in Contact and SDP; `None` = the address the call arrived on.
    pub public_address: Option<IpAddr>,
    pub user_agent: String,
    pub timers: Timers,
    /// New INVITEs beyond this many live dialogs get 503.
    pub max_calls: usize,
}

/// Errors starting the SIP layer. The caller should report them and exit.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Counters exported as metrics.
#[derive(Debug, Default)]
pub struct SipStats {
    pub messages_received: AtomicU64,
    /// Malformed messages answered with a 4xx/5xx.
    pub malformed_answered: AtomicU64,
    /// Malformed messages dropped (nothing to answer to).
    pub malformed_dropped: AtomicU64,
    pub invites_received: AtomicU64,
    /// INVITEs refused before a call was created (shutdown, overload, loops), by 503/483.
    pub invites_refused: AtomicU64,
    pub send_errors: AtomicU64,
}

/// A call offered to the application. Answer, reject or hang up through `handle`; dialog events
/// arrive on `events`.
#[derive(Debug)]
pub struct IncomingCall {
    pub call_id: String,
    /// The user part of the Request-URI (the dialed number); "" when absent.
    pub dialed_user: String,
    pub request_uri: String,
    /// From/To header values as received.
    pub from: String,
    pub to: String,
    /// Every header of the INVITE, lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The SDP offer, if the INVITE carried one.
    pub offer: Option<Vec<u8>>,
    pub remote: SocketAddr,
    pub transport: Transport,
    /// The address to put in our SDP (public address or the local address facing the peer).
    pub media_address: IpAddr,
    pub handle: CallHandle,
    pub events: mpsc::UnboundedReceiver<DialogEvent>,
}

/// Commands to one dialog. Cheap to clone; commands to an ended dialog are ignored.
#[derive(Debug, Clone)]
pub struct CallHandle {
    tx: mpsc::UnboundedSender<DialogInput>,
}

#[derive(Debug)]
enum DialogInput {
    Request(Box<InboundRequest>),
    Response(Box<InboundResponse>),
    Provisional(u16, Option<Vec<u8>>),
    Answer(Vec<u8>),
    Reject(u16, Option<Q850>),
    Hangup(u16, Option<Q850>),
    AnswerReoffer(u32, Result<Vec<u8>, u16>),
    Invite(Vec<u8>),
    ReInvite(Vec<u8>),
}

impl CallHandle {
    pub fn provisional(&self, status: u16, sdp: Option<Vec<u8>>) {
        let _ = self.tx.send(DialogInput::Provisional(status, sdp));
    }
    pub fn answer(&self, sdp: Vec<u8>) {
        let _ = self.tx.send(DialogInput::Answer(sdp));
    }
    pub fn reject(&self, status: u16, reason: Option<Q850>) {
        let _ = self.tx.send(DialogInput::Reject(status, reason));
    }
    /// BYE when answered, else the final response `unanswered_status`.
    pub fn hangup(&self, unanswered_status: u16, reason: Option<Q850>) {
        let _ = self.tx.send(DialogInput::Hangup(unanswered_status, reason));
    }
    pub fn answer_reoffer(&self, cseq: u32, answer: Result<Vec<u8>, u16>) {
        let _ = self.tx.send(DialogInput::AnswerReoffer(cseq, answer));
    }
    /// Outgoing calls: send the INVITE with our offer.
    pub fn invite(&self, sdp: Vec<u8>) {
        let _ = self.tx.send(DialogInput::Invite(sdp));
    }
    /// Send a re-INVITE with a new offer of ours (hold, resume).
    pub fn reinvite(&self, sdp: Vec<u8>) {
        let _ = self.tx.send(DialogInput::ReInvite(sdp));
    }
}

/// An outbound call placed with [`Dialer::dial`]: its dialog and what to put in our SDP.
#[derive(Debug)]
pub struct OutgoingCall {
    /// The Call-ID.
    pub call_id: String,
    /// Commands: [`CallHandle::invite`] first, then hangup (CANCEL or BYE), re-INVITE, ...
    pub handle: CallHandle,
    /// Progress, answer, refusal, the peer's requests.
    pub events: mpsc::UnboundedReceiver<DialogEvent>,
    /// The address to put in our SDP (the public address, or the local address facing the
    /// next hop).
    pub media_address: IpAddr,
}

/// Where and as whom to place an outbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialSpec {
    /// The Request-URI (`sip:bob@198.51.100.7:5070`).
    pub target: String,
    /// The user part of our From (a number or a name); `None` = `switchyard`.
    pub from_user: Option<String>,
    /// Our From display name.
    pub from_name: Option<String>,
    /// Send everything through this proxy (`sip:proxy.example:5060`) with a loose Route.
    pub outbound_proxy: Option<String>,
    /// Digest credentials for 401/407: username and password.
    pub credentials: Option<(String, String)>,
    /// Further headers (`P-Asserted-Identity`, ...).
    pub headers: Vec<(String, String)>,
}

/// Why a call could not be placed. The leg fails at once (the caller reports 404/503).
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The target or proxy is not a SIP URI we can use.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The host has no address.
    #[error("{host} does not resolve: {reason}")]
    Unresolved { host: String, reason: String },
    /// No listener of the needed transport and address family to send from.
    #[error("no {0} listener to send from")]
    NoTransport(String),
    /// The stack is shutting down or full.
    #[error("not taking calls now")]
    Unavailable,
}

/// Places outbound calls through the stack's listeners. Cheap to clone.
#[derive(Clone)]
pub struct Dialer {
    shared: Arc<Shared>,
}

impl Dialer {
    /// Resolve the next hop and start a UAC dialog; nothing is sent until
    /// [`CallHandle::invite`]. IP literals need no lookup; names are looked up (A/AAAA).
    pub async fn dial(&self, spec: DialSpec) -> Result<OutgoingCall, DialError> {
        let shared = &self.shared;
        if !shared.accepting.load(Ordering::SeqCst)
            || shared.dialogs.len() >= shared.config.max_calls
        {
            return Err(DialError::Unavailable);
        }
        let target = SipUri::parse(&spec.target)?;
        let (peer, hop) = next_hop(shared, &target, spec.outbound_proxy.as_deref()).await?;
        let addr = peer.addr();
        let media_address = shared
            .config
            .public_address
            .unwrap_or_else(|| local_ip_towards(&peer));
        let host = host_port(media_address, peer.local().port());
        let tag = new_tag();
        let local = Local {
            tag: tag.clone(),
            contact: format!("<sip:switchyard@{host}>"),
            via_sent_by: host.clone(),
            transport: Transport::Udp.via_name(),
            user_agent: shared.config.user_agent.clone(),
            reliable: false,
        };
        let user = spec
            .from_user
            .clone()
            .unwrap_or_else(|| "switchyard".into());
        let from_uri = format!("sip:{user}@{}", host_of_uri(&host));
        let from = match spec.from_name.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => format!("\"{}\" <{from_uri}>", n.replace('"', "")),
            None => format!("<{from_uri}>"),
        };
        let call_id = format!(
            "{:016x}{:08x}@switchyard",
            rand::random::<u64>(),
            rand::random::<u32>()
        );
        let dial = Dial {
            request_uri: target.to_string(),
            from,
            to: format!("<{target}>"),
            call_id: call_id.clone(),
            routes: spec
                .outbound_proxy
                .as_ref()
                .map(|_| vec![format!("<{hop};lr>")])
                .unwrap_or_default(),
            credentials: spec.credentials.clone(),
            headers: spec.headers.clone(),
        };
        let dialog = UacDialog::new(dial, addr, local, shared.config.timers, rand::random());
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        shared.dialogs.insert(call_id.clone(), tx.clone());
        tokio::spawn(run_dialog(
            shared.clone(),
            call_id.clone(),
            dialog,
            peer,
            rx,
            events_tx,
        ));
        Ok(OutgoingCall {
            call_id,
            handle: CallHandle { tx },
            events: events_rx,
            media_address,
        })
    }
}

/// Where requests to `target` go (the outbound proxy when there is one), resolved, and the
/// listener that sends them; and the hop's URI.
async fn next_hop(
    shared: &Shared,
    target: &SipUri,
    outbound_proxy: Option<&str>,
) -> Result<(Peer, SipUri), DialError> {
    let hop = match outbound_proxy {
        Some(p) => SipUri::parse(p)?,
        None => target.clone(),
    };
    if hop.secure || hop.transport.as_deref().is_some_and(|t| t != "udp") {
        let t = hop.transport.clone().unwrap_or_else(|| "tls".into());
        return Err(DialError::NoTransport(t));
    }
    let port = hop.port_or_default();
    let addr = match hop.host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((hop.host.as_str(), port))
            .await
            .map_err(|e| DialError::Unresolved {
                host: hop.host.clone(),
                reason: e.to_string(),
            })?
            .next()
            .ok_or_else(|| DialError::Unresolved {
                host: hop.host.clone(),
                reason: "no address".into(),
            })?,
    };
    let socket = shared
        .udp
        .iter()
        .find(|s| s.local_addr().is_ok_and(|l| l.is_ipv4() == addr.is_ipv4()))
        .cloned()
        .ok_or_else(|| DialError::NoTransport("udp".into()))?;
    Ok((Peer::Udp { socket, addr }, hop))
}

/// The host of `host:port` (`[v6]:port` keeps its brackets).
fn host_of_uri(host_port: &str) -> &str {
    match host_port.rfind(':') {
        Some(i) if !host_port[..i].ends_with(']') && host_port[..i].contains(':') => host_port,
        Some(i) => &host_port[..i],
        None => host_port,
    }
}

struct Shared {
    config: SipConfig,
    /// The UDP listeners, which outbound calls send from (so responses come back to them).
    udp: Vec<Arc<UdpSocket>>,
    dialogs: DashMap<String, mpsc::UnboundedSender<DialogInput>>,
    calls: mpsc::Sender<IncomingCall>,
    accepting: AtomicBool,
    stats: Arc<SipStats>,
    /// Where REGISTERs go once the application takes them ([`SipStack::take_registrations`]).
    registrar: std::sync::OnceLock<mpsc::Sender<IncomingRegister>>,
}

/// The running SIP layer. Dropping it does not stop the listeners; call [`SipStack::shutdown`].
pub struct SipStack {
    shared: Arc<Shared>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    local: Vec<ListenAddr>,
}

impl SipStack {
    /// Bind every listener and start serving. Calls arrive on the returned channel.
    pub async fn bind(
        config: SipConfig,
    ) -> Result<(SipStack, mpsc::Receiver<IncomingCall>), SipError> {
        let (calls, rx) = mpsc::channel(4096);
        let mut tasks = Vec::new();
        let mut local = Vec::new();
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        for l in &config.listen {
            let bind_err = |source| SipError::Bind {
                addr: format!("{}:{}", l.transport.via_name().to_lowercase(), l.addr),
                source,
            };
            match l.transport {
                Transport::Udp => {
                    let socket = bind_udp(l.addr).map_err(bind_err)?;
                    let socket = Arc::new(socket);
                    let addr = socket.local_addr().map_err(bind_err)?;
                    local.push(ListenAddr {
                        transport: Transport::Udp,
                        addr,
                    });
                    info!(%addr, "SIP listening on UDP");
                    udp.push(socket);
                }
                Transport::Tcp => {
                    let listener = TcpListener::bind(l.addr).await.map_err(bind_err)?;
                    let addr = listener.local_addr().map_err(bind_err)?;
                    local.push(ListenAddr {
                        transport: Transport::Tcp,
                        addr,
                    });
                    info!(%addr, "SIP listening on TCP");
                    tcp.push(listener);
                }
            }
        }
        let shared = Arc::new(Shared {
            dialogs: DashMap::new(),
            calls,
            accepting: AtomicBool::new(true),
            stats: Arc::new(SipStats::default()),
            config: config.clone(),
            udp: udp.clone(),
            registrar: std::sync::OnceLock::new(),
        });
        for socket in udp {
            tasks.push(tokio::spawn(serve_udp(shared.clone(), socket)));
        }
        for listener in tcp {
            tasks.push(tokio::spawn(serve_tcp(shared.clone(), listener)));
        }
        Ok((
            SipStack {
                shared,
                tasks: std::sync::Mutex::new(tasks),
                local,
            },
            rx,
        ))
    }

    /// The bound addresses (ports resolved when 0 was asked for).
    pub fn local_addrs(&self) -> &[ListenAddr] {
        &self.local
    }

    pub fn stats(&self) -> Arc<SipStats> {
        self.shared.stats.clone()
    }

    /// What places outbound calls through these listeners.
    pub fn dialer(&self) -> Dialer {
        Dialer {
            shared: self.shared.clone(),
        }
    }

    /// Be the registrar: REGISTERs arrive on the returned channel (until then they get 405).
    /// `None` when they were taken already.
    pub fn take_registrations(&self) -> Option<mpsc::Receiver<IncomingRegister>> {
        let (tx, rx) = mpsc::channel(1024);
        self.shared.registrar.set(tx).ok().map(|_| rx)
    }

    /// Live dialogs (including ones lingering for retransmissions).
    pub fn dialog_count(&self) -> usize {
        self.shared.dialogs.len()
    }

    /// Stop or resume taking new calls; while stopped, new INVITEs get 503.
    pub fn set_accepting(&self, accepting: bool) {
        self.shared.accepting.store(accepting, Ordering::SeqCst);
    }

    /// Stop the listeners. Dialog tasks end on their own.
    pub fn stop(&self) {
        if let Ok(mut tasks) = self.tasks.lock() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let std_socket = std::net::UdpSocket::bind(addr)?;
    std_socket.set_nonblocking(true)?;
    UdpSocket::from_std(std_socket)
}

async fn serve_udp(shared: Arc<Shared>, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, addr) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors surface here on some platforms; they concern one peer only.
                debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        let peer = Peer::Udp {
            socket: socket.clone(),
            addr,
        };
        let data = &buf[..n];
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            continue; // keep-alive
        }
        handle_bytes(&shared, data, &peer);
    }
}

async fn serve_tcp(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            transport::serve_tcp_connection(stream, |frame, peer| match frame {
                Frame::Message(bytes) => handle_bytes(&shared, &bytes, peer),
                Frame::Broken(bytes) => {
                    let m = message::parse(&bytes).err().unwrap_or(message::Malformed {
                        reason: "unframable stream".into(),
                        status: 400,
                        salvage: None,
                    });
                    answer_malformed(&shared, &m, peer, 513);
                }
            })
            .await;
        });
    }
}

/// Entry point for every complete message from any transport.
fn handle_bytes(shared: &Arc<Shared>, data: &[u8], peer: &Peer) {
    shared
        .stats
        .messages_received
        .fetch_add(1, Ordering::Relaxed);
    match message::parse(data) {
        Err(m) => answer_malformed(shared, &m, peer, m.status),
        Ok(Inbound::Response(r)) => {
            if let Some(tx) = shared.dialogs.get(&r.call_id) {
                let _ = tx.send(DialogInput::Response(Box::new(r)));
            }
        }
        Ok(Inbound::Request(r)) => handle_request(shared, r, peer),
    }
}

fn answer_malformed(shared: &Shared, m: &message::Malformed, peer: &Peer, status: u16) {
    let is_ack = m.salvage.as_ref().is_some_and(|s| s.cseq.contains("ACK"));
    match &m.salvage {
        Some(s) if !is_ack => {
            warn!(peer = %peer.addr(), reason = %m.reason, status, "malformed SIP request answered");
            shared
                .stats
                .malformed_answered
                .fetch_add(1, Ordering::Relaxed);
            let bytes = ResponseBuilder::from_salvage(s, status, peer.addr())
                .header("Server", &shared.config.user_agent)
                .build();
            send(shared, peer, &bytes);
        }
        _ => {
            debug!(peer = %peer.addr(), reason = %m.reason, "malformed SIP message dropped");
            shared
                .stats
                .malformed_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn send(shared: &Shared, peer: &Peer, bytes: &[u8]) {
    if peer.send(bytes).is_err() {
        shared.stats.send_errors.fetch_add(1, Ordering::Relaxed);
    }
}

fn handle_request(shared: &Arc<Shared>, r: InboundRequest, peer: &Peer) {
    if let Some(tx) = shared.dialogs.get(&r.call_id) {
        let _ = tx.send(DialogInput::Request(Box::new(r)));
        return;
    }
    let source = peer.addr();
    let respond = |status: u16| {
        ResponseBuilder::new(&r, status, Some(&new_tag()), source)
            .header("Server", &shared.config.user_agent)
    };
    match r.req.method {
        Method::Invite if r.to_tag.is_none() => new_call(shared, r, peer),
        Method::Register => registrar::deliver(shared, r, peer),
        Method::Ack => {}
        Method::Options => {
            let bytes = respond(200)
                .header("Allow", message::ALLOW)
                .header("Accept", message::ACCEPT)
                .header("Accept-Language", "en")
                .build();
            send(shared, peer, &bytes);
        }
        Method::Bye
        | Method::Cancel
        | Method::Info
        | Method::Update
        | Method::Invite
        | Method::PRack => send(shared, peer, &respond(481).build()),
        _ => send(
            shared,
            peer,
            &respond(405).header("Allow", message::ALLOW).build(),
        ),
    }
}

fn new_call(shared: &Arc<Shared>, r: InboundRequest, peer: &Peer) {
    shared
        .stats
        .invites_received
        .fetch_add(1, Ordering::Relaxed);
    let source = peer.addr();
    let refuse = |status: u16, reason: &str| {
        shared.stats.invites_refused.fetch_add(1, Ordering::Relaxed);
        let mut b = ResponseBuilder::new(&r, status, Some(&new_tag()), source)
            .header("Server", &shared.config.user_agent);
        if status == 503 {
            b = b.header("Retry-After", "5");
        }
        debug!(call_id = %r.call_id, status, reason, "INVITE refused");
        send(shared, peer, &b.build());
    };
    if r.max_forwards == Some(0) {
        return refuse(483, "Max-Forwards is 0");
    }
    let require = message::header_value(&r.req, "Require").unwrap_or_default();
    let missing = message::unsupported(&require);
    if !missing.is_empty() {
        // RFC 3261 §8.2.2.3: an extension the caller requires and we do not implement.
        shared.stats.invites_refused.fetch_add(1, Ordering::Relaxed);
        let b = ResponseBuilder::new(&r, 420, Some(&new_tag()), source)
            .header("Server", &shared.config.user_agent)
            .header("Unsupported", &missing.join(", "));
        debug!(call_id = %r.call_id, require = %require, "INVITE refused: 420");
        return send(shared, peer, &b.build());
    }
    if !shared.accepting.load(Ordering::SeqCst) {
        return refuse(503, "shutting down");
    }
    if shared.dialogs.len() >= shared.config.max_calls {
        return refuse(503, "max_calls reached");
    }
    let trying = ResponseBuilder::new(&r, 100, None, source)
        .header("Server", &shared.config.user_agent)
        .build();
    send(shared, peer, &trying);

    let media_address = shared
        .config
        .public_address
        .unwrap_or_else(|| local_ip_towards(peer));
    let local_port = peer.local().port();
    let host = host_port(media_address, local_port);
    let transport = peer.transport();
    let contact = match transport {
        Transport::Udp => format!("<sip:switchyard@{host}>"),
        Transport::Tcp => format!("<sip:switchyard@{host};transport=tcp>"),
    };
    let local = Local {
        tag: new_tag(),
        contact,
        via_sent_by: host,
        transport: transport.via_name(),
        user_agent: shared.config.user_agent.clone(),
        reliable: transport == Transport::Tcp,
    };
    let call = IncomingCallParts {
        call_id: r.call_id.clone(),
        dialed_user: r
            .req
            .uri
            .auth
            .as_ref()
            .map(|a| a.user.clone())
            .unwrap_or_default(),
        request_uri: r.req.uri.to_string(),
        from: message::header_value(&r.req, "From").unwrap_or_default(),
        to: message::header_value(&r.req, "To").unwrap_or_default(),
        headers: message::all_headers(&r.req),
        offer: (!r.req.body.is_empty()).then(|| r.req.body.clone()),
    };
    let call_id = r.call_id.clone();
    let dialog = UasDialog::new(r, source, local, shared.config.timers, trying);
    let (tx, rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    shared.dialogs.insert(call_id.clone(), tx.clone());
    let incoming = IncomingCall {
        call_id: call.call_id,
        dialed_user: call.dialed_user,
        request_uri: call.request_uri,
        from: call.from,
        to: call.to,
        headers: call.headers,
        offer: call.offer,
        remote: source,
        transport,
        media_address,
        handle: CallHandle { tx: tx.clone() },
        events: events_rx,
    };
    tokio::spawn(run_dialog(
        shared.clone(),
        call_id,
        dialog,
        peer.clone(),
        rx,
        events_tx,
    ));
    if let Err(e) = shared.calls.try_send(incoming) {
        // The application cannot take more calls right now.
        let call = match e {
            mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => c,
        };
        call.handle.reject(503, None);
    }
}

struct IncomingCallParts {
    call_id: String,
    dialed_user: String,
    request_uri: String,
    from: String,
    to: String,
    headers: Vec<(String, String)>,
    offer: Option<Vec<u8>>,
}

/// What the dialog task drives: a UAS or a UAC dialog.
trait Machine: Send + 'static {
    fn on_request(&mut self, now: Instant, r: InboundRequest);
    fn on_response(&mut self, now: Instant, r: InboundResponse);
    fn on_timeout(&mut self, now: Instant);
    /// A command from the call.
    fn command(&mut self, now: Instant, input: DialogInput);
    fn poll_output(&mut self) -> Option<Output>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn is_finished(&self, now: Instant) -> bool;
    /// What an ended dialog keeps to answer retransmissions, once it can be dropped.
    fn tombstone(&self) -> Option<crate::dialog::Tombstone>;
}

impl Machine for UasDialog {
    fn on_request(&mut self, now: Instant, r: InboundRequest) {
        UasDialog::on_request(self, now, r)
    }
    fn on_response(&mut self, now: Instant, r: InboundResponse) {
        UasDialog::on_response(self, now, r)
    }
    fn on_timeout(&mut self, now: Instant) {
        UasDialog::on_timeout(self, now)
    }
    fn command(&mut self, now: Instant, input: DialogInput) {
        match input {
            DialogInput::Provisional(s, sdp) => self.provisional(s, sdp),
            DialogInput::Answer(sdp) => self.answer(now, sdp),
            DialogInput::Reject(s, reason) => self.reject(now, s, reason),
            DialogInput::Hangup(s, reason) => self.hangup(now, s, reason),
            DialogInput::AnswerReoffer(cseq, a) => self.answer_reoffer(now, cseq, a),
            DialogInput::ReInvite(sdp) => self.reinvite(now, sdp),
            DialogInput::Invite(_) | DialogInput::Request(_) | DialogInput::Response(_) => {}
        }
    }
    fn poll_output(&mut self) -> Option<Output> {
        UasDialog::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        UasDialog::poll_timeout(self)
    }
    fn is_finished(&self, now: Instant) -> bool {
        UasDialog::is_finished(self, now)
    }
    fn tombstone(&self) -> Option<crate::dialog::Tombstone> {
        UasDialog::tombstone(self)
    }
}

impl Machine for UacDialog {
    fn on_request(&mut self, now: Instant, r: InboundRequest) {
        UacDialog::on_request(self, now, r)
    }
    fn on_response(&mut self, now: Instant, r: InboundResponse) {
        UacDialog::on_response(self, now, r)
    }
    fn on_timeout(&mut self, now: Instant) {
        UacDialog::on_timeout(self, now)
    }
    fn command(&mut self, now: Instant, input: DialogInput) {
        match input {
            DialogInput::Invite(sdp) => self.invite(now, sdp),
            DialogInput::Hangup(_, reason) | DialogInput::Reject(_, reason) => {
                self.hangup(now, reason.map(|r| r.header_value()))
            }
            DialogInput::AnswerReoffer(cseq, a) => self.answer_reoffer(now, cseq, a),
            DialogInput::ReInvite(sdp) => self.reinvite(now, sdp),
            DialogInput::Provisional(..)
            | DialogInput::Answer(_)
            | DialogInput::Request(_)
            | DialogInput::Response(_) => {}
        }
    }
    fn poll_output(&mut self) -> Option<Output> {
        UacDialog::poll_output(self)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        UacDialog::poll_timeout(self)
    }
    fn is_finished(&self, now: Instant) -> bool {
        UacDialog::is_finished(self, now)
    }
    fn tombstone(&self) -> Option<crate::dialog::Tombstone> {
        None
    }
}

async fn run_dialog<M: Machine>(
    shared: Arc<Shared>,
    call_id: String,
    mut dialog: M,
    peer: Peer,
    mut inputs: mpsc::UnboundedReceiver<DialogInput>,
    events: mpsc::UnboundedSender<DialogEvent>,
) {
    loop {
        while let Some(out) = dialog.poll_output() {
            match out {
                Output::Send(bytes) => send(&shared, &peer, &bytes),
                Output::Event(e) => {
                    let _ = events.send(e);
                }
            }
        }
        let now = Instant::now();
        if dialog.is_finished(now) {
            break;
        }
        if let Some(tombstone) = dialog.tombstone() {
            // Drop the dialog (and its parsed INVITE); keep only what retransmissions need.
            drop(dialog);
            linger(&shared, &peer, &mut inputs, tombstone).await;
            break;
        }
        let deadline = dialog.poll_timeout();
        let input = match deadline {
            Some(at) => {
                tokio::select! {
                    i = inputs.recv() => i,
                    _ = tokio::time::sleep_until(at.into()) => {
                        dialog.on_timeout(Instant::now());
                        continue;
                    }
                }
            }
            None => inputs.recv().await,
        };
        let Some(input) = input else {
            break;
        };
        let now = Instant::now();
        match input {
            DialogInput::Request(r) => dialog.on_request(now, *r),
            DialogInput::Response(r) => dialog.on_response(now, *r),
            command => dialog.command(now, command),
        }
    }
    shared.dialogs.remove(&call_id);
}

/// Answer retransmitted requests of an ended dialog until Timer J; everything else gets 481.
async fn linger(
    shared: &Shared,
    peer: &Peer,
    inputs: &mut mpsc::UnboundedReceiver<DialogInput>,
    tombstone: crate::dialog::Tombstone,
) {
    let until = tokio::time::Instant::from_std(tombstone.until);
    loop {
        let input = tokio::select! {
            i = inputs.recv() => i,
            _ = tokio::time::sleep_until(until) => return,
        };
        match input {
            None => return,
            Some(DialogInput::Request(r)) => {
                let method = r.req.method;
                if method == Method::Ack {
                    continue;
                }
                match tombstone.response_for(r.cseq, method) {
                    Some(bytes) => send(shared, peer, bytes),
                    None => {
                        let b = ResponseBuilder::new(&r, 481, None, peer.addr())
                            .header("Server", &shared.config.user_agent);
                        send(shared, peer, &b.build());
                    }
                }
            }
            Some(_) => {}
        }
    }
}

fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(v4) => format!("{v4}:{port}"),
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
    }
}

/// The local address the kernel would use to reach `peer` (no packet is sent).
fn local_ip_towards(peer: &Peer) -> IpAddr {
    let local = peer.local();
    if !local.ip().is_unspecified() {
        return local.ip();
    }
    let bind: SocketAddr = if peer.addr().is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    std::net::UdpSocket::bind(bind)
        .and_then(|s| {
            s.connect(peer.addr())?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(local.ip())
}
