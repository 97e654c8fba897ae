//! A headless baresip softphone for tests: a config of its own in a temp dir, dials one URI on
//! start, sends a WAV as its microphone, and optionally records what it hears (`sndfile`) or
//! takes commands over `ctrl_tcp`. Killed on drop.
#![allow(dead_code)]

use super::free_port;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to start baresip.
pub struct Options<'a> {
    /// 8 kHz mono WAV sent as the microphone (it ends the call when it runs out).
    pub source: &'a Path,
    /// Record the decoded received audio under `<dir>/rec` (`sndfile`).
    pub record: bool,
    /// Listen for `ctrl_tcp` commands.
    pub control: bool,
    /// Account parameters after the address, e.g. `;audio_codecs=PCMU`.
    pub account_params: &'a str,
    /// baresip quits by itself after this many seconds, whatever happens.
    pub quit_after_s: u32,
}

pub struct Baresip {
    child: Option<Child>,
    dir: PathBuf,
    ctrl_port: Option<u16>,
    ctrl: Option<TcpStream>,
    token: u32,
}

impl Baresip {
    /// Starts baresip with its config in `dir` and dials `uri`.
    pub fn dial(dir: &Path, uri: &str, o: Options<'_>) -> Baresip {
        let account = format!("<sip:test@127.0.0.1>;regint=0{}", o.account_params);
        Baresip::start(dir, &account, Some(uri), o)
    }

    /// Starts baresip registering `user` with `password` at the registrar on
    /// 127.0.0.1:`port`, answering every call at once.
    pub fn register(dir: &Path, user: &str, password: &str, port: u16, o: Options<'_>) -> Baresip {
        let account = format!(
            "<sip:{user}@127.0.0.1:{port};transport=udp>;auth_pass={password};regint=60;answermode=auto{}",
            o.account_params
        );
        Baresip::start(dir, &account, None, o)
    }

    fn start(dir: &Path, account: &str, dial: Option<&str>, o: Options<'_>) -> Baresip {
        let ctrl_port = o.control.then(free_port);
        let mut config = format!(
            "poll_method\tepoll\n\
             sip_listen\t127.0.0.1:{sip_port}\n\
             net_interface\t127.0.0.1\n\
             rtp_ports\t20000-21998\n\
             call_local_timeout\t10\n\
             call_max_calls\t1\n\
             audio_source\taufile,{source}\n\
             audio_level\tno\n\
             ausrc_format\ts16\n\
             auplay_format\ts16\n\
             auenc_format\ts16\n\
             audec_format\ts16\n\
             audio_buffer\t20-160\n\
             jitter_buffer_delay\t5-10\n\
             rtcp_mux\tno\n\
             rtp_stats\tno\n\
             module_path\t/usr/lib/baresip/modules\n\
             module\tg711.so\n\
             module\taufile.so\n\
             module_tmp\taccount.so\n\
             module_app\tmenu.so\n",
            sip_port = free_port(),
            source = o.source.display(),
        );
        if o.record {
            let rec = dir.join("rec");
            std::fs::create_dir_all(&rec).unwrap();
            config.push_str(&format!(
                "module\tsndfile.so\nsnd_path\t{}\n",
                rec.display()
            ));
        }
        if let Some(port) = ctrl_port {
            config.push_str(&format!(
                "module_app\tctrl_tcp.so\nctrl_tcp_listen\t127.0.0.1:{port}\n"
            ));
        }
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("accounts"), format!("{account}\n")).unwrap();
        std::fs::write(dir.join("contacts"), "").unwrap();
        let out = std::fs::File::create(dir.join("baresip.log")).unwrap();
        let mut command = Command::new("baresip");
        command
            .arg("-4")
            .arg("-f")
            .arg(dir)
            .args(["-t", &o.quit_after_s.to_string()]);
        if let Some(uri) = dial {
            command.arg("-e").arg(format!("/dial {uri}"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start baresip");
        Baresip {
            child: Some(child),
            dir: dir.to_path_buf(),
            ctrl_port,
            ctrl: None,
            token: 0,
        }
    }

    /// Everything baresip printed.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("baresip.log")).unwrap_or_default())
            .into_owned()
    }

    /// Wait until baresip's output contains `needle`.
    pub fn wait_output(&self, timeout: Duration, needle: &str) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The decoded (received) audio `sndfile` dumped: `rec/dump-<time>-dec.wav`.
    pub fn recording(&self) -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("dump-") && n.ends_with("-dec.wav"))
            })
            .collect();
        found.sort();
        found.pop()
    }

    /// Runs a command (a `menu` command name without the slash) through `ctrl_tcp`; the
    /// response, `{"response":true,"ok":..,"data":..,"token":..}`.
    pub fn command(&mut self, command: &str, params: &str) -> Value {
        let port = self.ctrl_port.expect("baresip started without control");
        if self.ctrl.is_none() {
            let start = Instant::now();
            while self.ctrl.is_none() && start.elapsed() < Duration::from_secs(5) {
                match TcpStream::connect(("127.0.0.1", port)) {
                    Ok(s) => self.ctrl = Some(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        let log = self.output();
        let Some(stream) = self.ctrl.as_mut() else {
            panic!("cannot connect to baresip's ctrl_tcp\n{log}");
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        self.token += 1;
        let token = self.token.to_string();
        let request = json!({"command": command, "params": params, "token": token}).to_string();
        stream
            .write_all(format!("{}:{request},", request.len()).as_bytes())
            .unwrap();
        // Events (call progress) arrive on the same connection: skip them.
        loop {
            let message = read_netstring(stream).unwrap_or_else(|e| panic!("ctrl_tcp: {e}\n{log}"));
            let v: Value = serde_json::from_slice(&message).unwrap_or(Value::Null);
            if v["response"] == true && v["token"] == token.as_str() {
                return v;
            }
        }
    }

    /// SIGTERM (baresip then stops cleanly), SIGKILL if it is still running after 5 s.
    pub fn stop(&mut self) {
        self.ctrl = None;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One netstring (`<length>:<bytes>,`).
fn read_netstring(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let mut len = 0usize;
    let mut byte = [0u8; 1];
    loop {
        stream
            .read_exact(&mut byte)
            .map_err(|e| format!("read: {e}"))?;
        match byte[0] {
            b'0'..=b'9' => len = len * 10 + usize::from(byte[0] - b'0'),
            b':' => break,
            other => return Err(format!("bad netstring length byte {other:#04x}")),
        }
    }
    let mut body = vec![0u8; len + 1];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("read: {e}"))?;
    if body.pop() != Some(b',') {
        return Err("netstring without its trailing comma".into());
    }
    Ok(body)
}
