//! `api_request` against real servers on 127.0.0.1: a plain HTTP JSON API, failures (5xx,
//! timeout, connection refused, guard refusal, unknown secret), and HTTPS requiring a client
//! certificate (certificates made with the `openssl` CLI, server on tokio-rustls).

use chrono::Utc;
use flow::options::ApiRequestOption;
use flow::{Completion, Variables};
use runtime::api_request::{execute, ApiRequestResult, REDACTED};
use runtime::http::HttpEngine;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SECRET: &str = "s3cr3t-T0K/+=";

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server

#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    client_cert: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers: status, body, delay before answering.
type Handler = Arc<dyn Fn(&Request) -> (u16, String, Duration) + Send + Sync>;

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Request>>>);

impl Seen {
    fn all(&self) -> Vec<Request> {
        self.0.lock().unwrap().clone()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Request {
        method,
        target,
        headers,
        body,
        client_cert: false,
    })
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    client_cert: bool,
    handler: Handler,
    seen: Seen,
) {
    let Some(mut req) = read_request(&mut s).await else {
        return;
    };
    req.client_cert = client_cert;
    seen.0.lock().unwrap().push(req.clone());
    let (status, body, delay) = handler(&req);
    tokio::time::sleep(delay).await;
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// A plain HTTP server; returns its port and what it received.
async fn http_server(handler: Handler) -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(serve_one(tcp, false, handler.clone(), s.clone()));
        }
    });
    (port, seen)
}

/// An HTTPS server requiring a client certificate issued by `client_ca`.
async fn https_server(dir: &Path, handler: Handler) -> (u16, Seen) {
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
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
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
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, handler, s) = (acceptor.clone(), handler.clone(), s.clone());
            tokio::spawn(async move {
                // A refused handshake (no or untrusted client certificate) ends here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let client_cert = tls.get_ref().1.peer_certificates().is_some();
                serve_one(tls, client_cert, handler, s).await;
            });
        }
    });
    (port, seen)
}

// ---------------------------------------------------------------------------------------------
// Helpers

async fn store() -> store::Store {
    let st = store::Store::connect("sqlite::memory:").await.unwrap();
    st.put_secret("tok", SECRET, Utc::now()).await.unwrap();
    st
}

fn engine() -> HttpEngine {
    HttpEngine::new(&["127.0.0.1".to_string()], Duration::from_secs(5), None).unwrap()
}

fn option(v: Value) -> ApiRequestOption {
    serde_json::from_value(v).unwrap()
}

fn var<'a>(r: &'a ApiRequestResult, name: &str) -> Option<&'a str> {
    r.vars
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn failed(r: &ApiRequestResult) -> String {
    match &r.completion {
        Completion::Failed(reason) => reason.clone(),
        other => panic!("expected Failed, got {other:?} ({:?})", r.vars),
    }
}

fn assert_no_secret(r: &ApiRequestResult) {
    let all = format!(
        "{:?} {:?} {:?} {}",
        r.completion, r.vars, r.captures, r.request_summary
    );
    for form in [SECRET, "s3cr3t-T0K%2F%2B%3D", "s3cr3t-T0K%2F%2B="] {
        assert!(!all.contains(form), "secret leaked: {all}");
    }
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

fn api_handler() -> Handler {
    Arc::new(|req: &Request| {
        let path = req.target.split('?').next().unwrap_or("");
        match path {
            "/fail" => (500, json!({"error": "boom"}).to_string(), Duration::ZERO),
            "/slow" => (200, "{}".into(), Duration::from_secs(3)),
            "/big" => (
                200,
                format!("\"{}\"", "x".repeat(100 * 1024)),
                Duration::ZERO,
            ),
            _ => (
                200,
                json!({
                    "name": "Ada Lovelace",
                    "orders": [{"status": "shipped", "total": 12.5}],
                    "items": [{"id": 7}, {"id": 8}],
                    "count": 3,
                    "vip": true,
                    "echo_auth": req.header("authorization"),
                    "echo_body": String::from_utf8_lossy(&req.body),
                })
                .to_string(),
                Duration::ZERO,
            ),
        }
    })
}

#[tokio::test]
async fn json_api_captures_values_and_redacts_secrets() {
    let (port, seen) = http_server(api_handler()).await;
    let st = store().await;
    let mut vars = Variables::new();
    vars.set("caller", "+1 555");
    let opt = option(json!({
        "method": "POST",
        "url": format!("http://127.0.0.1:{port}/customers/{{caller}}?key=${{secret.tok}}"),
        "headers": {"Authorization": "Bearer ${secret.tok}", "X-Static": "v"},
        "params": {"expand": "orders"},
        "body": {"phone": "+15550001", "nested": {"token": "${secret.tok}"}},
        "capture": [
            {"path": "response.name", "variable": "customer_name"},
            {"path": "response.orders[0].status", "variable": "order_status"},
            {"path": "response.orders[0].total", "variable": "order_total"},
            {"path": "response.items[*].id", "variable": "item"},
            {"path": "response.count", "variable": "count"},
            {"path": "response.vip", "variable": "vip"},
            {"path": "response.items", "variable": "items"},
            {"path": "response.echo_auth", "variable": "auth"},
            {"path": "response.missing", "variable": "nope"},
        ],
    }));
    let r = execute(&engine(), &opt, &vars, &st).await;
    assert_eq!(r.completion, Completion::Done, "{:?}", r.vars);

    // What went on the wire: the secret in clear, {caller} encoded, params appended.
    let reqs = seen.all();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.target,
        "/customers/%2B1%20555?key=s3cr3t-T0K%2F%2B%3D&expand=orders"
    );
    assert_eq!(
        req.header("authorization"),
        Some(&*format!("Bearer {SECRET}"))
    );
    assert_eq!(req.header("x-static"), Some("v"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"phone": "+15550001", "nested": {"token": SECRET}})
    );

    // What the flow sees.
    assert_eq!(var(&r, "customer_name"), Some("Ada Lovelace"));
    assert_eq!(var(&r, "order_status"), Some("shipped"));
    assert_eq!(var(&r, "order_total"), Some("12.5"));
    assert!(matches!(var(&r, "item"), Some("7" | "8")));
    assert_eq!(var(&r, "count"), Some("3"));
    assert_eq!(var(&r, "vip"), Some("true"));
    assert_eq!(var(&r, "items"), Some(r#"[{"id":7},{"id":8}]"#));
    assert_eq!(var(&r, "auth"), Some(&*format!("Bearer {REDACTED}")));
    assert_eq!(var(&r, "nope"), None);
    assert_eq!(var(&r, "api.status"), Some("200"));
    assert_eq!(var(&r, "api.error"), Some(""));
    let api_body = var(&r, "api.body").unwrap();
    assert!(api_body.contains("Bearer [redacted]"), "{api_body}");
    assert!(api_body.contains("Ada Lovelace"));
    assert_no_secret(&r);

    let missing = r.captures.iter().find(|c| c.variable == "nope").unwrap();
    assert_eq!(missing.value, None);
    assert!(missing.error.as_deref().unwrap().contains("missing"));
    assert_eq!(r.captures.len(), 9);

    assert_eq!(r.request_summary["method"], "POST");
    assert_eq!(r.request_summary["status"], 200);
    assert_eq!(
        r.request_summary["url"],
        format!("http://127.0.0.1:{port}/customers/%2B1%20555?key=[redacted]&expand=orders")
    );
    assert!(r.request_summary["duration_ms"].is_u64());
}

#[tokio::test]
async fn raw_string_body_and_large_response() {
    let (port, seen) = http_server(api_handler()).await;
    let st = store().await;
    let opt = option(json!({
        "method": "PUT",
        "url": format!("http://127.0.0.1:{port}/big"),
        "headers": {"Content-Type": "text/plain"},
        "body": "plain ${secret.tok}",
        "capture": [{"path": "response", "variable": "whole"}],
    }));
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    assert_eq!(r.completion, Completion::Done);
    let req = &seen.all()[0];
    assert_eq!(req.method, "PUT");
    assert_eq!(req.header("content-type"), Some("text/plain"));
    assert_eq!(req.body, format!("plain {SECRET}").as_bytes());
    assert_eq!(var(&r, "api.body").unwrap().len(), 64 * 1024);
    assert_eq!(var(&r, "whole").unwrap().len(), 100 * 1024);
}

#[tokio::test]
async fn server_error_fails_with_status() {
    let (port, _) = http_server(api_handler()).await;
    let st = store().await;
    let opt = option(json!({
        "url": format!("http://127.0.0.1:{port}/fail"),
        "capture": [{"path": "response.error", "variable": "why"}],
        "failure_target_id": "down",
    }));
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    assert_eq!(failed(&r), "HTTP status 500");
    assert_eq!(var(&r, "api.status"), Some("500"));
    assert_eq!(var(&r, "api.error"), Some("HTTP status 500"));
    assert_eq!(var(&r, "why"), Some("boom"));
    assert_eq!(r.request_summary["status"], 500);
}

#[tokio::test]
async fn timeout_fails_without_status() {
    let (port, _) = http_server(api_handler()).await;
    let st = store().await;
    let opt = option(json!({
        "url": format!("http://127.0.0.1:{port}/slow"),
        "timeout": 300,
        "capture": [{"path": "response", "variable": "x"}],
    }));
    let started = std::time::Instant::now();
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let reason = failed(&r);
    assert!(reason.contains("timed out after 300 ms"), "{reason}");
    assert_eq!(var(&r, "api.status"), Some(""));
    assert_eq!(var(&r, "api.body"), Some(""));
    assert_eq!(var(&r, "api.error"), Some(&*reason));
    assert_eq!(var(&r, "x"), None);
    assert_eq!(r.captures[0].error.as_deref(), Some("no response"));
    assert_eq!(r.request_summary["status"], Value::Null);
}

#[tokio::test]
async fn connection_refused_fails_and_redacts_the_url() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let st = store().await;
    let opt = option(json!({
        "url": format!("http://127.0.0.1:{port}/x?key=${{secret.tok}}"),
    }));
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    let reason = failed(&r);
    assert!(reason.starts_with("network error"), "{reason}");
    assert_eq!(var(&r, "api.status"), Some(""));
    assert_no_secret(&r);
}

#[tokio::test]
async fn private_address_is_refused_without_allow_list() {
    let (port, seen) = http_server(api_handler()).await;
    let st = store().await;
    let strict = HttpEngine::new(&[], Duration::from_secs(5), None).unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let opt = option(json!({"url": format!("http://{host}:{port}/x")}));
        let r = execute(&strict, &opt, &Variables::new(), &st).await;
        let reason = failed(&r);
        assert!(reason.contains("refused"), "{reason}");
    }
    assert!(seen.all().is_empty());
}

#[tokio::test]
async fn unknown_secret_or_certificate_fails_before_sending() {
    let (port, seen) = http_server(api_handler()).await;
    let st = store().await;
    let opt = option(json!({
        "url": format!("http://127.0.0.1:{port}/x"),
        "headers": {"Authorization": "Bearer ${secret.tok} ${secret.missing}"},
    }));
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    assert_eq!(failed(&r), "unknown secret `missing`");
    assert_eq!(var(&r, "api.error"), Some("unknown secret `missing`"));
    let opt = option(json!({
        "url": format!("http://127.0.0.1:{port}/x"),
        "certificate": "nope",
    }));
    let r = execute(&engine(), &opt, &Variables::new(), &st).await;
    assert_eq!(failed(&r), "unknown certificate `nope`");
    assert!(seen.all().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Mutual TLS

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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

fn certificates() -> TempDir {
    let dir = std::env::temp_dir().join(format!("switchyard-mtls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let tmp = TempDir(dir);
    let dir = tmp.0.as_path();
    std::fs::write(dir.join("openssl.cnf"), OPENSSL_CONFIG).unwrap();
    make_cert(dir, "ca", "Test CA", None, "ca", 0);
    make_cert(dir, "server", "127.0.0.1", Some("ca"), "server", 2);
    make_cert(dir, "client", "switchyard client", Some("ca"), "client", 3);
    make_cert(dir, "rogue-ca", "Rogue CA", None, "ca", 0);
    make_cert(
        dir,
        "rogue-client",
        "rogue client",
        Some("rogue-ca"),
        "client",
        4,
    );
    tmp
}

fn stored_cert(dir: &Path, name: &str, client: &str, ca: Option<&str>) -> store::Certificate {
    let read = |f: String| std::fs::read_to_string(dir.join(f)).unwrap();
    store::Certificate {
        name: name.into(),
        cert_pem: read(format!("{client}.pem")),
        key_pem: read(format!("{client}.key")),
        ca_pem: ca.map(|ca| read(format!("{ca}.pem"))),
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[tokio::test]
async fn mutual_tls_with_a_stored_client_certificate() {
    let tmp = certificates();
    let dir = tmp.0.as_path();
    let handler: Handler = Arc::new(|req: &Request| {
        (
            200,
            json!({"tls": "ok", "client_cert": req.client_cert, "path": req.target}).to_string(),
            Duration::ZERO,
        )
    });
    let (port, seen) = https_server(dir, handler).await;
    let st = store().await;
    for (name, client, ca) in [
        ("crm-mtls", "client", Some("ca")),
        ("wrong-ca", "client", Some("rogue-ca")),
        ("rogue-client", "rogue-client", Some("ca")),
    ] {
        st.put_certificate(&stored_cert(dir, name, client, ca))
            .await
            .unwrap();
    }
    let engine = engine();
    let request = |certificate: Option<&str>, host: &str| {
        option(json!({
            "url": format!("https://{host}:{port}/status"),
            "headers": {"X-Key": "${secret.tok}"},
            "certificate": certificate,
            "capture": [
                {"path": "response.tls", "variable": "tls"},
                {"path": "response.client_cert", "variable": "client_cert"},
            ],
            "timeout": 5000,
        }))
    };

    // With the certificate and its CA: accepted, captured.
    for host in ["127.0.0.1", "localhost"] {
        let r = execute(
            &engine,
            &request(Some("crm-mtls"), host),
            &Variables::new(),
            &st,
        )
        .await;
        assert_eq!(r.completion, Completion::Done, "{host}: {:?}", r.vars);
        assert_eq!(var(&r, "tls"), Some("ok"));
        assert_eq!(var(&r, "client_cert"), Some("true"));
        assert_eq!(var(&r, "api.status"), Some("200"));
    }
    assert_eq!(seen.all().len(), 2);
    // The cached client serves the next request too.
    let r = execute(
        &engine,
        &request(Some("crm-mtls"), "127.0.0.1"),
        &Variables::new(),
        &st,
    )
    .await;
    assert_eq!(r.completion, Completion::Done);

    // The server's certificate is not from the stored CA.
    let r = execute(
        &engine,
        &request(Some("wrong-ca"), "127.0.0.1"),
        &Variables::new(),
        &st,
    )
    .await;
    let reason = failed(&r);
    assert!(reason.starts_with("TLS error"), "{reason}");
    assert_eq!(var(&r, "api.status"), Some(""));
    assert_no_secret(&r);

    // A client certificate the server does not trust: refused in the handshake.
    let r = execute(
        &engine,
        &request(Some("rogue-client"), "127.0.0.1"),
        &Variables::new(),
        &st,
    )
    .await;
    let reason = failed(&r);
    assert!(reason.starts_with("TLS error"), "{reason}");
    assert_no_secret(&r);

    // No certificate: the default client trusts only public roots.
    let r = execute(&engine, &request(None, "127.0.0.1"), &Variables::new(), &st).await;
    let reason = failed(&r);
    assert!(reason.starts_with("TLS error"), "{reason}");

    // None of the refused attempts got a request through.
    assert_eq!(seen.all().len(), 3);
    assert!(seen.all().iter().all(|r| r.client_cert));

    // Replacing the certificate (newer updated_at) rebuilds the client; a broken one fails.
    let mut broken = stored_cert(dir, "crm-mtls", "client", Some("ca"));
    broken.key_pem = "not a key".into();
    broken.updated_at = Utc::now() + chrono::Duration::seconds(1);
    st.put_certificate(&broken).await.unwrap();
    let r = execute(
        &engine,
        &request(Some("crm-mtls"), "127.0.0.1"),
        &Variables::new(),
        &st,
    )
    .await;
    let reason = failed(&r);
    assert!(
        reason.starts_with("certificate `crm-mtls` is unusable"),
        "{reason}"
    );
}
