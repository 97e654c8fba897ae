//! More custom-action tests against the real binary: `api_request` over mutual TLS with a
//! certificate uploaded through the REST API, cycle rejection when publishing library custom
//! actions, an `after_capture` API action fired by RFC 4733 digits, and the `api_action` flow
//! step (failure path headless and in a call, success with data variables).

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::raw::{call, event_packet, Caller};
use support::{flow, http, HttpStub, Server, ServerOptions, StubResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

// ---------------------------------------------------------------------------------------------
// REST helpers

fn post(s: &Server, path: &str, body: &Value) -> support::HttpReply {
    http(
        s.api_port,
        "POST",
        path,
        Some(body.to_string().as_bytes()),
        &[],
    )
}

fn get(s: &Server, path: &str) -> Value {
    http(s.api_port, "GET", path, None, &[]).json()
}

fn text(r: &support::HttpReply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// Wait for the activeflow `id` to end; its final state.
fn ended(s: &Server, id: &str) -> Value {
    let path = format!("/v1/activeflows/{id}");
    assert!(
        s.wait_for(Duration::from_secs(10), |s| get(s, &path)["status"]
            == "ended"),
        "activeflow {id} did not end: {}\n{}",
        get(s, &path),
        s.log()
    );
    get(s, &path)
}

/// Wait for an ended activeflow of flow `flow_id`; its final state.
fn ended_of_flow(s: &Server, flow_id: &str) -> Value {
    let find = |s: &Server| {
        get(s, "/v1/activeflows?status=ended")["activeflows"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["flow_id"] == flow_id).cloned())
    };
    assert!(
        s.wait_for(Duration::from_secs(10), |s| find(s).is_some()),
        "no ended activeflow of flow {flow_id}: {}\n{}",
        get(s, "/v1/activeflows"),
        s.log()
    );
    find(s).unwrap()
}

/// A sipp call to `user` that the server hangs up; asserts it went through.
fn sipp_call(s: &Server, user: &str, rtp: &str) {
    let run = s.sipp("uac_server_bye.xml", &["-s", user, "-key", "rtp_port", rtp]);
    assert!(
        run.success,
        "sipp call to {user} failed:\n{}\n{}\n{}",
        run.output,
        run.errors,
        s.log()
    );
}

// ---------------------------------------------------------------------------------------------
// Certificates (openssl CLI) and an HTTPS server requiring a client certificate

const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `<name>.pem` and `<name>.key`: a CA when `issuer` is None, else a leaf with `ext` signed
/// by `issuer`.
fn make_cert(dir: &Path, name: &str, cn: &str, issuer: Option<&str>, ext: &str, serial: u32) {
    let key = format!("{name}.key");
    let pem = format!("{name}.pem");
    let subj = format!("/CN={cn}");
    let curve = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    match issuer {
        None => {
            let mut args = vec!["req", "-x509", "-new"];
            args.extend(curve);
            args.extend([
                "-keyout",
                &key,
                "-out",
                &pem,
                "-days",
                "30",
                "-config",
                "openssl.cnf",
                "-extensions",
                ext,
                "-subj",
                &subj,
            ]);
            openssl(dir, &args);
        }
        Some(ca) => {
            let csr = format!("{name}.csr");
            let mut args = vec!["req", "-new"];
            args.extend(curve);
            args.extend([
                "-keyout",
                &key,
                "-out",
                &csr,
                "-config",
                "openssl.cnf",
                "-subj",
                &subj,
            ]);
            openssl(dir, &args);
            let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
            let serial = serial.to_string();
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &ca_pem,
                    "-CAkey",
                    &ca_key,
                    "-set_serial",
                    &serial,
                    "-days",
                    "30",
                    "-out",
                    &pem,
                    "-extfile",
                    "openssl.cnf",
                    "-extensions",
                    ext,
                ],
            );
        }
    }
}

/// CA, server (127.0.0.1) and client certificates, plus a second, unrelated CA.
fn certificates() -> support::tempdir::Dir {
    support::require("openssl");
    let tmp = support::tempdir::Dir::new("mtls");
    let dir = tmp.path();
    std::fs::write(dir.join("openssl.cnf"), OPENSSL_CONFIG).unwrap();
    make_cert(dir, "ca", "Test CA", None, "ca", 0);
    make_cert(dir, "server", "127.0.0.1", Some("ca"), "server", 2);
    make_cert(dir, "client", "switchyard client", Some("ca"), "client", 3);
    make_cert(dir, "other-ca", "Other CA", None, "ca", 0);
    tmp
}

/// An HTTPS/1.1 server on 127.0.0.1 that completes the handshake only for client
/// certificates issued by `ca.pem`, and answers every request with `body` (JSON). Records,
/// for every request that got through, whether a client certificate was presented.
/// Stops (its runtime is shut down) on drop.
struct MtlsServer {
    port: u16,
    requests: Arc<Mutex<Vec<bool>>>,
    rt: Option<tokio::runtime::Runtime>,
}

impl MtlsServer {
    fn start(dir: &Path, body: String) -> MtlsServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
            .unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .unwrap();
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("server.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<bool>>> = Arc::default();
        let seen = requests.clone();
        rt.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, body, seen) = (acceptor.clone(), body.clone(), seen.clone());
                tokio::spawn(async move {
                    // A refused handshake (no or untrusted certificate) ends here.
                    let Ok(Ok(mut tls)) =
                        tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let client_cert = tls.get_ref().1.peer_certificates().is_some();
                    // Read the head and the body (Content-Length).
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                            let len: usize = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse().ok())
                                .unwrap_or(0);
                            if buf.len() >= i + 4 + len {
                                break;
                            }
                        }
                        match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut tmp)).await
                        {
                            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                            _ => return,
                        }
                    }
                    seen.lock().unwrap().push(client_cert);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes()).await;
                    let _ = tls.write_all(body.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        MtlsServer {
            port,
            requests,
            rt: Some(rt),
        }
    }

    fn requests(&self) -> Vec<bool> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for MtlsServer {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

fn mtls_flow(id: &str, port: u16, certificate: &str) -> String {
    flow(
        id,
        json!([
            {"type": "answer"},
            {"type": "api_request", "option": {
                "url": format!("https://127.0.0.1:{port}/x"),
                "certificate": certificate,
                "capture": [{"path": "response.account.tier", "variable": "tier"}],
                "timeout": 5000,
                "failure_target_id": "down"}},
            {"type": "branch", "option": {"variable": "tier", "target_ids": {"gold": "vip"}, "default_target_id": "other"}},
            {"id": "vip", "type": "variable_set", "option": {"key": "path", "value": "vip"}},
            {"type": "hangup"},
            {"id": "other", "type": "variable_set", "option": {"key": "path", "value": "other:${tier}"}},
            {"type": "hangup"},
            {"id": "down", "type": "variable_set", "option": {"key": "path", "value": "down:${api.error}"}},
            {"type": "hangup"}
        ]),
    )
}

#[test]
fn api_request_over_mutual_tls_with_an_uploaded_certificate_in_a_real_call() {
    let certs = certificates();
    let dir = certs.path();
    let tls = MtlsServer::start(dir, json!({"account": {"tier": "gold"}}).to_string());
    let s = Server::start(ServerOptions {
        flows: vec![
            ("good", mtls_flow("good", tls.port, "crm-mtls")),
            ("wrong", mtls_flow("wrong", tls.port, "crm-wrong-ca")),
        ],
        routes: vec![("100", "good"), ("200", "wrong")],
        ..Default::default()
    });
    // The harness lets the server reach 127.0.0.1 (http.allow_private).
    let config = std::fs::read_to_string(&s.config_path).unwrap();
    assert!(
        config.contains("allow_private = [\"127.0.0.1\"]"),
        "{config}"
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    // The client certificate, trusting the CA that signed the server's certificate.
    let r = post(
        &s,
        "/v1/certificates",
        &json!({"name": "crm-mtls", "cert_pem": read("client.pem"),
                "key_pem": read("client.key"), "ca_pem": read("ca.pem")}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    assert!(!text(&r).contains("PRIVATE KEY"), "{}", text(&r));
    // The same client certificate, trusting an unrelated CA.
    let r = post(
        &s,
        "/v1/certificates",
        &json!({"name": "crm-wrong-ca", "cert_pem": read("client.pem"),
                "key_pem": read("client.key"), "ca_pem": read("other-ca.pem")}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    // Listed by name, never with key material.
    let list = http(s.api_port, "GET", "/v1/certificates", None, &[]);
    assert_eq!(list.status, 200);
    let body = text(&list);
    assert!(!body.contains("PRIVATE KEY"), "key material listed: {body}");
    let listed = list.json();
    let names: Vec<&str> = listed["certificates"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        names.contains(&"crm-mtls") && names.contains(&"crm-wrong-ca"),
        "{body}"
    );

    // With the right certificate and CA: the handshake succeeds, the tier is captured.
    sipp_call(&s, "100", "40640");
    let af = ended_of_flow(&s, "good");
    assert_eq!(af["variables"]["path"], "vip", "{af}");
    // (`branch` clears the variable it read, flows.md; the response body shows the tier.)
    assert_eq!(
        af["variables"]["api.body"], r#"{"account":{"tier":"gold"}}"#,
        "{af}"
    );
    assert_eq!(af["variables"]["api.status"], "200", "{af}");
    assert_eq!(
        tls.requests(),
        vec![true],
        "one request, with a client cert"
    );

    // Trusting the wrong CA: the server's certificate is refused, the failure path is taken.
    sipp_call(&s, "200", "40642");
    let af = ended_of_flow(&s, "wrong");
    let path = af["variables"]["path"].as_str().unwrap_or("").to_string();
    assert!(path.starts_with("down:"), "{af}");
    assert!(path.contains("TLS"), "the error should name TLS: {path}");
    assert_eq!(af["variables"]["api.status"], "", "no HTTP status: {af}");
    assert_eq!(
        tls.requests().len(),
        1,
        "no request got through the bad TLS"
    );
}

// ---------------------------------------------------------------------------------------------
// Cycle rejection at publish

fn definition(name: &str, version: &str, uses: Option<&str>) -> Value {
    let mut actions = Vec::new();
    if let Some(other) = uses {
        actions.push(json!({"type": "custom_action", "option": {
            "name": other, "version": "^1", "outputs": {"done": "out"}}}));
    } else {
        actions.push(json!({"type": "variable_set", "option": {"key": "x", "value": "1"}}));
    }
    actions.push(json!({"id": "out", "type": "output", "option": {"path": "done"}}));
    json!({"name": name, "version": version, "description": "test", "outputs": ["done"],
           "actions": actions})
}

fn publish(s: &Server, name: &str, version: &str) -> support::HttpReply {
    post(
        s,
        &format!("/v1/custom-actions/{name}/versions/{version}/publish"),
        &json!({"visibility": "organization"}),
    )
}

#[test]
fn publishing_a_version_that_closes_a_cycle_is_refused() {
    let s = Server::start(ServerOptions {
        flows: vec![("f", flow("f", json!([{"type": "hangup"}])))],
        ..Default::default()
    });
    // b 1.0.0 uses nothing; a 1.0.0 uses b ^1.
    let r = post(&s, "/v1/custom-actions", &definition("b", "1.0.0", None));
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = publish(&s, "b", "1.0.0");
    assert_eq!(r.status, 200, "{}", text(&r));
    let r = post(
        &s,
        "/v1/custom-actions",
        &definition("a", "1.0.0", Some("b")),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = publish(&s, "a", "1.0.0");
    assert_eq!(r.status, 200, "a -> b is no cycle: {}", text(&r));
    // b 1.1.0 uses a ^1, which uses b ^1: a -> b -> a.
    let r = post(
        &s,
        "/v1/custom-actions",
        &definition("b", "1.1.0", Some("a")),
    );
    assert_eq!(r.status, 201, "a draft may be saved: {}", text(&r));
    let r = publish(&s, "b", "1.1.0");
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.json()["error"]["code"], "nesting", "{}", text(&r));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cycle"),
        "{}",
        text(&r)
    );
    // The refused version stays a draft; the published ones are unchanged.
    assert_eq!(
        get(&s, "/v1/custom-actions/b/versions/1.1.0")["status"],
        "draft"
    );
    assert_eq!(
        get(&s, "/v1/custom-actions/b/versions/1.0.0")["status"],
        "published"
    );
    assert_eq!(
        get(&s, "/v1/custom-actions/a/versions/1.0.0")["status"],
        "published"
    );
    // A custom action that uses itself is a cycle too.
    let r = post(
        &s,
        "/v1/custom-actions",
        &definition("selfish", "1.0.0", Some("selfish")),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = publish(&s, "selfish", "1.0.0");
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.json()["error"]["code"], "nesting", "{}", text(&r));
}

// ---------------------------------------------------------------------------------------------
// A raw-socket caller (RFC 4733 digits)

/// Send `digits` (0-9) as RFC 4733 events: per digit a new timestamp, the marker on the
/// first packet, two progress packets and three end packets.
fn send_digits(c: &Caller, digits: &[u8]) {
    let mut seq = 100u16;
    for (n, &d) in digits.iter().enumerate() {
        let ts = 20_000 + n as u32 * 4_000;
        for (i, end) in [(0u16, false), (1, false), (2, true), (3, true), (4, true)] {
            let duration = 160 * (i.min(2) + 1);
            let p = event_packet(seq, ts, d, end, duration, i == 0);
            c.rtp.send_to(&p, ("127.0.0.1", c.server_rtp)).unwrap();
            seq = seq.wrapping_add(1);
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(60));
    }
}

/// Answer the server's BYE (if any) with a 200 OK until `until` holds or `timeout` passes.
fn answer_bye_until(c: &Caller, timeout: Duration, mut until: impl FnMut() -> bool) -> bool {
    let mut buf = vec![0u8; 4096];
    let start = Instant::now();
    while start.elapsed() < timeout {
        if until() {
            return true;
        }
        if let Ok((n, from)) = c.sip.recv_from(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.starts_with("BYE ") {
                let keep: Vec<&str> = msg
                    .split("\r\n")
                    .filter(|l| {
                        ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                            .iter()
                            .any(|h| l.starts_with(h))
                    })
                    .collect();
                let ok = format!(
                    "SIP/2.0 200 OK\r\n{}\r\nContent-Length: 0\r\n\r\n",
                    keep.join("\r\n")
                );
                let _ = c.sip.send_to(ok.as_bytes(), from);
            }
        }
    }
    until()
}

#[test]
fn an_after_capture_api_action_gets_the_digits_and_its_data_reaches_the_flow() {
    let api = HttpStub::start(|_, _| StubResponse::json(200, json!({"data": {"acct": "A-77"}})));
    let s = Server::start(ServerOptions {
        flows: vec![(
            "capture",
            flow(
                "capture",
                json!([
                    {"type": "answer"},
                    {"type": "digits_receive", "option": {"length": 3, "duration": 8000}},
                    {"type": "variable_set", "option": {"key": "done", "value": "${lookup.acct}"}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });
    let r = post(
        &s,
        "/v1/api-actions",
        &json!({"name": "lookup", "url": api.url("/lookup"), "trigger": "after_capture",
                "say": "Account {{acct}} found.", "body": {"digits": "{{user_message}}"}}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let c = call(s.sip_port, "after-capture-1");
    std::thread::sleep(Duration::from_millis(300));
    send_digits(&c, &[1, 2, 3]);
    // The envelope reached the API with the captured digits.
    assert!(
        s.wait_for(Duration::from_secs(5), |_| !api.recorded().is_empty()),
        "the after_capture action was not fired:\n{}",
        s.log()
    );
    let calls = get(&s, "/v1/calls");
    let call_id = calls["calls"][0]["id"].as_str().unwrap_or("").to_string();
    let af_id = calls["calls"][0]["activeflow_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let rec = &api.recorded()[0];
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, "/lookup");
    let env: Value = serde_json::from_slice(&rec.body).unwrap();
    assert_eq!(env["action_id"], "lookup", "{env}");
    assert_eq!(env["trigger"], "after_capture", "{env}");
    assert_eq!(env["payload"]["digits"], "123", "{env}");
    assert_eq!(env["chatbot_id"], "capture", "{env}");
    if !call_id.is_empty() {
        assert_eq!(env["conversation_id"], call_id.as_str(), "{env}");
    }
    // The data became `lookup.acct`, which the next step used; the flow ends.
    let path = format!("/v1/activeflows/{af_id}");
    let done = answer_bye_until(&c, Duration::from_secs(15), || {
        get(&s, &path)["status"] == "ended"
    });
    assert!(
        done,
        "activeflow did not end: {}\n{}",
        get(&s, &path),
        s.log()
    );
    let af = get(&s, &path);
    assert_eq!(af["variables"]["done"], "A-77", "{af}");
    assert_eq!(af["variables"]["call.digits"], "123", "{af}");
    assert_eq!(api.recorded().len(), 1, "fired once per capture");
}

// ---------------------------------------------------------------------------------------------
// The api_action flow step

fn api_action_actions(name: &str) -> Value {
    json!([
        {"type": "answer"},
        {"type": "api_action", "option": {"name": name, "failure_target_id": "failed"}},
        {"type": "variable_set", "option": {"key": "path", "value": "ok"}},
        {"type": "hangup"},
        {"id": "failed", "type": "variable_set", "option": {"key": "path", "value": "failed"}},
        {"type": "hangup"}
    ])
}

#[test]
fn an_api_action_step_takes_its_failure_target_and_stores_data_on_success() {
    let broken = HttpStub::start(|_, _| StubResponse::json(500, json!({"error": "boom"})));
    let working = HttpStub::start(|_, _| {
        StubResponse::json(200, json!({"message": "hi", "data": {"x": "1"}}))
    });
    let s = Server::start(ServerOptions {
        flows: vec![
            (
                "fragile-flow",
                flow("fragile-flow", api_action_actions("fragile")),
            ),
            ("fine-flow", flow("fine-flow", api_action_actions("fine"))),
        ],
        routes: vec![("100", "fragile-flow"), ("200", "fine-flow")],
        ..Default::default()
    });
    let r = post(
        &s,
        "/v1/api-actions",
        &json!({"name": "fragile", "url": broken.url("/fragile"), "trigger": "flow",
                "error_message": "Sorry, that did not work."}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let r = post(
        &s,
        "/v1/api-actions",
        &json!({"name": "fine", "url": working.url("/fine"), "trigger": "flow"}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));

    // Headless (no call).
    let r = post(
        &s,
        "/v1/activeflows",
        &json!({"actions": api_action_actions("fragile")}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let af = ended(&s, &id);
    assert_eq!(af["variables"]["path"], "failed", "{af}");
    assert_eq!(broken.recorded().len(), 1);

    let r = post(
        &s,
        "/v1/activeflows",
        &json!({"actions": api_action_actions("fine")}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let af = ended(&s, &id);
    assert_eq!(af["variables"]["path"], "ok", "{af}");
    assert_eq!(af["variables"]["fine.x"], "1", "{af}");
    assert_eq!(working.recorded().len(), 1);
    let env: Value = serde_json::from_slice(&working.recorded()[0].body).unwrap();
    assert_eq!(env["action_id"], "fine", "{env}");
    assert_eq!(env["trigger"], "flow", "{env}");

    // In a call: the failure is spoken, the call goes on to the failure target.
    sipp_call(&s, "100", "40650");
    let af = ended_of_flow(&s, "fragile-flow");
    assert_eq!(af["variables"]["path"], "failed", "{af}");
    let ids: Vec<&str> = af["executed_actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&"failed"),
        "the call went on to the failure target: {af}"
    );
    assert_eq!(broken.recorded().len(), 2);

    sipp_call(&s, "200", "40652");
    let af = ended_of_flow(&s, "fine-flow");
    assert_eq!(af["variables"]["path"], "ok", "{af}");
    assert_eq!(af["variables"]["fine.x"], "1", "{af}");
    assert_eq!(working.recorded().len(), 2);
    let env: Value = serde_json::from_slice(&working.recorded()[1].body).unwrap();
    assert_eq!(env["trigger"], "flow", "{env}");
    assert_eq!(env["chatbot_id"], "fine-flow", "{env}");
}
