//! `flow`: the pure flow engine of switchyard.
//!
//! A *flow* is a JSON array of actions (`/work/shared/spec/flows.md`); each answered call runs
//! one as an *activeflow*. This crate owns the flow language end to end, without I/O:
//!
//! - **Schema** ([`Action`], [`ActionType`], [`options`]): every action type of the seed action
//!   reference plus `custom`, `custom_action`, `output`, `api_request`, `api_action`; typed
//!   options with `deny_unknown_fields`; [`schema()`] is the JSON Schema for editors.
//! - **Validation** ([`validate`], [`load`], [`parse_actions`]): every problem, each with an
//!   RFC 6901 pointer and one sentence ([`Problem`]); [`Capabilities`] says which types this
//!   build executes.
//! - **Variables** ([`Variables`], [`substitute`]): `${name}` templating, the `voipbin.` alias,
//!   external injection limits (flows.md §3). `${secret.NAME}` is never substituted: it stays
//!   in the text verbatim for the runtime to resolve at request time (and redact).
//! - **Cursor** ([`Cursor`]): the execution model of flows.md §2 and the control actions of §4,
//!   as a state machine. It returns [`Command`]s for the shell (the `runtime` crate) to
//!   perform and is told how they ended ([`Completion`]).
//! - **Custom actions** (custom-actions.md §1–2): `custom` parks ([`Status::Waiting`]) and
//!   resumes through [`Completion::CustomEvent`] / [`Completion::CustomDefault`]
//!   ([`custom_outcome`] tells the API what runs next); library custom actions run in their
//!   own variable scope ([`Completion::EnterCustomAction`]) and leave through `output`.
//!
//! # Invariants
//!
//! - Pure: no clock reads, no sleeps, no sockets, files or threads. Wall time and monotonic
//!   time are arguments ([`Clock`]). The only randomness is UUID v4 assignment to actions
//!   without an id in [`load`] / [`parse_actions`] ([`load_with_ids`] takes a generator).
//! - Never panics on any input: documents, variables, completions in any order.
//! - A [`Flow`] always passed validation; a flow that validates never fails at run time
//!   because of its own shape. Run-time failures (a templated number that does not parse)
//!   are the action's outcome `failed: ...`, and the flow moves on.
//! - Every action made current is in [`Cursor::executed`]; every activeflow ends (budget and
//!   control-step limits bound even `goto` loops without `loop_count`).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use flow::{load, Capabilities, Clock, Command, Completion, Cursor, CursorOptions, EndReason, Step, Variables};
//!
//! let doc = serde_json::json!({"actions": [
//!     {"type": "variable_set", "option": {"key": "greeting", "value": "hello ${call.source.target}"}},
//!     {"type": "talk", "option": {"text": "${greeting}", "language": "en-US"}}
//! ]});
//! let (flow, _warnings) = load(&doc, &Capabilities::all()).expect("valid flow");
//! let vars: Variables = [("call.source.target", "+15551234567")].into_iter().collect();
//! let mut cursor = Cursor::new(Arc::new(flow), vars, CursorOptions::default());
//! let now = Clock { wall: chrono::DateTime::UNIX_EPOCH, mono_ms: 0 };
//!
//! let Step::Execute(Command::Talk(talk)) = cursor.next(now) else { panic!("a talk") };
//! assert_eq!(talk.text, "hello +15551234567");
//! cursor.complete(now, Completion::Done);
//! assert_eq!(cursor.next(now), Step::Ended(EndReason::Finished));
//! assert_eq!(cursor.executed().len(), 2);
//! ```

#![warn(missing_docs)]

mod action;
mod capabilities;
mod command;
mod condition;
mod cursor;
mod custom;
mod datetime;
mod log;
pub mod options;
mod problem;
mod resolve;
mod schema;
mod spec;
mod template;
mod validate;

pub use action::{Action, ActionId, ActionType, Flow, NIL_UUID};
pub use capabilities::Capabilities;
pub use command::{Command, Completion};
pub use cursor::{Clock, Cursor, CursorOptions, EndReason, Status, Step, MAX_STACK_DEPTH};
pub use custom::{
    custom_outcome, CustomOutcome, CUSTOM_ACTION_VISIBLE_PREFIXES, INPUT_PREFIX,
    MAX_CUSTOM_ACTION_DEPTH,
};
pub use log::{ExecutedAction, Outcome};
pub use options::{ActionOption, HangupReason, HttpMethod};
pub use problem::{Problem, Report, Severity};
pub use schema::schema;
pub use template::{
    canonical_name, flatten_json, substitute, Variables, ALIAS_PREFIX, MAX_EXTERNAL_BYTES,
    MAX_EXTERNAL_KEYS, RESERVED_PREFIXES, SECRET_PREFIX,
};
pub use validate::{load, load_with_ids, parse_actions, validate};
