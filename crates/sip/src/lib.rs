//! SIP signalling for switchyard, behind a small API of our own.
//!
//! This is the only crate that names the SIP library: `rsipstack` supplies the message model
//! and parser (it handles compact headers and is about twice as fast as `rsip`); the UAS
//! transaction and dialog logic is our own pure state machine ([`dialog::UasDialog`]), driven
//! with fake time in tests. We do not use rsipstack's transport and transaction layers: its
//! transport drops unparsable datagrams silently, where switchyard must answer 400/501/513 and
//! count them, and one parse per message is all the hot path can afford.
//!
//! Contract: nothing read from the network panics. Malformed requests are answered
//! (400/501/513) when they carry a Via, else dropped; both are counted in [`SipStats`].
//!
//! RFC 3261 (UAS core, INVITE/non-INVITE server transactions, CANCEL, BYE), RFC 3311 (UPDATE),
//! RFC 3326 (Reason), RFC 3581 (rport), RFC 5626 §3.5.1 (CRLF keep-alive).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sip::SipError> {
//! let config = sip::SipConfig {
//!     listen: vec!["udp:127.0.0.1:5060".parse().unwrap()],
//!     public_address: None,
//!     user_agent: "switchyard".into(),
//!     timers: sip::Timers::default(),
//!     max_calls: 1000,
//! };
//! let (_stack, mut calls) = sip::SipStack::bind(config).await?;
//! while let Some(call) = calls.recv().await {
//!     call.handle.reject(486, None);
//! }
//! # Ok(()) }
//! ```

pub mod dialog;
pub mod digest;
mod in_dialog;
pub mod message;
pub mod register;
pub mod stack;
pub mod timer;
pub mod transport;
pub mod uac;
pub mod uri;

pub use dialog::{DialogEvent, ReOfferMethod, Q850};
pub use register::RegistrationState;
pub use stack::{
    CallHandle, DialError, DialSpec, Dialer, IncomingCall, IncomingRegister, OutgoingCall,
    RegisterReply, RegisterSpec, RegistrationHandle, SipConfig, SipError, SipStack, SipStats,
};
pub use timer::Timers;
pub use transport::{ListenAddr, Transport};
