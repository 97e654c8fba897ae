//! Trunks against a real carrier on loopback: Kamailio as registrar and proxy with digest
//! authentication (tests/kamailio/trunk.cfg). Registration is challenged and kept fresh; a
//! `tel` call leaves through the trunk, answers the 407, and reaches the callee behind it.
//! The toll-fraud fence and the trunk's limits refuse what they must.

mod support;

use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{free_port, http, Server, ServerOptions};

/// Kamailio running tests/kamailio/trunk.cfg in its own process group.
struct Carrier {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: support::tempdir::Dir,
}

impl Carrier {
    fn start(password: &str, callee: &str) -> Carrier {
        support::require("kamailio");
        let dir = support::tempdir::Dir::new("kamailio");
        let port = free_port();
        let cfg = std::fs::read_to_string(support::repo_root().join("tests/kamailio/trunk.cfg"))
            .unwrap()
            .replace("PORT", &port.to_string())
            .replace("PASSWORD", password)
            .replace("CALLEE", callee);
        let cfg_path = dir.path().join("kamailio.cfg");
        std::fs::write(&cfg_path, cfg).unwrap();
        let log = dir.path().join("kamailio.log");
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(&cfg_path)
            .args(["-DD", "-E", "-m", "16", "-M", "4", "-Y"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .expect("start kamailio");
        let carrier = Carrier {
            child,
            port,
            log,
            _dir: dir,
        };
        let start = Instant::now();
        while !carrier.log().contains("init_tcp") && !carrier.log().contains("children") {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "kamailio did not start:\n{}",
                carrier.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        carrier
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }
}

impl Drop for Carrier {
    fn drop(&mut self) {
        // Kamailio forks its workers: stop the whole group.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

fn call_api(s: &Server, method: &str, path: &str, body: Value) -> support::HttpReply {
    http(
        s.api_port,
        method,
        path,
        Some(body.to_string().as_bytes()),
        &[],
    )
}

fn get(s: &Server, path: &str) -> Value {
    http(s.api_port, "GET", path, None, &[]).json()
}

fn body(r: &support::HttpReply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

#[test]
fn a_challenging_carrier_registers_us_keeps_us_fresh_and_takes_our_tel_calls() {
    let callee = support::raw::Callee::bind();
    let callee_addr = callee.uri().trim_start_matches("sip:bob@").to_string();
    let carrier = Carrier::start("s3cret", &callee_addr);
    let s = Server::start(ServerOptions::default());
    let secret = call_api(
        &s,
        "POST",
        "/v1/secrets",
        json!({"name": "carrier", "value": "s3cret"}),
    );
    assert!(secret.status < 300, "{}", body(&secret));
    let created = call_api(
        &s,
        "POST",
        "/v1/trunks",
        json!({
            "name": "carrier",
            "address": format!("sip:127.0.0.1:{}", carrier.port),
            "username": "acct",
            "password": "${secret.carrier}",
            "register": true,
            "expires": 60,
            "prefixes": ["+1*"],
            "from_user": "+14155550100"
        }),
    );
    assert_eq!(created.status, 201, "{}", body(&created));
    assert!(created.json().get("password").is_none(), "never shown");
    assert_eq!(created.json()["password_set"], true);
    assert!(
        s.wait_for(Duration::from_secs(5), |s| {
            get(s, "/v1/trunks/carrier")["registration"]["state"] == "registered"
        }),
        "not registered: {}\n{}\n{}",
        get(&s, "/v1/trunks/carrier"),
        carrier.log(),
        s.log()
    );
    assert!(
        carrier.count("CHALLENGE REGISTER acct") >= 1,
        "{}",
        carrier.log()
    );
    // The carrier grants 4 s: the binding is refreshed every 2 s.
    std::thread::sleep(Duration::from_millis(4_500));
    assert!(
        carrier.count("REGISTERED acct") >= 3,
        "refreshes: {}\n{}",
        carrier.count("REGISTERED acct"),
        carrier.log()
    );
    assert_eq!(
        get(&s, "/v1/trunks/carrier")["registration"]["state"],
        "registered"
    );
    let metrics = s.http_get("/metrics").unwrap();
    assert!(
        metrics.contains("switchyard_trunk_registered{trunk=\"carrier\"} 1"),
        "{metrics}"
    );

    // A tel call leaves through the trunk: 407, credentials, the callee behind the carrier.
    let reply = call_api(
        &s,
        "POST",
        "/v1/calls",
        json!({
            "source": {"type": "tel", "target": "+14155550100"},
            "destinations": [{"type": "tel", "target": "+12125550100"}],
            "actions": [
                {"type": "talk", "option": {"text": "Your table for four is confirmed."}},
                {"type": "hangup"}
            ]
        }),
    );
    assert_eq!(reply.status, 201, "{}", body(&reply));
    let id = reply.json()["calls"][0]["id"].as_str().unwrap().to_string();
    let invite = callee.answer(200);
    assert!(
        invite.starts_with("INVITE sip:+12125550100@127.0.0.1"),
        "{invite}"
    );
    assert!(
        carrier.count("AUTHORISED INVITE +12125550100 from +14155550100") == 1
            && carrier.count("CHALLENGE INVITE +12125550100") == 1,
        "{}",
        carrier.log()
    );
    let frames = support::raw::collect(&callee.rtp, 1500);
    assert!(frames.len() > 20, "{} frames\n{}", frames.len(), s.log());
    assert!(
        callee.answer_bye(Duration::from_secs(15)),
        "no BYE:\n{}\n{}",
        carrier.log(),
        s.log()
    );
    assert!(
        carrier.count("IN-DIALOG BYE") == 1,
        "the BYE follows the carrier's Record-Route:\n{}",
        carrier.log()
    );
    let path = format!("/v1/calls/{id}");
    assert!(
        s.wait_for(Duration::from_secs(10), |s| get(s, &path)["status"]
            == "ended"),
        "{}",
        s.log()
    );
    assert_eq!(get(&s, &path)["outcome"], "completed");
    assert_eq!(get(&s, "/v1/trunks/carrier")["active_calls"], 0);

    // Removing the trunk removes the binding (REGISTER with expires 0).
    let before = carrier.count("REGISTERED acct");
    let deleted = http(s.api_port, "DELETE", "/v1/trunks/carrier", None, &[]);
    assert_eq!(deleted.status, 204);
    let start = Instant::now();
    while carrier.count("REGISTERED acct") == before && start.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(carrier.count("REGISTERED acct") > before, "no un-REGISTER");
    assert_eq!(get(&s, "/v1/trunks")["trunks"], json!([]));
}

#[test]
fn the_fence_and_the_trunk_limits_refuse_calls_with_clear_errors() {
    // A carrier that rings and never answers: the first call holds the trunk's only seat.
    let carrier = support::raw::Callee::bind();
    let port = carrier.sip.local_addr().unwrap().port();
    let trunk = format!(
        "[{{name = \"carrier\", address = \"sip:127.0.0.1:{port}\", prefixes = [\"+1*\"], max_calls = 1}}]"
    );
    let s = Server::start(ServerOptions {
        env: vec![
            ("SWITCHYARD__TRUNKS", trunk),
            ("SWITCHYARD__OUTBOUND__ALLOW", "[\"+1*\"]".into()),
        ],
        ..Default::default()
    });
    let originate = |number: &str| {
        call_api(
            &s,
            "POST",
            "/v1/calls",
            json!({
                "source": {"type": "tel", "target": "+14155550100"},
                "destinations": [{"type": "tel", "target": number}],
                "actions": [{"type": "hangup"}],
                "ring_timeout": 30
            }),
        )
    };
    let fenced = originate("+882345678");
    assert_eq!(fenced.status, 403, "{}", body(&fenced));
    assert_eq!(fenced.json()["error"]["code"], "forbidden_destination");
    let first = originate("+12125550100");
    assert_eq!(first.status, 201, "{}", body(&first));
    let (invite, from) = carrier
        .request("INVITE", Duration::from_secs(5))
        .expect("the INVITE reaches the carrier");
    assert!(
        invite.starts_with("INVITE sip:+12125550100@127.0.0.1:"),
        "{invite}"
    );
    carrier.respond(&invite, from, "180 Ringing", "");
    let second = originate("+12125550101");
    assert_eq!(second.status, 429, "{}", body(&second));
    assert_eq!(second.json()["error"]["code"], "trunk_limit");
    assert!(
        second.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_calls (1)"),
        "{}",
        body(&second)
    );
    let trunks = get(&s, "/v1/trunks");
    assert_eq!(trunks["trunks"][0]["origin"], "config", "{trunks}");
    assert_eq!(trunks["trunks"][0]["active_calls"], 1, "{trunks}");
    let deleted = http(s.api_port, "DELETE", "/v1/trunks/carrier", None, &[]);
    assert_eq!(
        deleted.status, 409,
        "a config trunk is changed in the config"
    );
    // Hanging the ringing call up (CANCEL, 487) gives the seat back.
    let id = first.json()["calls"][0]["id"].as_str().unwrap().to_string();
    http(
        s.api_port,
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        None,
        &[],
    );
    let (cancel, from) = carrier
        .request("CANCEL", Duration::from_secs(5))
        .expect("a CANCEL");
    carrier.respond(&cancel, from, "200 OK", "");
    carrier.respond(&invite, from, "487 Request Terminated", "");
    assert!(
        s.wait_for(Duration::from_secs(5), |s| {
            get(s, "/v1/trunks")["trunks"][0]["active_calls"] == 0
        }),
        "{}",
        s.log()
    );
    let again = originate("+12125550102");
    assert_eq!(again.status, 201, "{}", body(&again));
}

#[test]
fn a_trunks_inbound_call_routes_by_its_did_and_trusts_its_asserted_identity() {
    let trunk = "[{name = \"carrier\", address = \"sip:127.0.0.1:9\", username = \"acct\", \
        inbound_sources = [\"127.0.0.0/8\"]}]";
    let s = Server::start(ServerOptions {
        flows: vec![(
            "main",
            support::flow("main", json!([{"type": "answer"}, {"type": "hangup"}])),
        )],
        routes: vec![("+14155550123", "main")],
        env: vec![("SWITCHYARD__TRUNKS", trunk.into())],
    });
    // As a carrier delivers to a registered account: the Request-URI names the account, To
    // names the DID, and two P-Asserted-Identity headers name the caller.
    let sip = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sip.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let lp = sip.local_addr().unwrap().port();
    let body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 40002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let invite = format!(
        "INVITE sip:acct@127.0.0.1:{sp} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-pai1\r\n\
From: <sip:anonymous@anonymous.invalid>;tag=c1\r\nTo: <sip:+14155550123@carrier.example>\r\n\
Call-ID: pai-1\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:{lp}>\r\nMax-Forwards: 70\r\n\
P-Asserted-Identity: \"Front desk\" <sip:+12125550199@carrier.example>\r\n\
P-Asserted-Identity: <tel:+12125550199>\r\n\
Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        body.len(),
        sp = s.sip_port
    );
    sip.send_to(invite.as_bytes(), ("127.0.0.1", s.sip_port))
        .unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    let mut final_status = String::new();
    while start.elapsed() < Duration::from_secs(5) && final_status.is_empty() {
        if let Ok((n, _)) = sip.recv_from(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status = text.lines().next().unwrap_or_default().to_string();
            if !status.starts_with("SIP/2.0 1") && text.contains("CSeq: 1 INVITE") {
                final_status = status;
            }
        }
    }
    assert!(
        final_status.starts_with("SIP/2.0 200"),
        "routed by the DID in To: {final_status}\n{}",
        s.log()
    );
    let calls = get(&s, "/v1/calls");
    let call = &calls["calls"][0];
    assert_eq!(call["from"], "+12125550199", "{call}");
    let af = get(
        &s,
        &format!(
            "/v1/activeflows/{}",
            call["activeflow_id"].as_str().unwrap()
        ),
    );
    assert_eq!(
        af["variables"]["call.source.target"], "+12125550199",
        "{af}"
    );
    assert_eq!(
        af["variables"]["call.sip.header.p-asserted-identity"],
        "\"Front desk\" <sip:+12125550199@carrier.example>, <tel:+12125550199>",
        "{af}"
    );
}
