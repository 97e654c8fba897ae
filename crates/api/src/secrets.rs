//! `/v1/secrets`, `/v1/certificates` (values and keys are never returned) and
//! `POST /v1/api-requests/test` (custom-actions.md §3).

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_name",
            "names are 1-64 characters of letters, digits, _, - and .",
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    name: String,
    value: String,
}

pub async fn put_secret(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<SecretBody>,
) -> Result<impl IntoResponse, ApiError> {
    check_name(&b.name)?;
    if b.value.is_empty() || b.value.len() > 64 * 1024 {
        return Err(ApiError::bad_request(
            "invalid_value",
            "a secret value is 1 byte to 64 KiB",
        ));
    }
    s.store
        .put_secret(&b.name, &b.value, chrono::Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"name": b.name}))))
}

pub async fn list_secrets(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({"secrets": s.store.secrets().await?})))
}

pub async fn delete_secret(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.store.delete_secret(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("secret", &name))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateBody {
    name: String,
    cert_pem: String,
    key_pem: String,
    #[serde(default)]
    ca_pem: Option<String>,
}

pub async fn put_certificate(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<CertificateBody>,
) -> Result<impl IntoResponse, ApiError> {
    check_name(&b.name)?;
    if !b.cert_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(ApiError::bad_request(
            "invalid_certificate",
            "cert_pem is not a PEM certificate",
        ));
    }
    if !b.key_pem.contains("PRIVATE KEY-----") {
        return Err(ApiError::bad_request(
            "invalid_key",
            "key_pem is not a PEM private key",
        ));
    }
    let now = chrono::Utc::now();
    s.store
        .put_certificate(&store::Certificate {
            name: b.name.clone(),
            cert_pem: b.cert_pem,
            key_pem: b.key_pem,
            ca_pem: b.ca_pem,
            created_at: now,
            updated_at: now,
        })
        .await?;
    let summary = s
        .store
        .certificates()
        .await?
        .into_iter()
        .find(|c| c.name == b.name);
    Ok((StatusCode::CREATED, Json(json!(summary))))
}

pub async fn list_certificates(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(json!({"certificates": s.store.certificates().await?})))
}

pub async fn delete_certificate(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.store.delete_certificate(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("certificate", &name))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestBody {
    /// An `api_request` option, as in a flow.
    option: Value,
    /// Sample variables for `${name}` and `{name}`.
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

/// Run a request outside any call and show what each capture would store.
pub async fn test_request(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<TestBody>,
) -> Result<impl IntoResponse, ApiError> {
    match s.catalog.test_api_request(b.option, b.variables).await {
        Ok(v) => Ok(Json(v)),
        Err(e) => Err(ApiError::bad_request("invalid_option", e)),
    }
}
