//! `GET /v1/events`: the live event stream as WebSocket (on upgrade) or Server-Sent Events
//! (`Accept: text/event-stream`), filtered by `call_id`, `activeflow_id` and `type` (comma
//! separated). A subscriber that falls behind gets a `lagged` event and continues.

use crate::error::ApiError;
use crate::{AppState, LiveEvent};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    call_id: Option<String>,
    activeflow_id: Option<String>,
    #[serde(rename = "type")]
    kinds: Option<String>,
}

impl Filter {
    fn accepts(&self, e: &LiveEvent) -> bool {
        if e.kind == "lagged" {
            return true;
        }
        if self
            .call_id
            .as_ref()
            .is_some_and(|c| e.call_id.as_ref() != Some(c))
        {
            return false;
        }
        if self
            .activeflow_id
            .as_ref()
            .is_some_and(|a| e.activeflow_id.as_ref() != Some(a))
        {
            return false;
        }
        self.kinds
            .as_ref()
            .is_none_or(|k| k.split(',').any(|k| k.trim() == e.kind))
    }
}

/// Present when the request asks for a WebSocket upgrade.
pub struct MaybeUpgrade(Option<WebSocketUpgrade>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUpgrade {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUpgrade(
            WebSocketUpgrade::from_request_parts(parts, state)
                .await
                .ok(),
        ))
    }
}

pub async fn events(
    State(s): State<AppState>,
    Query(filter): Query<Filter>,
    MaybeUpgrade(ws): MaybeUpgrade,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(ws) = ws {
        let rx = s.control.subscribe();
        return ws.on_upgrade(move |socket| websocket(socket, rx, filter, s));
    }
    let wants_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !wants_sse {
        return ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "connect with a WebSocket upgrade, or send Accept: text/event-stream",
        )
        .into_response();
    }
    let mut rx = s.control.subscribe();
    let stream = async_stream(move |tx| async move {
        while let Some(e) = rx.recv().await {
            if filter.accepts(&e) {
                let ev = SseEvent::default().event(e.kind.clone()).data(e.json);
                if tx.send(Ok::<_, Infallible>(ev)).await.is_err() {
                    break;
                }
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(f: F) -> tokio_stream_adapter::ReceiverStream<Result<SseEvent, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<SseEvent, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    tokio_stream_adapter::ReceiverStream(rx)
}

/// A client message on the event socket: resume a parked activeflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientResume {
    activeflow_id: String,
    #[serde(rename = "type")]
    event: String,
    #[serde(default)]
    payload: Option<serde_json::Value>,
    #[serde(default)]
    token: Option<String>,
}

async fn client_message(s: &AppState, text: &str) -> String {
    let reply = match serde_json::from_str::<ClientResume>(text) {
        Ok(m) => {
            let req = crate::ResumeRequest {
                event: m.event,
                payload: m.payload,
                token: m.token,
            };
            match crate::calls::resume(s, &m.activeflow_id, req).await {
                Ok(v) => serde_json::json!({"type": "resume_result", "data": v}),
                Err(e) => {
                    serde_json::json!({"type": "error", "data": {"code": e.code, "message": e.message}})
                }
            }
        }
        Err(e) => serde_json::json!({"type": "error", "data": {"code": "bad_message",
            "message": format!("expected {{\"activeflow_id\", \"type\", \"payload\"?, \"token\"?}}: {e}")}}),
    };
    reply.to_string()
}

async fn websocket(
    mut socket: WebSocket,
    mut rx: tokio::sync::mpsc::Receiver<LiveEvent>,
    filter: Filter,
    state: AppState,
) {
    loop {
        tokio::select! {
            e = rx.recv() => {
                let Some(e) = e else { break };
                if filter.accepts(&e) && socket.send(Message::Text(e.json.into())).await.is_err() {
                    break;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let reply = client_message(&state, t.as_str()).await;
                    if socket.send(Message::Text(reply.into())).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// A minimal `Stream` over an mpsc receiver (avoids a tokio-stream dependency).
mod tokio_stream_adapter {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    pub struct ReceiverStream<T>(pub tokio::sync::mpsc::Receiver<T>);

    impl<T> futures_core::Stream for ReceiverStream<T> {
        type Item = T;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.0.poll_recv(cx)
        }
    }
}
