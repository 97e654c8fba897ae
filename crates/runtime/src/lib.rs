//! The I/O shell of switchyard: everything that touches sockets, processes and files for calls.
//!
//! One actor task per call ([`call`]) owns the SIP dialog handle, the RTP session
//! ([`media_session`]) and the flow cursor; it executes the commands the cursor emits (speak,
//! play, wait, hang up) and feeds back completions. Prompts are decoded once and shared
//! encoded per codec ([`sounds`]); speech comes from espeak-ng through a disk cache ([`tts`]).
//!
//! Invariants: one call's trouble stays in that call (a failing TTS or URL fails one action);
//! nothing read from the network or a file panics; ports return to the pool when a call ends.

pub mod activeflow;
pub mod api_actions;
pub mod api_request;
pub mod audio;
pub mod call;
pub mod config;
pub mod engine;
pub mod events;
pub mod flows;
pub mod guard;
pub mod http;
pub mod http_actions;
pub mod library;
pub mod live;
pub mod media_session;
pub mod metrics;
pub mod outbox;
pub mod park;
pub mod ports;
pub mod recording;
pub mod records;
pub mod sounds;
pub mod tts;
pub mod variables;

pub use config::Config;
pub use engine::{Runtime, StartError};
