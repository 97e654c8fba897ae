//! The I/O shell of switchyard: everything that touches sockets, processes and files for calls.
//!
//! Each call (and each activeflow without a call) is a task around a `call::CallCore`: the
//! task feeds it dialog events, media events, API requests and I/O completions, and performs
//! what it asks ([`call`] module). The services every call shares (the catalog of flows,
//! routes and custom actions; prompts, speech and ports; HTTP; events; the live registry; the
//! store) are in [`services`]. RTP runs in a task per leg around a `media::session::MediaCore`
//! (`media_session`). [`Runtime`] wires it all and is what the server and the API reach.
//!
//! Invariants: one call's trouble stays in that call (a failing TTS or URL fails one action);
//! nothing read from the network or a file panics; ports return to the pool when a call ends.

pub mod api_actions;
pub mod api_request;
pub mod audio;
mod call;
mod config;
mod engine;
mod events;
pub mod flows;
mod guard;
pub mod http;
mod http_actions;
pub mod library;
mod live;
mod media_session;
mod metrics;
mod outbound;
mod outbox;
mod perform;
mod ports;
pub mod recording;
mod records;
mod registrar;
mod services;
mod sounds;
mod trunks;
mod tts;

pub use config::Config;
pub use engine::{
    HeadlessRequest, OriginateError, OriginateRequest, Runtime, StartActiveflowError, StartError,
    TryRequestError,
};
pub use events::LIVE_QUEUE;
pub use perform::Standalone;
