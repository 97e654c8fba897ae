//! `${secret.NAME}`: found in an option, resolved from the store at send time, redacted from
//! everything the request produces.

use super::*;
// ---------------------------------------------------------------------------------------------
// Secrets

/// The next `${secret.NAME}` (or `${voipbin.secret.NAME}`) in `s`: (start, end after the
/// `}`, NAME).
pub(super) fn next_secret(s: &str) -> Option<(usize, usize, &str)> {
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
pub(super) fn secret_refs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((_, end, name)) = next_secret(rest) {
        out.push(name);
        rest = &rest[end..];
    }
    out
}

/// Every string of the option where `${secret.NAME}` is resolved.
pub(super) fn templated_strings(opt: &ApiRequestOption) -> Vec<&str> {
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
pub(super) async fn resolve_secrets<S: SecretSource>(
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
pub(super) fn substitute_secrets(
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
pub(super) fn url_secret(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://"))
        && reqwest::Url::parse(value).is_ok()
    {
        value.to_string()
    } else {
        percent_encode(value)
    }
}

pub(super) fn substitute_value_secrets(v: &Value, secrets: &[(String, String)]) -> Value {
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
