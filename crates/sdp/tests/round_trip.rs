//! Parse/print round trips on realistic session descriptions.

use sdp::{Bandwidth, Connection, Direction, Line, Rtpmap, SessionDescription, Timing};

const SIPP_UAC: &str = include_str!("fixtures/sipp_uac.sdp");
const BARESIP: &str = include_str!("fixtures/baresip.sdp");
const LINPHONE_IPV6: &str = include_str!("fixtures/linphone_ipv6.sdp");
const AUDIO_VIDEO_OFFER: &str = include_str!("fixtures/audio_video_offer.sdp");
const TWO_AUDIO_OFFER: &str = include_str!("fixtures/two_audio_offer.sdp");
const RICH_SESSION: &str = include_str!("fixtures/rich_session.sdp");

const ALL: [(&str, &str); 6] = [
    ("sipp_uac", SIPP_UAC),
    ("baresip", BARESIP),
    ("linphone_ipv6", LINPHONE_IPV6),
    ("audio_video_offer", AUDIO_VIDEO_OFFER),
    ("two_audio_offer", TWO_AUDIO_OFFER),
    ("rich_session", RICH_SESSION),
];

fn parse(text: &str) -> SessionDescription {
    match SessionDescription::parse(text) {
        Ok(sdp) => sdp,
        Err(error) => panic!("fixture does not parse: {error}"),
    }
}

#[test]
fn every_fixture_survives_print_then_parse_unchanged() {
    for (name, text) in ALL {
        let sdp = parse(text);
        let printed = sdp.to_string();
        assert_eq!(parse(&printed), sdp, "{name}");
        assert_eq!(
            parse(&printed).to_string(),
            printed,
            "{name}: printing is stable"
        );
    }
}

#[test]
fn printed_lines_all_end_with_crlf() {
    for (name, text) in ALL {
        let printed = parse(text).to_string();
        assert!(printed.ends_with("\r\n"), "{name}");
        assert_eq!(
            printed.matches('\n').count(),
            printed.matches("\r\n").count(),
            "{name}: bare LF in output"
        );
    }
}

#[test]
fn canonical_input_prints_back_byte_for_byte() {
    // These fixtures are already in RFC 8866 order with CRLF endings.
    for (name, text) in [("sipp_uac", SIPP_UAC), ("baresip", BARESIP)] {
        assert_eq!(parse(text).to_string(), text, "{name}");
    }
}

#[test]
fn lf_and_crlf_line_endings_parse_the_same() {
    for (name, text) in ALL {
        let lf = text.replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(parse(&lf), parse(&crlf), "{name}");
    }
}

#[test]
fn sipp_default_offer_reads_field_by_field() {
    let sdp = parse(SIPP_UAC);
    assert_eq!(sdp.origin.username, "user1");
    assert_eq!(sdp.origin.session_id, "53655765");
    assert_eq!(sdp.origin.session_version, "2353687637");
    assert_eq!(sdp.origin.address, "127.0.0.1");
    assert_eq!(sdp.session_name, "-");
    assert_eq!(
        sdp.connection.as_ref().and_then(Connection::ip),
        Some("127.0.0.1".parse().unwrap())
    );
    assert_eq!(sdp.timings, vec![Timing::default()]);
    assert_eq!(sdp.media.len(), 1);
    let audio = &sdp.media[0];
    assert_eq!(
        (audio.media.as_str(), audio.port, audio.proto.as_str()),
        ("audio", 6000, "RTP/AVP")
    );
    assert_eq!(audio.formats, ["0"]);
    assert_eq!(
        audio.rtpmap(0).map(|rtpmap| rtpmap.encoding_name),
        Some("PCMU".to_owned())
    );
    assert_eq!(sdp.effective_direction(audio), Direction::SendRecv);
}

#[test]
fn baresip_offer_keeps_every_codec_attribute_and_session_tool() {
    let sdp = parse(BARESIP);
    assert_eq!(sdp.attributes[0].name, "tool");
    let audio = &sdp.media[0];
    assert_eq!(audio.formats, ["96", "9", "0", "8", "101"]);
    assert_eq!(
        audio.bandwidths,
        [Bandwidth {
            bwtype: "AS".into(),
            bandwidth: 128
        }]
    );
    assert_eq!(
        audio.rtpmap(96),
        Some(Rtpmap {
            payload_type: 96,
            encoding_name: "opus".into(),
            clock_rate: 48000,
            channels: Some(2)
        })
    );
    assert_eq!(audio.fmtp("101"), Some("0-15"));
    assert_eq!(audio.fmtp("96"), Some("stereo=1;sprop-stereo=1"));
    assert_eq!(audio.ptime(), Some(20));
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert_eq!(audio.attribute("rtcp-rsize"), Some(""));
}

#[test]
fn linphone_ipv6_offer_reads_ip6_addresses_and_both_streams() {
    let sdp = parse(LINPHONE_IPV6);
    assert_eq!(sdp.origin.addr_type, "IP6");
    assert_eq!(sdp.session_name, "Talk");
    let connection = sdp.connection.as_ref().expect("session c=");
    assert_eq!(connection.addr_type, "IP6");
    assert_eq!(
        connection.ip(),
        Some("2001:db8:85a3::8a2e:370:7334".parse().unwrap())
    );
    assert_eq!(sdp.media.len(), 2);
    assert_eq!(
        sdp.media[0].payload_types().collect::<Vec<_>>(),
        [96, 97, 98, 0, 8, 18, 101, 99, 100]
    );
    assert_eq!(sdp.media[1].media, "video");
    assert!(sdp.media[0]
        .attribute("candidate")
        .is_some_and(|candidate| candidate.ends_with("7078 typ host")));
}

#[test]
fn rfc_4317_style_offers_keep_stream_order_and_empty_session_name() {
    let sdp = parse(AUDIO_VIDEO_OFFER);
    assert_eq!(sdp.session_name, "");
    assert_eq!(sdp.origin.address, "host.atlanta.example.com");
    let kinds: Vec<&str> = sdp.media.iter().map(|media| media.media.as_str()).collect();
    assert_eq!(kinds, ["audio", "video"]);
    assert!(sdp.to_string().contains("\r\ns= \r\n"));

    let sdp = parse(TWO_AUDIO_OFFER);
    assert_eq!(sdp.media.len(), 2);
    assert_eq!(sdp.effective_direction(&sdp.media[0]), Direction::SendRecv);
    assert_eq!(sdp.effective_direction(&sdp.media[1]), Direction::SendOnly);
}

#[test]
fn rich_session_keeps_every_line_type_including_unknown_ones() {
    let sdp = parse(RICH_SESSION);
    assert_eq!(sdp.information.as_deref(), Some("SDP offer #1"));
    assert_eq!(
        sdp.uri.as_deref(),
        Some("http://www.example.com/seminars/sdp.pdf")
    );
    assert_eq!(sdp.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    assert_eq!(sdp.phones, ["+1 617 555-6011"]);
    assert_eq!(sdp.bandwidths.len(), 2);
    assert_eq!(sdp.timings.len(), 2);
    assert_eq!(sdp.timings[0].repeats, ["7d 1h 0 25h"]);
    assert_eq!(
        sdp.time_zones.as_deref(),
        Some("2882844526 -1h 2898848070 0")
    );
    assert_eq!(sdp.encryption_key.as_deref(), Some("prompt"));
    assert_eq!(
        sdp.other_lines,
        [Line {
            kind: 'x',
            value: "unknown session line".into()
        }]
    );
    assert_eq!(sdp.direction(), Some(Direction::RecvOnly));

    let audio = &sdp.media[0];
    assert_eq!((audio.port, audio.port_count), (49170, Some(2)));
    assert_eq!(audio.information.as_deref(), Some("main audio"));
    assert_eq!(
        audio.connection.as_ref().map(|c| c.address.as_str()),
        Some("203.0.113.1")
    );
    assert_eq!(
        audio.other_lines,
        [
            Line {
                kind: 'c',
                value: "IN IP4 203.0.113.2".into()
            },
            Line {
                kind: 'y',
                value: "unknown media line".into()
            },
        ]
    );
    assert_eq!(audio.encryption_key.as_deref(), Some("clear:secret"));
    assert_eq!(
        sdp.effective_direction(audio),
        Direction::RecvOnly,
        "session level applies"
    );
    assert_eq!(audio.ptime(), Some(30));

    let fax = &sdp.media[1];
    assert_eq!(
        (fax.proto.as_str(), fax.formats.as_slice()),
        ("udptl", ["t38".to_owned()].as_slice())
    );
    assert!(!fax.is_rtp());
    assert!(sdp.media[2].is_rejected());
}

#[test]
fn missing_session_name_and_timing_read_as_defaults() {
    let sdp = parse("v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n");
    assert_eq!(sdp.session_name, "-");
    assert_eq!(sdp.timings, [Timing::default()]);
    assert!(sdp.to_string().contains("s=-\r\nt=0 0\r\n"));
}

#[test]
fn whitespace_blank_lines_and_odd_line_order_are_tolerated() {
    let text = "\n  v=0  \r\n\r\nt=0 0\r\ns=x\r\no=- 1 1 IN IP4 192.0.2.1\t\r\n\
                m=audio  4000   RTP/AVP  0   8\r\na=sendonly \r\nc=IN IP4 192.0.2.2\r\n";
    let sdp = parse(text);
    assert_eq!(sdp.media[0].formats, ["0", "8"]);
    assert_eq!(sdp.media[0].direction(), Some(Direction::SendOnly));
    assert_eq!(
        sdp.effective_connection(&sdp.media[0])
            .map(|c| c.address.as_str()),
        Some("192.0.2.2")
    );
    assert_eq!(sdp.origin.address, "192.0.2.1");
}

#[test]
fn origin_username_with_spaces_is_kept_whole() {
    let sdp = parse("v=0\no=Jane Q Doe 1 2 IN IP4 192.0.2.1\ns=-\nt=0 0\n");
    assert_eq!(sdp.origin.username, "Jane Q Doe");
    assert_eq!(sdp.origin.session_version, "2");
    assert_eq!(parse(&sdp.to_string()), sdp);
}
