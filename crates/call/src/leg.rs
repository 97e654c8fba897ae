//! The legs of a call: one SIP dialog each, with its media ([`MediaState`]: what was
//! negotiated and the SDP we last sent).
//!
//! RFC 3264 §8: every new SDP we send in a dialog carries the `o=` version of the previous one
//! plus one; the first carries the version we were built with.

use media::session::StreamParams;
use media::AudioCodec;
use sdp::{LocalMedia, Negotiated, SessionDescription};

use crate::cause::HangupCause;

/// Names a leg of one call. The call's first leg (the incoming call, or the first outbound
/// call of an originated call) is [`LegId::FIRST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u32);

impl LegId {
    /// The leg the call began with.
    pub const FIRST: LegId = LegId(0);
}

/// Which side started the leg's dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The peer called us (we are the UAS).
    Incoming,
    /// We called the peer (we are the UAC).
    Outgoing,
}

/// Where a leg is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    /// Incoming: offered, not answered yet. Outgoing: INVITE sent, nothing heard.
    Setup,
    /// 180 sent (incoming) or received (outgoing).
    Ringing,
    /// Outgoing: 183 with SDP received, early media flowing.
    EarlyMedia,
    /// 2xx sent (incoming) or received (outgoing).
    Answered,
    /// We hung it up (BYE, CANCEL or a final response sent); waiting for the dialog to end.
    HangingUp,
    /// The dialog ended.
    Ended,
}

impl LegState {
    /// Whether media may flow to the peer.
    pub fn answered(self) -> bool {
        self == LegState::Answered
    }

    /// Whether the leg is over or going.
    pub fn ending(self) -> bool {
        matches!(self, LegState::HangingUp | LegState::Ended)
    }
}

/// One leg.
#[derive(Debug, Clone)]
pub struct Leg {
    /// Its name in the call.
    pub id: LegId,
    /// Who called whom.
    pub direction: Direction,
    /// Where it is.
    pub state: LegState,
    /// Its media.
    pub media: MediaState,
    /// Why it ended (or is ending), once known.
    pub cause: Option<HangupCause>,
    /// When an outbound leg was answered (monotonic ms): `[outbound] max_call_duration_s`
    /// counts from here.
    pub answered_ms: Option<u64>,
}

impl Leg {
    /// A leg in [`LegState::Setup`].
    pub fn new(id: LegId, direction: Direction, media: MediaState) -> Leg {
        Leg {
            id,
            direction,
            state: LegState::Setup,
            media,
            cause: None,
            answered_ms: None,
        }
    }

    /// The stream the leg's RTP session runs with now: sending only once answered.
    pub fn stream(&self) -> StreamParams {
        let early = self.state == LegState::EarlyMedia;
        self.media.stream(self.state.answered() || early)
    }
}

/// What a leg's media negotiated, and the SDP we last sent in its dialog.
#[derive(Debug, Clone)]
pub struct MediaState {
    local: LocalMedia,
    /// Our last SDP; its `o=` version is `local.session_version`.
    ours: Option<SessionDescription>,
    /// Our last SDP is an offer still waiting for its answer.
    offer_pending: bool,
    negotiated: Option<Negotiated>,
}

/// Why an offer or an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not SDP we can read: answer 488 (Q.850 88).
    #[error("invalid SDP: {0}")]
    Invalid(String),
    /// No audio stream we can use: answer 488 (Q.850 65).
    #[error("no acceptable media: {0}")]
    Unacceptable(String),
}

impl MediaError {
    /// How a call refused for this error ends.
    pub fn cause(&self) -> HangupCause {
        match self {
            MediaError::Invalid(_) => HangupCause::BadOffer,
            MediaError::Unacceptable(_) => HangupCause::NoCommonMedia,
        }
    }
}

impl MediaState {
    /// Nothing sent or agreed yet; `local` is our side (its `session_version` is the version
    /// of our first SDP).
    pub fn new(local: LocalMedia) -> MediaState {
        MediaState {
            local,
            ours: None,
            offer_pending: false,
            negotiated: None,
        }
    }

    /// A leg whose media is not known yet (an outbound leg before the shell gave it ports, or
    /// a call refused before it had any): nothing to offer or answer with until replaced.
    pub fn unset() -> MediaState {
        MediaState::new(LocalMedia {
            address: std::net::IpAddr::from([0, 0, 0, 0]),
            port: 0,
            codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
            telephone_event: true,
            session_id: 0,
            session_version: 1,
            username: "switchyard".into(),
        })
    }

    /// Our side as it stands (the `o=` version of the last SDP sent).
    pub fn local(&self) -> &LocalMedia {
        &self.local
    }

    /// The `o=` version of the last SDP we sent.
    pub fn sdp_version(&self) -> u64 {
        self.local.session_version
    }

    /// What was agreed, if anything yet.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// Whether our last SDP is an offer waiting for an answer.
    pub fn offer_pending(&self) -> bool {
        self.offer_pending
    }

    /// The version the next SDP we send carries.
    fn next_version(&self) -> u64 {
        match self.ours {
            None => self.local.session_version,
            Some(_) => self.local.session_version.wrapping_add(1),
        }
    }

    /// Answer `offer` (the INVITE's, or a re-offer's): our answer as bytes, with the next
    /// version. On error nothing changes (the offer is refused; no SDP is sent).
    pub fn answer(&mut self, offer: &[u8]) -> Result<Vec<u8>, MediaError> {
        let text = String::from_utf8_lossy(offer);
        let offer =
            SessionDescription::parse(&text).map_err(|e| MediaError::Invalid(e.to_string()))?;
        let previous = self.local.session_version;
        self.local.session_version = self.next_version();
        let refused = |me: &mut MediaState, e: MediaError| {
            me.local.session_version = previous;
            Err(e)
        };
        let (answer, negotiated) = match sdp::answer(&offer, &self.local) {
            Ok(a) => a,
            Err(e) => return refused(self, MediaError::Unacceptable(e.to_string())),
        };
        if audio_codec(negotiated.codec).is_none() {
            let why = format!(
                "codec {:?} is not supported by the media engine",
                negotiated.codec
            );
            return refused(self, MediaError::Unacceptable(why));
        }
        let bytes = answer.to_string().into_bytes();
        self.ours = Some(answer);
        self.offer_pending = false;
        self.negotiated = Some(negotiated);
        Ok(bytes)
    }

    /// Our offer (an INVITE without SDP, a re-INVITE without SDP, an outbound call), with the
    /// next version. The answer comes to [`MediaState::take_answer`].
    pub fn offer(&mut self) -> Vec<u8> {
        self.local.session_version = self.next_version();
        let offer = sdp::offer(&self.local);
        let bytes = offer.to_string().into_bytes();
        self.ours = Some(offer);
        self.offer_pending = true;
        bytes
    }

    /// The answer to our pending offer.
    pub fn take_answer(&mut self, answer: &[u8]) -> Result<(), MediaError> {
        let Some(ours) = self.ours.as_ref().filter(|_| self.offer_pending) else {
            return Err(MediaError::Invalid("no offer of ours is pending".into()));
        };
        let text = String::from_utf8_lossy(answer);
        let answer =
            SessionDescription::parse(&text).map_err(|e| MediaError::Invalid(e.to_string()))?;
        let negotiated = sdp::process_answer(ours, &answer)
            .map_err(|e| MediaError::Unacceptable(e.to_string()))?;
        if audio_codec(negotiated.codec).is_none() {
            return Err(MediaError::Unacceptable("unsupported codec".into()));
        }
        self.offer_pending = false;
        self.negotiated = Some(negotiated);
        Ok(())
    }

    /// The RTP session's parameters: what was agreed (PCMU with telephone-event 101 and no
    /// address while an offer of ours waits), sending only when `answered` and the direction
    /// allows.
    pub fn stream(&self, answered: bool) -> StreamParams {
        match self.negotiated.as_ref() {
            Some(n) => StreamParams {
                remote: n.remote_rtp,
                sending: answered && n.direction.sends(),
                codec: audio_codec(n.codec).unwrap_or(AudioCodec::Pcmu),
                payload_type: n.payload_type,
                telephone_event: n.telephone_event,
            },
            None => StreamParams {
                remote: None,
                sending: answered,
                codec: AudioCodec::Pcmu,
                payload_type: 0,
                telephone_event: self
                    .local
                    .telephone_event
                    .then_some(sdp::TELEPHONE_EVENT_PAYLOAD_TYPE),
            },
        }
    }
}

/// The media engine's codec for an SDP codec (G.722 is negotiable but not encoded yet).
fn audio_codec(c: sdp::Codec) -> Option<AudioCodec> {
    match c {
        sdp::Codec::Pcmu => Some(AudioCodec::Pcmu),
        sdp::Codec::Pcma => Some(AudioCodec::Pcma),
        sdp::Codec::G722 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            address: "127.0.0.1".parse().unwrap(),
            port: 20000,
            codecs: vec![sdp::Codec::Pcmu, sdp::Codec::Pcma],
            telephone_event: true,
            session_id: 42,
            session_version: 1,
            username: "switchyard".into(),
        }
    }

    pub(crate) fn offer(direction: &str) -> Vec<u8> {
        format!(
            "v=0\r\no=peer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na={direction}\r\n"
        )
        .into_bytes()
    }

    fn version(sdp: &[u8]) -> u64 {
        let text = String::from_utf8_lossy(sdp);
        let o = text.lines().find(|l| l.starts_with("o=")).unwrap();
        o.split(' ').nth(2).unwrap().parse().unwrap()
    }

    #[test]
    fn every_new_sdp_increments_the_version_by_one() {
        let mut m = MediaState::new(local());
        let first = m.answer(&offer("sendrecv")).unwrap();
        let hold = m.answer(&offer("sendonly")).unwrap();
        let resume = m.answer(&offer("sendrecv")).unwrap();
        let reoffer = m.offer();
        assert_eq!(
            [&first, &hold, &resume, &reoffer].map(|s| version(s)),
            [1, 2, 3, 4]
        );
        assert!(String::from_utf8_lossy(&hold).contains("a=recvonly"));
    }

    #[test]
    fn a_refused_reoffer_keeps_the_version_and_the_stream() {
        let mut m = MediaState::new(local());
        m.answer(&offer("sendrecv")).unwrap();
        assert!(matches!(m.answer(b"garbage"), Err(MediaError::Invalid(_))));
        let g722 = String::from_utf8(offer("sendrecv"))
            .unwrap()
            .replace("RTP/AVP 8 101", "RTP/AVP 9")
            .replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:9 G722/8000");
        assert!(matches!(
            m.answer(g722.as_bytes()),
            Err(MediaError::Unacceptable(_))
        ));
        assert_eq!(m.sdp_version(), 1);
        let s = m.stream(true);
        assert_eq!((s.codec, s.payload_type), (AudioCodec::Pcma, 8));
        assert_eq!(version(&m.answer(&offer("sendrecv")).unwrap()), 2);
    }

    #[test]
    fn hold_stops_sending_and_the_stream_follows_the_answer() {
        let mut m = MediaState::new(local());
        m.answer(&offer("sendrecv")).unwrap();
        assert!(m.stream(true).sending);
        assert!(!m.stream(false).sending, "not before the answer");
        m.answer(&offer("sendonly")).unwrap();
        assert!(!m.stream(true).sending, "on hold");
    }

    #[test]
    fn our_offer_is_completed_by_the_answer() {
        let mut m = MediaState::new(local());
        let ours = m.offer();
        assert!(m.offer_pending());
        assert!(String::from_utf8_lossy(&ours).contains("m=audio 20000 RTP/AVP 0 8 101"));
        let s = m.stream(true);
        assert_eq!((s.remote, s.telephone_event), (None, Some(101)));
        let answer = offer("sendrecv");
        m.take_answer(&answer).unwrap();
        let s = m.stream(true);
        assert_eq!(s.remote, Some("127.0.0.1:40000".parse().unwrap()));
        assert_eq!(s.codec, AudioCodec::Pcma);
        assert!(m.take_answer(&answer).is_err(), "no offer pending");
    }
}
