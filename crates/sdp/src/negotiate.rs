//! RFC 3264 offer/answer for switchyard's single audio stream.
//!
//! Switchyard takes part in one audio stream per call. As answerer ([`answer`]) it accepts
//! the first usable audio stream of the offer and rejects every other stream with port 0
//! (RFC 3264 §6); as offerer ([`offer`], [`process_answer`]) it offers one audio stream.
//! Hold is read from the direction attributes (RFC 3264 §8.4) and from the old-style
//! unspecified connection address `0.0.0.0` / `::`.

use std::net::{IpAddr, SocketAddr};

use crate::attribute::{Attribute, FMTP, MAX_PAYLOAD_TYPE, PTIME};
use crate::codec::{
    is_telephone_event, telephone_event_rtpmap, Codec, TELEPHONE_EVENTS,
    TELEPHONE_EVENT_PAYLOAD_TYPE,
};
use crate::direction::Direction;
use crate::model::{addr_type, Connection, MediaDescription, Origin, SessionDescription, Timing};

/// Packetisation time switchyard sends and answers with, in milliseconds.
pub const PTIME_MS: u32 = 20;

/// The only transport switchyard accepts: plain RTP under the audio/video profile.
pub const RTP_AVP: &str = "RTP/AVP";

/// What switchyard offers and answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address for `c=` and `o=`: the address peers send RTP to (the public address).
    pub address: IpAddr,
    /// RTP port.
    pub port: u16,
    /// Codecs switchyard supports. A set, not a preference: when answering, the offer's order
    /// decides; when offering, this order is the offer's order. Must not be empty.
    pub codecs: Vec<Codec>,
    /// Whether RFC 4733 telephone-event/8000 is supported.
    pub telephone_event: bool,
    /// `o=` session id, fixed for the dialog.
    pub session_id: u64,
    /// `o=` session version: the caller increments it for each new SDP in the dialog.
    pub session_version: u64,
    /// `o=` username, e.g. `switchyard`.
    pub username: String,
}

/// The outcome of a negotiation: how to run the call's RTP session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The audio codec.
    pub codec: Codec,
    /// Payload type to send `codec` with: the one the remote side listed (the offer's when
    /// answering, the answer's when offering), static or dynamic.
    pub payload_type: u8,
    /// Payload type of telephone-event/8000, when both sides support it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP; `None` when the remote address is `0.0.0.0` / `::` (old-style hold).
    pub remote_rtp: Option<SocketAddr>,
    /// Switchyard's own direction: whether it sends and whether it receives.
    pub direction: Direction,
    /// Packetisation time switchyard sends with, in milliseconds (always [`PTIME_MS`]).
    pub ptime: u32,
    /// The remote side's `a=ptime`, informational.
    pub remote_ptime: Option<u32>,
}

/// Why no audio stream could be agreed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No audio stream with a port other than 0. Answering: reply 488 Not Acceptable Here.
    /// Processing an answer: the peer rejected our audio; end the call (BYE).
    #[error("no audio stream with a non-zero port")]
    NoAudio,
    /// Audio streams exist but none lists a codec both sides support. Answering: reply 488
    /// (with our codecs in a Warning if useful). Processing an answer: end the call (BYE).
    #[error("no codec in common")]
    NoCommonCodec,
    /// Every audio stream uses a transport other than `RTP/AVP` (SRTP, for instance), which
    /// switchyard does not speak. Reply 488.
    #[error("unsupported transport `{proto}` (only RTP/AVP)")]
    UnsupportedTransport { proto: String },
    /// The chosen audio stream has no `c=` at media or session level. Reply 488, or end the
    /// call when processing an answer.
    #[error("audio stream has no c= line")]
    MissingConnection,
    /// The `c=` address is not an IP literal (a host name); this crate does not resolve names.
    /// Reply 488, or end the call when processing an answer.
    #[error("connection address `{address}` is not an IP address")]
    UnresolvedConnectionAddress { address: String },
    /// The answer does not have exactly one `m=` line per offered one (RFC 3264 §6): the peer
    /// is broken. End the call (BYE).
    #[error("answer has {answered} media lines for {offered} offered")]
    MediaCountMismatch { offered: usize, answered: usize },
}

/// RFC 3264 §6 answer to `offer`. Exactly one `m=` line in the answer per `m=` line in the
/// offer, same order.
///
/// The first audio stream with port != 0, proto `RTP/AVP` and a common codec is accepted;
/// every other stream (video, extra audio, port 0 streams) is rejected with port 0 and the
/// offer's formats copied. The codec is the first format in the offer's order that
/// `local.codecs` supports, matched by static payload type or by `a=rtpmap` encoding name and
/// clock. telephone-event is included with the offer's payload type and `a=fmtp` (default
/// `0-16`) when both sides support it; on its own it is not a codec.
///
/// The answer has `c=` of `local.address` at session level, `a=rtpmap` for every answered
/// format, `a=ptime:20` and the answer's direction: the offer's reversed, and never sending
/// when the offer's address is `0.0.0.0` / `::`.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(SessionDescription, Negotiated), NegotiationError> {
    let (index, stream, choice) = choose_offered_stream(offer, local)?;
    let remote_rtp = remote_rtp(offer, stream)?;
    let mut direction = offer.effective_direction(stream).reversed();
    if remote_rtp.is_none() {
        direction = direction.without_sending();
    }

    let mut accepted = MediaDescription::new(&stream.media, local.port, &stream.proto, Vec::new());
    accepted.formats.push(choice.payload_type.to_string());
    accepted
        .attributes
        .push(choice.codec.rtpmap(choice.payload_type).to_attribute());
    if let Some(event_type) = choice.telephone_event {
        let format = event_type.to_string();
        let events = stream
            .fmtp(&format)
            .filter(|events| !events.is_empty())
            .unwrap_or(TELEPHONE_EVENTS);
        accepted
            .attributes
            .push(telephone_event_rtpmap(event_type).to_attribute());
        accepted
            .attributes
            .push(Attribute::with_value(FMTP, format!("{format} {events}")));
        accepted.formats.push(format);
    }
    accepted
        .attributes
        .push(Attribute::with_value(PTIME, PTIME_MS.to_string()));
    accepted.set_direction(direction);

    let mut accepted = Some(accepted);
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(
            |(position, offered)| match accepted.take_if(|_| position == index) {
                Some(accepted) => accepted,
                None => rejected(offered),
            },
        )
        .collect();
    let negotiated = Negotiated {
        codec: choice.codec,
        payload_type: choice.payload_type,
        telephone_event: choice.telephone_event,
        remote_rtp,
        direction,
        ptime: PTIME_MS,
        remote_ptime: stream.ptime(),
    };
    Ok((local_session(local, media), negotiated))
}

/// An offer of switchyard's own, for outbound calls and INVITEs without SDP: one audio
/// stream with every codec of `local.codecs` in that order (duplicates dropped), plus
/// telephone-event as payload type 101 with events `0-16` when `local.telephone_event`,
/// `a=ptime:20` and `a=sendrecv`.
///
/// To offer hold, change the direction of the returned stream with
/// [`MediaDescription::set_direction`].
pub fn offer(local: &LocalMedia) -> SessionDescription {
    let mut stream = MediaDescription::new("audio", local.port, RTP_AVP, Vec::new());
    let mut offered: Vec<Codec> = Vec::with_capacity(local.codecs.len());
    for codec in &local.codecs {
        if offered.contains(codec) {
            continue;
        }
        offered.push(*codec);
        stream.formats.push(codec.payload_type().to_string());
        stream
            .attributes
            .push(codec.rtpmap(codec.payload_type()).to_attribute());
    }
    if local.telephone_event {
        let event_type = TELEPHONE_EVENT_PAYLOAD_TYPE;
        stream.formats.push(event_type.to_string());
        stream
            .attributes
            .push(telephone_event_rtpmap(event_type).to_attribute());
        stream.attributes.push(Attribute::with_value(
            FMTP,
            format!("{event_type} {TELEPHONE_EVENTS}"),
        ));
    }
    stream
        .attributes
        .push(Attribute::with_value(PTIME, PTIME_MS.to_string()));
    stream.set_direction(Direction::SendRecv);
    local_session(local, vec![stream])
}

/// Processes the remote answer to `our_offer` (outbound calls, or a re-INVITE we sent).
///
/// The agreed stream is the first one both sides left at a non-zero port and that is audio
/// in our offer. The codec is the first format in the answer's order that we offered; its
/// payload type is the answer's. Our direction is what our offer allowed and the answer's
/// direction permits; we never send to `0.0.0.0` / `::`.
pub fn process_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    if our_offer.media.len() != answer.media.len() {
        return Err(NegotiationError::MediaCountMismatch {
            offered: our_offer.media.len(),
            answered: answer.media.len(),
        });
    }
    let mut saw_audio = false;
    for (ours, theirs) in our_offer.media.iter().zip(&answer.media) {
        if !is_audio(ours) || ours.is_rejected() || theirs.is_rejected() {
            continue;
        }
        saw_audio = true;
        let ours_formats = Payloads::of(ours);
        let offered_codecs: Vec<Codec> = ours
            .payload_types()
            .filter_map(|payload_type| match ours_formats.kind(payload_type) {
                Payload::Codec(codec) => Some(codec),
                _ => None,
            })
            .collect();
        let offered_events = ours
            .payload_types()
            .any(|payload_type| ours_formats.kind(payload_type) == Payload::TelephoneEvent);
        let Some(choice) = choose(theirs, &offered_codecs, offered_events) else {
            continue;
        };
        let remote_rtp = remote_rtp(answer, theirs)?;
        let offered_direction = our_offer.effective_direction(ours);
        let answered_direction = answer.effective_direction(theirs);
        let sends = offered_direction.sends() && answered_direction.receives();
        let receives = offered_direction.receives() && answered_direction.sends();
        let sends = sends && remote_rtp.is_some();
        return Ok(Negotiated {
            codec: choice.codec,
            payload_type: choice.payload_type,
            telephone_event: choice.telephone_event,
            remote_rtp,
            direction: Direction::from_flags(sends, receives),
            ptime: PTIME_MS,
            remote_ptime: theirs.ptime(),
        });
    }
    Err(if saw_audio {
        NegotiationError::NoCommonCodec
    } else {
        NegotiationError::NoAudio
    })
}

/// The formats picked from one stream.
struct Choice {
    codec: Codec,
    payload_type: u8,
    telephone_event: Option<u8>,
}

/// What a payload type of one stream stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Payload {
    Codec(Codec),
    TelephoneEvent,
    Other,
}

/// The `a=rtpmap` meanings of one stream's payload types, indexed by payload type, so that
/// classifying every format is linear in the stream's size. The first rtpmap for a payload
/// type wins.
struct Payloads {
    mapped: [Option<Payload>; MAX_PAYLOAD_TYPE as usize + 1],
}

impl Payloads {
    fn of(media: &MediaDescription) -> Payloads {
        let mut mapped = [None; MAX_PAYLOAD_TYPE as usize + 1];
        for rtpmap in media.rtpmaps() {
            let Some(slot) = mapped.get_mut(usize::from(rtpmap.payload_type)) else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(if let Some(codec) = Codec::from_rtpmap(&rtpmap) {
                    Payload::Codec(codec)
                } else if is_telephone_event(&rtpmap) {
                    Payload::TelephoneEvent
                } else {
                    Payload::Other
                });
            }
        }
        Payloads { mapped }
    }

    /// The rtpmap's meaning, else the static assignment of RFC 3551, else `Other`.
    fn kind(&self, payload_type: u8) -> Payload {
        self.mapped
            .get(usize::from(payload_type))
            .copied()
            .flatten()
            .or_else(|| Codec::from_payload_type(payload_type).map(Payload::Codec))
            .unwrap_or(Payload::Other)
    }
}

/// The first codec of `media`, in its order, that is in `codecs`, and its telephone-event
/// payload type when `telephone_event`.
fn choose(media: &MediaDescription, codecs: &[Codec], telephone_event: bool) -> Option<Choice> {
    let payloads = Payloads::of(media);
    let (payload_type, codec) =
        media
            .payload_types()
            .find_map(|payload_type| match payloads.kind(payload_type) {
                Payload::Codec(codec) if codecs.contains(&codec) => Some((payload_type, codec)),
                _ => None,
            })?;
    let telephone_event = telephone_event
        .then(|| {
            media
                .payload_types()
                .find(|payload_type| payloads.kind(*payload_type) == Payload::TelephoneEvent)
        })
        .flatten();
    Some(Choice {
        codec,
        payload_type,
        telephone_event,
    })
}

/// The offer's first acceptable audio stream, its index and the formats picked from it.
fn choose_offered_stream<'a>(
    offer: &'a SessionDescription,
    local: &LocalMedia,
) -> Result<(usize, &'a MediaDescription, Choice), NegotiationError> {
    let mut saw_audio = false;
    let mut saw_rtp_avp = false;
    let mut other_proto: Option<&str> = None;
    for (index, stream) in offer.media.iter().enumerate() {
        if !is_audio(stream) || stream.is_rejected() {
            continue;
        }
        saw_audio = true;
        if !stream.proto.eq_ignore_ascii_case(RTP_AVP) {
            other_proto.get_or_insert(&stream.proto);
            continue;
        }
        saw_rtp_avp = true;
        if let Some(choice) = choose(stream, &local.codecs, local.telephone_event) {
            return Ok((index, stream, choice));
        }
    }
    Err(match other_proto {
        _ if !saw_audio => NegotiationError::NoAudio,
        Some(proto) if !saw_rtp_avp => NegotiationError::UnsupportedTransport {
            proto: proto.to_owned(),
        },
        _ => NegotiationError::NoCommonCodec,
    })
}

/// Where the remote side of `stream` receives RTP; `None` for the unspecified address.
fn remote_rtp(
    sdp: &SessionDescription,
    stream: &MediaDescription,
) -> Result<Option<SocketAddr>, NegotiationError> {
    let connection = sdp
        .effective_connection(stream)
        .ok_or(NegotiationError::MissingConnection)?;
    let ip = connection
        .ip()
        .ok_or_else(|| NegotiationError::UnresolvedConnectionAddress {
            address: connection.address.clone(),
        })?;
    Ok((!ip.is_unspecified()).then(|| SocketAddr::new(ip, stream.port)))
}

/// The RFC 3264 §6 rejection of an offered stream: same media, proto and formats, port 0.
fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription::new(&offered.media, 0, &offered.proto, offered.formats.clone())
}

fn is_audio(media: &MediaDescription) -> bool {
    media.media.eq_ignore_ascii_case("audio")
}

/// `username` as one `o=` field: whitespace becomes `_`, and an empty name `-`.
fn origin_username(username: &str) -> String {
    let fields: Vec<&str> = username.split_ascii_whitespace().collect();
    if fields.is_empty() {
        "-".to_owned()
    } else {
        fields.join("_")
    }
}

/// A session description from switchyard carrying `media`.
fn local_session(local: &LocalMedia, media: Vec<MediaDescription>) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: origin_username(&local.username),
            session_id: local.session_id.to_string(),
            session_version: local.session_version.to_string(),
            net_type: "IN".to_owned(),
            addr_type: addr_type(local.address).to_owned(),
            address: local.address.to_string(),
        },
        session_name: "-".to_owned(),
        information: None,
        uri: None,
        emails: Vec::new(),
        phones: Vec::new(),
        connection: Some(Connection::for_ip(local.address)),
        bandwidths: Vec::new(),
        timings: vec![Timing::default()],
        time_zones: None,
        encryption_key: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
        media,
    }
}
