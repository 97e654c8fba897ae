//! `/v1/recordings`: the index from the store, files from `recordings.dir` with Range support.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    call_id: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let recs = s.store.recordings(q.call_id.as_deref()).await?;
    Ok(Json(json!({"recordings": recs})))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.recording(&id).await? {
        Some(r) => Ok(Json(json!(r))),
        None => Err(ApiError::not_found("recording", &id)),
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(r) = s.store.recording(&id).await? else {
        return Err(ApiError::not_found("recording", &id));
    };
    if let Some(path) = safe_path(&s, &r.filename) {
        let _ = tokio::fs::remove_file(&path).await;
        let _ = tokio::fs::remove_file(path.with_extension("json")).await;
    }
    s.store.delete_recording(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file under the recordings directory; `None` for names that would leave it.
fn safe_path(s: &AppState, filename: &str) -> Option<std::path::PathBuf> {
    let name = std::path::Path::new(filename).file_name()?;
    Some(s.recordings_dir.join(name))
}

fn content_type(filename: &str) -> &'static str {
    match filename.rsplit('.').next() {
        Some("wav") => "audio/wav",
        Some("mp3") => "audio/mpeg",
        Some("ogg") => "audio/ogg",
        _ => "application/octet-stream",
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` within `len`: the inclusive range, or `Err` (416).
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return Some(Err(()));
    }
    let (a, b) = spec.split_once('-')?;
    let r = match (a.trim(), b.trim()) {
        ("", n) => n
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| (len.saturating_sub(n), len - 1)),
        (a, "") => a
            .parse::<u64>()
            .ok()
            .filter(|a| *a < len)
            .map(|a| (a, len - 1)),
        (a, b) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b && a < len => Some((a, b.min(len - 1))),
            _ => None,
        },
    };
    Some(r.ok_or(()))
}

pub async fn file(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(r) = s.store.recording(&id).await? else {
        return Err(ApiError::not_found("recording", &id));
    };
    let Some(path) = safe_path(&s, &r.filename) else {
        return Err(ApiError::not_found("recording file", &id));
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found("recording file", &id))?;
    let len = bytes.len() as u64;
    let ct = content_type(&r.filename);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, len));
    let resp = match range {
        None => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, ct)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_LENGTH, len)
            .body(Body::from(bytes)),
        Some(Ok((a, b))) => Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(header::CONTENT_TYPE, ct)
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"))
            .header(header::CONTENT_LENGTH, b - a + 1)
            .body(Body::from(bytes[a as usize..=b as usize].to_vec())),
        Some(Err(())) => Response::builder()
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty()),
    };
    resp.map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_parse_and_clamp() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Some(Ok((50, 99))));
        assert_eq!(parse_range("bytes=200-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Some(Err(())));
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
