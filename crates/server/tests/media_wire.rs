//! What crosses the wire for barge-in, digits_send (RFC 4733 out) and echo, seen by a
//! raw-socket caller.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::raw::{call, collect, event_packet};
use support::{flow, http, Server, ServerOptions};

#[test]
fn digits_send_emits_rfc4733_events_with_three_end_packets() {
    let s = Server::start(ServerOptions {
        flows: vec![(
            "f",
            flow(
                "f",
                json!([
                    {"type": "answer"},
                    {"type": "sleep", "option": {"duration": 300}},
                    {"type": "digits_send", "option": {"digits": "12#", "duration": 100, "interval": 100}},
                    {"type": "sleep", "option": {"duration": 300}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let c = call(s.sip_port, "send-1");
    let packets = collect(&c.rtp, 2000);
    let events: Vec<_> = packets.iter().filter(|p| p.0 == 101).collect();
    let mut digits = Vec::new();
    for e in &events {
        let (code, end) = (e.3[0], e.3[1] & 0x80 != 0);
        if e.1 {
            digits.push(code);
        }
        let _ = end;
    }
    assert_eq!(digits, vec![1, 2, 11], "one marker per digit: {events:?}");
    for code in [1u8, 2, 11] {
        let of: Vec<_> = events.iter().filter(|e| e.3[0] == code).collect();
        let ends = of.iter().filter(|e| e.3[1] & 0x80 != 0).count();
        assert_eq!(ends, 3, "digit {code}: three end packets");
        assert!(
            of.iter().all(|e| e.2 == of[0].2),
            "digit {code}: one timestamp for the event"
        );
        let last = u16::from_be_bytes([of[of.len() - 1].3[2], of[of.len() - 1].3[3]]);
        assert_eq!(last, 800, "digit {code}: 100 ms = 800 ticks");
    }
}

#[test]
fn a_digit_stops_a_prompt_at_once_and_is_kept_for_digits_receive() {
    let dir = support::tempdir::Dir::new("barge");
    let long = dir.path().join("long.wav");
    support::write_tone_wav(&long, 500.0, 10.0);
    let s = Server::start(ServerOptions {
        flows: vec![(
            "f",
            flow(
                "f",
                json!([
                    {"type": "answer"},
                    {"type": "play", "option": {"stream_urls": [format!("file://{}", long.display())], "digits_handle": "next"}},
                    {"type": "digits_receive", "option": {"duration": 3000, "length": 1}},
                    {"type": "variable_set", "option": {"key": "chosen", "value": "${call.digits}"}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let c = call(s.sip_port, "barge-1");
    let _ = collect(&c.rtp, 500);
    let t0 = Instant::now();
    for (i, end) in [(0u16, false), (1, false), (2, true), (3, true), (4, true)] {
        let p = event_packet(i, 5000, 7, end, 160 * (i + 1), i == 0);
        c.rtp.send_to(&p, ("127.0.0.1", c.server_rtp)).unwrap();
    }
    // The tone stops: the frames after the digit are silence (µ-law 0xFF) within ~2 frames.
    let after = collect(&c.rtp, 300);
    let audio: Vec<_> = after.iter().filter(|p| p.0 == 0).collect();
    let loud = audio
        .iter()
        .take_while(|p| p.3.iter().any(|&b| b != 0xFF))
        .count();
    assert!(loud <= 3, "{loud} tone frames after the digit");
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The flow goes on and the digit reached digits_receive.
    let calls = http(s.api_port, "GET", "/v1/calls", None, &[]).json();
    let af_id = calls["calls"][0]["activeflow_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/activeflows/{af_id}");
    assert!(s.wait_for(Duration::from_secs(5), |s| {
        http(s.api_port, "GET", &path, None, &[]).json()["status"] == "ended"
    }));
    let af = http(s.api_port, "GET", &path, None, &[]).json();
    assert_eq!(af["variables"]["chosen"], "7", "{af}");
    drop(c.sip);
}

#[test]
fn echo_returns_the_callers_audio() {
    let s = Server::start(ServerOptions {
        flows: vec![(
            "f",
            flow(
                "f",
                json!([
                    {"type": "answer"},
                    {"type": "echo", "option": {"duration": 3000}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let c = call(s.sip_port, "echo-1");
    std::thread::sleep(Duration::from_millis(200));
    // 40 frames of a recognisable payload.
    let marker: Vec<u8> = (0..160u32).map(|i| (i % 100) as u8 + 20).collect();
    let mut seen = 0;
    c.rtp
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut buf = [0u8; 2048];
    for i in 0..40u16 {
        let mut p = vec![0x80, 0];
        p.extend_from_slice(&i.to_be_bytes());
        p.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
        p.extend_from_slice(&0x0a0b_0c0du32.to_be_bytes());
        p.extend_from_slice(&marker);
        c.rtp.send_to(&p, ("127.0.0.1", c.server_rtp)).unwrap();
        let until = Instant::now() + Duration::from_millis(20);
        while Instant::now() < until {
            if let Ok((n, _)) = c.rtp.recv_from(&mut buf) {
                if n == 172 && buf[12..n] == marker[..] {
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 30, "only {seen} of 40 frames echoed");
}

#[test]
fn a_key_bound_to_an_api_action_fires_it_during_a_prompt_and_the_answer_is_spoken() {
    let api = support::HttpStub::start(|_, _| {
        support::StubResponse::json(
            200,
            json!({"message": "One moment please.", "data": {"balance": "10"}}),
        )
    });
    let dir = support::tempdir::Dir::new("apiaction");
    let long = dir.path().join("long.wav");
    support::write_tone_wav(&long, 500.0, 8.0);
    let s = Server::start(ServerOptions {
        flows: vec![(
            "f",
            flow(
                "f",
                json!([
                    {"type": "answer"},
                    {"type": "play", "option": {"stream_urls": [format!("file://{}", long.display())]}},
                    {"type": "variable_set", "option": {"key": "done", "value": "${balance.balance}"}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let def = json!({"name": "balance", "description": "Say the account balance",
        "url": api.url("/balance"), "trigger": "dtmf", "key": "9",
        "body": {"who": "{{conversation_id}}", "caller": "${call.source.target}"},
        "say": "Your balance is {{balance}} dollars."});
    let r = http(
        s.api_port,
        "POST",
        "/v1/api-actions",
        Some(def.to_string().as_bytes()),
        &[],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let bad = http(
        s.api_port,
        "POST",
        "/v1/api-actions",
        Some(
            json!({"name": "x", "url": "https://x", "trigger": "dtmf"})
                .to_string()
                .as_bytes(),
        ),
        &[],
    );
    assert_eq!(bad.status, 400);
    let c = call(s.sip_port, "apiaction-1");
    let _ = collect(&c.rtp, 600);
    let t0 = Instant::now();
    for (i, end) in [(0u16, false), (1, true), (2, true), (3, true)] {
        let p = event_packet(i, 9000, 9, end, 160 * (i + 1), i == 0);
        c.rtp.send_to(&p, ("127.0.0.1", c.server_rtp)).unwrap();
    }
    // The envelope reached the API.
    let calls = http(s.api_port, "GET", "/v1/calls", None, &[]).json();
    let call_id = calls["calls"][0]["id"].as_str().unwrap().to_string();
    let af_id = calls["calls"][0]["activeflow_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(s.wait_for(Duration::from_secs(5), |_| !api.recorded().is_empty()));
    let env: serde_json::Value = serde_json::from_slice(&api.recorded()[0].body).unwrap();
    assert_eq!(env["action_id"], "balance");
    assert_eq!(env["trigger"], "dtmf");
    assert_eq!(env["conversation_id"], call_id.as_str());
    assert_eq!(env["payload"]["who"], call_id.as_str());
    assert_eq!(env["payload"]["caller"], "w@127.0.0.1");
    // The answer is spoken (speech, not the tone), then the flow goes on with the data.
    let after = collect(&c.rtp, 1500);
    let speech = after
        .iter()
        .filter(|p| p.0 == 0 && p.3.iter().any(|&b| b != 0xFF))
        .count();
    assert!(speech > 25, "only {speech} audio frames after the key");
    let path = format!("/v1/activeflows/{af_id}");
    assert!(s.wait_for(Duration::from_secs(10), |s| http(
        s.api_port,
        "GET",
        &path,
        None,
        &[]
    )
    .json()["status"]
        == "ended"));
    let af = http(s.api_port, "GET", &path, None, &[]).json();
    assert_eq!(af["variables"]["done"], "10", "{af}");
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "the prompt was not interrupted"
    );
}

#[test]
fn a_slow_webhook_gets_the_filler_instead_of_dead_air() {
    let slow = support::HttpStub::start(|_, _| support::StubResponse {
        delay: Duration::from_millis(2500),
        ..support::StubResponse::json(200, json!({"ok": "yes"}))
    });
    let s = Server::start(ServerOptions {
        flows: vec![(
            "f",
            flow(
                "f",
                json!([
                    {"type": "answer"},
                    {"type": "webhook_send", "option": {"sync": true, "uri": slow.url("/slow"), "method": "POST", "data": "{}"}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        env: vec![
            ("SWITCHYARD__CUSTOM_ACTIONS__FILLER", "beep".into()),
            ("SWITCHYARD__CUSTOM_ACTIONS__FILLER_AFTER_MS", "500".into()),
            ("SWITCHYARD__HTTP__TIMEOUT_MS", "5000".into()),
        ],
        ..Default::default()
    });
    let c = call(s.sip_port, "filler-1");
    let packets = collect(&c.rtp, 2300);
    let audio: Vec<bool> = packets
        .iter()
        .filter(|p| p.0 == 0)
        .map(|p| p.3.iter().any(|&b| b != 0xFF))
        .collect();
    let first_half_loud = audio.iter().take(20).filter(|l| **l).count();
    let later_loud = audio.iter().skip(35).filter(|l| **l).count();
    assert!(
        first_half_loud <= 2,
        "filler before filler_after: {first_half_loud}"
    );
    assert!(
        later_loud >= 20,
        "no filler while waiting: {later_loud} loud frames"
    );
}
