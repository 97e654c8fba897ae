//! Activeflow variables and `${name}` templating (flows.md §3).
//!
//! Contracts:
//! - [`Variables`] is one string-to-string map per activeflow. Every name is normalized on the
//!   way in and out by dropping one leading `voipbin.` (the compatibility alias), so
//!   `${voipbin.call.digits}` and `${call.digits}` are the same variable.
//! - [`substitute`] replaces each `${name}` with the variable's value, `""` when unknown. The
//!   name runs to the first `}`; there is no nesting and no escaping; an unterminated `${` is
//!   kept literally; substituted values are never expanded again.
//! - **Secrets stay out of templating.** A placeholder naming a stored secret,
//!   `${secret.NAME}` (also through the alias, `${voipbin.secret.NAME}`), is never looked up in
//!   the variables: it is kept in the output as the text `${secret.NAME}` (canonical form). The
//!   runtime resolves it at request time (`api_request` headers, URL, body ...) and redacts the
//!   value everywhere, so a secret never lands in a variable, an event or the execution log.
//! - Variables from outside the flow go through [`Variables::merge_external`], which refuses
//!   built-in namespaces and oversized maps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// The compatibility prefix: `voipbin.x` names the variable `x`.
pub const ALIAS_PREFIX: &str = "voipbin.";
/// Most keys one external injection may carry.
pub const MAX_EXTERNAL_KEYS: usize = 100;
/// Most bytes (keys plus values) one external injection may carry.
pub const MAX_EXTERNAL_BYTES: usize = 64 * 1024;
/// Namespaces external injection may not write.
pub const RESERVED_PREFIXES: [&str; 3] = ["call.", "activeflow.", ALIAS_PREFIX];
/// Placeholders whose canonical name starts with this are secrets: [`substitute`] keeps them
/// verbatim (as `${secret.NAME}`) for the runtime to resolve at request time.
pub const SECRET_PREFIX: &str = "secret.";

/// The canonical name of a variable: one leading `voipbin.` removed.
pub fn canonical_name(name: &str) -> &str {
    name.strip_prefix(ALIAS_PREFIX).unwrap_or(name)
}

/// One activeflow's variables: a string-to-string map with `voipbin.` alias resolution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Variables(BTreeMap<String, String>);

impl Variables {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `name` (alias resolved), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(canonical_name(name)).map(String::as_str)
    }

    /// The value of `name`, `""` when unset (the templating rule for unknown names).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Sets `name` (alias resolved) to `value`; returns the previous value.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let mut name = name.into();
        if name.starts_with(ALIAS_PREFIX) {
            name.drain(..ALIAS_PREFIX.len());
        }
        self.0.insert(name, value.into())
    }

    /// Sets `name` to `value`, reusing the existing allocations when the name is already set.
    pub fn set_str(&mut self, name: &str, value: &str) {
        let name = canonical_name(name);
        match self.0.get_mut(name) {
            Some(v) => {
                v.clear();
                v.push_str(value);
            }
            None => {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Empties the value of `name` if it is set (the variable stays, with value `""`).
    pub fn clear_value(&mut self, name: &str) {
        if let Some(v) = self.0.get_mut(canonical_name(name)) {
            v.clear();
        }
    }

    /// Removes `name`; returns its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(canonical_name(name))
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no variable is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All variables in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Merges variables supplied from outside the flow (originate API, activeflow API, webhook
    /// responses). All or nothing: refuses, without changing anything, maps with more than
    /// [`MAX_EXTERNAL_KEYS`] keys, more than [`MAX_EXTERNAL_BYTES`] bytes of keys and values,
    /// or any key in a reserved namespace (`call.`, `activeflow.`, `voipbin.`). The problem's
    /// pointer is `/variables/<key>` for a refused key and `/variables` for size limits.
    pub fn merge_external<I, K, V>(&mut self, map: I) -> Result<(), Problem>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let entries: Vec<(String, String)> =
            map.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        if entries.len() > MAX_EXTERNAL_KEYS {
            return Err(Problem::error(
                "/variables",
                format!(
                    "at most {MAX_EXTERNAL_KEYS} variables may be supplied, got {}",
                    entries.len()
                ),
            ));
        }
        let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
        if bytes > MAX_EXTERNAL_BYTES {
            return Err(Problem::error(
                "/variables",
                format!(
                    "supplied variables may total at most {MAX_EXTERNAL_BYTES} bytes, got {bytes}"
                ),
            ));
        }
        if let Some((k, _)) = entries.iter().find(|(k, _)| is_reserved(k)) {
            return Err(Problem::error(
                crate::problem::Pointer::default()
                    .key("variables")
                    .key(k)
                    .as_str(),
                format!("variable `{k}` is in a reserved namespace and cannot be set from outside"),
            ));
        }
        for (k, v) in entries {
            self.0.insert(k, v);
        }
        Ok(())
    }
}

/// True when external injection may not write `name`.
fn is_reserved(name: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Variables {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut vars = Variables::new();
        for (k, v) in iter {
            vars.set(k, v);
        }
        vars
    }
}

/// Replaces every `${name}` in `template` by the value of `name` (`""` when unknown).
///
/// `${secret.NAME}` is the exception: it is never substituted, not even by a variable of that
/// name, and stays in the output as `${secret.NAME}` (`${voipbin.secret.NAME}` becomes
/// `${secret.NAME}`). The runtime resolves secrets when it sends a request and redacts them.
///
/// ```
/// use flow::{substitute, Variables};
/// let vars: Variables = [("call.digits", "12")].into_iter().collect();
/// assert_eq!(substitute("got ${voipbin.call.digits}${nope}!", &vars), "got 12!");
/// assert_eq!(substitute("Bearer ${secret.tok}", &vars), "Bearer ${secret.tok}");
/// ```
pub fn substitute(template: &str, vars: &Variables) -> String {
    let mut out = String::with_capacity(template.len());
    substitute_into(&mut out, template, vars);
    out
}

/// True when `s` holds at least one `${`.
pub(crate) fn has_placeholder(s: &str) -> bool {
    s.contains("${")
}

/// Appends `template`, substituted, to `out` (no allocation when `out` has room).
pub(crate) fn substitute_into(out: &mut String, template: &str, vars: &Variables) {
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(len) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        let name = canonical_name(&after[..len]);
        if name.starts_with(SECRET_PREFIX) {
            out.push_str("${");
            out.push_str(name);
            out.push('}');
        } else {
            out.push_str(vars.value(name));
        }
        rest = &after[len + 1..];
    }
    out.push_str(rest);
}

/// Flattens a JSON object into variables: strings, numbers and booleans keep their key;
/// nested objects are joined with dots (`{"a":{"b":1}}` → `a.b = "1"`); arrays and nulls are
/// ignored. Anything but an object yields nothing.
pub fn flatten_json(value: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = value {
        flatten_into(&mut out, "", map, 0);
    }
    out
}

/// Nesting deeper than this is ignored (inputs are bounded by the JSON parser anyway).
const MAX_FLATTEN_DEPTH: usize = 32;

fn flatten_into(
    out: &mut Vec<(String, String)>,
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) {
    for (k, v) in map {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::String(s) => out.push((name, s.clone())),
            serde_json::Value::Number(n) => out.push((name, n.to_string())),
            serde_json::Value::Bool(b) => out.push((name, b.to_string())),
            serde_json::Value::Object(inner) if depth < MAX_FLATTEN_DEPTH => {
                flatten_into(out, &name, inner, depth + 1)
            }
            _ => {}
        }
    }
}

/// Substitutes every string inside `value` in place, skipping the top-level object keys listed
/// in `literal` (fields whose text is a name or an id, not a template).
pub(crate) fn substitute_json(value: &mut serde_json::Value, literal: &[&str], vars: &Variables) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if !literal.contains(&k.as_str()) {
                    substitute_json(v, &[], vars);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                substitute_json(v, &[], vars);
            }
        }
        serde_json::Value::String(s) if has_placeholder(s) => *s = substitute(s, vars),
        _ => {}
    }
}

/// True when some string inside `value` (outside the `literal` top-level keys) has `${`.
pub(crate) fn json_has_placeholder(value: &serde_json::Value, literal: &[&str]) -> bool {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| !literal.contains(&k.as_str()) && json_has_placeholder(v, &[])),
        serde_json::Value::Array(items) => items.iter().any(|v| json_has_placeholder(v, &[])),
        serde_json::Value::String(s) => has_placeholder(s),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs.iter().copied().collect()
    }

    #[test]
    fn unknown_variable_becomes_empty_string() {
        assert_eq!(substitute("a${missing}b", &Variables::new()), "ab");
    }

    #[test]
    fn voipbin_alias_reads_the_unprefixed_variable() {
        let v = vars(&[("call.digits", "42")]);
        assert_eq!(
            substitute("${voipbin.call.digits}/${call.digits}", &v),
            "42/42"
        );
    }

    #[test]
    fn substituted_values_are_not_expanded_again() {
        let v = vars(&[("a", "${b}"), ("b", "no")]);
        assert_eq!(substitute("${a}", &v), "${b}");
    }

    #[test]
    fn unterminated_placeholder_is_kept_literally() {
        let v = vars(&[("a", "x")]);
        assert_eq!(substitute("${a} ${a", &v), "x ${a");
    }

    #[test]
    fn no_nesting_name_runs_to_first_closing_brace() {
        let v = vars(&[("b", "B")]);
        assert_eq!(substitute("${a${b}}", &v), "}");
    }

    #[test]
    fn multibyte_text_around_placeholders_survives() {
        let v = vars(&[("n", "é")]);
        assert_eq!(substitute("ü${n}ß", &v), "üéß");
    }

    #[test]
    fn secrets_are_kept_verbatim_and_other_names_substituted() {
        let v = vars(&[("x", "1"), ("secret.tok", "leak")]);
        assert_eq!(
            substitute("Bearer ${secret.tok} ${x}${unknown}", &v),
            "Bearer ${secret.tok} 1"
        );
        assert_eq!(substitute("${voipbin.secret.a.b}", &v), "${secret.a.b}");
        assert_eq!(substitute("${secretary}", &v), "");
    }

    #[test]
    fn merge_external_refuses_reserved_namespaces_without_changing_anything() {
        let mut v = Variables::new();
        let err = v
            .merge_external([("ok", "1"), ("call.digits", "9")])
            .unwrap_err();
        assert_eq!(err.pointer, "/variables/call.digits");
        assert!(v.is_empty());
        for key in ["activeflow.id", "voipbin.x"] {
            assert!(v.merge_external([(key, "1")]).is_err(), "{key}");
        }
    }

    #[test]
    fn merge_external_limits_key_count_and_total_size() {
        let mut v = Variables::new();
        let many: Vec<(String, String)> =
            (0..101).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(v.merge_external(many).is_err());
        let big = [("k", "x".repeat(MAX_EXTERNAL_BYTES))];
        assert!(v.merge_external(big).is_err());
        assert!(v
            .merge_external([("k", "x".repeat(MAX_EXTERNAL_BYTES - 1))])
            .is_ok());
    }

    #[test]
    fn flatten_joins_nested_objects_with_dots_and_skips_arrays() {
        let json = serde_json::json!({"a": "x", "n": 2.5, "b": true, "o": {"p": {"q": 1}}, "l": [1], "z": null});
        let mut got = flatten_json(&json);
        got.sort();
        let want: Vec<(String, String)> = [("a", "x"), ("b", "true"), ("n", "2.5"), ("o.p.q", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn substitute_json_leaves_literal_fields_alone() {
        let v = vars(&[("x", "1")]);
        let mut j = serde_json::json!({"key": "${x}", "value": "${x}", "list": ["${x}"]});
        substitute_json(&mut j, &["key"], &v);
        assert_eq!(
            j,
            serde_json::json!({"key": "${x}", "value": "1", "list": ["1"]})
        );
    }
}
