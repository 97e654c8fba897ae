//! Helpers shared by the negotiation tests.

#![allow(dead_code)] // each test binary uses its own subset

use std::net::SocketAddr;

use sdp::{Codec, Direction, LocalMedia, Negotiated, SessionDescription};

pub fn local(codecs: &[Codec], telephone_event: bool) -> LocalMedia {
    LocalMedia {
        address: "203.0.113.1".parse().expect("test address"),
        port: 30000,
        codecs: codecs.to_vec(),
        telephone_event,
        session_id: 7,
        session_version: 1,
        username: "switchyard".into(),
    }
}

pub fn all_codecs() -> LocalMedia {
    local(&Codec::ALL, true)
}

pub fn parse(text: &str) -> SessionDescription {
    SessionDescription::parse(text).unwrap_or_else(|error| panic!("test SDP: {error}\n{text}"))
}

/// An offer from 192.0.2.10 with the given session-level and media sections.
pub fn offer_text(session_extra: &str, media: &str) -> String {
    format!("v=0\r\no=peer 1 1 IN IP4 192.0.2.10\r\ns=-\r\n{session_extra}t=0 0\r\n{media}")
}

pub fn remote(text: &str) -> Option<SocketAddr> {
    Some(text.parse().expect("test socket address"))
}

/// Expected negotiation outcome: codec, payload type, telephone-event, remote, direction.
pub type Expected = (Codec, u8, Option<u8>, Option<SocketAddr>, Direction);

pub fn outcome(negotiated: &Negotiated) -> Expected {
    (
        negotiated.codec,
        negotiated.payload_type,
        negotiated.telephone_event,
        negotiated.remote_rtp,
        negotiated.direction,
    )
}
