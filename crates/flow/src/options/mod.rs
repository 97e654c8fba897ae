//! Typed options of every action type (serde, `deny_unknown_fields`).
//!
//! These are what the cursor evaluates and what [`crate::Command`]s carry: the option *after*
//! templating. Field names and defaults follow the seed action reference and
//! custom-actions.md; the field table in `spec.rs` says the same in data form.

mod call;
mod control;
mod http;

pub use call::*;
pub use control::*;
pub use http::*;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A comparison operator of the condition actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    /// `==`
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
}

impl Operator {
    /// Whether `left OP right` holds, given `left.cmp(right)`.
    pub fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Eq => ordering == Ordering::Equal,
            Operator::Ne => ordering != Ordering::Equal,
            Operator::Gt => ordering == Ordering::Greater,
            Operator::Ge => ordering != Ordering::Less,
            Operator::Lt => ordering == Ordering::Less,
            Operator::Le => ordering != Ordering::Greater,
        }
    }
}

/// An HTTP method (each action's validation narrows the set it accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    #[default]
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
}

/// The typed option of one action (generated from the action table, `spec/table.rs`).
pub use crate::spec::ActionOption;

/// The option of the types that take none: only `{}` (or no `option`) is accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoOption {}

/// Deserializes an optional action id where `""` and the nil UUID mean "none".
pub(crate) fn optional_target<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::ActionId>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.filter(|s| !crate::ActionId::is_nil_text(s))
        .map(crate::ActionId::from))
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ActionType;

    #[test]
    fn operators_compare_left_to_right() {
        use Ordering::*;
        let cases = [
            (Operator::Eq, [false, true, false]),
            (Operator::Ne, [true, false, true]),
            (Operator::Gt, [false, false, true]),
            (Operator::Ge, [false, true, true]),
            (Operator::Lt, [true, false, false]),
            (Operator::Le, [true, true, false]),
        ];
        for (op, want) in cases {
            let got = [op.holds(Less), op.holds(Equal), op.holds(Greater)];
            assert_eq!(got, want, "{op:?}");
        }
    }

    #[test]
    fn types_without_options_reject_any_field() {
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::Value::Null).is_ok());
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::json!({})).is_ok());
        assert!(ActionOption::parse(ActionType::Answer, &serde_json::json!({"x": 1})).is_err());
    }
}
