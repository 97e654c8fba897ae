//! Hostile input: huge descriptions and many mutated or truncated variants of real ones.
//! Nothing may panic, parsing stays linear, and whatever parses still round-trips and
//! negotiates without panicking.

use sdp::{answer, offer, process_answer, Codec, LocalMedia, ParseError, SessionDescription};

const FIXTURES: [&str; 6] = [
    include_str!("fixtures/sipp_uac.sdp"),
    include_str!("fixtures/baresip.sdp"),
    include_str!("fixtures/linphone_ipv6.sdp"),
    include_str!("fixtures/audio_video_offer.sdp"),
    include_str!("fixtures/two_audio_offer.sdp"),
    include_str!("fixtures/rich_session.sdp"),
];

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";

fn local() -> LocalMedia {
    LocalMedia {
        address: "203.0.113.1".parse().expect("test address"),
        port: 30000,
        codecs: Codec::ALL.to_vec(),
        telephone_event: true,
        session_id: 1,
        session_version: 1,
        username: "switchyard".into(),
    }
}

/// Parses `text`; when it parses, checks the round trip and runs both negotiations.
/// Returns whether it parsed.
fn exercise(text: &str) -> bool {
    let Ok(sdp) = SessionDescription::parse(text) else {
        return false;
    };
    let printed = sdp.to_string();
    assert_eq!(
        SessionDescription::parse(&printed).as_ref(),
        Ok(&sdp),
        "round trip failed for input {text:?}\nprinted {printed:?}"
    );
    if let Ok((reply, _)) = answer(&sdp, &local()) {
        assert_eq!(reply.media.len(), sdp.media.len(), "{text:?}");
        assert_eq!(
            SessionDescription::parse(&reply.to_string()),
            Ok(reply),
            "{text:?}"
        );
    }
    let _ = process_answer(&offer(&local()), &sdp);
    true
}

/// Counts of variants that parsed and that were rejected.
#[derive(Default)]
struct Tally {
    parsed: usize,
    rejected: usize,
}

impl Tally {
    fn add(&mut self, text: &str) {
        if exercise(text) {
            self.parsed += 1;
        } else {
            self.rejected += 1;
        }
    }

    /// The variants must reach both the accepting and the rejecting paths.
    fn assert_both_paths_taken(&self) {
        assert!(
            self.parsed > 0 && self.rejected > 0,
            "parsed {}, rejected {}",
            self.parsed,
            self.rejected
        );
    }
}

/// xorshift64*: a fixed-seed generator so failures reproduce.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// Byte offsets of every character boundary of `text`, including its end.
fn boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(index, _)| index)
        .chain([text.len()])
        .collect()
}

#[test]
fn every_truncation_of_real_offers_is_handled_without_panic() {
    let mut tally = Tally::default();
    for fixture in FIXTURES {
        for end in boundaries(fixture) {
            tally.add(&fixture[..end]);
            tally.add(&fixture[end..]);
        }
    }
    tally.assert_both_paths_taken();
}

#[test]
fn removing_duplicating_or_swapping_lines_is_handled_without_panic() {
    let mut tally = Tally::default();
    for fixture in FIXTURES {
        let lines: Vec<&str> = fixture.lines().collect();
        for index in 0..lines.len() {
            let mut removed = lines.clone();
            removed.remove(index);
            tally.add(&removed.join("\n"));

            let mut duplicated = lines.clone();
            duplicated.insert(index, lines[index]);
            tally.add(&duplicated.join("\r\n"));

            let mut swapped = lines.clone();
            swapped.swap(index, (index + 1) % lines.len());
            tally.add(&swapped.join("\n"));
        }
    }
    tally.assert_both_paths_taken();
}

#[test]
fn replacing_any_character_is_handled_without_panic() {
    const REPLACEMENTS: [&str; 12] = [
        " ", "=", ":", "/", "0", "9", "x", "\n", "\r", "é", "-", "\0",
    ];
    let mut tally = Tally::default();
    for fixture in FIXTURES {
        let positions = boundaries(fixture);
        for window in positions.windows(2) {
            let (start, end) = (window[0], window[1]);
            for replacement in REPLACEMENTS {
                tally.add(&format!(
                    "{}{}{}",
                    &fixture[..start],
                    replacement,
                    &fixture[end..]
                ));
            }
        }
    }
    tally.assert_both_paths_taken();
}

#[test]
fn random_splices_of_sdp_fragments_are_handled_without_panic() {
    const FRAGMENTS: [&str; 20] = [
        "\r\n",
        "\n",
        "m=audio 0 RTP/AVP 0\r\n",
        "m=audio 4000 RTP/AVP 8\r\n",
        "c=IN IP4 0.0.0.0\r\n",
        "c=IN IP6 ::\r\n",
        "a=rtpmap:",
        "a=rtpmap:101 telephone-event/8000\r\n",
        "a=sendonly\r\n",
        "a=inactive\r\n",
        "a=fmtp:101 \r\n",
        "4294967296",
        "65535",
        "127",
        "r=1d\r\n",
        "t=0 0\r\n",
        "v=0\r\n",
        "o=- 1 1 IN IP4 h\r\n",
        "m=",
        "/",
    ];
    let mut tally = Tally::default();
    let mut mutator = Mutator(0x5eed_5d9f_0000_0001);
    for fixture in FIXTURES {
        for _ in 0..2_000 {
            let mut text = fixture.to_owned();
            for _ in 0..=mutator.below(4) {
                let positions = boundaries(&text);
                let at = positions[mutator.below(positions.len())];
                let fragment = FRAGMENTS[mutator.below(FRAGMENTS.len())];
                text.insert_str(at, fragment);
            }
            tally.add(&text);
        }
    }
    tally.assert_both_paths_taken();
}

#[test]
fn ten_thousand_attribute_lines_parse_round_trip_and_negotiate() {
    let mut text = format!("{HEAD}m=audio 4000 RTP/AVP 0 101\r\n");
    for index in 0..10_000 {
        text.push_str(&format!("a=x-custom-{index}:value {index}\r\n"));
    }
    text.push_str("a=rtpmap:101 telephone-event/8000\r\n");
    let sdp = SessionDescription::parse(&text).expect("large but valid");
    assert_eq!(sdp.media[0].attributes.len(), 10_001);
    assert_eq!(SessionDescription::parse(&sdp.to_string()), Ok(sdp.clone()));
    let (_, negotiated) = answer(&sdp, &local()).expect("answerable");
    assert_eq!(negotiated.telephone_event, Some(101));
}

#[test]
fn ten_thousand_media_sections_are_each_answered() {
    let mut text = HEAD.to_owned();
    for _ in 0..10_000 {
        text.push_str("m=video 5000 RTP/AVP 31\r\na=rtpmap:31 H261/90000\r\n");
    }
    text.push_str("m=audio 4000 RTP/AVP 0\r\n");
    let sdp = SessionDescription::parse(&text).expect("large but valid");
    let (reply, negotiated) = answer(&sdp, &local()).expect("answerable");
    assert_eq!(reply.media.len(), 10_001);
    assert_eq!(
        reply.media.iter().filter(|media| media.port == 0).count(),
        10_000
    );
    assert_eq!(negotiated.codec, Codec::Pcmu);
}

#[test]
fn ten_thousand_formats_and_rtpmaps_negotiate_without_quadratic_work() {
    let formats: Vec<String> = (0..10_000)
        .map(|index| (96 + index % 32).to_string())
        .collect();
    let mut text = format!("{HEAD}m=audio 4000 RTP/AVP {} 8\r\n", formats.join(" "));
    for index in 0..10_000 {
        text.push_str(&format!(
            "a=rtpmap:{} x-codec-{index}/8000\r\n",
            96 + index % 32
        ));
    }
    let sdp = SessionDescription::parse(&text).expect("large but valid");
    let (_, negotiated) = answer(&sdp, &local()).expect("answerable");
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (Codec::Pcma, 8)
    );
}

#[test]
fn ten_thousand_garbage_lines_fail_at_the_first() {
    let text = format!("{HEAD}{}", "garbage\r\n".repeat(10_000));
    assert_eq!(
        SessionDescription::parse(&text),
        Err(ParseError::MalformedLine {
            line: 6,
            found: "garbage".into()
        })
    );
}

#[test]
fn two_hundred_thousand_lines_parse_in_one_pass() {
    // Quadratic work would take minutes here; a linear parser takes well under a second.
    let text = format!(
        "{HEAD}m=audio 4000 RTP/AVP 0\r\n{}",
        "a=sendrecv\r\n".repeat(200_000)
    );
    let sdp = SessionDescription::parse(&text).expect("large but valid");
    assert_eq!(sdp.media[0].attributes.len(), 200_000);
}

#[test]
fn a_one_megabyte_line_is_handled() {
    let text = format!(
        "{HEAD}s={}\r\nm=audio 4000 RTP/AVP {}\r\n",
        "x".repeat(1 << 20),
        "0 ".repeat(1 << 18)
    );
    let sdp = SessionDescription::parse(&text).expect("large but valid");
    assert_eq!(
        sdp.other_lines.len(),
        1,
        "second s= is kept as another line"
    );
    assert_eq!(sdp.media[0].formats.len(), 1 << 18);
}
