//! Registrations kept by the stack ([`Dialer::register`]): one task per binding around a
//! [`Registration`], its responses routed by Call-ID like a dialog's.

use super::{host_of_uri, host_port, local_ip_towards, new_tag, next_hop, send, DialogInput};
use super::{Dialer, Shared};
use crate::dialog::Local;
use crate::register::{retry_after, Binding, RegisterOutput, Registration, RegistrationState};
use crate::transport::Transport;
use crate::uri::SipUri;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

/// An account to keep registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSpec {
    /// The registrar (`sip:sip.carrier.example:5060`); also the domain of the address of
    /// record.
    pub registrar: String,
    /// The account: the user part of the address of record and of our Contact.
    pub user: String,
    /// Send through this proxy with a loose Route.
    pub outbound_proxy: Option<String>,
    /// Digest username and password.
    pub credentials: Option<(String, String)>,
    /// Seconds asked for.
    pub expires: u32,
}

/// A binding kept fresh in the background. Dropping it removes the binding (REGISTER with
/// expires 0) and ends the task.
#[derive(Debug)]
pub struct RegistrationHandle {
    state: watch::Receiver<RegistrationState>,
    _stop: oneshot::Sender<()>,
}

impl RegistrationHandle {
    /// The state now.
    pub fn state(&self) -> RegistrationState {
        self.state.borrow().clone()
    }

    /// A receiver of every state change.
    pub fn watch(&self) -> watch::Receiver<RegistrationState> {
        self.state.clone()
    }
}

impl Dialer {
    /// Keep `spec` registered until the handle is dropped: refreshed before expiry, retried
    /// with backoff (also when the registrar does not resolve).
    pub fn register(&self, spec: RegisterSpec) -> RegistrationHandle {
        let (state_tx, state) = watch::channel(RegistrationState::Registering);
        let (stop_tx, stop) = oneshot::channel();
        tokio::spawn(run(self.shared.clone(), spec, state_tx, stop));
        RegistrationHandle {
            state,
            _stop: stop_tx,
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    spec: RegisterSpec,
    state: watch::Sender<RegistrationState>,
    mut stop: oneshot::Receiver<()>,
) {
    // Resolve the registrar (or proxy); a failure is retried with backoff like a refusal.
    let mut failures = 0;
    let (peer, registrar) = loop {
        let resolved = match SipUri::parse(&spec.registrar) {
            Ok(uri) => next_hop(&shared, &uri, spec.outbound_proxy.as_deref())
                .await
                .map(|(peer, _)| (peer, uri))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match resolved {
            Ok(x) => break x,
            Err(reason) => {
                failures += 1;
                let wait = retry_after(failures);
                warn!(registrar = %spec.registrar, %reason, "cannot register");
                let _ = state.send(RegistrationState::Failed {
                    reason,
                    retry_at: Instant::now() + wait,
                });
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = &mut stop => return,
                }
            }
        }
    };
    let address = shared
        .config
        .public_address
        .unwrap_or_else(|| local_ip_towards(&peer));
    let host = host_port(address, peer.local().port());
    let tag = new_tag();
    let local = Local {
        tag: tag.clone(),
        contact: format!("<sip:{}@{host}>", spec.user),
        via_sent_by: host.clone(),
        transport: Transport::Udp.via_name(),
        user_agent: shared.config.user_agent.clone(),
        reliable: false,
    };
    let bare = if registrar.host.contains(':') {
        format!("[{}]", registrar.host)
    } else {
        registrar.host.clone()
    };
    let domain = match registrar.port {
        Some(p) => format!("{bare}:{p}"),
        None => bare,
    };
    let call_id = format!("{:016x}r@{}", rand::random::<u64>(), host_of_uri(&host));
    let binding = Binding {
        registrar: format!("sip:{domain}"),
        aor: format!("sip:{}@{domain}", spec.user),
        call_id: call_id.clone(),
        credentials: spec.credentials.clone(),
        expires: spec.expires,
        routes: spec
            .outbound_proxy
            .as_ref()
            .map(|p| vec![format!("<{p};lr>")])
            .unwrap_or_default(),
    };
    let mut machine = Registration::new(binding, local, shared.config.timers, rand::random());
    let (tx, mut inputs) = mpsc::unbounded_channel();
    shared.dialogs.insert(call_id.clone(), tx);
    machine.start(Instant::now());
    let mut stopped = false;
    loop {
        while let Some(out) = machine.poll_output() {
            match out {
                RegisterOutput::Send(bytes) => send(&shared, &peer, &bytes),
                RegisterOutput::State(s) => {
                    match &s {
                        RegistrationState::Registered { expires, .. } => {
                            info!(registrar = %spec.registrar, user = %spec.user, expires, "registered")
                        }
                        RegistrationState::Failed { reason, .. } => {
                            warn!(registrar = %spec.registrar, user = %spec.user, %reason, "registration failed")
                        }
                        _ => {}
                    }
                    let _ = state.send(s);
                }
            }
        }
        if machine.is_finished() {
            break;
        }
        let deadline = machine.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            input = inputs.recv() => match input {
                Some(DialogInput::Response(r)) => machine.on_response(Instant::now(), *r),
                Some(_) => {}
                None => break,
            },
            _ = &mut stop, if !stopped => {
                stopped = true;
                machine.stop(Instant::now());
            }
            _ = sleep => machine.on_timeout(Instant::now()),
        }
    }
    shared.dialogs.remove(&call_id);
}
