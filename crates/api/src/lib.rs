//! The HTTP face of switchyard: `GET /health` and `GET /metrics` today; the `/v1` REST API and
//! the live event stream join here. This crate talks to calls only through [`ServerStatus`]
//! (and, later, a `CallControl` trait): it never touches sockets other than its listener.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// What the HTTP layer needs to know about the running server.
pub trait ServerStatus: Send + Sync + 'static {
    /// Calls in progress.
    fn active_calls(&self) -> i64;
    /// The Prometheus text exposition.
    fn metrics_text(&self) -> String;
}

/// The router serving every endpoint.
pub fn router(status: Arc<dyn ServerStatus>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(status)
}

async fn health(State(s): State<Arc<dyn ServerStatus>>) -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok", "calls": s.active_calls()}))
}

async fn metrics(State(s): State<Arc<dyn ServerStatus>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics_text(),
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
