//! The action object and the flow document (flows.md §1).
//!
//! An [`Action`] keeps its raw `option` JSON (templating happens when the action becomes
//! current) next to the typed option parsed once at load time. A [`Flow`] is an array of
//! actions with unique ids and an id → position index. Both are only built by
//! [`crate::load`] / [`crate::parse_actions`], so a `Flow` always passed validation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::options::ActionOption;

/// An action's id: any string unique in its array (UUIDs when the server assigns them).
/// Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(Arc<str>);

impl ActionId {
    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the ids that mean "no id": `""` and the nil UUID.
    pub fn is_nil_text(s: &str) -> bool {
        s.is_empty() || s == NIL_UUID
    }
}

/// The nil UUID, which as a `next_id` means "the next element of the array".
pub const NIL_UUID: &str = "00000000-0000-0000-0000-000000000000";

impl From<&str> for ActionId {
    fn from(s: &str) -> Self {
        ActionId(Arc::from(s))
    }
}

impl From<String> for ActionId {
    fn from(s: String) -> Self {
        ActionId(Arc::from(s))
    }
}

impl std::borrow::Borrow<str> for ActionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ActionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ActionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(ActionId::from)
    }
}

/// Generates, from the action table (`spec/table.rs`): [`ActionType`] with its names and
/// properties, [`ActionOption`] with its parser, and `spec::fields`. Each row is
/// `Variant(OptionType) => "name" [flag] { fields };` (no `(OptionType)` for types without
/// an option; `flag` is `control`, `call` or nothing; `fields` a constant slice).
macro_rules! action_table {
    ($($variant:ident $(($opt:ty))? => $name:literal [$($flag:ident)?] $fields:block;)*) => {
        /// Every action type the flow language knows (the seed document's, plus the custom
        /// action types of custom-actions.md).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ActionType { $(#[doc = concat!("`", $name, "`")] $variant,)* }

        impl ActionType {
            /// All types, in alphabetical order of their names.
            pub const ALL: &'static [ActionType] = &[$(ActionType::$variant,)*];

            /// The wire name (`"condition_variable"`).
            pub const fn as_str(self) -> &'static str {
                match self { $(ActionType::$variant => $name,)* }
            }

            /// The type named `name`, if any.
            pub fn parse(name: &str) -> Option<ActionType> {
                match name { $($name => Some(ActionType::$variant),)* _ => None }
            }

            /// Control actions: executed inside the cursor, taking no media time (flows.md
            /// §4), plus `output` (leaves a custom action).
            pub fn is_control(self) -> bool {
                match self { $(ActionType::$variant => $crate::action::flag!(control $($flag)?),)* }
            }

            /// Actions that need a call leg; skipped (outcome `skipped`) in activeflows
            /// without a call.
            pub fn needs_call(self) -> bool {
                match self { $(ActionType::$variant => $crate::action::flag!(call $($flag)?),)* }
            }
        }

        /// The typed option of one action, one variant per [`ActionType`].
        #[derive(Debug, Clone, PartialEq)]
        #[allow(missing_docs)]
        pub enum ActionOption { $($variant $(($opt))?,)* }

        impl ActionOption {
            /// Parses `value` (the option JSON, `Null` when absent) as the option of `t`.
            /// The error is serde's sentence.
            pub fn parse(t: ActionType, value: &serde_json::Value) -> Result<ActionOption, String> {
                let empty = serde_json::Value::Object(serde_json::Map::new());
                let v = if value.is_null() { &empty } else { value };
                Ok(match t {
                    $(ActionType::$variant => $crate::action::parse_option!(v, $variant $(, $opt)?),)*
                })
            }
        }

        /// The option fields of `t`.
        pub(crate) fn fields(t: ActionType) -> &'static [Field] {
            match t { $(ActionType::$variant => const $fields,)* }
        }
    };
}

/// Whether a row's flag is `want`.
macro_rules! flag {
    (control control) => {
        true
    };
    (call call) => {
        true
    };
    ($want:ident $($have:ident)?) => {
        false
    };
}

/// The parser of one row's option: its struct, or `{}` only for types without one.
macro_rules! parse_option {
    ($v:expr, $variant:ident, $opt:ty) => {
        ActionOption::$variant(
            <$opt as serde::Deserialize>::deserialize($v).map_err(|e| e.to_string())?,
        )
    };
    ($v:expr, $variant:ident) => {{
        let $crate::options::NoOption {} =
            serde::Deserialize::deserialize($v).map_err(|e: serde_json::Error| e.to_string())?;
        ActionOption::$variant
    }};
}

pub(crate) use {action_table, flag, parse_option};

/// The type enum is generated from the action table.
pub use crate::spec::ActionType;

impl ActionType {
    /// For deprecated types, what to use instead.
    pub fn replacement(self) -> Option<&'static str> {
        match self {
            ActionType::AgentCall => Some("connect"),
            ActionType::ConditionCallDigits | ActionType::ConditionCallStatus => {
                Some("condition_variable")
            }
            ActionType::HangupRelay => Some("hangup with `reference_id`"),
            _ => None,
        }
    }

    /// True for `agent_call`, `condition_call_digits`, `condition_call_status`, `hangup_relay`.
    pub fn is_deprecated(self) -> bool {
        self.replacement().is_some()
    }

    /// Types whose completion may push a new stack of actions (flows.md §2 "Stacks").
    pub fn pushes_stack(self) -> bool {
        use ActionType::*;
        matches!(
            self,
            Fetch | FetchFlow | CustomAction | QueueJoin | ConferenceJoin
        )
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One validated action: `{id, next_id, type, option}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub(crate) id: ActionId,
    pub(crate) next_id: Option<ActionId>,
    pub(crate) action_type: ActionType,
    /// Raw option JSON as written (`Null` when absent); templated when the action runs.
    pub(crate) option: serde_json::Value,
    /// The option parsed at load time; `None` when it only parses after templating
    /// (a number given as `"${...}"`).
    pub(crate) parsed: Option<Arc<ActionOption>>,
    /// True when some templated field of `option` holds `${`.
    pub(crate) templated: bool,
}

impl Action {
    /// The id (assigned at load time when the document had none).
    pub fn id(&self) -> &ActionId {
        &self.id
    }

    /// The explicit successor; `None` means the next element of the array.
    pub fn next_id(&self) -> Option<&ActionId> {
        self.next_id.as_ref()
    }

    /// The type.
    pub fn action_type(&self) -> ActionType {
        self.action_type
    }

    /// The option JSON as written, before templating (`Null` when absent).
    pub fn option(&self) -> &serde_json::Value {
        &self.option
    }

    /// The typed option, when it parses without templating.
    pub fn typed_option(&self) -> Option<&ActionOption> {
        self.parsed.as_deref()
    }
}

impl Serialize for Action {
    /// `{"id", "next_id"?, "type", "option"?}` (ids as assigned; `tm_execute` is not stored).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        if let Some(next) = &self.next_id {
            m.serialize_entry("next_id", next)?;
        }
        m.serialize_entry("type", &self.action_type)?;
        if !self.option.is_null() {
            m.serialize_entry("option", &self.option)?;
        }
        m.end()
    }
}

/// A validated flow: metadata plus one array of actions with unique ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flow {
    pub(crate) id: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) actions: Vec<Action>,
    pub(crate) index: HashMap<ActionId, usize>,
}

impl Flow {
    /// Builds the id index. Ids are unique (validation guarantees it; on a duplicate the first
    /// occurrence wins).
    pub(crate) fn from_actions(actions: Vec<Action>) -> Flow {
        let mut index = HashMap::with_capacity(actions.len());
        for (i, a) in actions.iter().enumerate() {
            index.entry(a.id.clone()).or_insert(i);
        }
        Flow {
            actions,
            index,
            ..Flow::default()
        }
    }

    /// The flow's own id, if the document had one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The flow's name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The flow's description, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The actions, in document order.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Position of the action with id `id` in [`Flow::actions`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }
}

impl Serialize for Flow {
    /// `{"id"?, "name"?, "detail"?, "actions": [...]}` with every action id filled in.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(id) = &self.id {
            m.serialize_entry("id", id)?;
        }
        if let Some(name) = &self.name {
            m.serialize_entry("name", name)?;
        }
        if let Some(detail) = &self.detail {
            m.serialize_entry("detail", detail)?;
        }
        m.serialize_entry("actions", &self.actions)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_round_trips() {
        for t in ActionType::ALL {
            assert_eq!(ActionType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(ActionType::ALL.len(), 45);
        assert_eq!(ActionType::parse("nope"), None);
    }

    #[test]
    fn control_actions_never_need_a_call() {
        for t in ActionType::ALL {
            assert!(!(t.is_control() && t.needs_call()), "{t}");
        }
    }
}
