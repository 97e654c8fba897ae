//! B3 (performance.md): time from the first RFC 4733 packet of a digit to the server's
//! reaction (its BYE), measured at the caller, idle and while other calls stream media.
//!
//! Run with: `cargo bench -p server --bench dtmf_latency` (bench/run.sh does it for `make bench`).

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    sip: u16,
    api: u16,
    _dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(45000)
}

fn start_server() -> Server {
    let dir = std::env::temp_dir().join(format!("switchyard-b3-{}", std::process::id()));
    let flows = dir.join("flows");
    std::fs::create_dir_all(&flows).expect("temp dir");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::write(
        flows.join("b3.json"),
        r#"{"actions":[{"type":"answer"},{"type":"digits_receive","option":{"duration":30000}},{"type":"hangup"}]}"#,
    )
    .expect("flow");
    std::fs::write(
        flows.join("load.json"),
        r#"{"actions":[{"type":"answer"},{"type":"play","option":{"stream_urls":["test-prompt"]}},{"type":"play","option":{"stream_urls":["test-prompt"]}},{"type":"play","option":{"stream_urls":["test-prompt"]}},{"type":"hangup"}]}"#,
    )
    .expect("flow");
    let (sip, api) = (free_port(), free_port());
    let config = format!(
        "[sip]\nlisten = [\"udp:127.0.0.1:{sip}\"]\n[rtp]\nport_min = 36000\nport_max = 44000\n\
         [api]\nlisten = \"127.0.0.1:{api}\"\n[store]\nurl = \"sqlite://{d}/db.sqlite\"\n\
         [flows]\ndir = \"{f}\"\n[sounds]\ndir = \"{s}\"\n[tts]\ncache_dir = \"{d}/tts\"\n\
         [recordings]\ndir = \"{d}/rec\"\n\
         [[routes]]\nmatch = \"load\"\nflow = \"load\"\n[[routes]]\nmatch = \"*\"\nflow = \"b3\"\n",
        d = dir.display(),
        f = flows.display(),
        s = root.join("sounds").display()
    );
    let path = dir.join("c.toml");
    std::fs::write(&path, config).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("SWITCHYARD_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start switchyard");
    std::thread::sleep(Duration::from_millis(700));
    Server {
        child,
        sip,
        api,
        _dir: dir,
    }
}

/// One call: INVITE, ACK, wait, send digit 5 as RFC 4733, measure until the BYE.
fn one_digit(server: u16, n: u32) -> Option<Duration> {
    let sip = UdpSocket::bind("127.0.0.1:0").ok()?;
    let rtp = UdpSocket::bind("127.0.0.1:0").ok()?;
    sip.set_read_timeout(Some(Duration::from_millis(100)))
        .ok()?;
    let (lp, rp) = (sip.local_addr().ok()?.port(), rtp.local_addr().ok()?.port());
    let call_id = format!("b3-{n}-{}", std::process::id());
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio {rp} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    let invite = format!(
        "INVITE sip:1@127.0.0.1:{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-{call_id}\r\n\
From: <sip:b3@127.0.0.1>;tag=t{n}\r\nTo: <sip:1@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
Contact: <sip:b3@127.0.0.1:{lp}>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sip.send_to(invite.as_bytes(), ("127.0.0.1", server)).ok()?;
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    let (to, rtp_port) = loop {
        if Instant::now() > deadline {
            return None;
        }
        let Ok((len, _)) = sip.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        if text.starts_with("SIP/2.0 200") {
            let to = text.lines().find(|l| l.starts_with("To:"))?.to_string();
            let port: u16 = text
                .lines()
                .find_map(|l| l.strip_prefix("m=audio "))?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            break (to, port);
        }
    };
    let ack = format!(
        "ACK sip:1@127.0.0.1:{server} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-a{call_id}\r\n\
From: <sip:b3@127.0.0.1>;tag=t{n}\r\n{to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sip.send_to(ack.as_bytes(), ("127.0.0.1", server)).ok()?;
    std::thread::sleep(Duration::from_millis(100));
    // The first packet of the event (marker set): the server acts on it.
    let mut pkt = vec![
        0x80,
        0x80 | 101,
        0,
        1,
        0,
        0,
        0x10,
        0,
        0xde,
        0xad,
        0xbe,
        0xef,
    ];
    pkt.extend_from_slice(&[5, 10, 0, 160]);
    let sent = Instant::now();
    rtp.send_to(&pkt, ("127.0.0.1", rtp_port)).ok()?;
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let Ok((len, from)) = sip.recv_from(&mut buf) else {
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..len]).into_owned();
        if text.starts_with("BYE ") {
            let took = sent.elapsed();
            let mut ok = String::from("SIP/2.0 200 OK\r\n");
            for l in text.lines().filter(|l| {
                ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                    .iter()
                    .any(|h| l.starts_with(h))
            }) {
                ok.push_str(l);
                ok.push_str("\r\n");
            }
            ok.push_str("Content-Length: 0\r\n\r\n");
            let _ = sip.send_to(ok.as_bytes(), from);
            return Some(took);
        }
    }
    None
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len().saturating_sub(1)) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

fn measure(server: u16, calls: u32) -> (f64, f64, u32) {
    let mut ms = Vec::new();
    let mut lost = 0;
    for n in 0..calls {
        match one_digit(server, n) {
            Some(d) => ms.push(d.as_secs_f64() * 1000.0),
            None => lost += 1,
        }
    }
    (
        percentile(&mut ms.clone(), 0.5),
        percentile(&mut ms, 0.99),
        lost,
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let calls: u32 = std::env::var("B3_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let load: u32 = std::env::var("B3_LOAD_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let server = start_server();
    let (p50, p99, lost) = measure(server.sip, calls);
    println!("B3 idle: p50 {p50:.2} ms, p99 {p99:.2} ms ({calls} digits, {lost} lost)");
    // Load: sipp keeps ~`load` calls streaming prompts while we measure again.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = root.join("tests/sipp/uac_server_bye.xml");
    let _ = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip))
        .args(["-sf"])
        .arg(&scenario)
        .args([
            "-s",
            "load",
            "-i",
            "127.0.0.1",
            "-p",
            "0",
            "-r",
            &(load / 9).max(1).to_string(),
        ])
        .args([
            "-l",
            &load.to_string(),
            "-m",
            &(load * 3).to_string(),
            "-key",
            "rtp_port",
            "9",
        ])
        .args([
            "-nostdin",
            "-bg",
            "-buff_size",
            "4194304",
            "-timeout",
            "120",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    std::thread::sleep(Duration::from_secs(10));
    let (lp50, lp99, llost) = measure(server.sip, calls);
    let active = std::net::TcpStream::connect(("127.0.0.1", server.api))
        .ok()
        .and_then(|mut s| {
            use std::io::{Read, Write};
            write!(s, "GET /health HTTP/1.0\r\n\r\n").ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            let tail = out.rsplit("\"calls\":").next()?;
            Some(
                tail.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>(),
            )
        });
    println!(
        "B3 loaded ({} calls in progress): p50 {lp50:.2} ms, p99 {lp99:.2} ms ({calls} digits, {llost} lost)",
        active.unwrap_or_else(|| "?".into())
    );
    let _ = Command::new("pkill")
        .args(["-f", "uac_server_bye.xml"])
        .status();
}
