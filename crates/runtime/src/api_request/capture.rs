//! Capture paths (`response.a.b`, `[n]`, `[*]`) evaluated on a JSON response.

use super::*;
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

pub(super) fn kind(v: &Value) -> &'static str {
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
pub(super) fn capture(
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
