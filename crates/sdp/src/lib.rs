//! SDP for switchyard: the session description model, its parser and printer, and RFC 3264
//! offer/answer for one audio stream.
//!
//! # Role
//!
//! `sip` hands this crate the SDP body of an INVITE, re-INVITE or answer as text;
//! [`SessionDescription::parse`] turns it into a [`SessionDescription`]. [`answer`] and
//! [`process_answer`] decide the call's audio: codec, payload types, telephone-event, remote
//! RTP address and direction, returned as a [`Negotiated`] for `media` and `runtime`.
//! [`offer`] builds switchyard's own offer. Printing ([`std::fmt::Display`]) gives the body
//! to send back.
//!
//! # Invariants
//!
//! - Pure: no I/O, no clock, no randomness. Session id and version are arguments
//!   ([`LocalMedia`]).
//! - No input panics, and parsing is linear in the input. Malformed SDP is a [`ParseError`]
//!   with a line number; an offer switchyard cannot take is a [`NegotiationError`] (answer
//!   488).
//! - `SessionDescription::parse(&sdp.to_string()) == Ok(sdp)` for every parsed `sdp`;
//!   printed SDP ends lines with `\r\n`.
//! - An answer has exactly one `m=` line per offered one, in the same order.
//!
//! # RFCs
//!
//! - RFC 8866 (obsoletes RFC 4566): SDP syntax, line order, `rtpmap`, `fmtp`, `ptime`,
//!   direction attributes. Unknown lines and attributes are kept.
//! - RFC 3264: offer/answer (§6 answer generation and stream rejection, §8.4 hold, including
//!   the old-style `c=0.0.0.0`).
//! - RFC 3551: static payload types 0 (PCMU), 8 (PCMA), 9 (G722), all with RTP clock 8000.
//! - RFC 4733: `telephone-event/8000`, default events `0-16`.
//! - RFC 3108 (ATM bearer SDP): not applicable.
//!
//! # Example
//!
//! ```
//! use sdp::{answer, Codec, Direction, LocalMedia, SessionDescription};
//!
//! let offer = SessionDescription::parse(
//!     "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
//!      m=audio 49170 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
//!      a=fmtp:101 0-15\r\n",
//! )?;
//! let local = LocalMedia {
//!     address: "203.0.113.1".parse()?,
//!     port: 20000,
//!     codecs: vec![Codec::Pcmu, Codec::Pcma],
//!     telephone_event: true,
//!     session_id: 42,
//!     session_version: 1,
//!     username: "switchyard".into(),
//! };
//! let (reply, negotiated) = answer(&offer, &local)?;
//! assert_eq!(negotiated.codec, Codec::Pcma); // the offer's order decides
//! assert_eq!(negotiated.telephone_event, Some(101));
//! assert_eq!(negotiated.direction, Direction::SendRecv);
//! assert_eq!(negotiated.remote_rtp, Some("192.0.2.10:49170".parse()?));
//! assert!(reply.to_string().contains("m=audio 20000 RTP/AVP 8 101\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attribute;
mod codec;
mod direction;
mod model;
mod negotiate;
mod parse;
mod print;

pub use attribute::{parse_payload_type, Attribute, Rtpmap, MAX_PAYLOAD_TYPE};
pub use codec::{
    Codec, CLOCK_RATE, TELEPHONE_EVENT, TELEPHONE_EVENTS, TELEPHONE_EVENT_PAYLOAD_TYPE,
};
pub use direction::Direction;
pub use model::{
    Bandwidth, Connection, Line, MediaDescription, Origin, SessionDescription, Timing,
};
pub use negotiate::{
    answer, offer, process_answer, LocalMedia, Negotiated, NegotiationError, PTIME_MS, RTP_AVP,
};
pub use parse::ParseError;
