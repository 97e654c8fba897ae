//! baresip, a real softphone, dials in, hears the prompt, presses 2, and the menu takes branch
//! "two": once with an RFC 4733 telephone-event, once with an in-band tone.
//!
//! baresip runs headless as in `baresip_call.rs` (no sound card: the `aufile` source, no player),
//! plus the `ctrl_tcp` module, through which the test drives it once the server waits in
//! `digits_receive` (netstring-framed JSON commands on a TCP port of the test's choosing). It
//! dials through [`SdpRelay`], a small UDP relay on 127.0.0.1 for the INVITE transaction, which
//! shows the test the SDP both sides agreed on and can change it:
//!
//! - RFC 4733: the relay passes everything unchanged; baresip always offers
//!   `telephone-event/8000` and the server's answer must accept it. Then
//!   `{"command":"sndcode","params":"2"}` (the `menu` module's "Send Code") makes baresip send
//!   the key as telephone-events. baresip's audio is silence throughout, so the digit can only
//!   come from the events.
//! - In-band: baresip 1.0.0 has no setting to leave telephone-event out of its offer, and once it
//!   is negotiated the server listens for events, not tones. So the relay deletes
//!   telephone-event from the SDP: a phone that cannot do RFC 4733, and the server's answer
//!   must not have it. Then `{"command":"ausrc","params":"aufile,<file>"}` (the `menu` module's
//!   "Switch audio source") makes baresip send a WAV file holding the DTMF tone for 2
//!   (697 Hz + 1336 Hz, 200 ms) followed by silence; the server has to find the key in the
//!   audio.
//!
//! Either way the activeflow must end with `chosen` = "2", and the executed actions must include
//! "two" and neither "one" nor "other".

mod support;

use serde_json::{json, Value};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use support::baresip::{Baresip, Options};
use support::{flow, http, require, tempdir, Server, ServerOptions};

/// The digit baresip presses, and the action the menu must reach for it.
const DIGIT: &str = "2";
const TARGET: &str = "two";
/// The key's row and column frequencies (ITU-T Q.23): 697 Hz + 1336 Hz is 2.
const DIGIT_HZ: (f32, f32) = (697.0, 1336.0);

fn menu_flow() -> String {
    flow(
        "menu",
        json!([
            {"type": "answer"},
            {"id": "ask", "type": "talk", "option": {"text": "press a key"}},
            {"type": "digits_receive", "option": {"duration": 8000, "length": 1}},
            {"type": "variable_set", "option": {"key": "chosen", "value": "${call.digits}"}},
            {"type": "branch", "option": {"target_ids": {"1": "one", "2": "two"}, "default_target_id": "other"}},
            {"id": "one", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "two", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "other", "type": "hangup"}
        ]),
    )
}

fn menu_server() -> Server {
    Server::start(ServerOptions {
        flows: vec![("menu", menu_flow())],
        ..Default::default()
    })
}

#[test]
fn baresip_rfc4733_digit_selects_the_branch() {
    require("baresip");
    let server = menu_server();
    let relay = SdpRelay::start(server.sip_port, false);
    let dir = tempdir::Dir::new("baresip-rfc4733");
    let silence = dir.path().join("silence.wav");
    write_wav(&silence, &vec![0; 8000 * 20]);
    let mut baresip = Baresip::dial(
        dir.path(),
        &format!("sip:1000@127.0.0.1:{}", relay.port),
        Options {
            source: &silence,
            record: false,
            control: true,
            // PCMU only: both sides then use G.711 µ-law, whatever the server prefers.
            account_params: ";audio_codecs=PCMU",
            quit_after_s: 25,
        },
    );

    wait_for_digits_receive(&server, &baresip, &relay);
    // Before pressing: the server accepted baresip's telephone-event.
    let answer = relay.answer();
    assert!(
        answer
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().contains("telephone-event/8000")),
        "the server's answer has no telephone-event, or was not seen: {answer:?}\n{}",
        diagnostics(&server, &baresip, &relay)
    );

    let reply = baresip.command("sndcode", DIGIT);
    assert_eq!(
        reply["ok"],
        true,
        "sndcode failed: {reply}\n{}",
        diagnostics(&server, &baresip, &relay)
    );

    let af = ended_activeflow(&server, &baresip, &relay);
    baresip.stop();
    let ctx = || diagnostics(&server, &baresip, &relay);
    assert!(
        baresip
            .output()
            .contains(&format!("send DTMF digit: '{DIGIT}'")),
        "baresip did not send the digit as a telephone-event\n{}",
        ctx()
    );
    assert_branch(&af, &ctx);
}

#[test]
fn baresip_inband_tone_selects_the_branch() {
    require("baresip");
    let server = menu_server();
    let relay = SdpRelay::start(server.sip_port, true);
    let dir = tempdir::Dir::new("baresip-inband");
    let silence = dir.path().join("silence.wav");
    write_wav(&silence, &vec![0; 8000 * 20]);
    // The key press: 100 ms of silence, 200 ms of tone, then silence beyond the call's end
    // (aufile ends the call when its file ends).
    let key = dir.path().join("key2.wav");
    let mut samples = vec![0i16; 800];
    samples.extend(dtmf_tone(DIGIT_HZ.0, DIGIT_HZ.1, 200));
    samples.extend(vec![0; 8000 * 15]);
    write_wav(&key, &samples);

    let mut baresip = Baresip::dial(
        dir.path(),
        &format!("sip:1000@127.0.0.1:{}", relay.port),
        Options {
            source: &silence,
            record: false,
            control: true,
            // PCMU only: both sides then use G.711 µ-law, whatever the server prefers.
            account_params: ";audio_codecs=PCMU",
            quit_after_s: 25,
        },
    );

    wait_for_digits_receive(&server, &baresip, &relay);
    // Before pressing: the SDP both sides agreed on has no telephone-event.
    let (offer, answer) = (relay.forwarded_offer(), relay.answer());
    assert!(
        offer.as_deref().is_some_and(
            |o| o.contains("m=audio") && !o.to_ascii_lowercase().contains("telephone-event")
        ),
        "the offer the server got still has telephone-event: {offer:?}\n{}",
        diagnostics(&server, &baresip, &relay)
    );
    assert!(
        answer.as_deref().is_some_and(
            |a| a.contains("m=audio") && !a.to_ascii_lowercase().contains("telephone-event")
        ),
        "the server's answer has telephone-event, or was not seen: {answer:?}\n{}",
        diagnostics(&server, &baresip, &relay)
    );

    let reply = baresip.command("ausrc", &format!("aufile,{}", key.display()));
    assert_eq!(
        reply["ok"],
        true,
        "ausrc failed: {reply}\n{}",
        diagnostics(&server, &baresip, &relay)
    );

    let af = ended_activeflow(&server, &baresip, &relay);
    baresip.stop();
    let ctx = || diagnostics(&server, &baresip, &relay);
    assert!(
        !baresip.output().contains("send DTMF digit"),
        "baresip sent a telephone-event\n{}",
        ctx()
    );
    assert_branch(&af, &ctx);
}

/// `chosen` is the digit, "two" ran, "one" and "other" did not.
fn assert_branch(af: &Value, ctx: &dyn Fn() -> String) {
    assert_eq!(
        af["variables"]["chosen"],
        DIGIT,
        "activeflow: {af}\n{}",
        ctx()
    );
    let ids: Vec<&str> = af["executed_actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&TARGET),
        "{TARGET} did not run: {ids:?}\n{}",
        ctx()
    );
    assert!(
        !ids.contains(&"one") && !ids.contains(&"other"),
        "a wrong branch ran: {ids:?}\n{}",
        ctx()
    );
}

/// Wait (≤ 10 s) until the call's activeflow is in `digits_receive`, i.e. the prompt is over.
fn wait_for_digits_receive(server: &Server, baresip: &Baresip, relay: &SdpRelay) {
    let waiting = server.wait_for(Duration::from_secs(10), |s| {
        http(s.api_port, "GET", "/v1/activeflows", None, &[]).json()["activeflows"]
            .as_array()
            .is_some_and(|afs| {
                afs.iter()
                    .any(|af| af["current_action"]["type"] == "digits_receive")
            })
    });
    assert!(
        waiting,
        "no activeflow reached digits_receive\n{}",
        diagnostics(server, baresip, relay)
    );
}

/// The activeflow of the one call, once the call has ended (≤ 12 s: `digits_receive` gives up
/// after 8 s).
fn ended_activeflow(server: &Server, baresip: &Baresip, relay: &SdpRelay) -> Value {
    let calls = || http(server.api_port, "GET", "/v1/calls", None, &[]).json();
    let ended = server.wait_for(Duration::from_secs(12), |_| {
        calls()["calls"][0]["status"] == "ended"
    });
    assert!(
        ended,
        "the call did not end: {}\n{}",
        calls(),
        diagnostics(server, baresip, relay)
    );
    let calls = calls();
    let id = calls["calls"][0]["activeflow_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no activeflow_id: {calls}"))
        .to_string();
    http(
        server.api_port,
        "GET",
        &format!("/v1/activeflows/{id}"),
        None,
        &[],
    )
    .json()
}

/// A UDP relay between one SIP client and the server for the INVITE transaction; with `strip`,
/// it deletes telephone-event from every SDP body passing through (and fixes Content-Length),
/// else it passes messages unchanged. It keeps what it forwarded, for the assertions. In-dialog
/// requests follow the Contact headers and bypass it; RTP never touches it. Stops on drop.
struct SdpRelay {
    port: u16,
    /// Every message after rewriting, with whether it went to the server.
    seen: Arc<Mutex<Vec<(bool, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SdpRelay {
    fn start(server_port: u16, strip: bool) -> SdpRelay {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let server: SocketAddr = ([127, 0, 0, 1], server_port).into();
        let seen: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut client: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 65536];
            while !stop2.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let text = if strip {
                    strip_telephone_event(&text)
                } else {
                    text
                };
                let to_server = from != server;
                let to = if to_server {
                    client = Some(from);
                    server
                } else if let Some(c) = client {
                    c
                } else {
                    continue;
                };
                let _ = socket.send_to(text.as_bytes(), to);
                seen2.lock().unwrap().push((to_server, text));
            }
        });
        SdpRelay {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The SDP of the first INVITE forwarded to the server.
    fn forwarded_offer(&self) -> Option<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|(to_server, m)| *to_server && m.starts_with("INVITE "))
            .and_then(|(_, m)| body(m))
    }

    /// The SDP of the server's first 200 OK to the INVITE, as it passed through (the server
    /// answers to the relay, the address the INVITE came from).
    fn answer(&self) -> Option<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|(to_server, m)| {
                !*to_server && m.starts_with("SIP/2.0 200") && cseq_method(m) == Some("INVITE")
            })
            .and_then(|(_, m)| body(m))
    }

    fn transcript(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(to_server, m)| {
                format!(
                    "{}\n{m}\n",
                    if *to_server {
                        "--> server"
                    } else {
                        "<-- server"
                    }
                )
            })
            .collect()
    }
}

impl Drop for SdpRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The body of a SIP message, when it has a non-empty one.
fn body(message: &str) -> Option<String> {
    let (_, body) = message.split_once("\r\n\r\n")?;
    (!body.is_empty()).then(|| body.to_string())
}

/// The method of a message's CSeq header.
fn cseq_method(message: &str) -> Option<&str> {
    message.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("cseq")
            .then(|| value.split_whitespace().nth(1))?
    })
}

/// `message` with telephone-event removed from its SDP body: the payload types from the
/// `m=audio` line, their `a=rtpmap` and `a=fmtp` lines; Content-Length set to the new body.
/// Messages without an SDP body come back unchanged.
fn strip_telephone_event(message: &str) -> String {
    let Some((head, body)) = message.split_once("\r\n\r\n") else {
        return message.to_string();
    };
    if !body.contains("m=audio") {
        return message.to_string();
    }
    let events: Vec<String> = body
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (pt, encoding) = rest.split_once(' ')?;
            encoding
                .to_ascii_lowercase()
                .starts_with("telephone-event/")
                .then(|| pt.to_string())
        })
        .collect();
    let mut new_body = String::new();
    for line in body.lines() {
        let attribute_of_event = events.iter().any(|pt| {
            line.starts_with(&format!("a=rtpmap:{pt} "))
                || line.starts_with(&format!("a=fmtp:{pt} "))
        });
        if attribute_of_event {
            continue;
        }
        if let Some(rest) = line.strip_prefix("m=audio ") {
            // m=audio <port> <proto> <fmt>...
            let fields: Vec<&str> = rest.split(' ').collect();
            let kept: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|(i, f)| *i < 2 || !events.iter().any(|pt| pt == *f))
                .map(|(_, f)| *f)
                .collect();
            new_body.push_str(&format!("m=audio {}\r\n", kept.join(" ")));
            continue;
        }
        new_body.push_str(line);
        new_body.push_str("\r\n");
    }
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| match l.split_once(':') {
            Some((name, _))
                if name.trim().eq_ignore_ascii_case("content-length")
                    || name.trim().eq_ignore_ascii_case("l") =>
            {
                format!("Content-Length: {}", new_body.len())
            }
            _ => l.to_string(),
        })
        .collect();
    format!("{}\r\n\r\n{new_body}", head.join("\r\n"))
}

/// A DTMF key's dual tone at 8 kHz: `low_hz` + `high_hz`, each at -12 dBFS peak, `ms` long,
/// with 5 ms ramps.
fn dtmf_tone(low_hz: f32, high_hz: f32, ms: u32) -> Vec<i16> {
    let n = (8 * ms) as usize;
    let ramp = 40usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / 8000.0;
            let gain = (i.min(n - 1 - i) as f32 / ramp as f32).min(1.0);
            let v = (t * low_hz * std::f32::consts::TAU).sin()
                + (t * high_hz * std::f32::consts::TAU).sin();
            (v * 0.25 * gain * 32767.0) as i16
        })
        .collect()
}

/// An 8 kHz mono PCM16 WAV file.
fn write_wav(path: &Path, samples: &[i16]) {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// The server log, the relay's transcript and the tail of baresip's output.
fn diagnostics(server: &Server, baresip: &Baresip, relay: &SdpRelay) -> String {
    let out = baresip.output();
    let tail: String = {
        let chars: Vec<char> = out.chars().collect();
        chars[chars.len().saturating_sub(6000)..].iter().collect()
    };
    format!(
        "--- server log ---\n{}\n--- relay ---\n{}\n--- baresip output (tail) ---\n{tail}",
        server.log(),
        relay.transcript()
    )
}
