//! The HTTP face of switchyard: `GET /health`, `GET /metrics`, the `/v1` REST API of
//! `interface.md`, the live event stream (WebSocket or SSE) and `GET /v1/openapi.json`.
//!
//! This crate reads and writes the store directly and reaches running calls only through the
//! [`CallControl`] trait (implemented by the server over the runtime); it opens no socket but
//! its listener. Every error is `{"error": {"code", "message", "details"}}`.

pub(crate) mod api_actions;
pub(crate) mod calls;
mod error;
mod extensions;
mod flows;
mod library;
mod openapi;
mod recordings;
mod secrets;
mod stream;
mod trunks;

pub use error::{ApiError, ApiJson};

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `(JSON pointer, sentence)` pairs.
pub type Problems = Vec<(String, String)>;

/// One event for live subscribers, already serialized.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub kind: String,
    pub call_id: Option<String>,
    pub activeflow_id: Option<String>,
    /// `{"type","data","timestamp"}`.
    pub json: String,
}

/// `POST /v1/activeflows/{id}/events` (or the same message over the WebSocket).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeRequest {
    #[serde(rename = "type")]
    pub event: String,
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
    #[serde(default)]
    pub token: Option<String>,
}

/// What a resume did.
#[derive(Debug, Clone, PartialEq)]
pub enum ResumeResult {
    /// Accepted; the flow continues at this action.
    Next(String),
    /// Accepted; no path has this event: the flow finishes (dead end).
    DeadEnd,
    /// Live but not waiting (late or duplicate event).
    NotWaiting,
    /// The token does not match.
    BadToken,
    /// No live activeflow with that id.
    NotLive,
}

/// How the API reaches running calls and activeflows (the runtime implements it).
pub trait CallControl: Send + Sync + 'static {
    /// Calls in progress.
    fn active_calls(&self) -> i64;
    /// The Prometheus text exposition.
    fn metrics_text(&self) -> String;
    /// Records of the live calls.
    fn live_calls(&self) -> Vec<store::CallRecord>;
    fn live_call(&self, id: &str) -> Option<store::CallRecord>;
    /// Hang a live call up; false when it is not live.
    fn hangup_call(&self, id: &str) -> bool;
    fn live_activeflow_ids(&self) -> Vec<String>;
    /// The state of a live activeflow; `None` when it is not live.
    fn activeflow_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<serde_json::Value>>;
    /// Stop a live activeflow; false when it is not live.
    fn stop_activeflow(&self, id: &str) -> bool;
    /// Start an activeflow without a call; its id, or why not.
    fn start_activeflow(
        &self,
        flow_id: String,
        flow: Arc<flow::Flow>,
        variables: Vec<(String, String)>,
        webhook_uri: Option<String>,
        stop_types: Vec<String>,
    ) -> Result<String, String>;
    /// Place a call that runs `call.flow` once answered; its id, or why not.
    fn originate(&self, call: CallToPlace) -> Result<String, NotPlaced>;
    /// Deliver an event to a parked `custom` action (custom-actions.md §1).
    fn resume_activeflow<'a>(
        &'a self,
        id: &'a str,
        event: ResumeRequest,
    ) -> BoxFuture<'a, ResumeResult>;
    /// A live event subscription; a `lagged` notice is delivered in-band when it falls behind.
    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<LiveEvent>;
}

/// One call of `POST /v1/calls` (one per destination).
#[derive(Debug, Clone)]
pub struct CallToPlace {
    pub flow_id: String,
    pub flow: Arc<flow::Flow>,
    /// Caller id.
    pub source: flow::options::Address,
    pub destination: flow::options::Address,
    pub variables: Vec<(String, String)>,
    /// How long it may ring; `None` = the server's default (60 s).
    pub ring_timeout_ms: Option<u64>,
}

/// Why a call of `POST /v1/calls` was not placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPlaced {
    /// Bad variables, or nothing routes the destination (400).
    Invalid(String),
    /// `[outbound] allow` fences the number off (403).
    Forbidden(String),
    /// The trunk is at its `max_calls`/`max_cps` (429).
    Limited(String),
}

/// How the API checks and refreshes the definitions calls run from (flows, routes, custom
/// actions, API actions), beyond what it stores itself.
pub trait Catalog: Send + Sync + 'static {
    /// A flow was stored (`Some`) or deleted (`None`): the next call uses the change.
    fn flow_changed(&self, id: &str, flow: Option<Arc<flow::Flow>>);
    /// The routes in the store changed.
    fn routes_changed(&self) -> BoxFuture<'_, ()>;
    /// Problems beyond the flow schema: custom_action uses against the library, recording
    /// formats this build cannot write. `(pointer, message)`.
    fn flow_problems(&self, doc: &serde_json::Value) -> Vec<(String, String)>;
    /// Check a custom-action definition: warnings, or the problems.
    fn check_custom_action(&self, doc: &serde_json::Value) -> Result<Problems, Problems>;
    /// A cycle or too-deep nesting that publishing this definition would create.
    fn nesting_problem(&self, doc: &serde_json::Value) -> Option<String>;
    /// The definitions of the custom actions `doc` uses, resolved now (for export packages).
    fn dependencies(&self, doc: &serde_json::Value) -> Vec<serde_json::Value>;
    /// `sha256=...` signature of an export package.
    fn sign_package(&self, package: &serde_json::Value) -> String;
    /// Check an API-action definition.
    fn check_api_action(&self, doc: &serde_json::Value) -> Result<(), Problems>;
    /// The API actions changed in the store: reload them.
    fn api_actions_changed(&self) -> BoxFuture<'_, ()>;
    /// Every trunk in service (config and API), with registration state; no passwords.
    fn trunks(&self) -> Vec<serde_json::Value>;
    /// Whether the trunk `name` comes from the config file.
    fn trunk_from_config(&self, name: &str) -> bool;
    /// Check a trunk definition.
    fn check_trunk(&self, doc: &serde_json::Value) -> Result<(), Problems>;
    /// The trunks changed in the store: put them in service.
    fn trunks_changed(&self) -> BoxFuture<'_, ()>;
    /// Definitions loaded from files (`custom_actions.dir`): `(name, version)`.
    fn file_custom_actions(&self) -> Vec<(String, String)>;
    /// The library changed in the store: reload it.
    fn library_changed(&self) -> BoxFuture<'_, ()>;
    /// Run an `api_request` option outside a call: response, captures (secrets redacted);
    /// `Err` for an option that does not parse.
    fn test_api_request(
        &self,
        option: serde_json::Value,
        variables: std::collections::BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<serde_json::Value, String>>;
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub control: Arc<dyn CallControl>,
    pub catalog: Arc<dyn Catalog>,
    /// What flows are validated against.
    pub capabilities: flow::Capabilities,
    /// Where recording files live.
    pub recordings_dir: PathBuf,
    pub store: store::Store,
    /// Bearer token; empty = no authentication (the server allows that only on loopback).
    pub token: Arc<str>,
}

/// The router serving every endpoint.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/flows", post(flows::create).get(flows::list))
        .route("/flows/validate", post(flows::validate))
        .route(
            "/flows/{id}",
            get(flows::get_one).put(flows::update).delete(flows::delete),
        )
        .route("/routes", post(flows::create_route).get(flows::list_routes))
        .route(
            "/routes/{id}",
            get(flows::get_route)
                .put(flows::update_route)
                .delete(flows::delete_route),
        )
        .route(
            "/activeflows",
            get(calls::list_activeflows).post(calls::start_activeflow),
        )
        .route(
            "/activeflows/{id}",
            get(calls::get_activeflow).delete(calls::delete_activeflow),
        )
        .route("/activeflows/{id}/stop", post(calls::stop_activeflow))
        .route("/activeflows/{id}/events", post(calls::activeflow_event))
        .route("/calls", get(calls::list_calls).post(calls::originate))
        .route("/calls/{id}", get(calls::get_call))
        .route("/calls/{id}/hangup", post(calls::hangup))
        .route("/recordings", get(recordings::list))
        .route(
            "/recordings/{id}",
            get(recordings::get_one).delete(recordings::delete),
        )
        .route("/recordings/{id}/file", get(recordings::file))
        .route("/custom-actions", post(library::create).get(library::list))
        .route("/custom-actions/import", post(library::import))
        .route("/custom-actions/{name}", get(library::versions))
        .route(
            "/custom-actions/{name}/versions/{version}",
            get(library::get_version)
                .put(library::put_version)
                .delete(library::delete_version),
        )
        .route(
            "/custom-actions/{name}/versions/{version}/publish",
            post(library::publish),
        )
        .route(
            "/custom-actions/{name}/versions/{version}/export",
            get(library::export),
        )
        .route(
            "/secrets",
            post(secrets::put_secret).get(secrets::list_secrets),
        )
        .route(
            "/secrets/{name}",
            axum::routing::delete(secrets::delete_secret),
        )
        .route(
            "/certificates",
            post(secrets::put_certificate).get(secrets::list_certificates),
        )
        .route(
            "/certificates/{name}",
            axum::routing::delete(secrets::delete_certificate),
        )
        .route("/api-requests/test", post(secrets::test_request))
        .route(
            "/api-actions",
            post(api_actions::create).get(api_actions::list),
        )
        .route(
            "/api-actions/{name}",
            get(api_actions::get_one)
                .put(api_actions::update)
                .delete(api_actions::delete),
        )
        .route(
            "/extensions",
            post(extensions::create).get(extensions::list),
        )
        .route(
            "/extensions/{user}",
            get(extensions::get_one)
                .put(extensions::update)
                .delete(extensions::delete),
        )
        .route("/trunks", post(trunks::create).get(trunks::list))
        .route(
            "/trunks/{name}",
            get(trunks::get_one)
                .put(trunks::update)
                .delete(trunks::delete),
        )
        .route("/events", get(stream::events))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if !s.token.is_empty() {
        let ok = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), s.token.as_bytes()));
        if !ok {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer token",
            )
            .into_response();
        }
    }
    next.run(req).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn health(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok", "calls": s.control.active_calls()}))
}

async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.control.metrics_text(),
    )
}

/// Serve `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
