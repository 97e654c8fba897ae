//! A JSON Schema (draft 2020-12) of the flow format, for editors.
//!
//! Built from the same field table validation uses, so the two cannot drift. The schema
//! cannot express cross-field rules (jump targets exist, unique ids, `value_type` needs the
//! matching `value_*`, digit characters, IANA zones); [`crate::validate`] checks those.

use serde_json::{json, Map, Value};

use crate::action::ActionType;
use crate::spec::{self, Field, Kind};

/// The JSON Schema of a flow document (an object with `actions`, or a bare array).
pub fn schema() -> Value {
    let mut defs = Map::new();
    defs.insert(
        "template".into(),
        json!({"type": "string", "pattern": "\\$\\{[^}]*\\}",
               "description": "A string holding ${...}, parsed after substitution."}),
    );
    defs.insert(
        "flow".into(),
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "detail": {"type": "string"},
                "actions": {"$ref": "#/$defs/actions"}
            },
            "required": ["actions"]
        }),
    );
    defs.insert(
        "actions".into(),
        json!({"type": "array", "items": {"$ref": "#/$defs/action"}}),
    );
    let mut variants = Vec::new();
    for t in ActionType::ALL {
        let name = format!("action.{}", t.as_str());
        variants.push(json!({"$ref": format!("#/$defs/{name}")}));
        defs.insert(name, action_schema(*t));
    }
    defs.insert("action".into(), json!({"oneOf": variants}));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "switchyard flow",
        "description": "A flow: an object with `actions`, or a bare array of actions.",
        "oneOf": [{"$ref": "#/$defs/flow"}, {"$ref": "#/$defs/actions"}],
        "$defs": defs
    })
}

fn action_schema(t: ActionType) -> Value {
    let mut s = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "Unique in its array; assigned when missing."},
            "next_id": {"type": "string", "description": "Explicit successor; empty or nil UUID = next element."},
            "type": {"const": t.as_str()},
            "option": object_schema(spec::fields(t)),
            "tm_execute": {"description": "Read-only; ignored on input."}
        },
        "required": ["type"],
        "additionalProperties": false
    });
    if let (Some(instead), Value::Object(m)) = (t.replacement(), &mut s) {
        m.insert("deprecated".into(), Value::Bool(true));
        m.insert(
            "description".into(),
            Value::String(format!("Deprecated: use {instead}.")),
        );
    }
    s
}

fn object_schema(fields: &[Field]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_owned(), field_schema(f)))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn field_schema(f: &Field) -> Value {
    let mut s = kind_schema(f.kind);
    if let Value::Object(m) = &mut s {
        m.insert("description".into(), Value::String(f.doc.to_owned()));
    }
    s
}

fn kind_schema(kind: Kind) -> Value {
    let template = json!({"$ref": "#/$defs/template"});
    match kind {
        Kind::Str | Kind::Target => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int { min, max } => {
            json!({"anyOf": [{"type": "integer", "minimum": min, "maximum": max}, template]})
        }
        Kind::Number => json!({"anyOf": [{"type": "number"}, template]}),
        Kind::Enum(values) => json!({"anyOf": [{"enum": values}, template]}),
        Kind::StrList => json!({"type": "array", "items": {"type": "string"}}),
        Kind::IntList { min, max } => json!({"type": "array", "items":
            {"anyOf": [{"type": "integer", "minimum": min, "maximum": max}, template]}}),
        Kind::StrMap | Kind::TargetMap => {
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        }
        Kind::Object(inner) => object_schema(inner),
        Kind::ObjectList(inner) => json!({"type": "array", "items": object_schema(inner)}),
        Kind::Any => json!({}),
        Kind::AnyMap => json!({"type": "object"}),
        Kind::Actions => json!({"$ref": "#/$defs/actions"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_one_definition_per_action_type() {
        let s = schema();
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        for t in ActionType::ALL {
            let def = &s["$defs"][format!("action.{}", t.as_str())];
            assert_eq!(def["properties"]["type"]["const"], t.as_str());
        }
        let talk = &s["$defs"]["action.talk"]["properties"]["option"];
        assert_eq!(talk["required"], json!(["text"]));
        assert_eq!(s["$defs"]["action.hangup_relay"]["deprecated"], true);
    }
}
