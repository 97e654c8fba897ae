//! Extensions: switchyard as the registrar of softphones (legs.md §3). A raw client shows the
//! digest exchange on the wire (401 with SHA-256 and MD5 challenges, 403 for a wrong password,
//! 200 with the binding, 423, removal); baresip registers as a real phone and is rung by
//! `connect`, with audio both ways and the caller's key reaching it.

mod support;

use serde_json::{json, Value};
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use support::baresip::{Baresip, Options};
use support::{flow, http, Server, ServerOptions};

fn create_alice(s: &Server) {
    let r = http(
        s.api_port,
        "POST",
        "/v1/extensions",
        Some(
            json!({"user": "alice", "password": "pa55word-1", "name": "Alice"})
                .to_string()
                .as_bytes(),
        ),
        &[],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json().get("password").is_none());
}

fn contacts(s: &Server) -> Vec<Value> {
    http(s.api_port, "GET", "/v1/extensions/alice", None, &[]).json()["contacts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A REGISTER for alice from `sip`, with `extra` header lines; the final response.
fn register(s: &Server, sip: &UdpSocket, cseq: u32, expires: u32, extra: &str) -> String {
    let lp = sip.local_addr().unwrap().port();
    let msg = format!(
        "REGISTER sip:127.0.0.1:{sp} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-reg{cseq}\r\n\
From: <sip:alice@127.0.0.1:{sp}>;tag=r1\r\nTo: <sip:alice@127.0.0.1:{sp}>\r\n\
Call-ID: reg-alice\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n\
Contact: <sip:alice@127.0.0.1:{lp}>\r\nExpires: {expires}\r\n{extra}Content-Length: 0\r\n\r\n",
        sp = s.sip_port
    );
    sip.send_to(msg.as_bytes(), ("127.0.0.1", s.sip_port))
        .unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok((n, _)) = sip.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.contains(&format!("CSeq: {cseq} REGISTER")) {
                return text;
            }
        }
    }
    panic!("no answer to REGISTER {cseq}");
}

fn header<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

#[test]
fn registration_is_challenged_checked_bound_and_removed_on_the_wire() {
    let s = Server::start(ServerOptions {
        env: vec![(
            "SWITCHYARD__SIP__DIGEST_ALGORITHMS",
            "[\"SHA-256\", \"MD5\"]".into(),
        )],
        ..Default::default()
    });
    create_alice(&s);
    let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
    sip.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let uri = format!("sip:127.0.0.1:{}", s.sip_port);

    let challenge = register(&s, &sip, 1, 120, "");
    assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
    let offered = header(&challenge, "WWW-Authenticate");
    assert_eq!(offered.len(), 2, "{challenge}");
    assert!(offered[0].contains("algorithm=SHA-256") && offered[1].contains("algorithm=MD5"));
    assert!(offered.iter().all(|c| c.contains("qop=\"auth\"")));

    // Answer the SHA-256 challenge with the wrong password, then the right one.
    let c = sip::digest::Challenge::parse(offered[0]).unwrap();
    let wrong = c.answer("REGISTER", &uri, "alice", "not-it", "cn1", 1);
    let refused = register(&s, &sip, 2, 120, &format!("Authorization: {wrong}\r\n"));
    assert!(refused.starts_with("SIP/2.0 403"), "{refused}");
    assert!(contacts(&s).is_empty());

    let right = c.answer("REGISTER", &uri, "alice", "pa55word-1", "cn2", 2);
    let ok = register(&s, &sip, 3, 120, &format!("Authorization: {right}\r\n"));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
    let lp = sip.local_addr().unwrap().port();
    assert!(
        header(&ok, "Contact")
            .iter()
            .any(|c| c.starts_with(&format!("<sip:alice@127.0.0.1:{lp}>;expires=12"))),
        "{ok}"
    );
    let live = contacts(&s);
    assert_eq!(live.len(), 1);
    assert_eq!(live[0]["uri"], format!("sip:alice@127.0.0.1:{lp}"));

    // Too short an interval: 423 with the minimum.
    let md5 = sip::digest::Challenge::parse(offered[1]).unwrap();
    let brief = md5.answer("REGISTER", &uri, "alice", "pa55word-1", "cn3", 1);
    let too_brief = register(&s, &sip, 4, 10, &format!("Authorization: {brief}\r\n"));
    assert!(too_brief.starts_with("SIP/2.0 423"), "{too_brief}");
    assert_eq!(header(&too_brief, "Min-Expires"), ["60"]);

    // Expires 0 removes the binding.
    let bye = md5.answer("REGISTER", &uri, "alice", "pa55word-1", "cn4", 2);
    let removed = register(&s, &sip, 5, 0, &format!("Authorization: {bye}\r\n"));
    assert!(removed.starts_with("SIP/2.0 200"), "{removed}");
    assert!(contacts(&s).is_empty());
}

#[test]
fn baresip_registers_and_is_rung_by_connect_with_audio_both_ways_and_the_callers_key() {
    support::require("baresip");
    let dir = support::tempdir::Dir::new("alice");
    let tone = dir.path().join("tone.wav");
    support::write_tone_wav(&tone, 1000.0, 20.0);
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "answer"},
                    {"type": "connect", "option": {"destinations": [{"type": "extension", "target": "alice"}], "ring_timeout": 15}},
                    {"type": "variable_set", "option": {"key": "result", "value": "${connect.result}"}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    create_alice(&s);
    let mut phone = Baresip::register(
        dir.path(),
        "alice",
        "pa55word-1",
        s.sip_port,
        Options {
            source: &tone,
            record: true,
            control: false,
            account_params: ";audio_codecs=PCMU",
            quit_after_s: 40,
        },
    );
    assert!(
        s.wait_for(Duration::from_secs(10), |s| !contacts(s).is_empty()),
        "baresip did not register:\n{}\n{}",
        phone.output(),
        s.log()
    );

    let caller = support::raw::call(s.sip_port, "ext-call-1");
    // The caller's side: a 440 Hz tone, then the key 5 as telephone-events.
    let server_rtp = ("127.0.0.1", caller.server_rtp);
    caller
        .rtp
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut heard = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    let (mut seq, mut ts) = (1u16, 0u32);
    while start.elapsed() < Duration::from_secs(6) {
        let tick = Instant::now();
        let pcm: Vec<u8> = (0..160)
            .map(|i| {
                let t = (ts + i) as f32 / 8000.0;
                ulaw(((t * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            })
            .collect();
        let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
        packet[2..4].copy_from_slice(&seq.to_be_bytes());
        packet[4..8].copy_from_slice(&ts.to_be_bytes());
        packet.extend_from_slice(&pcm);
        let _ = caller.rtp.send_to(&packet, server_rtp);
        if (4_000..4_200).contains(&start.elapsed().as_millis()) {
            let d = 800 + (start.elapsed().as_millis() as u16 - 4_000) * 8;
            let end = start.elapsed().as_millis() >= 4_160;
            let ev = support::raw::event_packet(seq, 32_000, 5, end, d, d == 800);
            let _ = caller.rtp.send_to(&ev, server_rtp);
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(160);
        while tick.elapsed() < Duration::from_millis(20) {
            if let Ok((n, _)) = caller.rtp.recv_from(&mut buf) {
                if n > 12 && buf[1] & 0x7f == 0 {
                    heard.extend(buf[12..n].iter().map(|&b| ulaw_decode(b)));
                }
            }
        }
    }
    // baresip → caller: its 1 kHz tone.
    assert!(
        power_ratio(&heard, 1000.0) > 0.3,
        "the caller does not hear the phone's tone ({} samples)\n{}",
        heard.len(),
        s.log()
    );
    assert!(
        phone.wait_output(Duration::from_secs(3), "received event: '5'"),
        "the key did not reach baresip:\n{}",
        phone.output()
    );
    phone.stop();
    // caller → baresip: the 440 Hz tone, in what baresip recorded.
    let recording = phone.recording().expect("baresip recorded what it heard");
    let samples = wav_samples(&recording);
    assert!(
        power_ratio(&samples, 440.0) > 0.3,
        "baresip did not hear the caller ({} samples)",
        samples.len()
    );
    drop(caller);
}

fn ulaw(sample: i16) -> u8 {
    let sign = if sample < 0 { 0x80 } else { 0 };
    let mut m = (i32::from(sample).abs()).min(32635) + 0x84;
    let mut exp = 7;
    while exp > 0 && m & (0x4000 >> (7 - exp)) == 0 {
        exp -= 1;
    }
    m >>= exp + 3;
    !((sign | (exp << 4) | (m & 0x0f)) as u8)
}

fn ulaw_decode(b: u8) -> f64 {
    let b = !b;
    let sign = b & 0x80;
    let exp = (b >> 4) & 0x07;
    let mant = b & 0x0f;
    let mag = ((i32::from(mant) << 3) + 0x84) << exp;
    f64::from(if sign != 0 { 0x84 - mag } else { mag - 0x84 })
}

/// The share of the signal's power at `freq` (Goertzel over 20 ms blocks, loud blocks only).
fn power_ratio(samples: &[f64], freq: f64) -> f64 {
    let k = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
    let (mut at, mut total) = (0.0, 0.0);
    for block in samples.chunks(160).filter(|b| b.len() == 160) {
        let energy: f64 = block.iter().map(|x| x * x).sum();
        if energy / 160.0 < 1e5 {
            continue;
        }
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in block {
            let s0 = x + k * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        at += (s1 * s1 + s2 * s2 - k * s1 * s2) * 2.0 / 160.0;
        total += energy;
    }
    if total == 0.0 {
        0.0
    } else {
        at / total
    }
}

/// The 16-bit samples of a PCM WAV file (its first channel).
fn wav_samples(path: &std::path::Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap();
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]) as usize;
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .map(|i| i + 8)
        .unwrap_or(44);
    bytes[data..]
        .chunks_exact(2 * channels)
        .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])))
        .collect()
}
