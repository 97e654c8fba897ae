//! Which action types this build can execute.
//!
//! Validation rejects a flow using a type outside the set with
//! "action type `connect` is not supported by this build yet", at `/actions/N/type`.

use std::collections::BTreeSet;

use crate::action::ActionType;

/// The set of executable action types.
///
/// ```
/// use flow::{ActionType, Capabilities};
/// let caps = Capabilities::control().with([ActionType::Answer, ActionType::Talk]);
/// assert!(caps.supports(ActionType::Goto));
/// assert!(caps.supports(ActionType::Talk));
/// assert!(!caps.supports(ActionType::Connect));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    executable: BTreeSet<ActionType>,
}

impl Capabilities {
    /// Types every runtime executes: the cursor's control actions (including `output`) plus
    /// `stop`, `hangup`, `hangup_relay`, `sleep`, `fetch`, `fetch_flow`, `webhook_send`.
    pub const CONTROL: &'static [ActionType] = &[
        ActionType::Goto,
        ActionType::Branch,
        ActionType::ConditionCallDigits,
        ActionType::ConditionCallStatus,
        ActionType::ConditionDatetime,
        ActionType::ConditionVariable,
        ActionType::VariableSet,
        ActionType::Empty,
        ActionType::Output,
        ActionType::Stop,
        ActionType::Hangup,
        ActionType::HangupRelay,
        ActionType::Sleep,
        ActionType::Fetch,
        ActionType::FetchFlow,
        ActionType::WebhookSend,
    ];

    /// Every type (validation as if the whole language were implemented).
    pub fn all() -> Self {
        Self {
            executable: ActionType::ALL.iter().copied().collect(),
        }
    }

    /// Only [`Capabilities::CONTROL`].
    pub fn control() -> Self {
        Self {
            executable: Self::CONTROL.iter().copied().collect(),
        }
    }

    /// Nothing at all (build up with [`Capabilities::with`]).
    pub fn none() -> Self {
        Self {
            executable: BTreeSet::new(),
        }
    }

    /// Adds `types` to the set.
    pub fn with(mut self, types: impl IntoIterator<Item = ActionType>) -> Self {
        self.executable.extend(types);
        self
    }

    /// True when this build executes `t`.
    pub fn supports(&self, t: ActionType) -> bool {
        self.executable.contains(&t)
    }

    /// The executable types, in name order.
    pub fn iter(&self) -> impl Iterator<Item = ActionType> + '_ {
        self.executable.iter().copied()
    }
}

impl Default for Capabilities {
    /// [`Capabilities::all`].
    fn default() -> Self {
        Self::all()
    }
}
