//! What every call shares, as named services: the [`Catalog`] of definitions (flows, routes,
//! custom actions, API actions), the [`MediaServices`] (prompts, speech, ports), HTTP, events,
//! the live registry, the store and its record writer, and the counters.

use crate::api_actions::ApiActions;
use crate::config::Config;
use crate::events::EventBus;
use crate::flows::FlowRegistry;
use crate::http::HttpEngine;
use crate::library::Library;
use crate::live::Live;
use crate::metrics::Metrics;
use crate::ports::PortPool;
use crate::records::Record;
use crate::sounds::SoundLibrary;
use crate::trunks::Trunks;
use crate::tts::Tts;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Everything a call's shell uses, shared by all calls.
pub(crate) struct Services {
    pub(crate) config: Config,
    pub(crate) catalog: Catalog,
    pub(crate) media: MediaServices,
    pub(crate) http: Arc<HttpEngine>,
    pub(crate) events: EventBus,
    pub(crate) live: Live,
    /// `None` only in tools that run without a database.
    pub(crate) store: Option<store::Store>,
    records: mpsc::UnboundedSender<Record>,
    pub(crate) metrics: Arc<Metrics>,
    /// What fetched actions and custom-action definitions are validated against.
    pub(crate) capabilities: flow::Capabilities,
    /// Places outbound legs; `None` in tools without a SIP stack.
    pub(crate) dialer: Option<sip::Dialer>,
    /// Trunks in service, with their registrations and leg counts.
    pub(crate) trunks: Trunks,
}

/// Definitions calls are run from; each refreshed from the store when the API changes it.
pub(crate) struct Catalog {
    pub(crate) flows: FlowRegistry,
    /// Routes managed through the API (tried before the config's `[[routes]]`).
    pub(crate) routes: RwLock<Vec<store::StoredRoute>>,
    /// Custom actions (library sub-flows) by name and version.
    pub(crate) library: Library,
    /// API actions (spoken HTTP answers) by name.
    pub(crate) api_actions: ApiActions,
}

/// What the media of calls is made from.
pub(crate) struct MediaServices {
    pub(crate) sounds: SoundLibrary,
    pub(crate) tts: Tts,
    pub(crate) ports: PortPool,
    /// The address in our SDP and Contact when behind NAT.
    pub(crate) public_address: Option<IpAddr>,
}

impl Services {
    pub(crate) fn new(
        config: Config,
        catalog: Catalog,
        media: MediaServices,
        http: Arc<HttpEngine>,
        events: EventBus,
        store: Option<store::Store>,
        records: mpsc::UnboundedSender<Record>,
    ) -> Services {
        Services {
            config,
            catalog,
            media,
            http,
            events,
            live: Live::default(),
            store,
            records,
            metrics: Arc::new(Metrics::default()),
            capabilities: crate::flows::capabilities(),
            dialer: None,
            trunks: Trunks::default(),
        }
    }

    /// Hand a finished record to the writer; never waits.
    pub(crate) fn persist(&self, r: Record) {
        let _ = self.records.send(r);
    }

    /// The call core's settings for a call running `flow_id`.
    pub(crate) fn core_config(&self, flow_id: &str) -> call::CoreConfig {
        let c = &self.config;
        let filler = c.custom_actions.filler.trim();
        call::CoreConfig {
            max_actions: c.flow.max_actions.unwrap_or(c.limits.max_actions_per_flow),
            max_control_steps: c.flow.max_control_steps,
            filler: (!filler.is_empty()).then(|| filler.to_string()),
            filler_after_ms: c.custom_actions.filler_after_ms,
            api_keys: self.catalog.api_actions.keys(flow_id),
            after_capture: self.catalog.api_actions.after_capture(flow_id),
            max_outbound_ms: c.outbound.max_call_duration_s.saturating_mul(1000),
        }
    }
}

impl Catalog {
    pub(crate) fn new(flows: FlowRegistry, routes: Vec<store::StoredRoute>) -> Catalog {
        Catalog {
            flows,
            routes: RwLock::new(routes),
            library: Library::default(),
            api_actions: ApiActions::default(),
        }
    }

    fn api_route(&self, user: &str) -> Option<store::StoredRoute> {
        let routes = self.routes.read().ok()?;
        routes
            .iter()
            .find(|r| crate::config::pattern_matches(&r.pattern, user))
            .cloned()
    }

    /// The flow id and `stop_types` of the route that takes `user`: API routes by priority,
    /// then `[[routes]]`.
    pub(crate) fn route(&self, config: &Config, user: &str) -> Option<(String, Vec<String>)> {
        if let Some(r) = self.api_route(user) {
            return Some((r.flow_id, r.stop_types));
        }
        let flow = config.route(user)?;
        Some((flow.to_string(), config.stop_types(user).to_vec()))
    }

    /// Reload the API-managed routes from `store` (after a change through the API).
    pub(crate) async fn reload_routes(
        &self,
        store: &store::Store,
    ) -> Result<(), store::StoreError> {
        let routes = store.routes().await?;
        if let Ok(mut r) = self.routes.write() {
            *r = routes;
        }
        Ok(())
    }
}
