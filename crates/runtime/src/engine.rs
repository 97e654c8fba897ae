//! Wiring: the SIP stack, the flows, the prompt caches and the port pool, and the loop that
//! hands each incoming call to its own actor task.

use crate::config::Config;
use crate::events::EventBus;
use crate::flows::{FileProblem, FlowRegistry};
use crate::http::HttpEngine;
use crate::live::Live;
use crate::metrics::{Metrics, SipCounters};
use crate::ports::PortPool;
use crate::sounds::SoundLibrary;
use crate::tts::Tts;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::RwLock;
use std::time::Duration;
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
    Store(String),
}

/// State every call shares.
pub struct Shared {
    pub config: Config,
    pub flows: FlowRegistry,
    pub sounds: SoundLibrary,
    pub http: Arc<HttpEngine>,
    pub tts: Tts,
    pub ports: PortPool,
    pub metrics: Arc<Metrics>,
    pub public_address: Option<IpAddr>,
    pub max_actions: u32,
    pub max_control_steps: u32,
    pub events: EventBus,
    pub live: Live,
    /// `None` only in tools that run without a database.
    pub store: Option<store::Store>,
    /// Routes managed through the API (tried before the config's `[[routes]]`).
    pub routes: RwLock<Vec<store::StoredRoute>>,
    records: tokio::sync::mpsc::UnboundedSender<crate::records::Record>,
    /// Custom actions (library sub-flows) by name and version.
    pub library: crate::library::Library,
    /// API actions (spoken HTTP answers) by name.
    pub api_actions: crate::api_actions::ApiActions,
}

impl Shared {
    /// Hand a finished record to the writer; never waits.
    pub fn persist(&self, r: crate::records::Record) {
        let _ = self.records.send(r);
    }

    /// The `stop_types` of the route that takes `user` (API routes first, then `[[routes]]`).
    pub fn stop_types(&self, user: &str) -> Vec<String> {
        if let Ok(routes) = self.routes.read() {
            if let Some(r) = routes.iter().find(|r| Self::api_route_matches(r, user)) {
                return r.stop_types.clone();
            }
        }
        self.config.stop_types(user).to_vec()
    }

    fn api_route_matches(r: &store::StoredRoute, user: &str) -> bool {
        crate::config::pattern_matches(&r.pattern, user)
    }

    /// The flow id for a dialed user: API routes by priority, then `[[routes]]`.
    pub fn route(&self, user: &str) -> Option<String> {
        if let Ok(routes) = self.routes.read() {
            if let Some(r) = routes.iter().find(|r| Self::api_route_matches(r, user)) {
                return Some(r.flow_id.clone());
            }
        }
        self.config.route(user).map(str::to_string)
    }

    /// Reload the API-managed routes from the store (after a change through the API).
    pub async fn reload_routes(&self) -> Result<(), store::StoreError> {
        if let Some(store) = &self.store {
            let routes = store.routes().await?;
            if let Ok(mut r) = self.routes.write() {
                *r = routes;
            }
        }
        Ok(())
    }
}

/// A running server core. Drop it only after [`Runtime::shutdown`].
pub struct Runtime {
    shared: Arc<Shared>,
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
        let store = store::Store::connect(&config.store.url)
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
        let flows = FlowRegistry::default();
        let warnings = flows
            .load_dir(&config.flows.dir)
            .map_err(StartError::Flows)?;
        for w in warnings {
            warn!("{w}");
        }
        // Files are imported into the store (a flow edited through the API is pinned and
        // wins), then the store is what runs.
        for (id, doc) in flows.documents() {
            if let Err(e) = store.import_file_flow(&id, &doc, chrono::Utc::now()).await {
                warn!(flow = %id, error = %e, "cannot import flow into the store");
            }
        }
        let stored = store
            .flows()
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
        for f in stored {
            match flow::load(&f.document, &crate::flows::capabilities()) {
                Ok((loaded, _)) => flows.insert(f.id.clone(), Arc::new(loaded)),
                Err(p) => {
                    warn!(flow = %f.id, problems = p.len(), "stored flow no longer valid for this build; not loaded")
                }
            }
        }
        info!(count = flows.len(), dir = %config.flows.dir.display(), "flows loaded");
        let routes = store
            .routes()
            .await
            .map_err(|e| StartError::Store(e.to_string()))?;
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
        let shared = Arc::new(Shared {
            events,
            live: Live::default(),
            store: Some(store),
            routes: RwLock::new(routes),
            records: records_tx,
            library: crate::library::Library::default(),
            api_actions: crate::api_actions::ApiActions::default(),
            sounds: SoundLibrary::new(config.sounds.dir.clone(), http.clone()),
            http,
            tts: Tts::new(
                config.tts.espeak_command.clone(),
                config.tts.cache_dir.clone(),
            ),
            ports: PortPool::new(config.rtp.port_min, config.rtp.port_max),
            metrics: Arc::new(Metrics::default()),
            public_address,
            max_actions: config
                .flow
                .max_actions
                .unwrap_or(config.limits.max_actions_per_flow),
            max_control_steps: config.flow.max_control_steps,
            flows,
            config: config.clone(),
        });
        let (stack, mut calls) = sip::SipStack::bind(sip::SipConfig {
            listen,
            public_address,
            user_agent: config.sip.user_agent.clone(),
            timers: sip::Timers::default(),
            max_calls: config.limits.max_calls,
        })
        .await?;
        crate::records::start(shared.clone(), records_rx);
        crate::library::reload(&shared)
            .await
            .map_err(StartError::Store)?;
        crate::api_actions::reload(&shared)
            .await
            .map_err(StartError::Store)?;
        let s = shared.clone();
        let dispatcher = tokio::spawn(async move {
            while let Some(call) = calls.recv().await {
                tokio::spawn(crate::call::run(s.clone(), call));
            }
        });
        Ok(Runtime {
            shared,
            stack,
            dispatcher,
        })
    }

    pub fn sip_addrs(&self) -> &[sip::ListenAddr] {
        self.stack.local_addrs()
    }

    pub fn active_calls(&self) -> i64 {
        self.shared.metrics.active_calls.load(Ordering::Relaxed)
    }

    /// The Prometheus exposition of every counter.
    pub fn render_metrics(&self) -> String {
        let s = self.stack.stats();
        self.shared.metrics.render(SipCounters {
            messages_received: s.messages_received.load(Ordering::Relaxed),
            malformed_answered: s.malformed_answered.load(Ordering::Relaxed),
            malformed_dropped: s.malformed_dropped.load(Ordering::Relaxed),
            invites_received: s.invites_received.load(Ordering::Relaxed),
            invites_refused: s.invites_refused.load(Ordering::Relaxed),
        })
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Refuse new INVITEs with 503 from now on (graceful shutdown, step 1).
    pub fn begin_shutdown(&self) {
        self.stack.set_accepting(false);
    }

    /// Stop the SIP listeners and the call dispatcher (graceful shutdown, last step).
    pub fn stop_listening(&self) {
        self.stack.stop();
        self.dispatcher.abort();
    }
}
