//! A recording process killed with SIGKILL mid-write leaves a playable WAV (flows.md §5,
//! `recording_start`: "the file is valid even if the process is killed mid-call").
//!
//! The test binary re-executes itself: the child runs the helper
//! `child_records_until_killed` (selected with `--exact`) with `RECORDING_CHILD_DIR`
//! set, recording faster than real time until the parent kills it.

use runtime::recording::{
    Recorder, RecordingInfo, RecordingMeta, FRAME_BYTES, FRAME_SAMPLES, HEADER_LEN,
    HEADER_UPDATE_FRAMES,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR_VAR: &str = "RECORDING_CHILD_DIR";
const CHILD_TEST: &str = "child_records_until_killed";
const ID: &str = "crash-rec";

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        TempDir(std::env::temp_dir().join(format!("sy-rec-crash-{}-{nanos}", std::process::id())))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills the child if the test fails before it does.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The header fields that matter, checked for a canonical 8 kHz 16-bit stereo PCM WAV.
struct Header {
    riff_size: u32,
    data_size: u32,
}

fn parse_header(b: &[u8]) -> Option<Header> {
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    if b.len() < HEADER_LEN as usize
        || &b[0..4] != b"RIFF"
        || &b[8..16] != b"WAVEfmt "
        || &b[36..40] != b"data"
    {
        return None;
    }
    assert_eq!(u32_at(16), 16, "fmt chunk size");
    assert_eq!(u16_at(20), 1, "PCM");
    assert_eq!(u16_at(22), 2, "channels");
    assert_eq!(u32_at(24), 8000, "sample rate");
    assert_eq!(u32_at(28), 32_000, "byte rate");
    assert_eq!(u16_at(32), 4, "block align");
    assert_eq!(u16_at(34), 16, "bits per sample");
    Some(Header {
        riff_size: u32_at(4),
        data_size: u32_at(40),
    })
}

/// Bytes of audio the on-disk header declares, once the file exists with a header.
fn declared_bytes(path: &Path) -> Option<u32> {
    let bytes = std::fs::read(path).ok()?;
    parse_header(&bytes).map(|h| h.data_size)
}

fn rms(x: &[i16]) -> f64 {
    let sum: f64 = x.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / x.len().max(1) as f64).sqrt()
}

#[test]
fn recording_killed_mid_write_is_a_valid_wav_with_matching_sizes() {
    let dir = TempDir::new();
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let child = Command::new(exe)
        .args(["--exact", CHILD_TEST, "--nocapture"])
        .env(CHILD_DIR_VAR, &dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("re-executing the test binary");
    let mut child = ChildGuard(child);
    let wav = dir.0.join(format!("{ID}.wav"));

    // Wait until at least half a second of audio is declared, then let it write a bit more.
    let deadline = Instant::now() + Duration::from_secs(20);
    while declared_bytes(&wav).unwrap_or(0) < 25 * FRAME_BYTES as u32 {
        assert!(Instant::now() < deadline, "child never recorded 0.5 s");
        assert!(
            child.0.try_wait().ok().flatten().is_none(),
            "child exited on its own"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().expect("reaping the child");
    assert!(!status.success(), "the child was killed, not finished");

    let bytes = std::fs::read(&wav).unwrap();
    let header = parse_header(&bytes).expect("a RIFF/WAVE header with fmt and data chunks");
    let data = u64::from(header.data_size);
    let on_disk = bytes.len() as u64 - HEADER_LEN;
    assert_eq!(u64::from(header.riff_size), 36 + data);
    assert_eq!(data % FRAME_BYTES, 0, "whole stereo frames declared");
    assert!(data >= 25 * FRAME_BYTES, "{data} bytes declared");
    assert!(
        on_disk >= data && on_disk - data <= HEADER_UPDATE_FRAMES * FRAME_BYTES,
        "header declares {data} bytes, {on_disk} on disk"
    );

    let samples: Vec<i16> = bytes[HEADER_LEN as usize..][..data as usize]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert!(rms(&left) > 1000.0, "caller channel is silent");
    assert!(rms(&right) > 1000.0, "our channel is silent");

    // The sidecar was written at start and still says "recording".
    let sidecar: RecordingInfo =
        serde_json::from_slice(&std::fs::read(dir.0.join(format!("{ID}.json"))).unwrap())
            .expect("a complete sidecar");
    assert_eq!(sidecar.ended_at, None);
    assert_eq!(sidecar.filename, format!("{ID}.wav"));
}

/// Not a test of its own: the child process of the test above (returns at once unless
/// `RECORDING_CHILD_DIR` is set). Records a 400 Hz caller tone and a
/// 1000 Hz tone of ours, about ten times faster than real time, until killed.
#[test]
fn child_records_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let meta = RecordingMeta {
        id: ID.into(),
        call_id: "call-crash".into(),
        activeflow_id: "af-crash".into(),
        flow_id: "flow-crash".into(),
        started_at: chrono::Utc::now(),
    };
    let mut rec = Recorder::start(Path::new(&dir), meta).expect("start recording");
    let caller = media::tone::sine(400.0, 0.5, 1000, 8000);
    let ours = media::tone::sine(1000.0, 0.5, 1000, 8000);
    let frames = caller.len() / FRAME_SAMPLES;
    // Bounded so a parent that dies first does not leave this running forever (~60 s).
    for i in 0..30_000u64 {
        let k = (i as usize % frames) * FRAME_SAMPLES;
        rec.push_ours(i, &ours[k..k + FRAME_SAMPLES]).unwrap();
        rec.push_caller(i, &caller[k..k + FRAME_SAMPLES]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}
