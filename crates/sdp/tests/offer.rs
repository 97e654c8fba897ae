//! Switchyard as offerer: its own offer and the remote answer to it.

mod common;

use common::{all_codecs, local, offer_text, outcome, parse, remote, Expected};
use sdp::{answer, offer, process_answer, Codec, Direction, NegotiationError};

#[test]
fn offer_lists_local_codecs_in_order_with_telephone_event_101() {
    let mut us = local(&[Codec::Pcma, Codec::Pcmu, Codec::Pcma], true);
    us.session_id = 1234;
    let ours = offer(&us);
    assert_eq!(
        ours.to_string(),
        "v=0\r\no=switchyard 1234 1 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\nt=0 0\r\n\
         m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    let without_events = offer(&local(&[Codec::G722], false));
    assert_eq!(without_events.media[0].formats, ["9"]);
    assert_eq!(parse(&without_events.to_string()), without_events);
}

#[test]
fn offer_answered_by_ourselves_agrees_on_the_first_codec() {
    let ours = offer(&local(&[Codec::G722, Codec::Pcmu], true));
    let (reply, answered) = answer(&ours, &all_codecs()).expect("answerable");
    let processed = process_answer(&ours, &reply).expect("processable");
    assert_eq!(outcome(&processed).0, Codec::G722);
    assert_eq!(processed.telephone_event, Some(101));
    assert_eq!(processed.remote_rtp, remote("203.0.113.1:30000"));
    assert_eq!(answered.remote_rtp, remote("203.0.113.1:30000"));
}

#[test]
fn process_answer_table_reads_the_remote_answer() {
    let ours = offer(&local(&[Codec::Pcmu, Codec::Pcma], true));
    const C: &str = "c=IN IP4 198.51.100.9\r\n";
    let cases: Vec<(&str, String, Result<Expected, NegotiationError>)> = vec![
        (
            "answer's codec and payload type are used",
            offer_text(
                C,
                "m=audio 6000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",
            ),
            Ok((
                Codec::Pcma,
                8,
                Some(101),
                remote("198.51.100.9:6000"),
                Direction::SendRecv,
            )),
        ),
        (
            "answer without telephone-event",
            offer_text(C, "m=audio 6000 RTP/AVP 0\r\n"),
            Ok((
                Codec::Pcmu,
                0,
                None,
                remote("198.51.100.9:6000"),
                Direction::SendRecv,
            )),
        ),
        (
            "answer recvonly: we only send",
            offer_text(C, "m=audio 6000 RTP/AVP 0\r\na=recvonly\r\n"),
            Ok((
                Codec::Pcmu,
                0,
                None,
                remote("198.51.100.9:6000"),
                Direction::SendOnly,
            )),
        ),
        (
            "answer sendonly: we only receive",
            offer_text(C, "m=audio 6000 RTP/AVP 0\r\na=sendonly\r\n"),
            Ok((
                Codec::Pcmu,
                0,
                None,
                remote("198.51.100.9:6000"),
                Direction::RecvOnly,
            )),
        ),
        (
            "answer at 0.0.0.0: no remote",
            offer_text("c=IN IP4 0.0.0.0\r\n", "m=audio 6000 RTP/AVP 0\r\n"),
            Ok((Codec::Pcmu, 0, None, None, Direction::RecvOnly)),
        ),
        (
            "answer rejects our audio",
            offer_text(C, "m=audio 0 RTP/AVP 0\r\n"),
            Err(NegotiationError::NoAudio),
        ),
        (
            "answer names a codec we did not offer",
            offer_text(C, "m=audio 6000 RTP/AVP 9\r\n"),
            Err(NegotiationError::NoCommonCodec),
        ),
        (
            "answer with an extra m= line",
            offer_text(C, "m=audio 6000 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n"),
            Err(NegotiationError::MediaCountMismatch {
                offered: 1,
                answered: 2,
            }),
        ),
    ];
    for (name, text, expected) in cases {
        let result = process_answer(&ours, &parse(&text));
        assert_eq!(
            result.as_ref().map(outcome).map_err(Clone::clone),
            expected,
            "{name}"
        );
    }
}

#[test]
fn process_answer_respects_our_own_hold_offer() {
    let mut ours = offer(&all_codecs());
    ours.media[0].set_direction(Direction::SendOnly);
    let reply = parse(&offer_text(
        "c=IN IP4 198.51.100.9\r\n",
        "m=audio 6000 RTP/AVP 0\r\na=recvonly\r\n",
    ));
    let negotiated = process_answer(&ours, &reply).expect("processable");
    assert_eq!(negotiated.direction, Direction::SendOnly);
}
