//! Bad input gets a defined answer and never takes the server down.

mod support;

use serde_json::json;
use std::io::Write;
use std::time::Duration;
use support::{flow, udp_exchange, Server, ServerOptions};

fn server_with(actions: serde_json::Value, env: Vec<(&'static str, String)>) -> Server {
    Server::start(ServerOptions {
        flows: vec![("main", flow("main", actions))],
        env,
        ..Default::default()
    })
}

fn invite(port: u16, call_id: &str, body: &str) -> String {
    format!(
        "INVITE sip:1000@127.0.0.1:{port} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-{call_id}\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1:9>\r\nMax-Forwards: 70\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn options_still_answered(server: &Server) {
    let msg = format!(
        "OPTIONS sip:127.0.0.1:{} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-o\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: opt-after\r\nCSeq: 1 OPTIONS\r\n\
Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        server.sip_port
    );
    let replies = udp_exchange(server.sip_port, msg.as_bytes(), Duration::from_millis(300));
    assert!(
        replies.iter().any(|r| r.starts_with("SIP/2.0 200")),
        "server stopped answering: {replies:?}\n{}",
        server.log()
    );
}

#[test]
fn garbage_truncated_and_oversized_messages_are_answered_or_dropped_and_counted() {
    let server = server_with(json!([{"type": "hangup"}]), vec![]);
    let port = server.sip_port;
    // Pure garbage: dropped.
    assert!(udp_exchange(
        port,
        &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2],
        Duration::from_millis(100)
    )
    .is_empty());
    assert!(udp_exchange(port, b"\x00\x00\r\n\r\n", Duration::from_millis(100)).is_empty());
    // A truncated INVITE that still has its Via and Call-ID: 400.
    let full = invite(port, "trunc-1", "v=0\r\n");
    let cut = &full.as_bytes()[..full.find("Contact").unwrap()];
    let replies = udp_exchange(port, cut, Duration::from_millis(200));
    assert!(
        replies.iter().any(|r| r.starts_with("SIP/2.0 400")),
        "{replies:?}"
    );
    // An extension the caller requires and we do not implement: 420 naming it.
    let requiring = full.replace("Contact:", "Require: 100rel, timer\r\nContact:");
    let replies = udp_exchange(port, requiring.as_bytes(), Duration::from_millis(200));
    let refused = replies.iter().find(|r| r.starts_with("SIP/2.0 420"));
    assert!(
        refused.is_some_and(|r| r.contains("Unsupported: 100rel, timer")),
        "{replies:?}"
    );
    // An unknown method: 501.
    let frob = full
        .replace("INVITE sip", "FROBNICATE sip")
        .replace("1 INVITE", "1 FROBNICATE");
    let replies = udp_exchange(port, frob.as_bytes(), Duration::from_millis(200));
    assert!(
        replies.iter().any(|r| r.starts_with("SIP/2.0 501")),
        "{replies:?}"
    );
    // An oversized datagram (60 KB of header junk).
    let mut big = full.clone().into_bytes();
    big.splice(0..0, std::iter::repeat_n(b'X', 60_000));
    let _ = udp_exchange(port, &big, Duration::from_millis(100));
    // Oversized over TCP: 70 KB without an end of headers; the connection is closed.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = tcp.write_all(&vec![b'A'; 70_000]);
    drop(tcp);
    // Random mutations of a valid INVITE never take the server down.
    let base = invite(port, "mut", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n");
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..300 {
        let mut m = base.clone().into_bytes();
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % m.len();
            m[at] = (seed >> 32) as u8;
        }
        let cut = (seed as usize >> 8) % m.len();
        let m = if i % 3 == 0 { &m[..cut] } else { &m[..] };
        let _ = s.send_to(m, ("127.0.0.1", port));
    }
    std::thread::sleep(Duration::from_millis(300));
    options_still_answered(&server);
    let answered = server.metric("switchyard_sip_malformed_total{action=\"answered\"}");
    let dropped = server.metric("switchyard_sip_malformed_total{action=\"dropped\"}");
    assert!(answered >= 2.0, "answered {answered}");
    assert!(dropped >= 2.0, "dropped {dropped}");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn invalid_sdp_gets_488() {
    let server = server_with(json!([{"type": "hangup"}]), vec![]);
    let msg = invite(server.sip_port, "bad-sdp", "this is not SDP at all\r\n");
    let replies = udp_exchange(server.sip_port, msg.as_bytes(), Duration::from_millis(500));
    assert!(
        replies.iter().any(|r| r.starts_with("SIP/2.0 488")),
        "{replies:?}\n{}",
        server.log()
    );
}

#[test]
fn unreachable_play_url_fails_the_action_and_the_flow_goes_on() {
    let server = server_with(
        json!([
            {"type": "play", "option": {"stream_urls": ["http://127.0.0.1:1/missing.wav"]}},
            {"type": "play", "option": {"stream_urls": ["no-such-sound"]}},
            {"type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"}
        ]),
        vec![],
    );
    let run = server.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40200"]);
    assert!(run.success, "{}\n{}", run.output, server.log());
    assert!(server.wait_for(Duration::from_secs(5), |s| s
        .metric("switchyard_calls_total{outcome=\"completed\"}")
        == 1.0));
    assert_eq!(server.metric("switchyard_actions_failed_total"), 2.0);
}

#[test]
fn missing_espeak_fails_talk_and_the_flow_goes_on() {
    let server = server_with(
        json!([
            {"type": "talk", "option": {"text": "nobody hears this", "language": "en-US"}},
            {"type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"}
        ]),
        vec![(
            "SWITCHYARD__TTS__ESPEAK_COMMAND",
            "/nonexistent/espeak-ng".into(),
        )],
    );
    let run = server.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40202"]);
    assert!(run.success, "{}\n{}", run.output, server.log());
    assert!(server.wait_for(Duration::from_secs(5), |s| s
        .metric("switchyard_tts_failures_total")
        == 1.0));
    assert!(
        server.log().contains("espeak-ng is not installed"),
        "{}",
        server.log()
    );
}

#[test]
fn flow_with_an_action_this_build_cannot_run_is_rejected_at_load_with_its_pointer() {
    let dir = support::tempdir::Dir::new("validate");
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        flow(
            "bad",
            json!([{"type": "answer"}, {"type": "queue_join", "option": {"queue_id": "sales"}}]),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["flow", "validate"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{}: /actions/1/type:", file.display())),
        "{stdout}"
    );
    let good = support::repo_root().join("config/flows/demo.json");
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["flow", "validate"])
        .arg(&good)
        .status()
        .unwrap();
    assert!(ok.success());
}
