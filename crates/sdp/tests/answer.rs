//! RFC 3264 §6: switchyard answering offers.

mod common;

use common::{all_codecs, local, offer_text, outcome, parse, remote, Expected};
use sdp::{answer, Codec, Direction, LocalMedia, NegotiationError};

const BARESIP: &str = include_str!("fixtures/baresip.sdp");
const LINPHONE_IPV6: &str = include_str!("fixtures/linphone_ipv6.sdp");
const AUDIO_VIDEO_OFFER: &str = include_str!("fixtures/audio_video_offer.sdp");
const TWO_AUDIO_OFFER: &str = include_str!("fixtures/two_audio_offer.sdp");

#[test]
fn answer_table_picks_codec_events_address_and_direction() {
    const C: &str = "c=IN IP4 192.0.2.10\r\n";
    let pcmu_pcma = [Codec::Pcmu, Codec::Pcma];
    let cases: Vec<(&str, String, LocalMedia, Expected)> = vec![
        (
            "offer order decides: 8 before 0 gives PCMA",
            offer_text(C, "m=audio 4000 RTP/AVP 8 0\r\n"),
            local(&pcmu_pcma, true),
            (
                Codec::Pcma,
                8,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "our list order does not matter",
            offer_text(C, "m=audio 4000 RTP/AVP 0 8\r\n"),
            local(&[Codec::Pcma, Codec::Pcmu], false),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "unsupported codecs first are skipped",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 96 3 8\r\na=rtpmap:96 opus/48000/2\r\n",
            ),
            local(&pcmu_pcma, false),
            (
                Codec::Pcma,
                8,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "G722 chosen when first and supported",
            offer_text(C, "m=audio 4000 RTP/AVP 9 0 8\r\n"),
            all_codecs(),
            (
                Codec::G722,
                9,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "G722 skipped when not supported",
            offer_text(C, "m=audio 4000 RTP/AVP 9 0 8\r\n"),
            local(&pcmu_pcma, false),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "dynamic payload type for PCMU honoured",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 112 8\r\na=rtpmap:112 pcmu/8000\r\n",
            ),
            all_codecs(),
            (
                Codec::Pcmu,
                112,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "telephone-event PT 101 carried from the offer",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
            ),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                Some(101),
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "telephone-event PT 96 carried from the offer",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 96 8\r\na=rtpmap:96 telephone-event/8000\r\n",
            ),
            all_codecs(),
            (
                Codec::Pcma,
                8,
                Some(96),
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "telephone-event absent when not offered",
            offer_text(C, "m=audio 4000 RTP/AVP 0\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "telephone-event absent when we do not support it",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
            ),
            local(&pcmu_pcma, false),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "hold via sendonly: we only receive",
            offer_text(C, "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::RecvOnly,
            ),
        ),
        (
            "session-level sendonly applies to the stream",
            offer_text(&format!("{C}a=sendonly\r\n"), "m=audio 4000 RTP/AVP 0\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::RecvOnly,
            ),
        ),
        (
            "media-level direction wins over session level",
            offer_text(
                &format!("{C}a=inactive\r\n"),
                "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n",
            ),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "recvonly offer: we only send",
            offer_text(C, "m=audio 4000 RTP/AVP 0\r\na=recvonly\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::SendOnly,
            ),
        ),
        (
            "hold via inactive",
            offer_text(C, "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:4000"),
                Direction::Inactive,
            ),
        ),
        (
            "old-style hold c=0.0.0.0: no remote, we do not send",
            offer_text("c=IN IP4 0.0.0.0\r\n", "m=audio 4000 RTP/AVP 0\r\n"),
            all_codecs(),
            (Codec::Pcmu, 0, None, None, Direction::RecvOnly),
        ),
        (
            "old-style hold with inactive stays inactive",
            offer_text(
                "c=IN IP4 0.0.0.0\r\n",
                "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n",
            ),
            all_codecs(),
            (Codec::Pcmu, 0, None, None, Direction::Inactive),
        ),
        (
            "IPv6 hold address ::",
            offer_text("c=IN IP6 ::\r\n", "m=audio 4000 RTP/AVP 0\r\n"),
            all_codecs(),
            (Codec::Pcmu, 0, None, None, Direction::RecvOnly),
        ),
        (
            "media-level c= wins over session level",
            offer_text(
                "c=IN IP4 0.0.0.0\r\n",
                "m=audio 4000 RTP/AVP 8\r\nc=IN IP4 192.0.2.77\r\n",
            ),
            all_codecs(),
            (
                Codec::Pcma,
                8,
                None,
                remote("192.0.2.77:4000"),
                Direction::SendRecv,
            ),
        ),
        (
            "port 0 audio stream rejected and the next audio stream accepted",
            offer_text(C, "m=audio 0 RTP/AVP 0\r\nm=audio 5000 RTP/AVP 8\r\n"),
            all_codecs(),
            (
                Codec::Pcma,
                8,
                None,
                remote("192.0.2.10:5000"),
                Direction::SendRecv,
            ),
        ),
        (
            "audio stream without a common codec skipped for the next",
            offer_text(C, "m=audio 4000 RTP/AVP 3\r\nm=audio 5000 RTP/AVP 0\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:5000"),
                Direction::SendRecv,
            ),
        ),
        (
            "SRTP audio skipped for a plain RTP one",
            offer_text(C, "m=audio 4000 RTP/SAVP 0\r\nm=audio 5000 RTP/AVP 0\r\n"),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                None,
                remote("192.0.2.10:5000"),
                Direction::SendRecv,
            ),
        ),
        (
            "baresip: opus first, G722 next",
            BARESIP.to_owned(),
            all_codecs(),
            (
                Codec::G722,
                9,
                Some(101),
                remote("192.168.1.23:10582"),
                Direction::SendRecv,
            ),
        ),
        (
            "linphone IPv6: PCMU, telephone-event/8000 PT 100 (not 48000 or 16000)",
            LINPHONE_IPV6.to_owned(),
            all_codecs(),
            (
                Codec::Pcmu,
                0,
                Some(100),
                remote("[2001:db8:85a3::8a2e:370:7334]:7078"),
                Direction::SendRecv,
            ),
        ),
    ];
    for (name, text, local, expected) in cases {
        let offered = parse(&text);
        let (reply, negotiated) =
            answer(&offered, &local).unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(outcome(&negotiated), expected, "{name}");
        assert_eq!(negotiated.ptime, 20, "{name}");
        assert_eq!(
            reply.media.len(),
            offered.media.len(),
            "{name}: one m= per offered m="
        );
        let accepted: Vec<_> = reply
            .media
            .iter()
            .filter(|media| !media.is_rejected())
            .collect();
        assert_eq!(accepted.len(), 1, "{name}: exactly one accepted stream");
        assert_eq!(
            accepted[0].direction(),
            Some(expected.4),
            "{name}: direction attribute"
        );
        assert_eq!(
            parse(&reply.to_string()),
            reply,
            "{name}: answer prints and parses"
        );
    }
}

#[test]
fn answer_picks_first_common_codec_in_offer_order() {
    let offered = parse(&offer_text(
        "c=IN IP4 192.0.2.10\r\n",
        "m=audio 4000 RTP/AVP 8 0 9\r\n",
    ));
    for local in [
        all_codecs(),
        local(&[Codec::G722, Codec::Pcmu, Codec::Pcma], true),
    ] {
        let (_, negotiated) = answer(&offered, &local).expect("answerable");
        assert_eq!(negotiated.codec, Codec::Pcma);
    }
}

#[test]
fn answer_errors_say_why_no_stream_was_accepted() {
    const C: &str = "c=IN IP4 192.0.2.10\r\n";
    let cases: Vec<(&str, String, NegotiationError)> = vec![
        (
            "only opus and GSM",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 96 3\r\na=rtpmap:96 opus/48000/2\r\n",
            ),
            NegotiationError::NoCommonCodec,
        ),
        (
            "telephone-event alone is not a codec",
            offer_text(
                C,
                "m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n",
            ),
            NegotiationError::NoCommonCodec,
        ),
        (
            "PCMU at a foreign clock",
            offer_text(C, "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/16000\r\n"),
            NegotiationError::NoCommonCodec,
        ),
        (
            "no media at all",
            offer_text(C, ""),
            NegotiationError::NoAudio,
        ),
        (
            "video only",
            offer_text(C, "m=video 4000 RTP/AVP 31\r\n"),
            NegotiationError::NoAudio,
        ),
        (
            "every audio stream at port 0",
            offer_text(C, "m=audio 0 RTP/AVP 0\r\nm=audio 0 RTP/AVP 8\r\n"),
            NegotiationError::NoAudio,
        ),
        (
            "SRTP only",
            offer_text(C, "m=audio 4000 RTP/SAVP 0\r\n"),
            NegotiationError::UnsupportedTransport {
                proto: "RTP/SAVP".into(),
            },
        ),
        (
            "no c= anywhere",
            offer_text("", "m=audio 4000 RTP/AVP 0\r\n"),
            NegotiationError::MissingConnection,
        ),
        (
            "host name in c=",
            offer_text("c=IN IP4 pbx.example.com\r\n", "m=audio 4000 RTP/AVP 0\r\n"),
            NegotiationError::UnresolvedConnectionAddress {
                address: "pbx.example.com".into(),
            },
        ),
    ];
    for (name, text, expected) in cases {
        let result = answer(&parse(&text), &local(&[Codec::Pcmu, Codec::Pcma], true));
        assert_eq!(result.err(), Some(expected), "{name}");
    }
}

#[test]
fn answer_rejects_video_and_extra_audio_with_port_zero_and_offered_formats() {
    let offered = parse(AUDIO_VIDEO_OFFER);
    let (reply, negotiated) = answer(&offered, &all_codecs()).expect("answerable");
    assert_eq!(negotiated.codec, Codec::Pcmu);
    let video = &reply.media[1];
    assert_eq!(
        (video.media.as_str(), video.port, video.proto.as_str()),
        ("video", 0, "RTP/AVP")
    );
    assert_eq!(video.formats, ["31", "32"]);

    let offered = parse(TWO_AUDIO_OFFER);
    let (reply, _) = answer(&offered, &all_codecs()).expect("answerable");
    assert_eq!(reply.media[0].port, 30000);
    assert_eq!(
        (reply.media[1].port, reply.media[1].formats.as_slice()),
        (0, ["97".to_owned(), "98".to_owned()].as_slice())
    );
}

#[test]
fn answer_text_has_local_address_ptime_rtpmaps_and_direction() {
    let offered = parse(BARESIP);
    let mut us = all_codecs();
    us.session_version = 3;
    let (reply, _) = answer(&offered, &us).expect("answerable");
    assert_eq!(
        reply.to_string(),
        "v=0\r\no=switchyard 7 3 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\nt=0 0\r\n\
         m=audio 30000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    );
}

#[test]
fn answer_defaults_telephone_events_to_0_16_without_fmtp() {
    let offered = parse(&offer_text(
        "c=IN IP4 192.0.2.10\r\n",
        "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n",
    ));
    let (reply, negotiated) = answer(&offered, &all_codecs()).expect("answerable");
    assert_eq!(reply.media[0].fmtp("101"), Some("0-16"));
    assert_eq!(reply.media[0].formats, ["0", "101"]);
    assert_eq!((negotiated.ptime, negotiated.remote_ptime), (20, Some(30)));
}

#[test]
fn answer_uses_ip6_for_an_ipv6_local_address() {
    let mut us = all_codecs();
    us.address = "2001:db8::1".parse().expect("test address");
    let (reply, _) = answer(&parse(LINPHONE_IPV6), &us).expect("answerable");
    let text = reply.to_string();
    assert!(
        text.contains("o=switchyard 7 1 IN IP6 2001:db8::1\r\n"),
        "{text}"
    );
    assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
}

#[test]
fn hold_then_resume_by_reinvite_goes_back_to_sendrecv() {
    let steps = [
        ("a=sendrecv\r\n", "192.0.2.10", Direction::SendRecv, true),
        ("a=sendonly\r\n", "192.0.2.10", Direction::RecvOnly, true),
        ("a=inactive\r\n", "192.0.2.10", Direction::Inactive, true),
        ("", "0.0.0.0", Direction::RecvOnly, false),
        ("a=sendrecv\r\n", "192.0.2.10", Direction::SendRecv, true),
    ];
    let mut us = all_codecs();
    for (step, (attribute, address, direction, has_remote)) in steps.into_iter().enumerate() {
        us.session_version += 1;
        let offered = parse(&offer_text(
            &format!("c=IN IP4 {address}\r\n"),
            &format!("m=audio 4000 RTP/AVP 0\r\n{attribute}"),
        ));
        let (reply, negotiated) = answer(&offered, &us).expect("answerable");
        assert_eq!(negotiated.direction, direction, "step {step}");
        assert_eq!(negotiated.remote_rtp.is_some(), has_remote, "step {step}");
        assert_eq!(reply.origin.session_version, us.session_version.to_string());
    }
}
