//! baresip, a real softphone, dials in; the call is answered; what baresip records of the call
//! is speech-loud for the prompt's duration.
//!
//! baresip runs headless from a config directory of the test's own: no UI module (the `menu`
//! module only provides the `/dial` command run by `-e`), no sound card (no audio player module
//! at all; the source is `aufile` reading silence), and the `sndfile` filter, which writes what
//! baresip decodes from the call to `<snd_path>/dump-<time>-dec.wav`. All of it ships in Debian's
//! `baresip-core` package.

mod support;

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use support::baresip::{Baresip, Options};
use support::{flow, require, tempdir, write_tone_wav, Server, ServerOptions};

/// `sounds/test-prompt.wav` lasts exactly this long.
const PROMPT_SECS: f64 = 3.0;
/// How far the loud region's length may be from `PROMPT_SECS`.
const PROMPT_TOLERANCE_SECS: f64 = 0.4;
/// RMS windows.
const WINDOW_MS: u32 = 20;
/// A window louder than this is speech-loud; the loud region runs from the first such window
/// to the last.
const LOUD_DBFS: f64 = -35.0;
/// A window louder than this has speech in it (decoded G.711 silence is about -84 dBFS).
const ACTIVE_DBFS: f64 = -45.0;

#[test]
fn baresip_softphone_dials_in_and_records_the_prompt_loud() {
    require("baresip");
    let server = Server::start(ServerOptions {
        flows: vec![(
            "main",
            flow(
                "main",
                json!([
                    {"type": "answer"},
                    {"type": "play", "option": {"stream_urls": ["test-prompt"]}},
                    {"type": "sleep", "option": {"duration": 500}},
                    {"type": "hangup"}
                ]),
            ),
        )],
        ..Default::default()
    });

    let dir = tempdir::Dir::new("baresip");
    // What baresip sends: 20 s of silence (a 0 Hz tone), longer than the call.
    let silence = dir.path().join("silence.wav");
    write_tone_wav(&silence, 0.0, 20.0);
    let mut baresip = Baresip::dial(
        dir.path(),
        &format!("sip:1000@127.0.0.1:{}", server.sip_port),
        Options {
            source: &silence,
            record: true,
            control: false,
            account_params: "",
            quit_after_s: 20,
        },
    );

    // The server hangs up with BYE after the prompt and the pause (about 3.5 s).
    let completed = server.wait_for(Duration::from_secs(15), |s| {
        s.metric("switchyard_calls_total{outcome=\"completed\"}") == 1.0
    });
    assert!(
        completed,
        "the server did not complete one call\n{}",
        diagnostics(&server, &baresip)
    );
    // baresip closes the recording when the call ends, on the server's BYE.
    let ended = baresip.wait_output(Duration::from_secs(5), "terminated");
    assert!(
        ended,
        "baresip did not see the call end\n{}",
        diagnostics(&server, &baresip)
    );
    baresip.stop();

    assert_eq!(
        server.metric("switchyard_calls_total{outcome=\"completed\"}"),
        1.0,
        "{}",
        diagnostics(&server, &baresip)
    );

    let recording = baresip.recording().unwrap_or_else(|| {
        panic!(
            "baresip recorded nothing of the call\n{}",
            diagnostics(&server, &baresip)
        )
    });
    let wav = read_wav(&recording).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\n{}",
            recording.display(),
            diagnostics(&server, &baresip)
        )
    });
    let loudness = Loudness::of(&wav);
    println!("baresip recording {}: {loudness}", recording.display());

    let context = || format!("{loudness}\n{}", diagnostics(&server, &baresip));
    assert!(
        (loudness.region_secs - PROMPT_SECS).abs() <= PROMPT_TOLERANCE_SECS,
        "the speech-loud region lasts {:.2} s, not {PROMPT_SECS} s ± {PROMPT_TOLERANCE_SECS} s\n{}",
        loudness.region_secs,
        context()
    );
    assert!(
        loudness.region_dbfs > -30.0,
        "the loud region is too quiet: {:.1} dBFS RMS\n{}",
        loudness.region_dbfs,
        context()
    );
    assert!(
        loudness.active_fraction >= 0.7,
        "speech is missing from {:.0}% of the loud region's {WINDOW_MS} ms windows\n{}",
        (1.0 - loudness.active_fraction) * 100.0,
        context()
    );
    assert!(
        loudness.loud_fraction >= 0.4,
        "only {:.0}% of the loud region's {WINDOW_MS} ms windows are above {LOUD_DBFS} dBFS\n{}",
        loudness.loud_fraction * 100.0,
        context()
    );
}

/// The server log and the tail of baresip's output.
fn diagnostics(server: &Server, baresip: &Baresip) -> String {
    let out = baresip.output();
    // The status line rewrites itself many times a second; keep the tail.
    let tail: String = {
        let chars: Vec<char> = out.chars().collect();
        chars[chars.len().saturating_sub(6000)..].iter().collect()
    };
    format!(
        "--- server log ---\n{}\n--- baresip output (tail) ---\n{tail}",
        server.log()
    )
}

/// Mono PCM16 audio.
struct Wav {
    rate: u32,
    samples: Vec<i16>,
}

/// Reads a RIFF/WAVE file of 16-bit mono PCM.
fn read_wav(path: &Path) -> Result<Wav, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let mut format = None;
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32_at(pos + 4) as usize;
        let body = pos + 8;
        match id {
            b"fmt " if len >= 16 && body + 16 <= bytes.len() => {
                // (format tag, channels, rate, bits per sample)
                format = Some((
                    u16_at(body),
                    u16_at(body + 2),
                    u32_at(body + 4),
                    u16_at(body + 14),
                ));
            }
            b"data" => {
                let (tag, channels, rate, bits) = format.ok_or("data chunk before fmt chunk")?;
                if tag != 1 || channels != 1 || bits != 16 {
                    return Err(format!(
                        "want 16-bit mono PCM, got format {tag}, {channels} channel(s), {bits} bits"
                    ));
                }
                // A file not closed properly may have a wrong length: take what is there.
                let end = body.saturating_add(len).min(bytes.len());
                let samples = bytes[body..end]
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                return Ok(Wav { rate, samples });
            }
            _ => {}
        }
        pos = body + len + (len & 1);
    }
    Err("no data chunk".into())
}

/// The loudness of a recording, in `WINDOW_MS` windows.
struct Loudness {
    total_secs: f64,
    /// Where the loud region starts and how long it lasts.
    region_start_secs: f64,
    region_secs: f64,
    /// RMS of the whole region.
    region_dbfs: f64,
    /// Share of the region's windows above `ACTIVE_DBFS` and above `LOUD_DBFS`.
    active_fraction: f64,
    loud_fraction: f64,
    /// Every window's RMS, dBFS.
    windows: Vec<f64>,
}

fn dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    20.0 * (rms.max(1e-3) / 32768.0).log10()
}

impl Loudness {
    fn of(wav: &Wav) -> Loudness {
        let window = (wav.rate * WINDOW_MS / 1000).max(1) as usize;
        let windows: Vec<f64> = wav.samples.chunks_exact(window).map(dbfs).collect();
        let secs_per_window = f64::from(WINDOW_MS) / 1000.0;
        let total_secs = wav.samples.len() as f64 / f64::from(wav.rate);
        let first = windows.iter().position(|&d| d > LOUD_DBFS);
        let last = windows.iter().rposition(|&d| d > LOUD_DBFS);
        let (Some(first), Some(last)) = (first, last) else {
            return Loudness {
                total_secs,
                region_start_secs: 0.0,
                region_secs: 0.0,
                region_dbfs: dbfs(&wav.samples),
                active_fraction: 0.0,
                loud_fraction: 0.0,
                windows,
            };
        };
        let region = &windows[first..=last];
        let share = |threshold: f64| {
            region.iter().filter(|&&d| d > threshold).count() as f64 / region.len() as f64
        };
        Loudness {
            total_secs,
            region_start_secs: first as f64 * secs_per_window,
            region_secs: region.len() as f64 * secs_per_window,
            region_dbfs: dbfs(&wav.samples[first * window..(last + 1) * window]),
            active_fraction: share(ACTIVE_DBFS),
            loud_fraction: share(LOUD_DBFS),
            windows,
        }
    }
}

impl std::fmt::Display for Loudness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:.2} s recorded; loud region (> {LOUD_DBFS} dBFS) at {:.2} s for {:.2} s, \
             {:.1} dBFS RMS, {:.0}% of {WINDOW_MS} ms windows > {ACTIVE_DBFS} dBFS, \
             {:.0}% > {LOUD_DBFS} dBFS",
            self.total_secs,
            self.region_start_secs,
            self.region_secs,
            self.region_dbfs,
            self.active_fraction * 100.0,
            self.loud_fraction * 100.0,
        )?;
        write!(f, "window dBFS:")?;
        for d in &self.windows {
            write!(f, " {d:.0}")?;
        }
        Ok(())
    }
}
