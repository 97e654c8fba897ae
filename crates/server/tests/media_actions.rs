//! Media actions end to end: RFC 2833 captures choosing a menu branch, a stereo recording of
//! both directions, and a recording that survives `kill -9`.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::{flow, http, Server, ServerOptions};

/// Write `tests/sipp/uac_media.xml` with its media action filled in, into `dir`.
fn media_scenario(dir: &Path, delay_ms: u32, action: &str) -> String {
    let template =
        std::fs::read_to_string(support::repo_root().join("tests/sipp/uac_media.xml")).unwrap();
    let path = dir.join("scenario.xml");
    std::fs::write(
        &path,
        template
            .replace("MEDIA_DELAY", &delay_ms.to_string())
            .replace("MEDIA_ACTION", action),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn menu_flow() -> String {
    flow(
        "menu",
        json!([
            {"type": "answer"},
            {"type": "digits_receive", "option": {"duration": 8000, "length": 1}},
            {"type": "variable_set", "option": {"key": "chosen", "value": "${call.digits}"}},
            {"type": "branch", "option": {"target_ids": {"1": "one", "2": "two", "5": "five"}, "default_target_id": "other"}},
            {"id": "one", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "two", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "five", "type": "play", "option": {"stream_urls": ["beep"]}},
            {"type": "hangup"},
            {"id": "other", "type": "hangup", "option": {"reason": "busy"}}
        ]),
    )
}

/// The activeflow of the most recent call, once it has ended.
fn last_activeflow(s: &Server) -> Value {
    assert!(s.wait_for(Duration::from_secs(8), |s| {
        http(s.api_port, "GET", "/v1/calls", None, &[]).json()["calls"][0]["status"] == "ended"
    }));
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
fn rfc2833_captures_choose_the_menu_branch() {
    support::require("sipp");
    for digit in ["1", "2", "5"] {
        let pcap = format!("/usr/share/sip-tester/dtmf_2833_{digit}.pcap");
        assert!(
            Path::new(&pcap).exists(),
            "{pcap} missing: install sip-tester"
        );
        let s = Server::start(ServerOptions {
            flows: vec![("menu", menu_flow())],
            ..Default::default()
        });
        let dir = support::tempdir::Dir::new("dtmf");
        let scenario = media_scenario(
            dir.path(),
            300,
            &format!("<exec play_pcap_audio=\"{pcap}\"/>"),
        );
        let run = s.sipp(&scenario, &[]);
        assert!(run.success, "digit {digit}: {}\n{}", run.output, s.log());
        let af = last_activeflow(&s);
        assert_eq!(af["variables"]["chosen"], digit, "{af}");
        let ids: Vec<&str> = af["executed_actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        let target = match digit {
            "1" => "one",
            "2" => "two",
            _ => "five",
        };
        assert!(
            ids.contains(&target),
            "digit {digit} did not reach {target}: {ids:?}"
        );
        assert!(!ids.contains(&"other"), "{ids:?}");
    }
}

/// `(id if named, type, outcome)` of each executed action.
fn path_of(executed: &[Value]) -> Vec<(String, String, String)> {
    executed
        .iter()
        .map(|a| {
            let id = a["id"].as_str().unwrap_or_default();
            let named = if id.len() == 36 { "" } else { id };
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (named.to_string(), s("type"), s("outcome"))
        })
        .collect()
}

#[test]
fn a_simulation_takes_the_path_a_real_call_takes() {
    support::require("sipp");
    let s = Server::start(ServerOptions {
        flows: vec![("menu", menu_flow())],
        ..Default::default()
    });
    let dir = support::tempdir::Dir::new("same-path");
    let pcap = "/usr/share/sip-tester/dtmf_2833_2.pcap";
    let scenario = media_scenario(
        dir.path(),
        300,
        &format!("<exec play_pcap_audio=\"{pcap}\"/>"),
    );
    let run = s.sipp(&scenario, &[]);
    assert!(run.success, "{}\n{}", run.output, s.log());
    let af = last_activeflow(&s);
    let real = path_of(af["executed_actions"].as_array().unwrap());

    let (code, out) = support::simulate(&menu_flow(), &["--digits", "+300ms,2"], &[]);
    assert_eq!(code, 0, "{out}");
    let simulated: Vec<(String, String, String)> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix('#'))
        .map(|l| {
            let mut f = l.split_whitespace();
            let id = f.next().unwrap_or_default();
            let named = if id.len() == 36 { "" } else { id };
            let t = f.next().unwrap_or_default().to_string();
            let outcome = f.collect::<Vec<_>>().join(" ");
            (named.to_string(), t, outcome)
        })
        .collect();
    assert_eq!(simulated, real, "simulated:\n{out}\nreal: {af}");
    assert!(real.iter().any(|(id, _, _)| id == "two"), "{real:?}");
}

/// A raw µ-law file of a sine tone, for sipp's rtp_stream.
fn ulaw_tone(path: &Path, freq: f32, secs: f32) {
    let n = (8000.0 * secs) as usize;
    let bytes: Vec<u8> = (0..n)
        .map(|i| {
            let s = ((i as f32 * freq * std::f32::consts::TAU / 8000.0).sin() * 10000.0) as i16;
            linear_to_ulaw(s)
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}

fn linear_to_ulaw(sample: i16) -> u8 {
    let sign = if sample < 0 { 0x80 } else { 0 };
    let mut m = (i32::from(sample).abs()).min(32635) + 0x84;
    let mut exp = 7;
    while exp > 0 && m & (0x4000 >> (7 - exp)) == 0 {
        exp -= 1;
    }
    m >>= exp + 3;
    !((sign | (exp << 4) | (m & 0x0f)) as u8)
}

/// Relative power of `freq` in `samples` (Goertzel).
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

struct Wav {
    channels: u16,
    rate: u32,
    data: Vec<i16>,
    declared: u32,
}

fn read_wav(bytes: &[u8]) -> Wav {
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..16], b"WAVEfmt ");
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    assert_eq!(&bytes[36..40], b"data");
    let declared = u32::from_le_bytes(bytes[40..44].try_into().unwrap());
    let end = (44 + declared as usize).min(bytes.len());
    let data = bytes[44..end]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    Wav {
        channels,
        rate,
        data,
        declared,
    }
}

fn recording_flow(tone: &Path, extra_sleep: u64) -> String {
    flow(
        "rec",
        json!([
            {"type": "answer"},
            {"type": "recording_start", "option": {"format": "wav"}},
            {"type": "play", "option": {"stream_urls": [format!("file://{}", tone.display())]}},
            {"type": "sleep", "option": {"duration": extra_sleep}},
            {"type": "recording_stop"},
            {"type": "hangup"}
        ]),
    )
}

#[test]
fn recording_has_the_caller_left_and_switchyard_right() {
    let dir = support::tempdir::Dir::new("rec");
    let ours = dir.path().join("ours-1000.wav");
    support::write_tone_wav(&ours, 1000.0, 3.0);
    let caller = dir.path().join("caller-400.ulaw");
    ulaw_tone(&caller, 400.0, 10.0);
    let s = Server::start(ServerOptions {
        flows: vec![("rec", recording_flow(&ours, 10))],
        ..Default::default()
    });
    let scenario = media_scenario(
        dir.path(),
        0,
        &format!("<exec rtp_stream=\"{},-1,0\"/>", caller.display()),
    );
    let run = s.sipp(&scenario, &[]);
    assert!(run.success, "{}\n{}", run.output, s.log());
    assert!(
        s.wait_for(Duration::from_secs(8), |s| {
            http(s.api_port, "GET", "/v1/recordings", None, &[]).json()["recordings"][0]["ended_at"]
                .is_string()
        }),
        "{}",
        s.log()
    );
    let recs = http(s.api_port, "GET", "/v1/recordings", None, &[]).json();
    let rec = &recs["recordings"][0];
    let id = rec["id"].as_str().unwrap();
    let file = http(
        s.api_port,
        "GET",
        &format!("/v1/recordings/{id}/file"),
        None,
        &[],
    );
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("audio/wav"));
    let wav = read_wav(&file.body);
    assert_eq!((wav.channels, wav.rate), (2, 8000));
    let secs = wav.data.len() as f64 / 2.0 / 8000.0;
    assert!((2.9..=3.3).contains(&secs), "recorded {secs:.2} s");
    // The middle second: left = caller's 400 Hz, right = our 1000 Hz.
    let (a, b) = (8000usize, 16000usize);
    let left: Vec<f64> = wav
        .data
        .chunks(2)
        .skip(a)
        .take(b - a)
        .map(|c| f64::from(c[0]))
        .collect();
    let right: Vec<f64> = wav
        .data
        .chunks(2)
        .skip(a)
        .take(b - a)
        .map(|c| f64::from(c[1]))
        .collect();
    assert!(
        tone_power(&left, 400.0) > 100.0 * tone_power(&left, 1000.0),
        "left is not the caller's 400 Hz"
    );
    assert!(
        tone_power(&right, 1000.0) > 100.0 * tone_power(&right, 400.0),
        "right is not our 1000 Hz"
    );
    // Range download.
    let part = http(
        s.api_port,
        "GET",
        &format!("/v1/recordings/{id}/file"),
        None,
        &[("Range", "bytes=0-43")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body.len(), 44);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-43/{}", file.body.len()).as_str())
    );
}

#[test]
fn a_recording_killed_mid_call_is_still_a_playable_wav() {
    let dir = support::tempdir::Dir::new("rec-kill");
    let ours = dir.path().join("long.wav");
    support::write_tone_wav(&ours, 1000.0, 20.0);
    let caller = dir.path().join("caller.ulaw");
    ulaw_tone(&caller, 400.0, 10.0);
    let mut s = Server::start(ServerOptions {
        flows: vec![("rec", recording_flow(&ours, 0))],
        ..Default::default()
    });
    let scenario = media_scenario(
        dir.path(),
        0,
        &format!("<exec rtp_stream=\"{},-1,0\"/>", caller.display()),
    );
    let port = s.sip_port;
    let call =
        std::thread::spawn(move || support::sipp_against(port, &scenario, &["-timeout", "6"]));
    let rec_dir = s.dir.path().join("recordings");
    assert!(
        s.wait_for(Duration::from_secs(5), |_| std::fs::read_dir(&rec_dir)
            .map(|d| d.count() >= 2)
            .unwrap_or(false))
    );
    std::thread::sleep(Duration::from_millis(1500));
    let mut child = s.child.take().unwrap();
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let _ = call.join();
    let wav_path = std::fs::read_dir(&rec_dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "wav"))
        .expect("a WAV file");
    let bytes = std::fs::read(&wav_path).unwrap();
    let wav = read_wav(&bytes);
    assert_eq!((wav.channels, wav.rate), (2, 8000));
    let on_disk = bytes.len() as u32 - 44;
    assert!(
        wav.declared <= on_disk && on_disk - wav.declared <= 3200,
        "declared {} on disk {on_disk}",
        wav.declared
    );
    let riff = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
    assert_eq!(riff, 36 + wav.declared);
    let secs = wav.data.len() as f64 / 16000.0;
    assert!(secs >= 1.0, "only {secs:.2} s recorded");
    assert!(
        wav.data.iter().skip(8000).any(|&x| x.abs() > 1000),
        "the audio is silent"
    );
}
