//! SIP behaviour checked with sipp against the real binary (scenarios in `tests/sipp/`).

mod support;

use serde_json::json;
use std::time::Duration;
use support::{flow, Server, ServerOptions};

fn server_with(actions: serde_json::Value) -> Server {
    Server::start(ServerOptions {
        flows: vec![("main", flow("main", actions))],
        ..Default::default()
    })
}

fn short_prompt_flow() -> serde_json::Value {
    json!([
        {"type": "answer"},
        {"type": "play", "option": {"stream_urls": ["beep"]}},
        {"type": "hangup"}
    ])
}

fn assert_ok(server: &Server, run: &support::SippRun) {
    assert!(
        run.success,
        "sipp failed:\n{}\n{}\n--- server log ---\n{}",
        run.output,
        run.errors,
        server.log()
    );
}

fn wait_idle(server: &Server) {
    assert!(
        server.wait_for(Duration::from_secs(10), |s| s
            .metric("switchyard_active_calls")
            == 0.0),
        "calls still active:\n{}",
        server.log()
    );
}

#[test]
fn basic_call_over_udp_is_answered_and_server_hangs_up() {
    let server = server_with(short_prompt_flow());
    let run = server.sipp("uac_server_bye.xml", &["-key", "rtp_port", "40100"]);
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"completed\"}"),
        1.0
    );
    assert!(server.metric("switchyard_rtp_packets_sent_total") >= 10.0);
}

#[test]
fn basic_call_over_tcp_is_answered_and_server_hangs_up() {
    let server = server_with(short_prompt_flow());
    let run = server.sipp(
        "uac_server_bye.xml",
        &["-t", "t1", "-key", "rtp_port", "40102"],
    );
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"completed\"}"),
        1.0
    );
}

#[test]
fn caller_hangs_up_mid_prompt_and_the_call_ends_cleanly() {
    let server = server_with(json!([
        {"type": "talk", "option": {"text": "This prompt is long enough that the caller hangs up while it is still playing, and that is fine.", "language": "en-US"}},
        {"type": "play", "option": {"stream_urls": ["tone-440"]}}
    ]));
    let run = server.sipp("uac_caller_bye.xml", &["-key", "rtp_port", "40104"]);
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"completed\"}"),
        1.0
    );
    assert!(
        server.log().contains("end_reason=Some(Hangup)"),
        "{}",
        server.log()
    );
}

#[test]
fn cancel_before_answer_gets_200_and_487() {
    let server = server_with(json!([
        {"type": "sleep", "option": {"duration": 5000}},
        {"type": "talk", "option": {"text": "too late", "language": "en-US"}}
    ]));
    let run = server.sipp("uac_cancel.xml", &["-key", "rtp_port", "40106"]);
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"cancelled\"}"),
        1.0
    );
}

#[test]
fn options_is_answered_with_capabilities() {
    let server = server_with(short_prompt_flow());
    let run = server.sipp("options.xml", &[]);
    assert_ok(&server, &run);
    let tcp = server.sipp("options.xml", &["-t", "t1"]);
    assert_ok(&server, &tcp);
}

#[test]
fn reinvite_hold_then_resume_is_answered_with_the_right_directions() {
    let server = server_with(json!([
        {"type": "answer"},
        {"type": "sleep", "option": {"duration": 20000}}
    ]));
    let run = server.sipp("uac_hold_resume.xml", &["-key", "rtp_port", "40108"]);
    assert_ok(&server, &run);
    wait_idle(&server);
}

#[test]
fn hold_resume_hold_answers_carry_consecutive_sdp_versions_on_the_wire() {
    let server = server_with(json!([
        {"type": "answer"},
        {"type": "sleep", "option": {"duration": 20000}}
    ]));
    let dir = support::tempdir::Dir::new("versions");
    let trace = dir.path().join("messages.log");
    let run = server.sipp(
        "uac_hold_resume_hold.xml",
        &[
            "-key",
            "rtp_port",
            "40114",
            "-trace_msg",
            "-message_file",
            trace.to_str().unwrap(),
        ],
    );
    assert_ok(&server, &run);
    wait_idle(&server);
    // Every `o=` line switchyard sent, in order: the first answer, then the three re-answers.
    let log = std::fs::read_to_string(&trace).unwrap();
    let versions: Vec<u64> = log
        .lines()
        .filter(|l| l.starts_with("o=switchyard "))
        .map(|l| l.split(' ').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(versions.len(), 4, "{log}");
    let v = versions[1];
    assert_eq!(&versions[1..], [v, v + 1, v + 2], "{log}");
    assert_eq!(versions[0] + 1, v);
}

#[test]
fn no_common_codec_is_refused_with_488() {
    let server = server_with(short_prompt_flow());
    let run = server.sipp("uac_no_codec.xml", &["-key", "rtp_port", "40110"]);
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"rejected\"}"),
        1.0
    );
}

#[test]
fn malformed_invite_gets_400_and_is_counted() {
    let server = server_with(short_prompt_flow());
    let run = server.sipp("uac_malformed.xml", &["-key", "rtp_port", "40112"]);
    assert_ok(&server, &run);
    assert_eq!(
        server.metric("switchyard_sip_malformed_total{action=\"answered\"}"),
        1.0
    );
    assert_eq!(server.metric("switchyard_sip_invites_received_total"), 0.0);
}

#[test]
fn retransmitted_invite_is_one_call() {
    let server = server_with(json!([
        {"type": "sleep", "option": {"duration": 300}},
        {"type": "answer"},
        {"type": "play", "option": {"stream_urls": ["beep"]}},
        {"type": "hangup"}
    ]));
    let run = server.sipp("uac_retransmit.xml", &["-key", "rtp_port", "40114"]);
    assert_ok(&server, &run);
    wait_idle(&server);
    assert_eq!(server.metric("switchyard_sip_invites_received_total"), 1.0);
    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"completed\"}"),
        1.0
    );
}

#[test]
fn sigterm_refuses_new_calls_with_503_and_drains() {
    let mut server = server_with(json!([
        {"type": "answer"},
        {"type": "sleep", "option": {"duration": 1500}},
        {"type": "hangup"}
    ]));
    let port = server.sip_port;
    let call = std::thread::spawn(move || {
        support::sipp_against(port, "uac_server_bye.xml", &["-key", "rtp_port", "40116"])
    });
    assert!(server.wait_for(Duration::from_secs(5), |s| s
        .metric("switchyard_active_calls")
        == 1.0));
    let pid = server.child.as_ref().map(|c| c.id()).unwrap_or(0);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    std::thread::sleep(Duration::from_millis(200));
    // A new INVITE while draining gets 503.
    let invite = format!(
        "INVITE sip:1@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-drain\r\n\
From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: drain-1\r\nCSeq: 1 INVITE\r\n\
Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    let replies = support::udp_exchange(port, invite.as_bytes(), Duration::from_millis(300));
    assert!(
        replies.iter().any(|r| r.starts_with("SIP/2.0 503")),
        "{replies:?}"
    );
    let run = call.join().expect("sipp thread");
    assert_ok(&server, &run);
    assert_eq!(server.terminate(), Some(0));
}
