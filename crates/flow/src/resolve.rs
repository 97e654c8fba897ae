//! Templating an action when it becomes current (flows.md §3).
//!
//! Fast path: an action whose option holds no `${` (outside name/id fields) uses the typed
//! option parsed at load time, without copying. Otherwise the raw option JSON is copied,
//! every string substituted, numbers given as strings parsed (with the same range checks as
//! validation), enum strings checked, and the result parsed into the typed option. Any
//! failure is the *action's* failure: the caller logs `failed: <reason>` and moves on.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::action::Action;
use crate::options::ActionOption;
use crate::problem::Severity;
use crate::spec::{self, Field, Kind};
use crate::template::{substitute_json, Variables};
use crate::validate::semantic_problems;

/// An action's option ready to run.
pub(crate) struct Resolved<'a> {
    /// The typed option.
    pub option: Cow<'a, ActionOption>,
    /// The option JSON after templating (what `Command::Other` carries).
    pub json: Cow<'a, Value>,
    /// True when string fields still hold their `${...}` text (the load-time option of a
    /// templated control action); the evaluator substitutes the fields it reads.
    pub needs_substitution: bool,
}

/// Resolves `action`'s option against `vars`. `Err` is the failure reason.
pub(crate) fn resolve<'a>(action: &'a Action, vars: &Variables) -> Result<Resolved<'a>, String> {
    if let Some(parsed) = action.parsed.as_deref() {
        if !action.templated || action.action_type.is_control() {
            return Ok(Resolved {
                option: Cow::Borrowed(parsed),
                json: Cow::Borrowed(&action.option),
                needs_substitution: action.templated,
            });
        }
    }
    let t = action.action_type;
    let mut json = action.option.clone();
    substitute_json(&mut json, spec::literal_fields(t), vars);
    if let Value::Object(map) = &mut json {
        coerce(spec::fields(t), map)?;
        let errors = semantic_problems(t, map, false);
        if let Some((_, msg, _)) = errors.into_iter().find(|p| p.2 == Severity::Error) {
            return Err(msg);
        }
    }
    let option = ActionOption::parse(t, &json).map_err(|e| format!("invalid option: {e}"))?;
    Ok(Resolved {
        option: Cow::Owned(option),
        json: Cow::Owned(json),
        needs_substitution: false,
    })
}

/// Turns numeric strings of numeric fields into numbers and checks ranges and enums, as
/// validation does for literal values.
fn coerce(fields: &[Field], map: &mut Map<String, Value>) -> Result<(), String> {
    for f in fields {
        let Some(v) = map.get_mut(f.name) else {
            continue;
        };
        match f.kind {
            Kind::Int { min, max } => int(f.name, v, min, max)?,
            Kind::IntList { min, max } => {
                if let Value::Array(items) = v {
                    for item in items {
                        int(f.name, item, min, max)?;
                    }
                }
            }
            Kind::Number => {
                if let Value::String(s) = v {
                    let n = s
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .ok_or_else(|| format!("option `{}`: `{s}` is not a number", f.name))?;
                    *v = Value::Number(n);
                }
            }
            Kind::Enum(allowed) => {
                if let Value::String(s) = v {
                    if !allowed.contains(&s.as_str()) {
                        let all = allowed.join(", ");
                        return Err(format!(
                            "option `{}` must be one of {all}, got `{s}`",
                            f.name
                        ));
                    }
                }
            }
            Kind::Object(inner) => {
                if let Value::Object(m) = v {
                    coerce(inner, m)?;
                }
            }
            Kind::ObjectList(inner) => {
                if let Value::Array(items) = v {
                    for item in items {
                        if let Value::Object(m) = item {
                            coerce(inner, m)?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn int(name: &str, v: &mut Value, min: i64, max: i64) -> Result<(), String> {
    if let Value::String(s) = v {
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("option `{name}`: `{s}` is not an integer"))?;
        *v = Value::from(n);
    }
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        Some(n) => Err(format!(
            "option `{name}` must be between {min} and {max}, got {n}"
        )),
        None => Err(format!("option `{name}` must be an integer")),
    }
}
