//! [`Runtime`]: the services wired together, the SIP stack, and the loop that hands each
//! incoming call to its own task; and what the outside (the API, the server) may ask of them.

use crate::config::Config;
use crate::events::EventBus;
use crate::flows::{FileProblem, FlowRegistry};
use crate::http::HttpEngine;
use crate::metrics::SipCounters;
use crate::ports::PortPool;
use crate::services::{Catalog, MediaServices, Services};
use crate::sounds::SoundLibrary;
use crate::tts::Tts;
use call::{CallRecord, Published, ResumeError, ResumeEvent, ResumeOutcome};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Why the runtime could not start. The server prints it and exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid flows:\n{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Flows(Vec<FileProblem>),
    #[error(transparent)]
    Sip(#[from] sip::SipError),
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
    #[error("http: {0}")]
    Http(#[from] crate::http::SetupError),
}

/// Why an activeflow without a call was not started: answer 400 with the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StartActiveflowError {
    /// A variable is refused under the external-variable rules (flows.md §3).
    #[error("{0}")]
    Variables(String),
}

/// Why an `api_request` could not be tried outside a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TryRequestError {
    /// This runtime has no store to read secrets and certificates from.
    #[error("no store")]
    NoStore,
}

/// Why a call was not placed: answer 400 with the message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OriginateError {
    /// A variable is refused under the external-variable rules (flows.md §3).
    #[error("{0}")]
    Variables(String),
    /// Nothing routes this destination.
    #[error("{0}")]
    NoRoute(String),
    /// `[outbound] allow` fences this number off.
    #[error("{0}")]
    Forbidden(String),
    /// The trunk is at its `max_calls` or `max_cps`.
    #[error("{0}")]
    Limit(String),
}

/// One call to place (`POST /v1/calls` gives one per destination).
#[derive(Debug, Clone)]
pub struct OriginateRequest {
    pub flow: Arc<flow::Flow>,
    pub flow_id: String,
    /// Caller id.
    pub source: flow::options::Address,
    pub destination: flow::options::Address,
    pub variables: Vec<(String, String)>,
    /// How long it may ring; `None` = [`call::ORIGINATE_RING_MS`].
    pub ring_timeout_ms: Option<u64>,
}

/// What `POST /v1/activeflows` asks for: a flow to run without a call.
#[derive(Debug, Clone)]
pub struct HeadlessRequest {
    pub flow: Arc<flow::Flow>,
    pub flow_id: String,
    pub variables: Vec<(String, String)>,
    pub webhook_uri: Option<String>,
    pub stop_types: Vec<String>,
}

/// A running server core. Drop it only after [`Runtime::stop_listening`].
pub struct Runtime {
    services: Arc<Services>,
    stack: sip::SipStack,
    dispatcher: JoinHandle<()>,
}

impl Runtime {
    /// Load flows, bind SIP and start taking calls.
    pub async fn start(config: Config) -> Result<Runtime, StartError> {
        let public_address = match config.sip.public_address.trim() {
            "" => None,
            a => Some(a.parse::<IpAddr>().map_err(|e| {
                StartError::Config(format!(
                    "sip.public_address {a:?} is not an IP address: {e}"
                ))
            })?),
        };
        if config.rtp.port_min >= config.rtp.port_max {
            return Err(StartError::Config(format!(
                "rtp.port_min ({}) must be below rtp.port_max ({})",
                config.rtp.port_min, config.rtp.port_max
            )));
        }
        let listen = config
            .sip
            .listen
            .iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<sip::ListenAddr>, String>>()
            .map_err(StartError::Config)?;
        let mut problems = crate::trunks::config_problems(&config);
        let algorithms = &config.sip.digest_algorithms;
        if algorithms.is_empty()
            || algorithms
                .iter()
                .any(|a| crate::registrar::algorithm(a).is_none())
        {
            problems.push(format!(
                "sip.digest_algorithms {algorithms:?}: list \"MD5\" and/or \"SHA-256\""
            ));
        }
        if !problems.is_empty() {
            return Err(StartError::Config(problems.join("; ")));
        }
        let store = store::Store::connect(&config.store.url).await?;
        let flows = load_flows(&config, &store).await?;
        let routes = store.routes().await?;
        let http = Arc::new(
            HttpEngine::new(
                &config.http.allow_private,
                Duration::from_millis(config.http.timeout_ms),
                Some(config.events.signing_secret.clone()),
            )
            .map_err(|e| StartError::Config(format!("http.allow_private: {e}")))?,
        );
        let (deliveries_tx, deliveries_rx) = tokio::sync::mpsc::unbounded_channel();
        let (records_tx, records_rx) = tokio::sync::mpsc::unbounded_channel();
        let events = EventBus::new(Some(config.events.webhook_uri.clone()), Some(deliveries_tx));
        crate::outbox::start(store.clone(), http.clone(), deliveries_rx);
        let media = MediaServices {
            sounds: SoundLibrary::new(config.sounds.dir.clone(), http.clone()),
            tts: Tts::new(
                config.tts.espeak_command.clone(),
                config.tts.cache_dir.clone(),
            ),
            ports: PortPool::new(config.rtp.port_min, config.rtp.port_max),
            public_address,
        };
        let (stack, mut calls) = sip::SipStack::bind(sip::SipConfig {
            listen,
            public_address,
            user_agent: config.sip.user_agent.clone(),
            timers: sip::Timers::default(),
            max_calls: config.limits.max_calls,
        })
        .await?;
        let mut services = Services::new(
            config.clone(),
            Catalog::new(flows, routes),
            media,
            http,
            events,
            Some(store),
            records_tx,
        );
        services.dialer = Some(stack.dialer());
        let services = Arc::new(services);
        crate::records::start(services.clone(), records_rx);
        crate::library::reload(&services).await?;
        crate::api_actions::reload(&services).await?;
        crate::trunks::reload(&services).await?;
        if let Some(registers) = stack.take_registrations() {
            crate::registrar::start(services.clone(), registers);
        }
        let s = services.clone();
        let dispatcher = tokio::spawn(async move {
            while let Some(call) = calls.recv().await {
                tokio::spawn(crate::call::run(s.clone(), call));
            }
        });
        Ok(Runtime {
            services,
            stack,
            dispatcher,
        })
    }

    // ----- the server -----

    pub fn sip_addrs(&self) -> &[sip::ListenAddr] {
        self.stack.local_addrs()
    }

    /// The store the API reads and writes.
    pub fn store(&self) -> Option<&store::Store> {
        self.services.store.as_ref()
    }

    pub fn active_calls(&self) -> i64 {
        self.services.metrics.active_calls.load(Ordering::Relaxed)
    }

    /// The Prometheus exposition of every counter.
    pub fn render_metrics(&self) -> String {
        let s = self.stack.stats();
        let mut text = self.services.metrics.render(SipCounters {
            messages_received: s.messages_received.load(Ordering::Relaxed),
            malformed_answered: s.malformed_answered.load(Ordering::Relaxed),
            malformed_dropped: s.malformed_dropped.load(Ordering::Relaxed),
            invites_received: s.invites_received.load(Ordering::Relaxed),
            invites_refused: s.invites_refused.load(Ordering::Relaxed),
        });
        text.push_str(&self.services.trunks.render_metrics());
        text
    }

    /// Refuse new INVITEs with 503 from now on (graceful shutdown, step 1).
    pub fn begin_shutdown(&self) {
        self.stack.set_accepting(false);
    }

    // ----- trunks -----

    /// Every trunk in service as `GET /v1/trunks` shows it (registration state, legs up;
    /// passwords hidden).
    pub fn trunks(&self) -> Vec<serde_json::Value> {
        self.services.trunks.views()
    }

    /// Whether the trunk `name` comes from the config file (not deletable through the API).
    pub fn trunk_from_config(&self, name: &str) -> bool {
        self.services.config.trunks.iter().any(|t| t.name == name)
    }

    /// Check a trunk definition; `(pointer, message)` for each problem.
    pub fn check_trunk(&self, doc: &serde_json::Value) -> Result<(), Vec<(String, String)>> {
        crate::trunks::check(doc).map(|_| ())
    }

    /// The trunks in the store changed: put the new set in service.
    pub async fn reload_trunks(&self) -> Result<(), store::StoreError> {
        crate::trunks::reload(&self.services).await
    }

    /// Stop the SIP listeners and the call dispatcher (graceful shutdown, last step).
    pub fn stop_listening(&self) {
        self.stack.stop();
        self.dispatcher.abort();
    }

    // ----- calls and activeflows -----

    /// Live calls, and ended ones not stored yet.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.services.live.call_records()
    }

    pub fn call(&self, id: &str) -> Option<CallRecord> {
        self.services.live.call_record(id)
    }

    /// Hang a live call up; false when it is not live.
    pub fn hang_up(&self, id: &str) -> bool {
        self.services.live.hang_up(id)
    }

    /// Ids of live activeflows, and of ended ones not stored yet.
    pub fn activeflow_ids(&self) -> Vec<String> {
        self.services.live.activeflow_ids()
    }

    /// The state of an activeflow known here (`GET /v1/activeflows/{id}`).
    pub async fn activeflow(&self, id: &str) -> Option<serde_json::Value> {
        self.services.live.activeflow_snapshot(id).await
    }

    /// Stop a live activeflow; false when it is not live.
    pub fn stop_activeflow(&self, id: &str) -> bool {
        self.services.live.stop_activeflow(id)
    }

    /// Start an activeflow without a call; its id, or why not.
    pub fn start_activeflow(&self, req: HeadlessRequest) -> Result<String, StartActiveflowError> {
        crate::call::start_headless(&self.services, req)
    }

    /// Place a call that runs `req.flow` once answered; the call's id, or why not.
    pub fn originate(&self, req: OriginateRequest) -> Result<String, OriginateError> {
        crate::call::start_outgoing(&self.services, req)
    }

    /// Deliver an event to a parked `custom` action; `None` when the activeflow is not live.
    pub async fn resume(
        &self,
        id: &str,
        event: ResumeEvent,
    ) -> Option<Result<ResumeOutcome, ResumeError>> {
        self.services.live.resume_activeflow(id, event).await
    }

    /// A live event subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.services.events.subscribe()
    }

    // ----- definitions -----

    /// A flow was stored (`Some`) or deleted (`None`): the next call uses the change.
    pub fn flow_changed(&self, id: &str, flow: Option<Arc<flow::Flow>>) {
        let flows = &self.services.catalog.flows;
        match flow {
            Some(f) => flows.insert(id.to_string(), f),
            None => {
                flows.remove(id);
            }
        }
    }

    /// Reload the API-managed routes from the store.
    pub async fn reload_routes(&self) -> Result<(), store::StoreError> {
        match &self.services.store {
            Some(store) => self.services.catalog.reload_routes(store).await,
            None => Ok(()),
        }
    }

    /// Reload the custom-action library (store and files).
    pub async fn reload_library(&self) -> Result<(), store::StoreError> {
        crate::library::reload(&self.services).await
    }

    /// Reload the API actions from the store.
    pub async fn reload_api_actions(&self) -> Result<(), store::StoreError> {
        crate::api_actions::reload(&self.services).await
    }

    /// The custom-action library in force.
    pub fn library(&self) -> &crate::library::Library {
        &self.services.catalog.library
    }

    /// Problems beyond the flow schema: custom_action uses against the library, recording
    /// formats this build cannot write. `(pointer, message)`.
    pub fn flow_problems(&self, doc: &serde_json::Value) -> Vec<(String, String)> {
        let mut p = crate::flows::unsupported_recording_formats(doc);
        p.extend(self.services.catalog.library.check_uses(doc));
        p
    }

    /// Run an `api_request` option outside a call, with `vars` (secrets from the store).
    pub async fn test_api_request(
        &self,
        opt: &flow::options::ApiRequestOption,
        vars: &flow::Variables,
    ) -> Result<crate::api_request::ApiRequestResult, TryRequestError> {
        let store = self
            .services
            .store
            .as_ref()
            .ok_or(TryRequestError::NoStore)?;
        Ok(crate::api_request::execute(&self.services.http, opt, vars, store).await)
    }

    /// The server's configuration.
    pub fn config(&self) -> &Config {
        &self.services.config
    }
}

/// Flows from `flows.dir`, imported into the store (a flow edited through the API is pinned
/// and wins), then every flow of the store that is valid for this build.
async fn load_flows(config: &Config, store: &store::Store) -> Result<FlowRegistry, StartError> {
    let flows = FlowRegistry::default();
    let warnings = flows
        .load_dir(&config.flows.dir)
        .map_err(StartError::Flows)?;
    for w in warnings {
        warn!("{w}");
    }
    for (id, doc) in flows.documents() {
        if let Err(e) = store.import_file_flow(&id, &doc, chrono::Utc::now()).await {
            warn!(flow = %id, error = %e, "cannot import flow into the store");
        }
    }
    for f in store.flows().await? {
        match flow::load(&f.document, &crate::flows::capabilities()) {
            Ok((loaded, _)) => flows.insert(f.id.clone(), Arc::new(loaded)),
            Err(p) => {
                warn!(flow = %f.id, problems = p.len(), "stored flow no longer valid for this build; not loaded")
            }
        }
    }
    info!(count = flows.len(), dir = %config.flows.dir.display(), "flows loaded");
    Ok(flows)
}
