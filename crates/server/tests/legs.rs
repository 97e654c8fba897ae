//! Outbound legs against real callees on loopback (sipp, and a raw-socket callee that reads
//! our RTP). `connect`: the bridge carries the callee's audio to the caller, paced; ring-all
//! cancels the losers; busy and no answer give their results and the flow goes on.
//! `POST /v1/calls`: the flow runs once the callee answers; busy and ring-out end the call
//! without one.

mod support;

use serde_json::{json, Value};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{flow, free_port, http, Server, ServerOptions};

/// A sipp callee running one scenario of `tests/sipp/` in the background.
struct Callee {
    child: Child,
    port: u16,
    _dir: support::tempdir::Dir,
}

impl Callee {
    /// Start `scenario` with its placeholders replaced, listening on a free port.
    fn start(scenario: &str, replace: &[(&str, String)]) -> Callee {
        support::require("sipp");
        let dir = support::tempdir::Dir::new("callee");
        let mut text =
            std::fs::read_to_string(support::repo_root().join("tests/sipp").join(scenario))
                .unwrap();
        for (k, v) in replace {
            text = text.replace(k, v);
        }
        let path = dir.path().join(scenario);
        std::fs::write(&path, text).unwrap();
        let port = free_port();
        let media_port = free_port();
        let child = Command::new("sipp")
            .current_dir(dir.path())
            .arg("-sf")
            .arg(&path)
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-mp", &media_port.to_string(), "-m", "1", "-nostdin"])
            .args(["-timeout", "30", "-trace_err", "-error_file", "errors.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp");
        // sipp binds its SIP socket at once; a short wait keeps the first INVITE from racing it.
        std::thread::sleep(Duration::from_millis(300));
        Callee {
            child,
            port,
            _dir: dir,
        }
    }

    fn uri(&self) -> String {
        format!("sip:bob@127.0.0.1:{}", self.port)
    }

    /// Wait for sipp to finish its scenario; whether it succeeded.
    fn finished(mut self, within: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Callee {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw µ-law file of a sine tone, for sipp's rtp_stream.
fn ulaw_tone(path: &Path, freq: f32, secs: f32) {
    let n = (8000.0 * secs) as usize;
    let mut pcm = Vec::with_capacity(n);
    for i in 0..n {
        pcm.push(((i as f32 * freq * std::f32::consts::TAU / 8000.0).sin() * 8000.0) as i16);
    }
    let bytes: Vec<u8> = pcm.iter().map(|&s| ulaw(s)).collect();
    std::fs::write(path, bytes).unwrap();
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

/// Relative power of `freq` in `samples` (Goertzel), per sample.
fn tone_power(samples: &[f64], freq: f64) -> f64 {
    let k = 2.0 * (std::f64::consts::TAU * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len() as f64
}

/// The last call's activeflow, once the call has ended.
fn last_activeflow(s: &Server) -> Value {
    assert!(
        s.wait_for(Duration::from_secs(15), |s| {
            http(s.api_port, "GET", "/v1/calls", None, &[]).json()["calls"][0]["status"] == "ended"
        }),
        "the call did not end:\n{}",
        s.log()
    );
    let calls = http(s.api_port, "GET", "/v1/calls", None, &[]).json();
    let id = calls["calls"][0]["activeflow_id"]
        .as_str()
        .unwrap()
        .to_string();
    http(
        s.api_port,
        "GET",
        &format!("/v1/activeflows/{id}"),
        None,
        &[],
    )
    .json()
}

#[test]
fn connect_bridges_the_callees_audio_to_the_caller_and_the_flow_goes_on_after() {
    let dir = support::tempdir::Dir::new("tone");
    let tone = dir.path().join("tone.ulaw");
    ulaw_tone(&tone, 1000.0, 3.0);
    let callee = Callee::start(
        "uas_tone.xml",
        &[
            ("ANSWER_DELAY", "200".into()),
            ("HOLD_MS", "2500".into()),
            ("TONE_FILE", tone.display().to_string()),
        ],
    );
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "answer"},
                    {"type": "connect", "option": {"destinations": [{"type": "sip", "target": callee.uri()}]}},
                    {"type": "variable_set", "option": {"key": "result", "value": "${connect.result}"}},
                    {"type": "talk", "option": {"text": "The other side hung up. Goodbye."}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let caller = support::raw::call(s.sip_port, "connect-1");
    // What the caller hears, with arrival times.
    caller
        .rtp
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut got: Vec<(Instant, Vec<u8>)> = Vec::new();
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(6) {
        if let Ok((n, _)) = caller.rtp.recv_from(&mut buf) {
            if n > 12 && buf[1] & 0x7f == 0 {
                got.push((Instant::now(), buf[12..n].to_vec()));
            }
        }
    }
    // Frames that carry the 1 kHz tone: the bridged part of the call.
    let toned: Vec<&(Instant, Vec<u8>)> = got
        .iter()
        .filter(|(_, p)| {
            let pcm: Vec<f64> = p.iter().map(|&b| ulaw_decode(b)).collect();
            let energy = pcm.iter().map(|x| x * x).sum::<f64>() / pcm.len() as f64;
            energy > 1e5 && tone_power(&pcm, 1000.0) > 0.3 * energy * pcm.len() as f64 / 2.0
        })
        .collect();
    assert!(
        toned.len() > 80,
        "only {} of {} frames carry the callee's tone\n{}",
        toned.len(),
        got.len(),
        s.log()
    );
    let mut gaps: Vec<f64> = toned
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).as_secs_f64() * 1000.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let p99 = gaps[(gaps.len() * 99 / 100).min(gaps.len() - 1)];
    assert!(p99 < 25.0, "p99 inter-arrival {p99:.1} ms");
    let uri = callee.uri();
    assert!(callee.finished(Duration::from_secs(10)), "{}", s.log());
    answer_bye(&caller.sip);
    let af = last_activeflow(&s);
    assert_eq!(af["variables"]["result"], "answered", "{af}");
    assert_eq!(af["variables"]["connect.destination"], uri.as_str(), "{af}");
    let types: Vec<&str> = af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["answer", "connect", "variable_set", "talk", "hangup"],
        "{af}"
    );
    drop(caller);
}

/// Wait for the server's BYE on `sip` and answer it 200.
fn answer_bye(sip: &UdpSocket) {
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let Ok((n, from)) = sip.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("BYE ") {
            continue;
        }
        let keep = |name: &str| {
            text.lines()
                .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
                .map(|l| format!("{l}\r\n"))
                .collect::<String>()
        };
        let ok = format!(
            "SIP/2.0 200 OK\r\n{}{}{}{}{}Content-Length: 0\r\n\r\n",
            keep("via"),
            keep("from"),
            keep("to"),
            keep("call-id"),
            keep("cseq")
        );
        sip.send_to(ok.as_bytes(), from).unwrap();
        return;
    }
    panic!("no BYE from the server");
}

fn connect_flow(destinations: Value, ring_timeout: u64) -> String {
    flow(
        "main",
        json!([
            {"type": "answer"},
            {"type": "connect", "option": {"destinations": destinations, "ring_timeout": ring_timeout}},
            {"type": "condition_variable", "option": {"condition": "==", "variable": "connect.result", "value_type": "string", "value_string": "busy", "false_target_id": "not-busy"}},
            {"type": "variable_set", "option": {"key": "branch", "value": "busy"}},
            {"type": "hangup"},
            {"id": "not-busy", "type": "variable_set", "option": {"key": "branch", "value": "${connect.result}"}},
            {"type": "hangup"}
        ]),
    )
}

/// A caller that stays on the line (sipp ends when the server hangs up).
fn caller(s: &Server) -> support::SippRun {
    s.sipp(
        "uac_server_bye.xml",
        &["-key", "rtp_port", &free_port().to_string()],
    )
}

#[test]
fn ring_all_bridges_the_first_answer_and_cancels_the_others() {
    let dir = support::tempdir::Dir::new("tone");
    let tone = dir.path().join("tone.ulaw");
    ulaw_tone(&tone, 1000.0, 1.0);
    let ringing: Vec<Callee> = (0..2)
        .map(|_| Callee::start("uas_ring_cancel.xml", &[]))
        .collect();
    let answering = Callee::start(
        "uas_tone.xml",
        &[
            ("ANSWER_DELAY", "700".into()),
            ("HOLD_MS", "500".into()),
            ("TONE_FILE", tone.display().to_string()),
        ],
    );
    let destinations: Vec<Value> = ringing
        .iter()
        .chain([&answering])
        .map(|c| json!({"type": "sip", "target": c.uri()}))
        .collect();
    let s = Server::start(ServerOptions {
        flows: vec![("main", connect_flow(json!(destinations), 30))],
        ..Default::default()
    });
    let run = caller(&s);
    assert!(run.success, "{}\n{}", run.output, s.log());
    for c in ringing {
        assert!(
            c.finished(Duration::from_secs(5)),
            "a losing destination did not see CANCEL and 487:\n{}",
            s.log()
        );
    }
    assert!(answering.finished(Duration::from_secs(5)), "{}", s.log());
    let af = last_activeflow(&s);
    assert_eq!(af["variables"]["branch"], "answered", "{af}");
}

#[test]
fn a_busy_callee_gives_busy_and_the_flow_takes_its_branch() {
    let busy = Callee::start("uas_busy.xml", &[]);
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            connect_flow(json!([{"type": "sip", "target": busy.uri()}]), 30),
        )],
        ..Default::default()
    });
    let run = caller(&s);
    assert!(run.success, "{}\n{}", run.output, s.log());
    assert!(busy.finished(Duration::from_secs(5)), "{}", s.log());
    let af = last_activeflow(&s);
    assert_eq!(af["variables"]["branch"], "busy", "{af}");
    assert_eq!(af["variables"]["connect.sip_code"], "486", "{af}");
}

#[test]
fn nobody_answering_gives_noanswer_after_the_ring_timeout() {
    let ringing = Callee::start("uas_ring_cancel.xml", &[]);
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            connect_flow(json!([{"type": "sip", "target": ringing.uri()}]), 2),
        )],
        ..Default::default()
    });
    let started = Instant::now();
    let run = caller(&s);
    assert!(run.success, "{}\n{}", run.output, s.log());
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(ringing.finished(Duration::from_secs(5)), "{}", s.log());
    let af = last_activeflow(&s);
    assert_eq!(af["variables"]["branch"], "noanswer", "{af}");
}

#[test]
fn a_destination_that_does_not_answer_at_all_fails_the_connect() {
    // Nothing listens on this port: Timer B (32 s) is too long for a test, so ring_timeout
    // ends it; the leg is cancelled without ever ringing.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            connect_flow(
                json!([{"type": "sip", "target": format!("sip:nobody@127.0.0.1:{port}")}]),
                1,
            ),
        )],
        ..Default::default()
    });
    let run = caller(&s);
    assert!(run.success, "{}\n{}", run.output, s.log());
    let af = last_activeflow(&s);
    assert_eq!(af["variables"]["branch"], "noanswer", "{af}");
    drop(silent);
}

/// `POST /v1/calls` with `body`; the reply.
fn originate(s: &Server, body: Value) -> support::HttpReply {
    http(
        s.api_port,
        "POST",
        "/v1/calls",
        Some(body.to_string().as_bytes()),
        &[],
    )
}

/// The call `id` once it has ended.
fn ended_call(s: &Server, id: &str) -> Value {
    let path = format!("/v1/calls/{id}");
    assert!(
        s.wait_for(Duration::from_secs(15), |s| {
            http(s.api_port, "GET", &path, None, &[]).json()["status"] == "ended"
        }),
        "the call did not end:\n{}",
        s.log()
    );
    http(s.api_port, "GET", &path, None, &[]).json()
}

#[test]
fn an_originated_call_runs_its_flow_once_answered_and_the_callee_hears_it() {
    let callee = support::raw::Callee::bind();
    let s = Server::start(ServerOptions::default());
    let reply = originate(
        &s,
        json!({
            "source": {"type": "tel", "target": "+15550001"},
            "destinations": [{"type": "sip", "target": callee.uri()}],
            "actions": [
                {"type": "talk", "option": {"text": "Hello ${name}, this is switchyard calling."}},
                {"type": "hangup"}
            ],
            "variables": {"name": "Ada"},
            "ring_timeout": 20
        }),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let call = &reply.json()["calls"][0];
    assert_eq!(call["status"], "progressing");
    assert_eq!(call["destination"]["target"], callee.uri().as_str());
    let id = call["id"].as_str().unwrap().to_string();
    let invite = callee.answer(300);
    assert!(
        invite.contains("+15550001"),
        "the caller id is the source:\n{invite}"
    );
    assert!(
        invite.contains("m=audio "),
        "the INVITE carries our offer:\n{invite}"
    );
    // The prompt reaches the callee: voiced frames, from the answer on.
    let frames = support::raw::collect(&callee.rtp, 1500);
    let voiced = frames
        .iter()
        .filter(|(pt, _, _, p)| {
            *pt == 0 && {
                let pcm: Vec<f64> = p.iter().map(|&b| ulaw_decode(b)).collect();
                pcm.iter().map(|x| x * x).sum::<f64>() / pcm.len() as f64 > 1e4
            }
        })
        .count();
    assert!(
        voiced > 10,
        "{voiced} voiced frames of {}\n{}",
        frames.len(),
        s.log()
    );
    assert!(
        callee.answer_bye(Duration::from_secs(15)),
        "no BYE after the flow's hangup\n{}",
        s.log()
    );
    let record = ended_call(&s, &id);
    assert_eq!(record["direction"], "outgoing", "{record}");
    assert_eq!(record["hangup_side"], "switchyard", "{record}");
    assert!(record["answered_at"].is_string(), "{record}");
    let af = http(
        s.api_port,
        "GET",
        &format!(
            "/v1/activeflows/{}",
            record["activeflow_id"].as_str().unwrap()
        ),
        None,
        &[],
    )
    .json();
    assert_eq!(af["variables"]["call.direction"], "outgoing", "{af}");
    let types: Vec<&str> = af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["type"].as_str())
        .collect();
    assert_eq!(types, ["talk", "hangup"], "{af}");
}

#[test]
fn an_originated_call_to_a_busy_callee_ends_rejected_without_its_flow() {
    let busy = Callee::start("uas_busy.xml", &[]);
    let s = Server::start(ServerOptions::default());
    let reply = originate(
        &s,
        json!({
            "source": {"type": "tel", "target": "+15550001"},
            "destinations": [{"type": "sip", "target": busy.uri()}],
            "actions": [{"type": "talk", "option": {"text": "never said"}}]
        }),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let id = reply.json()["calls"][0]["id"].as_str().unwrap().to_string();
    assert!(busy.finished(Duration::from_secs(5)), "{}", s.log());
    let record = ended_call(&s, &id);
    assert_eq!(record["outcome"], "rejected", "{record}");
    assert_eq!(record["hangup_cause"], "busy", "{record}");
    assert_eq!(record["hangup_side"], "callee", "{record}");
    assert!(record["answered_at"].is_null(), "{record}");
}

#[test]
fn an_originated_call_nobody_answers_is_cancelled_at_its_ring_timeout() {
    let ringing = Callee::start("uas_ring_cancel.xml", &[]);
    let s = Server::start(ServerOptions::default());
    let started = Instant::now();
    let reply = originate(
        &s,
        json!({
            "source": {"type": "tel", "target": "+15550001"},
            "destinations": [{"type": "sip", "target": ringing.uri()}],
            "actions": [{"type": "talk", "option": {"text": "never said"}}],
            "ring_timeout": 1
        }),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let id = reply.json()["calls"][0]["id"].as_str().unwrap().to_string();
    assert!(
        ringing.finished(Duration::from_secs(5)),
        "the callee did not see CANCEL:\n{}",
        s.log()
    );
    let record = ended_call(&s, &id);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(record["hangup_cause"], "noanswer", "{record}");
    assert_eq!(record["outcome"], "rejected", "{record}");
}

#[test]
fn hanging_up_an_originated_call_while_it_rings_cancels_it() {
    let ringing = Callee::start("uas_ring_cancel.xml", &[]);
    let s = Server::start(ServerOptions::default());
    let reply = originate(
        &s,
        json!({
            "source": {"type": "tel", "target": "+15550001"},
            "destinations": [{"type": "sip", "target": ringing.uri()}],
            "actions": [{"type": "talk", "option": {"text": "never said"}}],
            "ring_timeout": 30
        }),
    );
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let id = reply.json()["calls"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/calls/{id}");
    assert!(
        s.wait_for(Duration::from_secs(5), |s| {
            http(s.api_port, "GET", &path, None, &[]).json()["status"] == "ringing"
        }),
        "{}",
        s.log()
    );
    let hangup = http(s.api_port, "POST", &format!("{path}/hangup"), None, &[]);
    assert_eq!(hangup.status, 202);
    assert!(
        ringing.finished(Duration::from_secs(5)),
        "the callee did not see CANCEL:\n{}",
        s.log()
    );
    let record = ended_call(&s, &id);
    assert_eq!(record["outcome"], "cancelled", "{record}");
}
