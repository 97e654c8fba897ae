//! Black-box test harness: start the real `switchyard` binary on loopback with a config of the
//! test's own, drive it with real peers (sipp, raw sockets, baresip), stop everything on drop.
#![allow(dead_code)]

pub mod baresip;
pub mod raw;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root exists")
}

/// A free port on 127.0.0.1, free for UDP and TCP at the time of asking.
pub fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = u.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Fails the test with a clear message when a peer program is missing.
pub fn require(program: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} is not installed: run `make deps` (or `make test`, which installs it)"
    );
}

pub struct Server {
    pub child: Option<Child>,
    pub config_path: PathBuf,
    pub env: Vec<(String, String)>,
    pub dir: tempdir::Dir,
    pub sip_port: u16,
    pub api_port: u16,
    pub rtp_min: u16,
}

pub mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory removed on drop.
    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!(
                "switchyard-test-{tag}-{}-{}",
                std::process::id(),
                rand_suffix()
            ));
            std::fs::create_dir_all(&p).expect("create temp dir");
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn rand_suffix() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0),
        );
        h.finish()
    }
}

/// How to start a server.
#[derive(Default)]
pub struct ServerOptions<'a> {
    /// `(flow id, flow JSON)`.
    pub flows: Vec<(&'a str, String)>,
    /// `(match, flow id)`; default: everything to the first flow.
    pub routes: Vec<(&'a str, &'a str)>,
    /// Environment overrides, e.g. `("SWITCHYARD__TTS__ESPEAK_COMMAND", "/nope")`.
    pub env: Vec<(&'a str, String)>,
}

impl Server {
    pub fn start(opts: ServerOptions<'_>) -> Server {
        let dir = tempdir::Dir::new("server");
        let flows_dir = dir.path().join("flows");
        std::fs::create_dir_all(&flows_dir).unwrap();
        for (id, json) in &opts.flows {
            std::fs::write(flows_dir.join(format!("{id}.json")), json).unwrap();
        }
        let sip_port = free_port();
        let api_port = free_port();
        // A private RTP range per server: tests run in parallel.
        let rtp_min = 32000 + (sip_port % 300) * 100;
        let mut routes = String::new();
        let default_route = vec![("*", opts.flows.first().map(|f| f.0).unwrap_or("demo"))];
        for (m, f) in if opts.routes.is_empty() {
            &default_route
        } else {
            &opts.routes
        } {
            routes.push_str(&format!("[[routes]]\nmatch = \"{m}\"\nflow = \"{f}\"\n"));
        }
        let root = repo_root();
        let config = format!(
            "[sip]\nlisten = [\"udp:127.0.0.1:{sip_port}\", \"tcp:127.0.0.1:{sip_port}\"]\n\
             [rtp]\nport_min = {rtp_min}\nport_max = {}\n\
             [api]\nlisten = \"127.0.0.1:{api_port}\"\n\
             [flows]\ndir = \"{}\"\n\
             [tts]\ncache_dir = \"{}\"\n\
             [sounds]\ndir = \"{}\"\n\
             [shutdown]\ndrain_timeout_ms = 3000\n\
             [http]\nallow_private = [\"127.0.0.1\"]\ntimeout_ms = 2000\n\
             [store]\nurl = \"sqlite://{}/switchyard.db\"\n\
             [recordings]\ndir = \"{}\"\n{routes}\n",
            rtp_min + 98,
            flows_dir.display(),
            dir.path().join("tts").display(),
            root.join("sounds").display(),
            dir.path().display(),
            dir.path().join("recordings").display(),
        );
        let config_path = dir.path().join("switchyard.toml");
        std::fs::write(&config_path, config).unwrap();
        let env: Vec<(String, String)> = opts
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let child = spawn_server(&config_path, dir.path(), &env);
        let mut server = Server {
            child: Some(child),
            config_path,
            env,
            dir,
            sip_port,
            api_port,
            rtp_min,
        };
        server.wait_healthy();
        server
    }

    /// Stop (SIGTERM) and start again on the same config, store and ports.
    pub fn restart(&mut self) {
        self.terminate();
        self.child = Some(spawn_server(&self.config_path, self.dir.path(), &self.env));
        self.wait_healthy();
    }

    fn wait_healthy(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("switchyard exited early ({status}):\n{}", self.log());
                }
            }
            if self
                .http_get("/health")
                .is_some_and(|b| b.contains("\"ok\""))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("switchyard did not become healthy:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A plain HTTP/1.0 GET to the API; the body, or `None` on any failure.
    pub fn http_get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.api_port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (_, body) = out.split_once("\r\n\r\n")?;
        Some(body.to_string())
    }

    /// The value of a metric line that starts with `series` (exact series text).
    pub fn metric(&self, series: &str) -> f64 {
        let text = self.http_get("/metrics").unwrap_or_default();
        text.lines()
            .find_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                (name == series).then(|| value.parse().ok())?
            })
            .unwrap_or(f64::NAN)
    }

    /// Wait until `f` holds or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, mut f: impl FnMut(&Server) -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Send SIGTERM and wait for exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Run a sipp scenario from `tests/sipp/` against this server.
    pub fn sipp(&self, scenario: &str, args: &[&str]) -> SippRun {
        sipp_against(self.sip_port, scenario, args)
    }
}

fn spawn_server(config_path: &Path, dir: &Path, env: &[(String, String)]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .arg("serve")
        .arg("--config")
        .arg(config_path)
        .env("SWITCHYARD_LOG", "debug,symphonia=warn,sqlx=warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start switchyard")
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub struct SippRun {
    pub success: bool,
    pub output: String,
    pub errors: String,
}

/// Run sipp once (`-m 1` unless `args` says otherwise) against 127.0.0.1:`port`.
pub fn sipp_against(port: u16, scenario: &str, args: &[&str]) -> SippRun {
    require("sipp");
    let dir = tempdir::Dir::new("sipp");
    let scenario_path = if scenario.starts_with('/') {
        PathBuf::from(scenario)
    } else {
        repo_root().join("tests/sipp").join(scenario)
    };
    let local_port = free_port().to_string();
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir.path())
        .arg(format!("127.0.0.1:{port}"))
        .arg("-sf")
        .arg(&scenario_path)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &local_port,
            "-nostdin",
            "-timeout",
            "60",
        ])
        .args(["-trace_err", "-error_file", "errors.log"]);
    if !args.contains(&"-m") {
        cmd.args(["-m", "1"]);
    }
    if !args.contains(&"-s") {
        cmd.args(["-s", "1000"]);
    }
    cmd.args(args);
    let out = cmd.output().expect("run sipp");
    let errors = std::fs::read_to_string(dir.path().join("errors.log")).unwrap_or_default();
    SippRun {
        success: out.status.success(),
        output: format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        errors,
    }
}

/// A flow JSON document from an actions array.
pub fn flow(id: &str, actions: serde_json::Value) -> String {
    serde_json::json!({"id": id, "actions": actions}).to_string()
}

/// A WAV file (8 kHz mono PCM16) with a sine tone of `secs` seconds, written to `path`.
pub fn write_tone_wav(path: &Path, freq: f32, secs: f32) {
    let n = (8000.0 * secs) as usize;
    let samples: Vec<i16> = (0..n)
        .map(|i| ((i as f32 * freq * std::f32::consts::TAU / 8000.0).sin() * 12000.0) as i16)
        .collect();
    let data_len = (n * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// Send one raw SIP datagram and collect what comes back within `wait`.
pub fn udp_exchange(port: u16, message: &[u8], wait: Duration) -> Vec<String> {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    s.send_to(message, ("127.0.0.1", port)).unwrap();
    let mut got = Vec::new();
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    while start.elapsed() < wait {
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// One request an [`HttpStub`] received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What an [`HttpStub`] answers.
#[derive(Debug, Clone)]
pub struct StubResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl StubResponse {
    pub fn json(status: u16, v: serde_json::Value) -> StubResponse {
        StubResponse {
            status,
            content_type: "application/json",
            body: v.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }
    pub fn text(status: u16, body: &str) -> StubResponse {
        StubResponse {
            status,
            content_type: "text/plain",
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }
}

type Handler = dyn Fn(&Recorded, usize) -> StubResponse + Send + Sync;

/// A real HTTP/1.1 server on 127.0.0.1 that records requests and answers through a closure
/// (given the request and its index). Stops on drop.
pub struct HttpStub {
    pub port: u16,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<Recorded>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl HttpStub {
    pub fn start(
        handler: impl Fn(&Recorded, usize) -> StubResponse + Send + Sync + 'static,
    ) -> HttpStub {
        HttpStub::start_on(0, handler)
    }

    /// Like [`HttpStub::start`] on a chosen port (0 = any).
    pub fn start_on(
        port: u16,
        handler: impl Fn(&Recorded, usize) -> StubResponse + Send + Sync + 'static,
    ) -> HttpStub {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stop2) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (reqs, handler) = (reqs.clone(), handler.clone());
                std::thread::spawn(move || serve_one(stream, &reqs, &*handler));
            }
        });
        HttpStub {
            port,
            requests,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one(mut stream: TcpStream, reqs: &std::sync::Mutex<Vec<Recorded>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut start = lines.next().unwrap_or("").split(' ');
    let method = start.next().unwrap_or("").to_string();
    let path = start.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end..(head_end + len).min(buf.len())].to_vec();
    let rec = Recorded {
        method,
        path,
        headers,
        body,
    };
    let index = {
        let mut r = reqs.lock().unwrap();
        r.push(rec.clone());
        r.len() - 1
    };
    let resp = handler(&rec, index);
    std::thread::sleep(resp.delay);
    let _ = write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    let _ = stream.write_all(&resp.body);
}

/// Run `switchyard flow simulate` on `flow_json` with extra args and env; (exit code, stdout).
pub fn simulate(flow_json: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempdir::Dir::new("simulate");
    let file = dir.path().join("flow.json");
    std::fs::write(&file, flow_json).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["flow", "simulate"])
        .arg(&file)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run simulate");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (Connection: close).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    headers: &[(&str, &str)],
) -> HttpReply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    if let Some(b) = body {
        let _ = s.write_all(b);
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[head_end..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    HttpReply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..i]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// A minimal WebSocket client (RFC 6455) reading text frames from `path`.
pub struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    pub fn connect(port: u16, path: &str) -> WsClient {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut b).expect("handshake");
            head.push(b[0]);
        }
        let text = String::from_utf8_lossy(&head);
        assert!(text.starts_with("HTTP/1.1 101"), "no upgrade: {text}");
        WsClient { stream }
    }

    /// Send one masked text frame (clients must mask, RFC 6455 §5.3).
    pub fn send_text(&mut self, text: &str) {
        let payload = text.as_bytes();
        let mask = [0x37u8, 0xfa, 0x21, 0x3d];
        let mut frame = vec![0x81u8];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).expect("send frame");
    }

    /// The next text frame, or `None` after `timeout`.
    pub fn next_text(&mut self, timeout: Duration) -> Option<String> {
        self.stream.set_read_timeout(Some(timeout)).ok()?;
        let mut h = [0u8; 2];
        self.stream.read_exact(&mut h).ok()?;
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut l = [0u8; 2];
            self.stream.read_exact(&mut l).ok()?;
            len = u64::from(u16::from_be_bytes(l));
        } else if len == 127 {
            let mut l = [0u8; 8];
            self.stream.read_exact(&mut l).ok()?;
            len = u64::from_be_bytes(l);
        }
        let mut payload = vec![0u8; len as usize];
        self.stream.read_exact(&mut payload).ok()?;
        match h[0] & 0x0f {
            1 => Some(String::from_utf8_lossy(&payload).into_owned()),
            _ => self.next_text(timeout),
        }
    }
}
