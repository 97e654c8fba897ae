//! `api_request` (custom-actions.md §3): call an HTTP API and capture values of the response.
//!
//! [`execute`] takes the action's option as the cursor resolved it (every `${name}` already
//! substituted, except `${secret.NAME}`, kept verbatim) and:
//!
//! 1. resolves the URL's `{name}` placeholders from the flow variables (values URL-encoded;
//!    braces that do not enclose the name of a set variable stay as they are);
//! 2. resolves `${secret.NAME}` in the URL, header values, params and body strings from a
//!    [`SecretSource`] (the store); an unknown name fails the action before anything is sent;
//! 3. sends the request through the one [`HttpEngine`] (private-address guard after DNS and on
//!    every redirect, 1 MiB response cap), through a client presenting the stored client
//!    certificate when `certificate` is set ([`HttpEngine::with_certificate`]);
//! 4. reports [`Completion::Done`] on 2xx and [`Completion::Failed`] otherwise (other status,
//!    timeout, TLS or network error, guard refusal; the cursor then jumps to
//!    `failure_target_id`), and the variables to set: the captures, `api.status`, `api.body`
//!    (first 64 KiB) and `api.error`.
//!
//! **Secrets never leave in clear.** Every secret value the request used is replaced by
//! `[redacted]` (in its raw, percent-encoded, form-encoded and JSON-escaped forms) in
//! `api.body`, `api.error`, captured values, the request summary, the completion's reason and
//! anything logged. The secret values themselves travel only on the wire.
//!
//! Requests are sent once (no retry: the timeout is the action's whole budget, and a POST may
//! not be idempotent) and unsigned (the signature header is for switchyard's own webhooks).
//! Captures are evaluated whenever a response arrived, 2xx or not, so a failure path can read
//! an API's error document.

use crate::http::{HttpEngine, HttpError, Outbound, MAX_BODY};
use flow::options::ApiRequestOption;
use flow::{Completion, Variables};
use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};
use tracing::debug;

/// Timeout when the option sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest request body sent (bytes); a larger one fails the action before sending.
pub const MAX_REQUEST_BODY: usize = MAX_BODY;
/// Bytes of the response body kept in `api.body`.
pub const MAX_BODY_VARIABLE: usize = 64 * 1024;
/// What replaces a secret value in anything reported or logged.
pub const REDACTED: &str = "[redacted]";

/// The variable receiving the HTTP status (`""` when no response arrived).
pub const STATUS_VAR: &str = "api.status";
/// The variable receiving the first 64 KiB of the response body.
pub const BODY_VAR: &str = "api.body";
/// The variable receiving the failure message (`""` on success).
pub const ERROR_VAR: &str = "api.error";

/// Where secrets and client certificates come from (the store, in production).
///
/// Errors are the source's own failures (a database error), reported as the action's failure;
/// `Ok(None)` is an unknown name.
pub trait SecretSource: Sync {
    /// The value of the secret `name`.
    fn secret(&self, name: &str) -> impl Future<Output = Result<Option<String>, String>> + Send;
    /// The client certificate (with key and optional CA) stored as `name`.
    fn certificate(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<store::Certificate>, String>> + Send;
}

impl SecretSource for store::Store {
    async fn secret(&self, name: &str) -> Result<Option<String>, String> {
        store::Store::secret(self, name)
            .await
            .map(|s| s.map(|s| s.value))
            .map_err(|e| e.to_string())
    }

    async fn certificate(&self, name: &str) -> Result<Option<store::Certificate>, String> {
        store::Store::certificate(self, name)
            .await
            .map_err(|e| e.to_string())
    }
}

/// What one capture rule stored, or why it stored nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureReport {
    pub path: String,
    pub variable: String,
    /// The value set (secrets redacted); `None` when the variable was not set.
    pub value: Option<String>,
    /// Why the variable was not set.
    pub error: Option<String>,
}

/// The outcome of one `api_request`.
#[derive(Debug, Clone)]
pub struct ApiRequestResult {
    /// `Done` on 2xx; `Failed(reason)` otherwise (the cursor then takes `failure_target_id`).
    pub completion: Completion,
    /// Variables to set, in order: the captures that resolved, then `api.status`, `api.body`
    /// and `api.error` (these last, so they win over a capture of the same name). Secrets
    /// redacted.
    pub vars: Vec<(String, String)>,
    /// One entry per capture rule, in the option's order.
    pub captures: Vec<CaptureReport>,
    /// `{"method", "url" (secrets redacted), "status" (null without a response),
    /// "duration_ms"}`, for the execution log and the test endpoint.
    pub request_summary: Value,
}

/// Runs the request described by `opt` (already templated by the cursor, except
/// `${secret.NAME}`); `vars` resolves the URL's `{name}` placeholders; `secrets` resolves
/// `${secret.NAME}` and the `certificate` name.
pub async fn execute<S: SecretSource>(
    engine: &HttpEngine,
    opt: &ApiRequestOption,
    vars: &Variables,
    secrets: &S,
) -> ApiRequestResult {
    let started = Instant::now();
    let method = crate::http_actions::method(opt.method);
    // Before secrets are known, the summary shows the URL as the author wrote it.
    let mut summary_url = opt.url.clone();
    let outcome: Result<_, Stop> = async {
        let resolved = resolve_secrets(opt, secrets).await?;
        let redactor = Redactor::new(resolved.iter().map(|(_, v)| v.as_str()));
        let prepared = prepare(opt, vars, &resolved, &redactor);
        if let Ok(p) = &prepared {
            summary_url = redactor.redact(&p.url);
        }
        let prepared = prepared?;
        let engine = match &opt.certificate {
            Some(name) => {
                let cert = secrets
                    .certificate(name)
                    .await
                    .map_err(|e| Stop::new(format!("certificate store error: {e}"), &redactor))?
                    .ok_or_else(|| Stop::bare(format!("unknown certificate `{name}`")))?;
                engine.with_certificate(&cert).map_err(|e| {
                    Stop::new(format!("certificate `{name}` is unusable: {e}"), &redactor)
                })?
            }
            None => engine.clone(),
        };
        let resp = engine.send(&prepared).await;
        Ok((resp, redactor))
    }
    .await;
    let elapsed = started.elapsed().as_millis() as u64;

    let (resp, redactor) = match outcome {
        Ok(pair) => pair,
        Err(stop) => {
            return finish(
                opt,
                &method,
                &summary_url,
                elapsed,
                None,
                Err(stop.message),
                &Redactor::default(),
            )
        }
    };
    let result = match resp {
        Ok(r) => Ok(r),
        Err(e) => Err(redactor.redact(&describe(&e))),
    };
    let (status, outcome) = match result {
        Ok(r) => (Some(r.status), Ok(r.body)),
        Err(e) => (None, Err(e)),
    };
    finish(
        opt,
        &method,
        &summary_url,
        elapsed,
        status,
        outcome,
        &redactor,
    )
}

/// Builds the result from what happened: a response body with its status, or an error
/// message (already redacted).
fn finish(
    opt: &ApiRequestOption,
    method: &reqwest::Method,
    summary_url: &str,
    duration_ms: u64,
    status: Option<u16>,
    outcome: Result<Vec<u8>, String>,
    redactor: &Redactor,
) -> ApiRequestResult {
    let mut vars = Vec::new();
    let mut captures = Vec::new();
    let (body_text, error) = match &outcome {
        Ok(body) => {
            let text = String::from_utf8_lossy(body);
            let parsed: Option<Value> = serde_json::from_slice(body).ok();
            for c in &opt.capture {
                let report = capture(&c.path, &c.variable, parsed.as_ref(), &text, redactor);
                if let Some(v) = &report.value {
                    vars.push((c.variable.clone(), v.clone()));
                }
                captures.push(report);
            }
            let error = match status {
                Some(s) if (200..300).contains(&s) => String::new(),
                Some(s) => format!("HTTP status {s}"),
                None => String::new(),
            };
            (truncate(redactor.redact(&text), MAX_BODY_VARIABLE), error)
        }
        Err(e) => {
            for c in &opt.capture {
                captures.push(CaptureReport {
                    path: c.path.clone(),
                    variable: c.variable.clone(),
                    value: None,
                    error: Some("no response".into()),
                });
            }
            (String::new(), e.clone())
        }
    };
    vars.push((
        STATUS_VAR.into(),
        status.map(|s| s.to_string()).unwrap_or_default(),
    ));
    vars.push((BODY_VAR.into(), body_text));
    vars.push((ERROR_VAR.into(), error.clone()));
    let completion = if error.is_empty() {
        Completion::Done
    } else {
        Completion::Failed(error.clone())
    };
    debug!(
        method = %method,
        url = %summary_url,
        status = ?status,
        duration_ms,
        error = %error,
        "api_request finished"
    );
    ApiRequestResult {
        completion,
        vars,
        captures,
        request_summary: serde_json::json!({
            "method": method.as_str(),
            "url": summary_url,
            "status": status,
            "duration_ms": duration_ms,
        }),
    }
}

/// Why the action stopped before a response: the message, already redacted.
struct Stop {
    message: String,
}

impl Stop {
    fn new(message: String, redactor: &Redactor) -> Stop {
        Stop {
            message: redactor.redact(&message),
        }
    }

    /// A message holding no secret value (names only).
    fn bare(message: String) -> Stop {
        Stop { message }
    }
}

/// The failure message of an engine error; TLS trouble is named as such.
fn describe(e: &HttpError) -> String {
    match e {
        HttpError::Network(text) if looks_like_tls(text) => format!("TLS error: {text}"),
        other => other.to_string(),
    }
}

fn looks_like_tls(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "alert", "unknownissuer"]
        .iter()
        .any(|k| t.contains(k))
}

// ---------------------------------------------------------------------------------------------
// The request

/// Builds the request: URL with `{name}` values, secrets and params; headers; body.
fn prepare(
    opt: &ApiRequestOption,
    vars: &Variables,
    secrets: &[(String, String)],
    redactor: &Redactor,
) -> Result<Outbound, Stop> {
    let url_text = substitute_secrets(&substitute_braces(&opt.url, vars), secrets, url_secret);
    let mut url = reqwest::Url::parse(url_text.trim())
        .map_err(|_| Stop::new(format!("invalid URL {url_text:?}"), redactor))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Stop::new(
            format!("invalid URL {url_text:?}: only http and https"),
            redactor,
        ));
    }
    if !opt.params.is_empty() {
        let mut query = url.query_pairs_mut();
        for (k, v) in &opt.params {
            query.append_pair(
                &substitute_secrets(k, secrets, str::to_string),
                &substitute_secrets(v, secrets, str::to_string),
            );
        }
    }
    let mut headers: Vec<(String, String)> = opt
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), substitute_secrets(v, secrets, str::to_string)))
        .collect();
    let has_content_type = headers
        .iter()
        .any(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"));
    let body = match &opt.body {
        None => None,
        Some(Value::String(raw)) => Some(substitute_secrets(raw, secrets, str::to_string).into()),
        Some(json) => {
            if !has_content_type {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(
                serde_json::to_vec(&substitute_value_secrets(json, secrets))
                    .map_err(|e| Stop::bare(format!("body is not serializable: {e}")))?,
            )
        }
    };
    if let Some(b) = &body {
        if b.len() > MAX_REQUEST_BODY {
            return Err(Stop::bare(format!(
                "request body larger than {MAX_REQUEST_BODY} bytes"
            )));
        }
    }
    Ok(Outbound {
        method: crate::http_actions::method(opt.method),
        url: url.to_string(),
        headers,
        body,
        tries: 1,
        sign: false,
        timeout: opt
            .timeout
            .filter(|&ms| ms > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis),
        max_body: MAX_BODY,
    })
}

/// Replaces each `{name}` in a URL by the percent-encoded value of the variable `name`. Left
/// alone: `${...}` (the cursor's form; here only `${secret.NAME}` remains), and braces that do
/// not enclose the name of a set variable.
pub fn substitute_braces(url: &str, vars: &Variables) -> String {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let dollar = open > 0 && rest.as_bytes()[open - 1] == b'$';
        let after = &rest[open + 1..];
        let close = after.find('}');
        if dollar {
            // Copy `${...}` verbatim.
            let end = close.map_or(after.len(), |c| c + 1);
            out.push_str(&rest[..open + 1 + end]);
            rest = &after[end..];
            continue;
        }
        let value = close
            .map(|c| &after[..c])
            .filter(|name| is_variable_name(name))
            .and_then(|name| vars.get(name));
        match (value, close) {
            (Some(v), Some(c)) => {
                out.push_str(&rest[..open]);
                out.push_str(&percent_encode(v));
                rest = &after[c + 1..];
            }
            _ => {
                out.push_str(&rest[..open + 1]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Percent-encodes everything but the unreserved characters (RFC 3986: `A-Z a-z 0-9 - . _ ~`),
/// so a value is safe in a path segment or a query.
pub fn percent_encode(s: &str) -> String {
    encode(
        s,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'),
        false,
    )
}

/// `application/x-www-form-urlencoded` bytes, as the URL library writes query params.
fn form_encode(s: &str) -> String {
    encode(
        s,
        |b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_'),
        true,
    )
}

fn encode(s: &str, keep: impl Fn(u8) -> bool, space_as_plus: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else if b == b' ' && space_as_plus {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The first `max` bytes of `s`, cut back to a character boundary.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// Run `opt` for an activeflow: the result as the call actor wants it.
pub(crate) async fn run(
    shared: &crate::services::Services,
    opt: &ApiRequestOption,
    vars: flow::Variables,
) -> RunResult {
    let Some(store) = &shared.store else {
        return RunResult {
            completion: flow::Completion::Failed("no store for secrets".into()),
            vars: Vec::new(),
        };
    };
    let r = execute(&shared.http, opt, &vars, store).await;
    RunResult {
        completion: r.completion,
        vars: r.vars,
    }
}

/// What [`run`] hands back: the completion and the variables to set first.
#[derive(Debug)]
pub struct RunResult {
    pub completion: flow::Completion,
    pub vars: Vec<(String, String)>,
}

mod capture;
mod secrets;
#[cfg(test)]
mod tests;

use capture::capture;
pub use capture::{evaluate, parse_path, value_text, Segment};
pub use secrets::Redactor;
use secrets::*;
