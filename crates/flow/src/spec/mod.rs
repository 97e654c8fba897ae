//! The option fields of every action type, as data.
//!
//! One table drives validation (types, required fields, ranges, enums, jump targets), the
//! JSON Schema ([`crate::schema`]) and the run-time coercion of templated numbers. The typed
//! option structs in [`crate::options`] mirror it; a test checks that they agree.

mod table;

pub(crate) use table::fields;
pub use table::{ActionOption, ActionType};

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A string (templated).
    Str,
    /// `true` / `false`.
    Bool,
    /// An integer in `min..=max`, or a string holding `${...}`.
    Int { min: i64, max: i64 },
    /// Any JSON number, or a string holding `${...}`.
    Number,
    /// One of these strings (or a string holding `${...}`).
    Enum(&'static [&'static str]),
    /// An array of strings.
    StrList,
    /// An array of integers in `min..=max` (elements may be `${...}` strings).
    IntList { min: i64, max: i64 },
    /// An object of string values.
    StrMap,
    /// The id of an action in the same flow (or, for pushed stacks, an ancestor).
    Target,
    /// An object whose values are action ids.
    TargetMap,
    /// A nested object with its own fields.
    Object(&'static [Field]),
    /// An array of nested objects.
    ObjectList(&'static [Field]),
    /// Any JSON value.
    Any,
    /// An object of any JSON values.
    AnyMap,
    /// An inline array of actions with its own id scope (`call.actions`).
    Actions,
}

/// One option field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub doc: &'static str,
}

/// Top-level option fields of `t` that are names or ids, never templated.
pub(crate) fn literal_fields(t: ActionType) -> &'static [&'static str] {
    use ActionType::*;
    match t {
        VariableSet => &["key"],
        Branch => &["variable", "default_target_id", "target_ids"],
        ConditionVariable => &["variable", "false_target_id"],
        Custom => &["paths"],
        CustomAction => &["outputs"],
        Call => &["actions"],
        _ => &["target_id", "false_target_id", "failure_target_id"],
    }
}

/// The field named `name` among `fields`.
pub(crate) fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
    fields.iter().find(|f| f.name == name)
}

/// Appends every jump target named in `option` (an option object of an action whose
/// fields are `fields`) to `out`; `""` and the nil UUID are skipped. Inline `actions` are
/// their own scope and are not visited.
pub(crate) fn jump_targets<'a>(
    fields: &[Field],
    option: &'a serde_json::Value,
    out: &mut Vec<&'a str>,
) {
    let Some(map) = option.as_object() else {
        return;
    };
    for f in fields {
        let Some(v) = map.get(f.name) else { continue };
        match f.kind {
            Kind::Target => out.extend(v.as_str()),
            Kind::TargetMap => out.extend(
                v.as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(_, t)| t.as_str()),
            ),
            Kind::Object(inner) => jump_targets(inner, v, out),
            Kind::ObjectList(inner) => {
                for item in v.as_array().into_iter().flatten() {
                    jump_targets(inner, item, out);
                }
            }
            _ => {}
        }
    }
    out.retain(|t| !crate::action::ActionId::is_nil_text(t));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ActionOption;
    use serde_json::{json, Map, Value};

    /// A valid sample value for a field of `kind`.
    fn sample(kind: Kind) -> Value {
        match kind {
            Kind::Str => json!("x"),
            Kind::Bool => json!(true),
            Kind::Int { min, max } => json!(1i64.clamp(min, max)),
            Kind::Number => json!(1.5),
            Kind::Enum(values) => json!(values[0]),
            Kind::StrList => json!(["x"]),
            Kind::IntList { min, max } => json!([1i64.clamp(min, max)]),
            Kind::StrMap => json!({"k": "v"}),
            Kind::Target => json!("t"),
            Kind::TargetMap => json!({"k": "t"}),
            Kind::Object(inner) => object(inner, false),
            Kind::ObjectList(inner) => json!([object(inner, false)]),
            Kind::Any | Kind::AnyMap => json!({"a": 1}),
            Kind::Actions => json!([]),
        }
    }

    fn object(fields: &[Field], required_only: bool) -> Value {
        let map: Map<String, Value> = fields
            .iter()
            .filter(|f| f.required || !required_only)
            .map(|f| (f.name.to_owned(), sample(f.kind)))
            .collect();
        Value::Object(map)
    }

    #[test]
    fn typed_options_accept_every_field_of_the_table() {
        for t in ActionType::ALL {
            for required_only in [false, true] {
                let v = object(fields(*t), required_only);
                let parsed = ActionOption::parse(*t, &v);
                assert!(parsed.is_ok(), "{t} {v}: {parsed:?}");
            }
        }
    }

    #[test]
    fn typed_options_require_what_the_table_requires() {
        for t in ActionType::ALL {
            for f in fields(*t).iter().filter(|f| f.required) {
                let mut v = object(fields(*t), false);
                if let Value::Object(m) = &mut v {
                    m.remove(f.name);
                }
                assert!(
                    ActionOption::parse(*t, &v).is_err(),
                    "{t} without {}",
                    f.name
                );
            }
        }
    }
}
