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
// Secrets

/// The next `${secret.NAME}` (or `${voipbin.secret.NAME}`) in `s`: (start, end after the
/// `}`, NAME).
fn next_secret(s: &str) -> Option<(usize, usize, &str)> {
    let mut from = 0;
    while let Some(i) = s[from..].find("${") {
        let start = from + i;
        let after = &s[start + 2..];
        let len = after.find('}')?;
        let inner = &after[..len];
        let inner = inner.strip_prefix(flow::ALIAS_PREFIX).unwrap_or(inner);
        if let Some(name) = inner.strip_prefix("secret.") {
            return Some((start, start + 2 + len + 1, name));
        }
        from = start + 2;
    }
    None
}

/// The secret names referenced as `${secret.NAME}` in `s`, in order (duplicates kept).
fn secret_refs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((_, end, name)) = next_secret(rest) {
        out.push(name);
        rest = &rest[end..];
    }
    out
}

/// Every string of the option where `${secret.NAME}` is resolved.
fn templated_strings(opt: &ApiRequestOption) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                out.push(k);
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = vec![opt.url.as_str()];
    out.extend(opt.headers.values().map(String::as_str));
    for (k, v) in &opt.params {
        out.push(k);
        out.push(v);
    }
    if let Some(body) = &opt.body {
        walk(body, &mut out);
    }
    out
}

/// Looks up every secret the option references: `(name, value)` pairs, each name once.
async fn resolve_secrets<S: SecretSource>(
    opt: &ApiRequestOption,
    source: &S,
) -> Result<Vec<(String, String)>, Stop> {
    let mut resolved: Vec<(String, String)> = Vec::new();
    for s in templated_strings(opt) {
        for name in secret_refs(s) {
            if resolved.iter().any(|(n, _)| n == name) {
                continue;
            }
            let redactor = Redactor::new(resolved.iter().map(|(_, v)| v.as_str()));
            let value = source
                .secret(name)
                .await
                .map_err(|e| Stop::new(format!("secret store error: {e}"), &redactor))?
                .ok_or_else(|| Stop::bare(format!("unknown secret `{name}`")))?;
            resolved.push((name.to_string(), value));
        }
    }
    Ok(resolved)
}

/// Replaces each `${secret.NAME}` in `s` by `encode(value)`. Every name was resolved before.
fn substitute_secrets(
    s: &str,
    secrets: &[(String, String)],
    encode: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((start, end, name)) = next_secret(rest) {
        out.push_str(&rest[..start]);
        if let Some((_, v)) = secrets.iter().find(|(n, _)| n == name) {
            out.push_str(&encode(v));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// How a secret goes into the URL: a value that is itself an absolute http(s) URL (a webhook
/// URL with an embedded token, used as the whole URL or its base) as is; anything else
/// percent-encoded, like `{name}` values.
fn url_secret(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://"))
        && reqwest::Url::parse(value).is_ok()
    {
        value.to_string()
    } else {
        percent_encode(value)
    }
}

fn substitute_value_secrets(v: &Value, secrets: &[(String, String)]) -> Value {
    match v {
        Value::String(s) => Value::String(substitute_secrets(s, secrets, str::to_string)),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|v| substitute_value_secrets(v, secrets))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        substitute_secrets(k, secrets, str::to_string),
                        substitute_value_secrets(v, secrets),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Replaces secret values by [`REDACTED`] in text.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Every form of every secret value, longest first.
    patterns: Vec<String>,
}

impl Redactor {
    /// A redactor for `values` (empty values are ignored), in every form they may take in a
    /// URL, a form-encoded query or a JSON document.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut patterns = Vec::new();
        for v in values.into_iter().filter(|v| !v.is_empty()) {
            patterns.push(v.to_string());
            patterns.push(percent_encode(v));
            patterns.push(form_encode(v));
            if let Ok(json) = serde_json::to_string(v) {
                patterns.push(json[1..json.len() - 1].to_string());
            }
        }
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        Redactor { patterns }
    }

    /// `text` with every occurrence of a secret value replaced by [`REDACTED`]. One pass, left
    /// to right, longest match first; replacements are never scanned again.
    pub fn redact(&self, text: &str) -> String {
        if self.patterns.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        loop {
            // The earliest match; at equal positions the longest (patterns are longest first).
            let next = self
                .patterns
                .iter()
                .filter_map(|p| rest.find(p.as_str()).map(|at| (at, p.len())))
                .min_by_key(|&(at, _)| at);
            let Some((at, len)) = next else { break };
            out.push_str(&rest[..at]);
            out.push_str(REDACTED);
            rest = &rest[at + len..];
        }
        out.push_str(rest);
        out
    }
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

// ---------------------------------------------------------------------------------------------
// Captures

/// One step of a capture path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name`
    Key(String),
    /// `[n]`
    Index(usize),
    /// `[*]`: a random element.
    Any,
}

/// Parses `response`, `response.a.b`, `response.items[0].id`, `response[*]`, ... into the
/// steps after `response`.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let path = path.trim();
    let Some(mut rest) = path.strip_prefix("response") else {
        return Err(format!("path `{path}` does not start with `response`"));
    };
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() {
                return Err(format!("path `{path}` has an empty key"));
            }
            out.push(Segment::Key(key.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err(format!("path `{path}` has an unclosed `[`"));
            };
            let inside = after[..end].trim();
            out.push(if inside == "*" {
                Segment::Any
            } else {
                Segment::Index(
                    inside
                        .parse()
                        .map_err(|_| format!("path `{path}`: `[{inside}]` is not an index"))?,
                )
            });
            rest = &after[end + 1..];
        } else {
            return Err(format!("path `{path}` does not start with `response`"));
        }
    }
    Ok(out)
}

/// The value at `path` in `root`. `[*]` picks a random element.
pub fn evaluate<'a>(root: &'a Value, path: &[Segment]) -> Result<&'a Value, String> {
    let mut cur = root;
    let mut at = String::from("response");
    for seg in path {
        cur = match (seg, cur) {
            (Segment::Key(k), Value::Object(m)) => {
                m.get(k).ok_or_else(|| format!("`{at}` has no key `{k}`"))?
            }
            // `.0` on an array: an index written as a key.
            (Segment::Key(k), Value::Array(a)) if k.parse::<usize>().is_ok() => {
                let i: usize = k.parse().unwrap_or_default();
                a.get(i)
                    .ok_or_else(|| format!("`{at}` has {} elements, no [{i}]", a.len()))?
            }
            (Segment::Index(i), Value::Array(a)) => a
                .get(*i)
                .ok_or_else(|| format!("`{at}` has {} elements, no [{i}]", a.len()))?,
            (Segment::Any, Value::Array(a)) => {
                if a.is_empty() {
                    return Err(format!("`{at}` is an empty array"));
                }
                &a[rand::rng().random_range(0..a.len())]
            }
            (Segment::Key(k), other) => {
                return Err(format!(
                    "`{at}` is {}, not an object (key `{k}`)",
                    kind(other)
                ))
            }
            (_, other) => return Err(format!("`{at}` is {}, not an array", kind(other))),
        };
        match seg {
            Segment::Key(k) => {
                at.push('.');
                at.push_str(k);
            }
            Segment::Index(i) => at.push_str(&format!("[{i}]")),
            Segment::Any => at.push_str("[*]"),
        }
    }
    Ok(cur)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A captured value as stored: strings as they are, anything else as its JSON text.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates one capture rule against the response (`json` when the body parsed as JSON;
/// `text` the body as text).
fn capture(
    path: &str,
    variable: &str,
    json: Option<&Value>,
    text: &str,
    redactor: &Redactor,
) -> CaptureReport {
    let result = if flow::RESERVED_PREFIXES
        .iter()
        .any(|p| flow::canonical_name(variable).starts_with(p) || variable.starts_with(p))
        || variable.trim().is_empty()
    {
        Err(format!("variable `{variable}` may not be set by a capture"))
    } else {
        parse_path(path).and_then(|segments| match (json, segments.is_empty()) {
            (Some(root), _) => evaluate(root, &segments).map(value_text),
            (None, true) => Ok(text.to_string()),
            (None, false) => Err("the response is not JSON".to_string()),
        })
    };
    let (value, error) = match result {
        Ok(v) => (Some(redactor.redact(&v)), None),
        Err(e) => (None, Some(redactor.redact(&e))),
    };
    CaptureReport {
        path: path.to_string(),
        variable: variable.to_string(),
        value,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        let mut v = Variables::new();
        for (k, val) in pairs {
            v.set(*k, *val);
        }
        v
    }

    #[test]
    fn capture_paths_parse() {
        use Segment::*;
        let k = |s: &str| Key(s.to_string());
        let table: &[(&str, Result<Vec<Segment>, ()>)] = &[
            ("response", Ok(vec![])),
            (" response ", Ok(vec![])),
            ("response.name", Ok(vec![k("name")])),
            (
                "response.orders[0].status",
                Ok(vec![k("orders"), Index(0), k("status")]),
            ),
            ("response.items[*].id", Ok(vec![k("items"), Any, k("id")])),
            ("response[2][ 1 ]", Ok(vec![Index(2), Index(1)])),
            ("response.a-b.c_d", Ok(vec![k("a-b"), k("c_d")])),
            ("body.name", Err(())),
            ("responses.name", Err(())),
            ("response.", Err(())),
            ("response..a", Err(())),
            ("response.a[", Err(())),
            ("response.a[x]", Err(())),
            ("response.a[-1]", Err(())),
            ("", Err(())),
        ];
        for (path, want) in table {
            let got = parse_path(path).map_err(|_| ());
            assert_eq!(&got, want, "{path}");
        }
    }

    #[test]
    fn capture_paths_evaluate() {
        let doc = json!({
            "name": "Ada",
            "age": 36,
            "vip": true,
            "note": null,
            "orders": [{"status": "shipped", "total": 12.5}, {"status": "open"}],
            "tags": ["a"],
            "nested": {"x": {"y": [1, [2, 3]]}},
            "empty": [],
        });
        let table: &[(&str, Result<&str, ()>)] = &[
            ("response.name", Ok("Ada")),
            ("response.age", Ok("36")),
            ("response.vip", Ok("true")),
            ("response.note", Ok("null")),
            ("response.orders[0].status", Ok("shipped")),
            ("response.orders[0].total", Ok("12.5")),
            ("response.orders[1]", Ok(r#"{"status":"open"}"#)),
            ("response.orders.1.status", Ok("open")),
            ("response.tags", Ok(r#"["a"]"#)),
            ("response.tags[*]", Ok("a")),
            ("response.nested.x.y[1][0]", Ok("2")),
            ("response.missing", Err(())),
            ("response.orders[2]", Err(())),
            ("response.name.first", Err(())),
            ("response.name[0]", Err(())),
            ("response.empty[*]", Err(())),
            ("response.orders[0].status.x", Err(())),
        ];
        for (path, want) in table {
            let got = parse_path(path)
                .and_then(|p| evaluate(&doc, &p).map(value_text))
                .map_err(|_| ());
            assert_eq!(got.as_deref(), want.as_ref().map(|s| *s), "{path}");
        }
        let whole = evaluate(&doc, &parse_path("response").unwrap()).unwrap();
        assert_eq!(whole, &doc);
    }

    #[test]
    fn random_element_covers_the_array() {
        let doc = json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}]});
        let path = parse_path("response.items[*].id").unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(value_text(evaluate(&doc, &path).unwrap()));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["1", "2", "3"]);
    }

    #[test]
    fn capture_reports_errors_and_non_json_bodies() {
        let r = Redactor::default();
        let doc = json!({"a": 1});
        let ok = capture("response.a", "x", Some(&doc), "", &r);
        assert_eq!(ok.value.as_deref(), Some("1"));
        assert_eq!(ok.error, None);
        let missing = capture("response.b", "x", Some(&doc), "", &r);
        assert_eq!(missing.value, None);
        assert!(missing.error.unwrap().contains("no key `b`"));
        let text = capture("response", "x", None, "plain text", &r);
        assert_eq!(text.value.as_deref(), Some("plain text"));
        let not_json = capture("response.a", "x", None, "plain text", &r);
        assert_eq!(not_json.error.as_deref(), Some("the response is not JSON"));
        let reserved = capture("response.a", "call.digits", Some(&doc), "", &r);
        assert_eq!(reserved.value, None);
        assert!(reserved.error.is_some());
        let aliased = capture("response.a", "voipbin.call.x", Some(&doc), "", &r);
        assert_eq!(aliased.value, None);
    }

    #[test]
    fn brace_names_are_substituted_and_encoded() {
        let v = vars(&[
            ("caller", "+1 555/01"),
            ("id", "42"),
            ("call.source.target", "alice@example.com"),
        ]);
        let table = [
            (
                "https://x.test/customers/{caller}?id={id}",
                "https://x.test/customers/%2B1%20555%2F01?id=42",
            ),
            (
                "https://x.test/{call.source.target}",
                "https://x.test/alice%40example.com",
            ),
            // Unknown names, invalid names and stray braces stay.
            ("https://x.test/{nope}/{id}", "https://x.test/{nope}/42"),
            ("https://x.test/{a b}/{}", "https://x.test/{a b}/{}"),
            ("https://x.test/{{id}}", "https://x.test/{42}"),
            ("https://x.test/}{id", "https://x.test/}{id"),
            // The secret form is left for later.
            (
                "https://x.test/?k=${secret.key}&id={id}",
                "https://x.test/?k=${secret.key}&id=42",
            ),
            (
                "https://x.test/${unterminated",
                "https://x.test/${unterminated",
            ),
        ];
        for (input, want) in table {
            assert_eq!(substitute_braces(input, &v), want, "{input}");
        }
    }

    #[test]
    fn secret_references_are_found_and_substituted() {
        assert_eq!(
            secret_refs("a ${secret.one} b ${x}${voipbin.secret.two} ${secret.open"),
            ["one", "two"]
        );
        let secrets = vec![
            ("one".to_string(), "a b&c".to_string()),
            (
                "hook".to_string(),
                "https://hooks.test/T1/B2/xyz".to_string(),
            ),
        ];
        assert_eq!(
            substitute_secrets("Bearer ${secret.one}", &secrets, str::to_string),
            "Bearer a b&c"
        );
        assert_eq!(
            substitute_secrets("https://x.test/?k=${secret.one}", &secrets, url_secret),
            "https://x.test/?k=a%20b%26c"
        );
        assert_eq!(
            substitute_secrets("${secret.hook}/more", &secrets, url_secret),
            "https://hooks.test/T1/B2/xyz/more"
        );
    }

    #[test]
    fn redaction_covers_every_form_and_never_rescans() {
        let r = Redactor::new(["s3cr3t tok/en\"", "", "a"]);
        assert_eq!(r.redact("x s3cr3t tok/en\" y"), "x [redacted] y");
        assert_eq!(r.redact("q=s3cr3t%20tok%2Fen%22"), "q=[redacted]");
        assert_eq!(r.redact("q=s3cr3t+tok%2Fen%22"), "q=[redacted]");
        assert_eq!(
            r.redact(r#"{"echo":"s3cr3t tok/en\""}"#),
            r#"{"echo":"[redacted]"}"#
        );
        // A one-letter secret is redacted too, and the marker it leaves is not rescanned.
        assert_eq!(r.redact("banana"), "b[redacted]n[redacted]n[redacted]");
        assert_eq!(Redactor::default().redact("as is"), "as is");
        let empty = Redactor::new([""]);
        assert_eq!(empty.redact("as is"), "as is");
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncate("héllo".into(), 2), "h");
        assert_eq!(truncate("héllo".into(), 3), "hé");
        assert_eq!(truncate("abc".into(), 10), "abc");
    }

    #[test]
    fn encoders() {
        assert_eq!(
            percent_encode("a-b_c.d~e f+g/é"),
            "a-b_c.d~e%20f%2Bg%2F%C3%A9"
        );
        assert_eq!(form_encode("a b*c~"), "a+b*c%7E");
    }

    #[test]
    fn request_is_prepared_with_params_headers_and_body() {
        let opt: ApiRequestOption = serde_json::from_value(json!({
            "method": "POST",
            "url": "https://api.test/c/{caller}?src=x",
            "headers": {"Authorization": "Bearer ${secret.tok}"},
            "params": {"expand": "orders items", "k": "${secret.tok}"},
            "body": {"phone": "+1", "key": "${secret.tok}"},
            "timeout": 1500,
        }))
        .unwrap();
        let secrets = vec![("tok".to_string(), "T0K".to_string())];
        let r = Redactor::new(["T0K"]);
        let p = prepare(&opt, &vars(&[("caller", "a b")]), &secrets, &r)
            .ok()
            .unwrap();
        assert_eq!(
            p.url,
            "https://api.test/c/a%20b?src=x&expand=orders+items&k=T0K"
        );
        assert!(p
            .headers
            .contains(&("Authorization".into(), "Bearer T0K".into())));
        assert!(p
            .headers
            .contains(&("Content-Type".into(), "application/json".into())));
        let body: Value = serde_json::from_slice(p.body.as_deref().unwrap()).unwrap();
        assert_eq!(body, json!({"phone": "+1", "key": "T0K"}));
        assert_eq!(p.timeout, Duration::from_millis(1500));
        assert_eq!(
            r.redact(&p.url),
            "https://api.test/c/a%20b?src=x&expand=orders+items&k=[redacted]"
        );

        // A raw string body keeps the author's content type and no JSON one is added.
        let opt: ApiRequestOption = serde_json::from_value(json!({
            "method": "PUT", "url": "https://api.test/",
            "headers": {"content-type": "text/plain"}, "body": "raw ${secret.tok}",
        }))
        .unwrap();
        let p = prepare(&opt, &Variables::new(), &secrets, &r).ok().unwrap();
        assert_eq!(p.body.as_deref(), Some(&b"raw T0K"[..]));
        assert_eq!(
            p.headers,
            vec![("content-type".into(), "text/plain".into())]
        );
        assert_eq!(p.timeout, DEFAULT_TIMEOUT);

        // Too large a body fails before sending; so does a bad URL.
        let big = "x".repeat(MAX_REQUEST_BODY + 1);
        let opt: ApiRequestOption =
            serde_json::from_value(json!({"url": "https://api.test/", "body": big})).unwrap();
        let e = prepare(&opt, &Variables::new(), &[], &r).err().unwrap();
        assert!(e.message.contains("request body larger"), "{}", e.message);
        let opt: ApiRequestOption =
            serde_json::from_value(json!({"url": "ftp://x/${secret.tok}"})).unwrap();
        let e = prepare(&opt, &Variables::new(), &secrets, &r)
            .err()
            .unwrap();
        assert!(!e.message.contains("T0K"), "{}", e.message);
    }
}

/// Run `opt` for an activeflow: the result as the call actor wants it.
pub async fn run(
    shared: &crate::engine::Shared,
    opt: &ApiRequestOption,
    vars: Option<flow::Variables>,
) -> RunResult {
    let vars = vars.unwrap_or_default();
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
