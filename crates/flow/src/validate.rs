//! Validation and loading of flow documents (flows.md §1).
//!
//! Contracts:
//! - Every problem is reported, each with the RFC 6901 pointer of the offending value (or of
//!   the missing field) and one plain sentence.
//! - Errors: wrong JSON types, unknown types, types this build cannot execute, unknown
//!   fields, missing required options, out-of-range values, duplicate ids, jump targets that
//!   do not exist. Warnings: deprecated types, `goto` without `loop_count`, unknown
//!   flow-level fields (ignored).
//! - Numbers (and enum strings) may be strings holding `${...}`; they are checked when the
//!   action runs (see [`crate::resolve`]). Jump targets are never templated.
//! - A flow that loads never fails at run time because of its own shape.
//! - Ids: any unique non-empty string is kept verbatim; missing ids (absent, `""` or the nil
//!   UUID) are assigned a random UUID v4 by [`load`] and [`parse_actions`] (the only
//!   randomness in this crate; [`load_with_ids`] takes the generator instead).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::action::{Action, ActionId, ActionType, Flow};
use crate::capabilities::Capabilities;
use crate::options::ActionOption;
use crate::problem::{Pointer, Problem, Report, Severity};
use crate::spec::{self, Field, Kind};
use crate::template::{has_placeholder, json_has_placeholder};

/// Checks `doc` (a flow object `{"id"?, "name"?, "detail"?, "actions": [...]}` or a bare
/// array of actions) and returns every problem found.
pub fn validate(doc: &Value, caps: &Capabilities) -> Report {
    let mut c = Checker {
        caps,
        problems: Vec::new(),
    };
    c.document(doc, TargetScope::Local);
    Report {
        problems: c.problems,
    }
}

/// Validates `doc` and builds the [`Flow`], assigning UUID v4 ids to actions without one.
/// `Ok` carries the warnings; `Err` carries every problem (errors and warnings).
pub fn load(doc: &Value, caps: &Capabilities) -> Result<(Flow, Vec<Problem>), Vec<Problem>> {
    load_with_ids(doc, caps, &mut || uuid::Uuid::new_v4().to_string())
}

/// [`load`] with a caller-supplied id generator for actions without an id.
pub fn load_with_ids(
    doc: &Value,
    caps: &Capabilities,
    new_id: &mut dyn FnMut() -> String,
) -> Result<(Flow, Vec<Problem>), Vec<Problem>> {
    let mut c = Checker {
        caps,
        problems: Vec::new(),
    };
    let drafts = c.document(doc, TargetScope::Local);
    let actions = c.build(drafts, new_id);
    if c.problems.iter().any(Problem::is_error) {
        return Err(c.problems);
    }
    let mut flow = Flow::from_actions(actions);
    if let Value::Object(map) = doc {
        let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
        flow.id = text("id");
        flow.name = text("name");
        flow.detail = text("detail");
    }
    Ok((flow, c.problems))
}

/// Validates a list of actions fetched at run time (a bare array, or an object with
/// `actions`) and builds them, assigning missing ids. Jump targets that are not in the list
/// are *not* errors here: they may name actions of the stacks below (the cursor checks them
/// when it pushes the list, see [`crate::Completion::Pushed`]).
pub fn parse_actions(
    doc: &Value,
    caps: &Capabilities,
) -> Result<(Vec<Action>, Vec<Problem>), Vec<Problem>> {
    let mut c = Checker {
        caps,
        problems: Vec::new(),
    };
    let drafts = c.document(doc, TargetScope::Deferred);
    let actions = c.build(drafts, &mut || uuid::Uuid::new_v4().to_string());
    if c.problems.iter().any(Problem::is_error) {
        return Err(c.problems);
    }
    Ok((actions, c.problems))
}

/// Whether jump targets must exist in the array being checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetScope {
    Local,
    Deferred,
}

/// An action that passed its own checks, waiting for ids and typed parsing.
struct Draft {
    pointer: Pointer,
    id: Option<String>,
    next_id: Option<String>,
    action_type: ActionType,
    option: Value,
}

/// Field keys allowed on an action object.
const ACTION_KEYS: [&str; 5] = ["id", "next_id", "type", "option", "tm_execute"];
/// Field keys of a flow document.
const FLOW_KEYS: [&str; 4] = ["id", "name", "detail", "actions"];

struct Checker<'c> {
    caps: &'c Capabilities,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn error(&mut self, p: &Pointer, msg: String) {
        self.problems.push(Problem::error(p.as_str(), msg));
    }

    fn warn(&mut self, p: &Pointer, msg: String) {
        self.problems.push(Problem::warning(p.as_str(), msg));
    }

    fn errors(&self) -> usize {
        self.problems.iter().filter(|p| p.is_error()).count()
    }

    fn document(&mut self, doc: &Value, scope: TargetScope) -> Vec<Draft> {
        let root = Pointer::default();
        match doc {
            Value::Array(_) => self.actions(doc, &root, scope),
            Value::Object(map) => {
                for (k, v) in map {
                    if !FLOW_KEYS.contains(&k.as_str()) {
                        self.warn(&root.key(k), format!("unknown flow field `{k}` is ignored"));
                    } else if k != "actions" && !v.is_string() && !v.is_null() {
                        self.error(&root.key(k), format!("`{k}` must be a string"));
                    }
                }
                match map.get("actions") {
                    Some(actions) => self.actions(actions, &root.key("actions"), scope),
                    None => {
                        self.error(&root.key("actions"), "`actions` is required".into());
                        Vec::new()
                    }
                }
            }
            _ => {
                self.error(
                    &root,
                    "a flow must be a JSON object with `actions` or an array of actions".into(),
                );
                Vec::new()
            }
        }
    }

    /// Checks an array of actions with its own id scope.
    fn actions(&mut self, arr: &Value, ptr: &Pointer, scope: TargetScope) -> Vec<Draft> {
        let Value::Array(items) = arr else {
            self.error(ptr, "`actions` must be an array of actions".into());
            return Vec::new();
        };
        let mut targets = Vec::new();
        let mut drafts = Vec::new();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let p = ptr.index(i);
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                if !ActionId::is_nil_text(id) {
                    if let Some(first) = ids.get(id) {
                        let msg =
                            format!("duplicate action id `{id}` (first used at {ptr}/{first})");
                        self.error(&p.key("id"), msg);
                    } else {
                        ids.insert(id, i);
                    }
                }
            }
            let before = self.errors();
            let draft = self.action(item, &p, &mut targets);
            if let Some(d) = draft.filter(|_| self.errors() == before) {
                drafts.push(d);
            }
        }
        for (p, name, id) in targets {
            if !ids.contains_key(id.as_str()) && scope == TargetScope::Local {
                let msg =
                    format!("`{name}` refers to action `{id}`, which does not exist in this flow");
                self.error(&p, msg);
            }
        }
        drafts
    }

    /// Checks one action object; `targets` collects `(pointer, field name, id)` to resolve.
    fn action(
        &mut self,
        v: &Value,
        p: &Pointer,
        targets: &mut Vec<(Pointer, String, String)>,
    ) -> Option<Draft> {
        let Value::Object(obj) = v else {
            self.error(p, "an action must be a JSON object".into());
            return None;
        };
        for k in obj.keys() {
            if !ACTION_KEYS.contains(&k.as_str()) {
                let msg = format!(
                    "unknown field `{k}` in an action (expected id, next_id, type, option)"
                );
                self.error(&p.key(k), msg);
            }
        }
        let id = self.id_field(obj, p, "id");
        let next_id = self.id_field(obj, p, "next_id");
        if let Some(next) = &next_id {
            targets.push((p.key("next_id"), "next_id".into(), next.clone()));
        }
        let action_type = match obj.get("type") {
            None => {
                self.error(&p.key("type"), "`type` is required".into());
                None
            }
            Some(Value::String(name)) => match ActionType::parse(name) {
                None => {
                    self.error(&p.key("type"), format!("unknown action type `{name}`"));
                    None
                }
                Some(t) => {
                    if !self.caps.supports(t) {
                        let msg = format!("action type `{t}` is not supported by this build yet");
                        self.error(&p.key("type"), msg);
                    }
                    if let Some(instead) = t.replacement() {
                        let msg = format!("action type `{t}` is deprecated; use {instead} instead");
                        self.warn(&p.key("type"), msg);
                    }
                    Some(t)
                }
            },
            Some(_) => {
                self.error(&p.key("type"), "`type` must be a string".into());
                None
            }
        };
        let option = obj.get("option").cloned().unwrap_or(Value::Null);
        let op = p.key("option");
        let empty = Map::new();
        let fields_obj = match &option {
            Value::Null => Some(&empty),
            Value::Object(m) => Some(m),
            _ => {
                self.error(&op, "`option` must be a JSON object".into());
                None
            }
        };
        let (t, fields_obj) = (action_type?, fields_obj?);
        self.fields(t.as_str(), spec::fields(t), fields_obj, &op, targets);
        for (rel, msg, severity) in semantic_problems(t, fields_obj, true) {
            let ptr = rel.map_or_else(|| op.clone(), |f| op.key(f));
            match severity {
                Severity::Error => self.error(&ptr, msg),
                Severity::Warning => self.warn(&ptr, msg),
            }
        }
        Some(Draft {
            pointer: p.clone(),
            id,
            next_id,
            action_type: t,
            option,
        })
    }

    /// Reads `id` / `next_id`: a string; `""` and the nil UUID mean none.
    fn id_field(&mut self, obj: &Map<String, Value>, p: &Pointer, key: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if ActionId::is_nil_text(s) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.error(&p.key(key), format!("`{key}` must be a string"));
                None
            }
        }
    }

    /// Checks the keys of an option object (or a nested object) against `fields`.
    fn fields(
        &mut self,
        owner: &str,
        fields: &[Field],
        obj: &Map<String, Value>,
        p: &Pointer,
        targets: &mut Vec<(Pointer, String, String)>,
    ) {
        for (k, v) in obj {
            match spec::field(fields, k) {
                None => self.error(&p.key(k), format!("unknown option `{k}` for {owner}")),
                Some(f) => self.value(f, v, &p.key(k), targets),
            }
        }
        for f in fields
            .iter()
            .filter(|f| f.required && !obj.contains_key(f.name))
        {
            self.error(
                &p.key(f.name),
                format!("option `{}` is required for {owner}", f.name),
            );
        }
    }

    fn value(
        &mut self,
        f: &Field,
        v: &Value,
        p: &Pointer,
        targets: &mut Vec<(Pointer, String, String)>,
    ) {
        let name = f.name;
        let templated = v.as_str().is_some_and(has_placeholder);
        match f.kind {
            Kind::Str if !v.is_string() => self.error(p, format!("`{name}` must be a string")),
            Kind::Bool if !v.is_boolean() => {
                self.error(p, format!("`{name}` must be true or false"))
            }
            Kind::Int { min, max } if !templated => self.int(name, v, min, max, p),
            Kind::Number if !templated && !v.is_number() => {
                self.error(p, format!("`{name}` must be a number"))
            }
            Kind::Enum(allowed) if !templated => match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                _ => {
                    let got = v
                        .as_str()
                        .map_or_else(|| v.to_string(), |s| format!("`{s}`"));
                    let msg = format!("`{name}` must be one of {}, got {got}", allowed.join(", "));
                    self.error(p, msg);
                }
            },
            Kind::StrList => match v.as_array() {
                Some(items) if items.iter().all(Value::is_string) => {}
                _ => self.error(p, format!("`{name}` must be an array of strings")),
            },
            Kind::IntList { min, max } => match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        if !item.as_str().is_some_and(has_placeholder) {
                            self.int(name, item, min, max, &p.index(i));
                        }
                    }
                }
                None => self.error(p, format!("`{name}` must be an array of integers")),
            },
            Kind::StrMap => match v.as_object() {
                Some(m) => {
                    for (k, _) in m.iter().filter(|(_, item)| !item.is_string()) {
                        self.error(&p.key(k), format!("values of `{name}` must be strings"));
                    }
                }
                None => self.error(p, format!("`{name}` must be an object of strings")),
            },
            Kind::Target => match v.as_str() {
                Some(s) if ActionId::is_nil_text(s) => {
                    if f.required {
                        self.error(p, format!("`{name}` must name an action"));
                    }
                }
                Some(s) => targets.push((p.clone(), name.into(), s.into())),
                None => self.error(p, format!("`{name}` must be an action id (a string)")),
            },
            Kind::TargetMap => match v.as_object() {
                Some(m) => {
                    for (k, item) in m {
                        match item.as_str() {
                            Some(s) if !s.is_empty() => {
                                targets.push((p.key(k), name.into(), s.into()))
                            }
                            _ => self
                                .error(&p.key(k), format!("values of `{name}` must be action ids")),
                        }
                    }
                }
                None => self.error(p, format!("`{name}` must be an object of action ids")),
            },
            Kind::Object(inner) => match v.as_object() {
                Some(m) => self.fields(&format!("`{name}`"), inner, m, p, targets),
                None => self.error(p, format!("`{name}` must be an object")),
            },
            Kind::ObjectList(inner) => match v.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_object() {
                            Some(m) => {
                                let owner = format!("`{name}` entries");
                                self.fields(&owner, inner, m, &p.index(i), targets)
                            }
                            None => self
                                .error(&p.index(i), format!("entries of `{name}` must be objects")),
                        }
                    }
                }
                None => self.error(p, format!("`{name}` must be an array of objects")),
            },
            Kind::AnyMap if !v.is_object() => self.error(p, format!("`{name}` must be an object")),
            Kind::Actions => {
                // Inline actions of a new call: their own flow, their own ids.
                self.actions(v, p, TargetScope::Local);
            }
            _ => {}
        }
    }

    fn int(&mut self, name: &str, v: &Value, min: i64, max: i64, p: &Pointer) {
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => {}
            Some(n) => self.error(
                p,
                format!("`{name}` must be between {min} and {max}, got {n}"),
            ),
            None => self.error(
                p,
                format!("`{name}` must be an integer (or a string holding `${{...}}`)"),
            ),
        }
    }

    /// Assigns ids and parses typed options of drafts that passed every check.
    fn build(&mut self, drafts: Vec<Draft>, new_id: &mut dyn FnMut() -> String) -> Vec<Action> {
        let mut out = Vec::with_capacity(drafts.len());
        for d in drafts {
            let literal = spec::literal_fields(d.action_type);
            let templated = json_has_placeholder(&d.option, literal);
            let parsed = match ActionOption::parse(d.action_type, &d.option) {
                Ok(o) => Some(Arc::new(o)),
                // Only templated numbers / enums may fail here; they parse at run time.
                Err(_) if json_has_placeholder(&d.option, &[]) => None,
                Err(e) => {
                    self.error(&d.pointer.key("option"), format!("invalid option: {e}"));
                    None
                }
            };
            out.push(Action {
                id: ActionId::from(d.id.unwrap_or_else(&mut *new_id)),
                next_id: d.next_id.map(ActionId::from),
                action_type: d.action_type,
                option: d.option,
                parsed,
                templated,
            });
        }
        out
    }
}

/// Rules beyond the field table. Returns `(field, message, severity)`; `field` `None` means
/// the option object. With `templates_allowed`, values holding `${` are not checked (they
/// are checked again after substitution).
pub(crate) fn semantic_problems(
    t: ActionType,
    obj: &Map<String, Value>,
    templates_allowed: bool,
) -> Vec<(Option<&'static str>, String, Severity)> {
    let mut out = Vec::new();
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .filter(|s| !(templates_allowed && has_placeholder(s)))
    };
    match t {
        ActionType::DigitsSend => {
            if let Some(d) = text("digits") {
                if d.is_empty() || d.chars().count() > 100 {
                    out.push((
                        Some("digits"),
                        "`digits` must hold 1 to 100 characters".into(),
                        Severity::Error,
                    ));
                } else if let Some(c) = d
                    .chars()
                    .find(|c| !matches!(c, '0'..='9' | 'A'..='D' | '*' | '#'))
                {
                    let msg = format!("`digits` may only hold 0-9, A-D, * and #, got `{c}`");
                    out.push((Some("digits"), msg, Severity::Error));
                }
            }
        }
        ActionType::ConditionDatetime => {
            if let Some(tz) = text("timezone") {
                if tz.parse::<chrono_tz::Tz>().is_err() {
                    let msg = format!("`timezone` must be an IANA time zone name such as `America/New_York`, got `{tz}`");
                    out.push((Some("timezone"), msg, Severity::Error));
                }
            }
        }
        ActionType::ConditionVariable => {
            if let Some(vt) = text("value_type") {
                let needed = match vt {
                    "string" => Some("value_string"),
                    "number" => Some("value_number"),
                    "length" => Some("value_length"),
                    _ => None,
                };
                if let Some(field) = needed.filter(|f| !obj.contains_key(*f)) {
                    let msg = format!("option `{field}` is required when `value_type` is `{vt}`");
                    out.push((Some(field), msg, Severity::Error));
                }
            }
        }
        ActionType::Goto if !obj.contains_key("loop_count") => {
            let msg = "goto without `loop_count` repeats until the action budget runs out".into();
            out.push((Some("loop_count"), msg, Severity::Warning));
        }
        ActionType::Custom => {
            let paths = obj
                .get("paths")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if let Some(i) = obj.get("default_path").and_then(Value::as_u64) {
                if i as usize >= paths {
                    let msg =
                        format!("`default_path` must index `paths` ({paths} entries), got {i}");
                    out.push((Some("default_path"), msg, Severity::Error));
                }
            }
        }
        _ => {}
    }
    out
}
