//! Pure helpers of the custom-action family (custom-actions.md §1–2): which path a `custom`
//! event selects, the variables an event sets, and the variable scope of a library custom
//! action.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::action::ActionId;
use crate::options::CustomOption;
use crate::template::Variables;

/// What a `custom` event leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomOutcome {
    /// The first path whose `event` equals the event type: the flow jumps to its target.
    Jump(ActionId),
    /// No path matches: the flow finishes (the call is hung up), as the source says.
    DeadEnd,
}

/// Which action runs next when the client answers a parked `custom` action with `event`
/// (exact, case-sensitive match against `paths[].event`; the first match wins). The cursor
/// applies the same rule to [`crate::Completion::CustomEvent`], so the HTTP response can say
/// what happens before the cursor runs it.
///
/// ```
/// use flow::{custom_outcome, options::CustomOption, ActionId, CustomOutcome};
/// let opt: CustomOption = serde_json::from_value(serde_json::json!({
///     "name": "pay", "paths": [{"event": "success", "target_id": "thanks"}]})).unwrap();
/// assert_eq!(custom_outcome(&opt, "success"), CustomOutcome::Jump(ActionId::from("thanks")));
/// assert_eq!(custom_outcome(&opt, "Success"), CustomOutcome::DeadEnd);
/// ```
pub fn custom_outcome(opt: &CustomOption, event: &str) -> CustomOutcome {
    match opt.path_target(event) {
        Some(id) => CustomOutcome::Jump(id.clone()),
        None => CustomOutcome::DeadEnd,
    }
}

/// Most custom-action frames open at once; using a custom action beyond it fails that
/// action (`failed: custom actions nested more than 8 deep`) and the flow continues after it.
pub const MAX_CUSTOM_ACTION_DEPTH: usize = 8;

/// Namespaces of the caller's variables copied into a custom action's own scope when it
/// starts (the built-ins: the call, the activeflow, the last recording, AMD, HTTP results and
/// the last `custom` event). Everything else of the caller is invisible inside.
pub const CUSTOM_ACTION_VISIBLE_PREFIXES: [&str; 7] = [
    "call.",
    "activeflow.",
    "recording.",
    "amd.",
    "webhook.",
    "api.",
    "custom.",
];

/// Prefix of a custom action's inputs inside its scope (`input.<name>`).
pub const INPUT_PREFIX: &str = "input.";

/// The scope a custom action starts with: the caller's built-ins plus `input.<name>`.
pub(crate) fn inner_scope(caller: &Variables, inputs: BTreeMap<String, String>) -> Variables {
    let mut inner: Variables = caller
        .iter()
        .filter(|(k, _)| {
            CUSTOM_ACTION_VISIBLE_PREFIXES
                .iter()
                .any(|p| k.starts_with(p))
        })
        .collect();
    for (k, v) in inputs {
        inner.set(format!("{INPUT_PREFIX}{k}"), v);
    }
    inner
}

/// Nesting deeper than this is ignored when flattening a payload.
const MAX_PAYLOAD_DEPTH: usize = 32;

/// The payload of a `custom` event as variables `custom.<key>`: nested objects joined with
/// dots, strings verbatim, every other value (number, bool, array, null) as its JSON text.
pub(crate) fn payload_variables(payload: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    flatten(&mut out, "custom", payload, 0);
    out
}

fn flatten(out: &mut Vec<(String, String)>, prefix: &str, map: &Map<String, Value>, depth: usize) {
    for (k, v) in map {
        let name = format!("{prefix}.{k}");
        match v {
            Value::String(s) => out.push((name, s.clone())),
            Value::Object(inner) => {
                if depth < MAX_PAYLOAD_DEPTH {
                    flatten(out, &name, inner, depth + 1);
                }
            }
            other => out.push((name, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_flattens_objects_and_keeps_json_text_of_other_values() {
        let v = serde_json::json!({"s": "x", "n": 2, "b": false, "o": {"p": {"q": "deep"}},
            "l": [1, "a"], "z": null});
        let Value::Object(map) = v else {
            unreachable!()
        };
        let mut got = payload_variables(&map);
        got.sort();
        let want: Vec<(String, String)> = [
            ("custom.b", "false"),
            ("custom.l", "[1,\"a\"]"),
            ("custom.n", "2"),
            ("custom.o.p.q", "deep"),
            ("custom.s", "x"),
            ("custom.z", "null"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn inner_scope_copies_built_ins_only_and_adds_inputs() {
        let caller: Variables = [
            ("call.id", "c1"),
            ("activeflow.id", "a1"),
            ("api.status", "200"),
            ("mine", "secret"),
            ("input.x", "outer input"),
        ]
        .into_iter()
        .collect();
        let inputs = [("x".to_string(), "1".to_string())].into_iter().collect();
        let inner = inner_scope(&caller, inputs);
        let got: Vec<(&str, &str)> = inner.iter().collect();
        assert_eq!(
            got,
            [
                ("activeflow.id", "a1"),
                ("api.status", "200"),
                ("call.id", "c1"),
                ("input.x", "1")
            ]
        );
    }
}
