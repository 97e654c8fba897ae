//! Malformed session descriptions: each is a descriptive `ParseError`, never a panic.

use sdp::{ParseError, SessionDescription};

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

fn with_head(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

fn found(text: &str) -> String {
    text.to_owned()
}

#[test]
fn malformed_input_is_rejected_with_the_offending_line() {
    let cases: Vec<(&str, String, ParseError)> = vec![
        ("empty", String::new(), ParseError::Empty),
        (
            "only blank lines",
            "\r\n \n\t\r\n".into(),
            ParseError::Empty,
        ),
        (
            "garbage bytes",
            "\u{1}\u{7f}\u{fffd}garbage".into(),
            ParseError::MissingVersion {
                line: 1,
                found: found("\u{1}\u{7f}\u{fffd}garbage"),
            },
        ),
        (
            "HTML instead of SDP",
            "<html><body>502</body></html>".into(),
            ParseError::MissingVersion {
                line: 1,
                found: found("<html><body>502</body></html>"),
            },
        ),
        (
            "o= before v=",
            "o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n".into(),
            ParseError::MissingVersion {
                line: 1,
                found: found("o=- 1 1 IN IP4 192.0.2.1"),
            },
        ),
        (
            "version 1",
            "v=1\r\n".into(),
            ParseError::UnsupportedVersion {
                line: 1,
                found: found("1"),
            },
        ),
        (
            "no o= line",
            "v=0\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n".into(),
            ParseError::MissingOrigin,
        ),
        (
            "o= only in a media section",
            "v=0\r\nm=audio 4000 RTP/AVP 0\r\no=- 1 1 IN IP4 192.0.2.1\r\n".into(),
            ParseError::MissingOrigin,
        ),
        (
            "short o=",
            "v=0\r\no=- 1 1 IN IP4\r\n".into(),
            ParseError::InvalidOrigin {
                line: 2,
                found: found("- 1 1 IN IP4"),
            },
        ),
        (
            "line without =",
            with_head("garbage here\r\n"),
            ParseError::MalformedLine {
                line: 6,
                found: found("garbage here"),
            },
        ),
        (
            "two-letter type",
            with_head("ab=c\r\n"),
            ParseError::MalformedLine {
                line: 6,
                found: found("ab=c"),
            },
        ),
        (
            "short c=",
            with_head("m=audio 4000 RTP/AVP 0\r\nc=IN IP4\r\n"),
            ParseError::InvalidConnection {
                line: 7,
                found: found("IN IP4"),
            },
        ),
        (
            "non-numeric t=",
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=now later\r\n".into(),
            ParseError::InvalidTiming {
                line: 3,
                found: found("now later"),
            },
        ),
        (
            "r= before t=",
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nr=7d 1h 0 25h\r\n".into(),
            ParseError::RepeatWithoutTiming { line: 3 },
        ),
        (
            "b= without a number",
            with_head("b=AS:lots\r\n"),
            ParseError::InvalidBandwidth {
                line: 6,
                found: found("AS:lots"),
            },
        ),
        (
            "m= without port",
            with_head("m=audio\r\n"),
            ParseError::InvalidMedia {
                line: 6,
                found: found("audio"),
            },
        ),
        (
            "m= without formats",
            with_head("m=audio 4000 RTP/AVP\r\n"),
            ParseError::InvalidMedia {
                line: 6,
                found: found("audio 4000 RTP/AVP"),
            },
        ),
        (
            "non-numeric port",
            with_head("m=audio port RTP/AVP 0\r\n"),
            ParseError::InvalidPort {
                line: 6,
                found: found("port"),
            },
        ),
        (
            "port above 65535",
            with_head("m=audio 65536 RTP/AVP 0\r\n"),
            ParseError::InvalidPort {
                line: 6,
                found: found("65536"),
            },
        ),
        (
            "negative port",
            with_head("m=audio -1 RTP/AVP 0\r\n"),
            ParseError::InvalidPort {
                line: 6,
                found: found("-1"),
            },
        ),
        (
            "bad port count",
            with_head("m=audio 4000/x RTP/AVP 0\r\n"),
            ParseError::InvalidPort {
                line: 6,
                found: found("4000/x"),
            },
        ),
        (
            "non-numeric payload type",
            with_head("m=audio 4000 RTP/AVP 0 PCMA\r\n"),
            ParseError::InvalidPayloadType {
                line: 6,
                found: found("PCMA"),
            },
        ),
        (
            "payload type above 127",
            with_head("m=audio 4000 RTP/AVP 0 200\r\n"),
            ParseError::InvalidPayloadType {
                line: 6,
                found: found("200"),
            },
        ),
        (
            "rtpmap with non-numeric payload type",
            with_head("m=audio 4000 RTP/AVP 0\r\na=rtpmap:x PCMU/8000\r\n"),
            ParseError::InvalidRtpmap {
                line: 7,
                found: found("rtpmap:x PCMU/8000"),
            },
        ),
        (
            "rtpmap without clock",
            with_head("m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n"),
            ParseError::InvalidRtpmap {
                line: 7,
                found: found("rtpmap:0 PCMU"),
            },
        ),
        (
            "rtpmap without value",
            with_head("m=audio 4000 RTP/AVP 0\r\na=rtpmap\r\n"),
            ParseError::InvalidRtpmap {
                line: 7,
                found: found("rtpmap"),
            },
        ),
    ];
    for (name, text, expected) in cases {
        assert_eq!(SessionDescription::parse(&text), Err(expected), "{name}");
    }
}

#[test]
fn non_rtp_formats_need_not_be_numbers() {
    let sdp =
        SessionDescription::parse(&with_head("m=image 4000 udptl t38\r\n")).expect("T.38 offer");
    assert_eq!(sdp.media[0].formats, ["t38"]);
}

#[test]
fn error_messages_name_the_line_and_quote_the_text() {
    let error = SessionDescription::parse(&with_head("m=audio 4000 RTP/AVP 0 PCMA\r\n"))
        .expect_err("bad payload type");
    assert_eq!(
        error.to_string(),
        "line 6: invalid RTP payload type `PCMA` in `m=`"
    );

    let long = format!("v=0\r\n{}\r\n", "z".repeat(10_000));
    let error = SessionDescription::parse(&long).expect_err("malformed");
    let message = error.to_string();
    assert!(
        message.starts_with("line 2: expected `<type>=<value>`"),
        "{message}"
    );
    assert!(
        message.len() < 200,
        "quote is bounded: {} bytes",
        message.len()
    );
}

#[test]
fn line_numbers_count_lf_only_and_blank_lines() {
    let text = "v=0\n\no=- 1 1 IN IP4 192.0.2.1\n\nm=audio x RTP/AVP 0\n";
    assert_eq!(
        SessionDescription::parse(text),
        Err(ParseError::InvalidPort {
            line: 5,
            found: found("x")
        })
    );
}
