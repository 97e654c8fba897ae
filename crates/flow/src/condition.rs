//! Evaluation of `condition_variable`, `condition_call_digits` and `condition_call_status`
//! (flows.md §4). Each returns whether the condition holds; the cursor jumps to
//! `false_target_id` when it does not.

use std::cmp::Ordering;

use crate::options::{
    ConditionCallDigitsOption, ConditionCallStatusOption, ConditionVariableOption, ValueType,
};
use crate::template::{has_placeholder, substitute_into, Variables};

/// Reusable buffers for substituted text, so evaluating a templated condition allocates
/// nothing once warm.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pub left: String,
    pub right: String,
}

/// `text`, substituted into `buf` when `substitute` says the field is still a template.
pub(crate) fn text<'a>(
    buf: &'a mut String,
    text: &'a str,
    vars: &Variables,
    substitute: bool,
) -> &'a str {
    if substitute && has_placeholder(text) {
        buf.clear();
        substitute_into(buf, text, vars);
        buf
    } else {
        text
    }
}

/// `condition_variable`: *variable OP value*.
///
/// The left side is the variable's value (`""` when unset); when `variable` holds `${...}` it
/// is a template whose expansion is the left side. `string` compares bytes, `number` parses
/// both sides as `f64` (an unparsable or NaN left side makes the condition false whatever the
/// operator), `length` counts characters. `Err` when the comparison value is missing.
pub(crate) fn variable(
    o: &ConditionVariableOption,
    vars: &Variables,
    substitute: bool,
    scratch: &mut Scratch,
) -> Result<bool, String> {
    let left = if has_placeholder(&o.variable) {
        text(&mut scratch.left, &o.variable, vars, true)
    } else {
        vars.value(&o.variable)
    };
    let ordering = match o.value_type {
        ValueType::String => {
            let right = o
                .value_string
                .as_deref()
                .ok_or("`value_string` is missing")?;
            let right = text(&mut scratch.right, right, vars, substitute);
            left.cmp(right)
        }
        ValueType::Number => {
            let right = o.value_number.ok_or("`value_number` is missing")?;
            match left
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|l| l.partial_cmp(&right))
            {
                Some(ord) => ord,
                None => return Ok(false),
            }
        }
        ValueType::Length => {
            let right = o.value_length.ok_or("`value_length` is missing")?;
            (left.chars().count() as u64).cmp(&right)
        }
    };
    Ok(o.condition.holds(ordering))
}

/// `condition_call_digits` (deprecated): true when `call.digits` has at least `length`
/// characters (when `length` is given and non-zero) or contains `key` (when given and
/// non-empty); false when neither is given.
pub(crate) fn call_digits(
    o: &ConditionCallDigitsOption,
    vars: &Variables,
    substitute: bool,
    scratch: &mut Scratch,
) -> bool {
    let digits = vars.value("call.digits");
    let by_length = o
        .length
        .is_some_and(|n| n > 0 && digits.chars().count() as u64 >= n);
    let by_key = o.key.as_deref().is_some_and(|k| {
        let k = text(&mut scratch.right, k, vars, substitute);
        !k.is_empty() && digits.contains(k)
    });
    by_length || by_key
}

/// `condition_call_status` (deprecated): true when variable `call.status` equals `status`.
pub(crate) fn call_status(
    o: &ConditionCallStatusOption,
    vars: &Variables,
    substitute: bool,
    scratch: &mut Scratch,
) -> bool {
    let want = text(&mut scratch.right, &o.status, vars, substitute);
    vars.value("call.status").cmp(want) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Operator;

    fn cond(op: Operator, variable: &str, vt: ValueType) -> ConditionVariableOption {
        ConditionVariableOption {
            condition: op,
            variable: variable.into(),
            value_type: vt,
            value_string: Some("b".into()),
            value_number: Some(10.0),
            value_length: Some(3),
            false_target_id: "f".into(),
        }
    }

    fn eval(op: Operator, vt: ValueType, value: &str) -> bool {
        let vars: Variables = [("x", value)].into_iter().collect();
        variable(&cond(op, "x", vt), &vars, false, &mut Scratch::default()).unwrap_or(false)
    }

    #[test]
    fn condition_variable_all_operators_for_each_value_type() {
        use Operator::*;
        use ValueType::*;
        let table: &[(Operator, ValueType, &str, bool)] = &[
            (Eq, String, "b", true),
            (Ne, String, "b", false),
            (Gt, String, "c", true),
            (Ge, String, "b", true),
            (Lt, String, "a", true),
            (Le, String, "c", false),
            (Eq, Number, "10", true),
            (Eq, Number, "10.0", true),
            (Ne, Number, "9", true),
            (Gt, Number, "11", true),
            (Ge, Number, "9.5", false),
            (Lt, Number, "-1", true),
            (Le, Number, " 10 ", true),
            (Gt, Number, "9", false),
            (Eq, Length, "abc", true),
            (Ne, Length, "ab", true),
            (Gt, Length, "abcd", true),
            (Ge, Length, "ééé", true),
            (Lt, Length, "", true),
            (Le, Length, "abcd", false),
        ];
        for (op, vt, value, want) in table {
            assert_eq!(eval(*op, *vt, value), *want, "{value:?} {op:?} ({vt:?})");
        }
    }

    #[test]
    fn unparsable_number_makes_every_operator_false() {
        for op in [Operator::Eq, Operator::Ne, Operator::Gt, Operator::Lt] {
            assert!(!eval(op, ValueType::Number, "abc"), "{op:?}");
            assert!(!eval(op, ValueType::Number, "NaN"), "{op:?}");
        }
    }

    #[test]
    fn templated_variable_compares_its_expansion() {
        let vars: Variables = [("a", "1"), ("b", "2")].into_iter().collect();
        let mut o = cond(Operator::Eq, "${a}-${b}", ValueType::String);
        o.value_string = Some("1-2".into());
        assert_eq!(
            variable(&o, &vars, false, &mut Scratch::default()),
            Ok(true)
        );
    }

    #[test]
    fn call_digits_by_length_or_key() {
        let vars: Variables = [("call.digits", "12#")].into_iter().collect();
        let mk = |length, key: Option<&str>| ConditionCallDigitsOption {
            length,
            key: key.map(str::to_owned),
            false_target_id: "f".into(),
        };
        let s = &mut Scratch::default();
        assert!(call_digits(&mk(Some(3), None), &vars, false, s));
        assert!(!call_digits(&mk(Some(4), None), &vars, false, s));
        assert!(call_digits(&mk(Some(9), Some("#")), &vars, false, s));
        assert!(!call_digits(&mk(None, None), &vars, false, s));
    }
}
