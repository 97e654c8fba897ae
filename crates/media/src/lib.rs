//! Pure media DSP and packet logic for switchyard.
//!
//! The media engine's arithmetic, with no I/O: G.711 companding, RTP packets
//! and outgoing stream state, deadline pacing of 20 ms frames, tone
//! generation, resampling to 8 kHz, prompts encoded once and shared, level
//! measurement, and the receive-path detectors: DTMF as RTP events
//! ([`rfc4733`]) and as in-band tones ([`dtmf`]), voice activity and silence
//! timing ([`vad`]), and answering machine detection ([`amd`]). The runtime
//! (the I/O shell) owns sockets, clocks and randomness and feeds them in.
//!
//! # Invariants
//!
//! - **Pure.** No tokio, sockets, files, threads or sleeping; the clock is never
//!   read. Time is an argument (`Instant`/`Duration` values the caller passes),
//!   and so is randomness (initial RTP sequence number, timestamp, SSRC).
//! - **No panics on any input.** RTP bytes from the network, sample rates from
//!   file headers and every other argument yield a value or an error enum.
//!   The crate denies `unwrap`, `expect`, `panic!` and slice indexing outside tests.
//!
//! # Standards
//!
//! - ITU-T G.711: µ-law and A-law ([`g711`], [`AudioCodec`]).
//! - RFC 3550 §5.1, §5.3.1: RTP fixed header, CSRCs, header extension,
//!   padding ([`rtp`]); sequence/timestamp/marker rules of a sender.
//! - RFC 3551 §4.1, §4.5.14, §6: marker bit on talkspurts, PCMU/PCMA at 8 kHz,
//!   static payload types 0 and 8.
//! - RFC 4733 §2.3, §2.5: telephone-event payloads, sender and receiver
//!   rules for DTMF events ([`rfc4733`]).
//! - ITU-T Q.23, Q.24: DTMF frequencies and reception limits ([`dtmf`]).
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media::pacing::{phase_for, Pacer};
//! use media::{prompt::EncodedPrompt, rtp, tone, AudioCodec};
//!
//! // Once per prompt: 8 kHz PCM → 20 ms µ-law frames, shared by all calls.
//! let prompt = EncodedPrompt::encode(&tone::beep(), AudioCodec::Pcmu);
//! assert_eq!(prompt.len_frames(), 13);
//!
//! // Per call: the caller supplies SSRC, initial sequence and timestamp.
//! let mut sender = rtp::RtpSender::new(rtp::Ssrc(0x5EED), 1234, 99_000, 0);
//! let ptime = Duration::from_millis(20);
//! let epoch = Instant::now(); // the shell reads the clock, never media
//! let mut pacer = Pacer::new(epoch, phase_for(7, ptime), ptime);
//!
//! let mut datagram = Vec::new();
//! let due = pacer.poll(pacer.next_deadline());
//! sender.skip(due.skipped * 160);
//! for i in 0..due.send as usize {
//!     if let Some(frame) = prompt.frame(i) {
//!         sender.write_frame(frame, 160, &mut datagram);
//!     }
//! }
//! let packet = rtp::parse(&datagram).expect("we just wrote it");
//! assert!(packet.header.marker);
//! assert_eq!(packet.payload.len(), 160);
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]

pub mod amd;
pub mod codec;
pub mod dedup;
pub mod dtmf;
pub mod g711;
pub mod goertzel;
pub mod level;
pub mod pacing;
pub mod prompt;
pub mod resample;
pub mod rfc4733;
pub mod rtp;
pub mod session;
pub mod tone;
pub mod vad;

#[cfg(test)]
mod test_signal;

pub use codec::AudioCodec;
