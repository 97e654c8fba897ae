//! Media paths seen from a raw-socket caller: symmetric RTP latching, the public address in
//! Contact and SDP, and prompts fetched over HTTP or stored as µ-law WAV.

mod support;

use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};
use support::{flow, Server, ServerOptions};

/// A minimal UAC on a raw socket: INVITE with an SDP whose RTP port is `sdp_rtp_port`, returns
/// the 200 OK text and ACKs it.
fn call(server_port: u16, sdp_rtp_port: u16, call_id: &str) -> (UdpSocket, String) {
    let sip = UdpSocket::bind("127.0.0.1:0").unwrap();
    sip.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let local = sip.local_addr().unwrap().port();
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {sdp_rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    let invite = format!(
        "INVITE sip:1000@127.0.0.1:{server_port} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{call_id}\r\n\
From: <sip:caller@127.0.0.1>;tag=c1\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:{local}>\r\nMax-Forwards: 70\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sip.send_to(invite.as_bytes(), ("127.0.0.1", server_port))
        .unwrap();
    let start = Instant::now();
    let mut buf = vec![0u8; 8192];
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok((n, _)) = sip.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("SIP/2.0 200") {
                let to = text
                    .lines()
                    .find(|l| l.starts_with("To:"))
                    .unwrap()
                    .to_string();
                let ack = format!(
                    "ACK sip:1000@127.0.0.1:{server_port} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-ack-{call_id}\r\n\
From: <sip:caller@127.0.0.1>;tag=c1\r\n{to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n\
Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                );
                sip.send_to(ack.as_bytes(), ("127.0.0.1", server_port))
                    .unwrap();
                return (sip, text);
            }
        }
    }
    panic!("no 200 OK");
}

fn sdp_port(answer: &str) -> u16 {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split(' ').next())
        .and_then(|p| p.parse().ok())
        .expect("m=audio in the answer")
}

fn rtp_packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend(std::iter::repeat_n(0xFFu8, 160));
    p
}

fn count_rtp(s: &UdpSocket, for_ms: u64) -> usize {
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let start = Instant::now();
    let mut n = 0;
    let mut buf = [0u8; 2048];
    while start.elapsed() < Duration::from_millis(for_ms) {
        if s.recv_from(&mut buf).is_ok() {
            n += 1;
        }
    }
    n
}

#[test]
fn rtp_latches_onto_the_address_the_caller_actually_sends_from() {
    let server = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "answer"}, {"type": "sleep", "option": {"duration": 3000}}, {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let advertised = UdpSocket::bind("127.0.0.1:0").unwrap();
    let actual = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (_sip, ok) = call(
        server.sip_port,
        advertised.local_addr().unwrap().port(),
        "latch-1",
    );
    let server_rtp = sdp_port(&ok);
    // Before the caller sends anything, RTP goes where the SDP said.
    assert!(count_rtp(&advertised, 300) >= 10);
    // The caller's media really comes from another port (a NAT): the server follows it.
    for seq in 0..5 {
        actual
            .send_to(&rtp_packet(seq), ("127.0.0.1", server_rtp))
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    let _ = count_rtp(&advertised, 60);
    assert!(
        count_rtp(&actual, 400) >= 15,
        "no RTP at the latched address"
    );
    assert_eq!(
        count_rtp(&advertised, 200),
        0,
        "RTP still sent to the SDP address"
    );
    assert!(server.metric("switchyard_rtp_packets_received_total") >= 5.0);
}

#[test]
fn public_address_goes_into_contact_and_sdp() {
    let server = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "answer"}, {"type": "sleep", "option": {"duration": 200}}, {"type": "hangup"}
                ]),
            ),
        )],
        env: vec![("SWITCHYARD__SIP__PUBLIC_ADDRESS", "203.0.113.7".into())],
        ..Default::default()
    });
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (_sip, ok) = call(server.sip_port, rtp.local_addr().unwrap().port(), "pub-1");
    assert!(ok.contains("c=IN IP4 203.0.113.7"), "{ok}");
    assert!(
        ok.lines()
            .any(|l| l.starts_with("Contact:") && l.contains("203.0.113.7")),
        "{ok}"
    );
}

/// Serve `body` as audio/wav to every request, for `count` requests.
fn http_server(body: Vec<u8>, count: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(count) {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(&body);
        }
    });
    port
}

#[test]
fn play_fetches_http_wav_and_plays_mulaw_wav_files() {
    let dir = support::tempdir::Dir::new("http-wav");
    let wav = dir.path().join("t.wav");
    support::write_tone_wav(&wav, 300.0, 0.5);
    let mut bytes = Vec::new();
    std::fs::File::open(&wav)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    let port = http_server(bytes, 4);
    let server = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "play", "option": {"stream_urls": [format!("http://127.0.0.1:{port}/prompts/t.wav")]}},
                    {"type": "play", "option": {"stream_urls": ["test-prompt-ulaw.wav"]}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let run = server.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40300"]);
    assert!(run.success, "{}\n{}", run.output, server.log());
    assert!(server.wait_for(Duration::from_secs(5), |s| s
        .metric("switchyard_calls_total{outcome=\"completed\"}")
        == 1.0));
    assert_eq!(
        server.metric("switchyard_actions_failed_total"),
        0.0,
        "{}",
        server.log()
    );
    // 0.5 s + 3 s of prompts: at least 170 frames went out.
    assert!(server.metric("switchyard_rtp_packets_sent_total") >= 170.0);
}
