//! The call core of switchyard, sans-IO: one state machine per call.
//!
//! [`CallCore`] owns a call's legs (each a SIP dialog with its negotiated media), its
//! activeflow (the flow [`flow::Cursor`] and the command in flight), digit collection
//! (type-ahead, `length`, `key`, `duration`, `inter_digit_timeout`), barge-in, park and
//! resume tokens, the API-action keys, and the hangup cause. It is the one executor of flow
//! commands: calls, activeflows without a call and `switchyard flow simulate` all run it.
//!
//! The shape is str0m's and quinn-proto's: inputs through `handle_*(…, now)` (dialog events,
//! media events, I/O completions tagged with the [`IoId`] the core gave them, control
//! requests), outputs through [`CallCore::poll_output`] ([`Output`]: SIP commands, media
//! commands, I/O requests, events, records), the next deadline through
//! [`CallCore::poll_timeout`]. The shell waits for one thing, feeds it in, drains the outputs.
//!
//! # Invariants
//!
//! - **Pure.** No tokio, sockets, files or clocks: time ([`flow::Clock`]) and randomness (a
//!   seed) are arguments, so tests drive a call through minutes in microseconds.
//! - **No panics** on anything a peer, a flow, a webhook or the API sends.
//! - **Exhaustive.** Every command is executed or refused by name ([`executes`]); a new action
//!   type does not compile until it is handled here.
//!
//! RFC 3261 §13 (the answer), RFC 3264 §8 (re-offers: hold, resume, `o=` versions), RFC 3326
//! (Reason), RFC 4733 (DTMF).
//!
//! ```
//! use std::sync::Arc;
//! use call::{Admission, CallCore, CoreConfig, Incoming, LegId, Output, SipCommand};
//! use flow::Clock;
//!
//! let (flow, _) = flow::load(&serde_json::json!([{"type": "answer"}]), &flow::Capabilities::all())
//!     .expect("a valid flow");
//! let now = Clock { wall: chrono::Utc::now(), mono_ms: 0 };
//! let local = sdp::LocalMedia {
//!     address: "127.0.0.1".parse().unwrap(), port: 20000,
//!     codecs: vec![sdp::Codec::Pcmu], telephone_event: true,
//!     session_id: 1, session_version: 1, username: "switchyard".into(),
//! };
//! let call = Incoming {
//!     call_id: "c1".into(), activeflow_id: "a1".into(), sip_call_id: "x@y".into(),
//!     from: "<sip:alice@example.com>".into(), to: "<sip:1000@example.com>".into(),
//!     headers: vec![], trusted: false, variables: vec![], offer: None,
//!     admission: Ok(Admission { flow_id: "f".into(), flow: Arc::new(flow), stop_types: vec![], local }),
//! };
//! let mut core = CallCore::incoming(call, CoreConfig::default(), 7, now);
//! core.start(now);
//! let answered = std::iter::from_fn(|| core.poll_output()).any(|o| matches!(
//!     o, Output::Sip { leg: LegId::FIRST, command: SipCommand::Answer { .. } }));
//! assert!(answered);
//! ```

mod address;
mod cause;
mod connect;
mod digits;
mod event;
mod exec;
mod ids;
mod info;
mod io;
mod job;
mod leg;
mod machine;
mod output;
mod park;
mod record;

pub use address::{call_variables, parse_address, Address, IncomingParty};
pub use cause::{q850_text, CallOutcome, HangupCause};
pub use digits::{Collected, Collection, TypeAhead, DEFAULT_FIRST_DIGIT_MS};
pub use event::{rfc3339, Event, ParkTrace, PathEvent, Published, RecordingFormat, RecordingInfo};
pub use exec::{capabilities, executes, ShellFeatures};
pub use ids::IdSource;
pub use info::info_digit;
pub use io::{ApiAnswer, IoId, IoRequest, IoResult, PromptSource, Trigger};
pub use leg::{Direction, Leg, LegId, LegState, MediaError, MediaState};
pub use machine::{
    Admission, CallCore, CoreConfig, Headless, Identity, Incoming, Outgoing, ORIGINATE_RING_MS,
};
pub use output::{DialRequest, LegEvent, Output, SipCommand};
pub use park::{parks, ResumeError, ResumeEvent, ResumeOutcome, DEFAULT_TIMEOUT_MS};
pub use record::{CallRecord, CurrentAction, Executed, Snapshot};
