//! Call recording (flows.md §5 `recording_start`): a stereo WAV, caller on the left channel and
//! switchyard's own audio on the right, 8 kHz 16-bit PCM, with a JSON sidecar.
//!
//! Files live in `[recordings] dir`, named by recording id: `<dir>/<id>.wav` and
//! `<dir>/<id>.json`. The sidecar ([`RecordingInfo`]) is written when the recording starts
//! (`ended_at: null`) and rewritten when it finishes; both writes go to a temporary file that is
//! then renamed, so a reader never sees half a sidecar.
//!
//! **Crash safety.** The 44-byte header is written first and rewritten in place (one write of
//! the whole header) every [`HEADER_UPDATE_FRAMES`] frames written (100 ms of audio), right after
//! the buffered samples are flushed to the file. A process killed at any point (`kill -9`) thus
//! leaves a playable file whose header counts every sample up to the last update; at most one
//! interval of samples after it lies beyond the declared `data` chunk, where players ignore it.
//! Only [`Recorder::finish`] syncs to disk.
//!
//! **Alignment.** The two directions arrive independently, each as 20 ms frames of 160 samples,
//! tagged with a *frame index*: the number of 20 ms frames since the recording started, taken
//! from the media task's pacer (the same clock for both directions). Frame `n` of the file holds
//! caller frame `n` on the left and our frame `n` on the right. A frame is written as soon as both
//! sides are known, or once a frame [`REORDER_WINDOW_FRAMES`] newer has been pushed (the missing
//! side becomes silence). Frames for an index already written arrive too late and are dropped
//! (counted in [`Recorder::late_frames`]); a second frame for the same side and index is ignored.
//! Frames of the wrong length are padded with silence or truncated.
//!
//! **Async use.** [`Recorder::push_caller`] and [`Recorder::push_ours`] only copy into a small
//! `BufWriter`; every 100 ms of audio they make one `write` of the samples and one of the header
//! (no fsync), cheap enough to call inline from the media task. [`Recorder::start`] creates files
//! and [`Recorder::finish`] fsyncs and renames: run those in `tokio::task::spawn_blocking` (the
//! recorder is `Send + 'static`). Dropping a recorder without finishing it flushes what it holds
//! and fixes the header, but leaves the sidecar's `ended_at` null.
//!
//! ```no_run
//! use runtime::recording::{EndReason, Recorder, RecordingMeta};
//! let meta = RecordingMeta {
//!     id: "rec-1".into(),
//!     call_id: "call-1".into(),
//!     activeflow_id: "af-1".into(),
//!     flow_id: "flow-1".into(),
//!     started_at: chrono::Utc::now(),
//! };
//! let mut rec = Recorder::start("data/recordings".as_ref(), meta)?;
//! rec.push_ours(0, &[0i16; 160])?;
//! rec.push_caller(0, &[0i16; 160])?;
//! let info = rec.finish(EndReason::Hangup)?;
//! assert_eq!(info.duration_ms, 20);
//! # Ok::<(), runtime::recording::RecordingError>(())
//! ```

use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Sample rate of recordings (Hz).
pub const SAMPLE_RATE: u32 = 8_000;
/// Channels of the WAV: 0 = caller (left), 1 = switchyard (right).
pub const CHANNELS: u16 = 2;
/// Samples per channel in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 160;
/// Length of one frame in milliseconds.
pub const FRAME_MS: u64 = 20;
/// Frames written between two header updates: 5 frames = 100 ms of audio.
pub const HEADER_UPDATE_FRAMES: u64 = 5;
/// A frame missing one side is written once a frame this many indexes newer was pushed (60 ms).
pub const REORDER_WINDOW_FRAMES: u64 = 3;
/// Largest forward jump of the frame index (60 s), filled with silence; beyond it the frame is
/// refused, so a bogus index cannot make one push write gigabytes.
pub const MAX_GAP_FRAMES: u64 = 3_000;

/// Bytes of the canonical PCM WAV header.
pub const HEADER_LEN: u64 = 44;
/// Bytes of one stereo frame in the file.
pub const FRAME_BYTES: u64 = FRAME_SAMPLES as u64 * CHANNELS as u64 * 2;
/// Most frames one WAV holds: its RIFF sizes are 32-bit (about 37 hours).
pub const MAX_FRAMES: u64 = (u32::MAX as u64 - (HEADER_LEN - 8)) / FRAME_BYTES;
/// Longest recording id (it is a file name).
const MAX_ID_LEN: usize = 128;

/// Who the recording belongs to; fixed at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMeta {
    /// The recording id, also the file stem: 1 to 128 ASCII letters, digits, `-` or `_`.
    pub id: String,
    pub call_id: String,
    pub activeflow_id: String,
    pub flow_id: String,
    /// Wall-clock time of frame 0.
    pub started_at: DateTime<Utc>,
}

/// The sidecar, and the `recording_finished` event's data.
pub use call::{RecordingFormat, RecordingInfo};
/// Why a recording ended (the sidecar's `end_reason`).
pub use media::session::RecordingEnd as EndReason;

/// Why a recording could not start or go on. The recording action fails or the recording ends;
/// the call itself goes on.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The id cannot be used as a file name: generate ids as UUIDs.
    #[error(
        "recording id {0:?} is not a file name (1-{MAX_ID_LEN} ASCII letters, digits, '-' or '_')"
    )]
    InvalidId(String),
    /// A file could not be created or written (disk full, permissions, an existing recording
    /// of the same id). End the recording; what was written so far stays playable.
    #[error("recording file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The WAV holds [`MAX_FRAMES`] frames and cannot grow: finish the recording.
    #[error("recording reached the WAV size limit of {MAX_FRAMES} frames")]
    Full,
    /// The frame index jumped more than [`MAX_GAP_FRAMES`] ahead; the frame was dropped. A bug
    /// in the caller's frame clock.
    #[error("frame {index} is more than {MAX_GAP_FRAMES} frames ahead of frame {next}")]
    FrameTooFarAhead { index: u64, next: u64 },
}

/// A recording being written. See the module docs for the alignment and crash-safety contract.
#[derive(Debug)]
pub struct Recorder {
    info: RecordingInfo,
    dir: PathBuf,
    wav_path: PathBuf,
    out: BufWriter<File>,
    /// Frames in the file (or its write buffer); also the index of the first pending frame.
    frames_written: u64,
    /// Frames the on-disk header declares.
    frames_in_header: u64,
    /// Highest frame index pushed on either side.
    newest: Option<u64>,
    /// Frames `frames_written..`, waiting for a side.
    pending: VecDeque<Slot>,
    late_frames: u64,
    finished: bool,
}

#[derive(Debug, Default)]
struct Slot {
    caller: Option<[i16; FRAME_SAMPLES]>,
    ours: Option<[i16; FRAME_SAMPLES]>,
}

#[derive(Debug, Clone, Copy)]
enum Side {
    Caller,
    Ours,
}

impl media::session::RecordingSink for Recorder {
    fn push_caller(&mut self, frame: u64, pcm: &[i16]) -> bool {
        Recorder::push_caller(self, frame, pcm).is_ok()
    }
    fn push_ours(&mut self, frame: u64, pcm: &[i16]) -> bool {
        Recorder::push_ours(self, frame, pcm).is_ok()
    }
}

impl Recorder {
    /// Create `<dir>/<id>.wav` (header only) and the sidecar; `dir` is created if missing. An
    /// existing recording of the same id is never overwritten.
    pub fn start(dir: &Path, meta: RecordingMeta) -> Result<Recorder, RecordingError> {
        if !is_file_stem(&meta.id) {
            return Err(RecordingError::InvalidId(meta.id));
        }
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RecordingError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let filename = format!("{}.wav", meta.id);
        let wav_path = dir.join(&filename);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&wav_path)
            .map_err(io_err(&wav_path))?;
        let mut out = BufWriter::new(file);
        out.write_all(&wav_header(0))
            .and_then(|()| out.flush())
            .map_err(io_err(&wav_path))?;
        let info = RecordingInfo {
            id: meta.id,
            call_id: meta.call_id,
            activeflow_id: meta.activeflow_id,
            flow_id: meta.flow_id,
            format: RecordingFormat::Wav,
            channels: CHANNELS,
            sample_rate: SAMPLE_RATE,
            started_at: meta.started_at,
            ended_at: None,
            duration_ms: 0,
            end_reason: None,
            filename,
        };
        if let Err(e) = write_sidecar(dir, &info, false) {
            let _ = std::fs::remove_file(&wav_path);
            return Err(e);
        }
        Ok(Recorder {
            info,
            dir: dir.to_path_buf(),
            wav_path,
            out,
            frames_written: 0,
            frames_in_header: 0,
            newest: None,
            pending: VecDeque::new(),
            late_frames: 0,
            finished: false,
        })
    }

    /// Caller audio (left channel) for frame `frame_index` (20 ms frames since start).
    pub fn push_caller(&mut self, frame_index: u64, samples: &[i16]) -> Result<(), RecordingError> {
        self.push(Side::Caller, frame_index, samples)
    }

    /// Our outgoing audio (right channel) for frame `frame_index`. Push one every pacer tick,
    /// silence included: these frames are what moves the recording forward in time.
    pub fn push_ours(&mut self, frame_index: u64, samples: &[i16]) -> Result<(), RecordingError> {
        self.push(Side::Ours, frame_index, samples)
    }

    /// Audio written so far, in milliseconds (pending frames not included).
    pub fn duration_ms(&self) -> u64 {
        self.frames_written * FRAME_MS
    }

    /// Frames dropped because their index had already been written.
    pub fn late_frames(&self) -> u64 {
        self.late_frames
    }

    /// The sidecar as it stands (`ended_at` and `end_reason` null until finished).
    pub fn info(&self) -> &RecordingInfo {
        &self.info
    }

    /// Full path of the WAV file.
    pub fn wav_path(&self) -> &Path {
        &self.wav_path
    }

    /// Write the pending frames (a missing side is silence) up to the newest index pushed, fix
    /// the header, fsync, and rewrite the sidecar with `ended_at`, `duration_ms` and
    /// `end_reason`. Blocks on the disk: call it from `spawn_blocking`.
    pub fn finish(mut self, end_reason: EndReason) -> Result<RecordingInfo, RecordingError> {
        self.finished = true;
        let drained = self.drain_all();
        let synced = drained.and_then(|()| self.update_header()).and_then(|()| {
            self.out
                .get_ref()
                .sync_all()
                .map_err(|source| self.io_error(source))
        });
        self.info.duration_ms = self.duration_ms();
        self.info.ended_at = Some(self.ended_at());
        self.info.end_reason = Some(end_reason);
        // The sidecar is written even when the audio failed: it tells what the file holds.
        let sidecar = write_sidecar(&self.dir, &self.info, true);
        synced.and(sidecar).map(|()| self.info.clone())
    }

    fn push(&mut self, side: Side, index: u64, samples: &[i16]) -> Result<(), RecordingError> {
        let next = self.frames_written;
        if index < next {
            self.late_frames += 1;
            return Ok(());
        }
        if index - next > MAX_GAP_FRAMES {
            return Err(RecordingError::FrameTooFarAhead { index, next });
        }
        if index >= MAX_FRAMES {
            return Err(RecordingError::Full);
        }
        if self.newest.is_none_or(|n| index > n) {
            self.newest = Some(index);
            // Frames REORDER_WINDOW_FRAMES older than the newest stop waiting for a side.
            while self.frames_written + REORDER_WINDOW_FRAMES <= index {
                let slot = self.pending.pop_front().unwrap_or_default();
                self.write_frame(&slot)?;
            }
        }
        // index >= frames_written (checked above, and only older frames were written since),
        // and index - frames_written < REORDER_WINDOW_FRAMES, so this is small.
        let offset = (index - self.frames_written) as usize;
        while self.pending.len() <= offset {
            self.pending.push_back(Slot::default());
        }
        let slot = &mut self.pending[offset];
        let cell = match side {
            Side::Caller => &mut slot.caller,
            Side::Ours => &mut slot.ours,
        };
        if cell.is_none() {
            *cell = Some(frame_of(samples));
        }
        while self
            .pending
            .front()
            .is_some_and(|s| s.caller.is_some() && s.ours.is_some())
        {
            let slot = self.pending.pop_front().unwrap_or_default();
            self.write_frame(&slot)?;
        }
        Ok(())
    }

    fn drain_all(&mut self) -> Result<(), RecordingError> {
        while let Some(slot) = self.pending.pop_front() {
            self.write_frame(&slot)?;
        }
        Ok(())
    }

    /// Append one interleaved stereo frame; update the header every HEADER_UPDATE_FRAMES.
    fn write_frame(&mut self, slot: &Slot) -> Result<(), RecordingError> {
        if self.frames_written >= MAX_FRAMES {
            return Err(RecordingError::Full);
        }
        let silence = [0i16; FRAME_SAMPLES];
        let left = slot.caller.as_ref().unwrap_or(&silence);
        let right = slot.ours.as_ref().unwrap_or(&silence);
        let mut bytes = [0u8; FRAME_BYTES as usize];
        for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
            chunk[..2].copy_from_slice(&left[i].to_le_bytes());
            chunk[2..].copy_from_slice(&right[i].to_le_bytes());
        }
        self.out
            .write_all(&bytes)
            .map_err(|source| self.io_error(source))?;
        self.frames_written += 1;
        if self.frames_written - self.frames_in_header >= HEADER_UPDATE_FRAMES {
            self.update_header()?;
        }
        Ok(())
    }

    /// Flush the samples, then rewrite the whole header in one write so its two sizes never
    /// disagree, then return to the end of the file.
    fn update_header(&mut self) -> Result<(), RecordingError> {
        let data_bytes = data_bytes(self.frames_written);
        let result = self.out.flush().and_then(|()| {
            let file = self.out.get_mut();
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&wav_header(data_bytes))?;
            file.seek(SeekFrom::End(0))?;
            Ok(())
        });
        result.map_err(|source| self.io_error(source))?;
        self.frames_in_header = self.frames_written;
        Ok(())
    }

    fn ended_at(&self) -> DateTime<Utc> {
        let ms = i64::try_from(self.duration_ms()).unwrap_or(i64::MAX);
        chrono::TimeDelta::try_milliseconds(ms)
            .and_then(|d| self.info.started_at.checked_add_signed(d))
            .unwrap_or(self.info.started_at)
    }

    fn io_error(&self, source: io::Error) -> RecordingError {
        RecordingError::Io {
            path: self.wav_path.clone(),
            source,
        }
    }
}

impl Drop for Recorder {
    /// A recorder dropped without [`Recorder::finish`] (its task ended) keeps its audio: the
    /// pending frames are written and the header fixed. The sidecar stays "recording".
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.drain_all();
            let _ = self.update_header();
        }
    }
}

/// A `data` chunk of `frames` stereo frames, in bytes. Fits in u32 for frames <= MAX_FRAMES.
fn data_bytes(frames: u64) -> u32 {
    u32::try_from(frames.min(MAX_FRAMES) * FRAME_BYTES).unwrap_or(u32::MAX)
}

/// The canonical 44-byte header of 8 kHz 16-bit stereo PCM holding `data_bytes` of samples.
fn wav_header(data_bytes: u32) -> [u8; HEADER_LEN as usize] {
    let block_align = CHANNELS * 2;
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&data_bytes.saturating_add(36).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&CHANNELS.to_le_bytes());
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(SAMPLE_RATE * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Exactly one frame: `samples` truncated or padded with silence.
fn frame_of(samples: &[i16]) -> [i16; FRAME_SAMPLES] {
    let mut frame = [0i16; FRAME_SAMPLES];
    let n = samples.len().min(FRAME_SAMPLES);
    frame[..n].copy_from_slice(&samples[..n]);
    frame
}

fn is_file_stem(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Write `<dir>/<id>.json` through a temporary file and a rename; `sync` fsyncs it first.
fn write_sidecar(dir: &Path, info: &RecordingInfo, sync: bool) -> Result<(), RecordingError> {
    let path = dir.join(format!("{}.json", info.id));
    let tmp = dir.join(format!("{}.json.tmp", info.id));
    let result = (|| {
        let json = serde_json::to_vec_pretty(info).map_err(io::Error::other)?;
        let mut file = File::create(&tmp)?;
        file.write_all(&json)?;
        if sync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        RecordingError::Io { path, source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir =
                std::env::temp_dir().join(format!("sy-rec-{name}-{}-{nanos}", std::process::id()));
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn meta(id: &str) -> RecordingMeta {
        RecordingMeta {
            id: id.into(),
            call_id: "call-1".into(),
            activeflow_id: "af-1".into(),
            flow_id: "flow-1".into(),
            started_at: DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap(),
        }
    }

    /// A parsed canonical WAV: (channels, rate, bits, riff size, declared data bytes, samples).
    struct Wav {
        channels: u16,
        rate: u32,
        bits: u16,
        riff_size: u32,
        data_size: u32,
        samples: Vec<i16>,
    }

    fn read_wav(path: &Path) -> Wav {
        let b = std::fs::read(path).unwrap();
        assert!(b.len() >= 44, "file shorter than a header");
        assert_eq!(&b[0..4], b"RIFF");
        assert_eq!(&b[8..16], b"WAVEfmt ");
        assert_eq!(&b[36..40], b"data");
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        assert_eq!(u16_at(20), 1, "PCM");
        let data_size = u32_at(40);
        let end = 44 + data_size as usize;
        assert!(
            end <= b.len(),
            "header declares more data than the file holds"
        );
        Wav {
            channels: u16_at(22),
            rate: u32_at(24),
            bits: u16_at(34),
            riff_size: u32_at(4),
            data_size,
            samples: b[44..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect(),
        }
    }

    fn channel(samples: &[i16], ch: usize) -> Vec<i16> {
        samples.iter().skip(ch).step_by(2).copied().collect()
    }

    /// Goertzel power of `freq` in `x` at 8 kHz.
    fn goertzel(x: &[i16], freq: f64) -> f64 {
        let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / f64::from(SAMPLE_RATE)).cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &v in x {
            let s = f64::from(v) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    }

    fn dominant_hz(x: &[i16]) -> f64 {
        (2..=36)
            .map(|k| f64::from(k) * 50.0)
            .max_by(|a, b| goertzel(x, *a).total_cmp(&goertzel(x, *b)))
            .unwrap()
    }

    fn frames(tone: &[i16]) -> Vec<&[i16]> {
        tone.chunks(FRAME_SAMPLES).collect()
    }

    #[test]
    fn one_second_of_two_tones_is_stereo_caller_left_ours_right() {
        let dir = TempDir::new("tones");
        let caller = media::tone::sine(400.0, 0.5, 1000, SAMPLE_RATE);
        let ours = media::tone::sine(1000.0, 0.5, 1000, SAMPLE_RATE);
        let mut rec = Recorder::start(&dir.0, meta("rec-tones")).unwrap();
        for (i, (c, o)) in frames(&caller).into_iter().zip(frames(&ours)).enumerate() {
            rec.push_ours(i as u64, o).unwrap();
            rec.push_caller(i as u64, c).unwrap();
        }
        let info = rec.finish(EndReason::Stop).unwrap();

        let wav = read_wav(&dir.0.join("rec-tones.wav"));
        assert_eq!((wav.channels, wav.rate, wav.bits), (2, 8000, 16));
        assert_eq!(wav.riff_size, 36 + wav.data_size);
        let seconds = wav.samples.len() as f64 / 2.0 / 8000.0;
        assert!((seconds - 1.0).abs() <= 0.020, "{seconds} s");
        let (left, right) = (channel(&wav.samples, 0), channel(&wav.samples, 1));
        assert_eq!(left, caller);
        assert_eq!(right, ours);
        assert_eq!(dominant_hz(&left), 400.0);
        assert_eq!(dominant_hz(&right), 1000.0);

        assert_eq!(info.duration_ms, 1000);
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.0.join("rec-tones.json")).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "rec-tones",
                "call_id": "call-1",
                "activeflow_id": "af-1",
                "flow_id": "flow-1",
                "format": "wav",
                "channels": 2,
                "sample_rate": 8000,
                "started_at": "2025-01-02T03:04:05Z",
                "ended_at": "2025-01-02T03:04:06Z",
                "duration_ms": 1000,
                "end_reason": "stop",
                "filename": "rec-tones.wav",
            })
        );
        let parsed: RecordingInfo = serde_json::from_value(json).unwrap();
        assert_eq!(parsed, info);
        assert!(!dir.0.join("rec-tones.json.tmp").exists());
    }

    #[test]
    fn missing_caller_frames_are_silence_and_channels_stay_aligned() {
        let dir = TempDir::new("gap");
        let caller = media::tone::sine(400.0, 0.5, 1000, SAMPLE_RATE);
        let ours = media::tone::sine(1000.0, 0.5, 1000, SAMPLE_RATE);
        let mut rec = Recorder::start(&dir.0, meta("rec-gap")).unwrap();
        for (i, (c, o)) in frames(&caller).into_iter().zip(frames(&ours)).enumerate() {
            if !(10..20).contains(&i) {
                rec.push_caller(i as u64, c).unwrap();
            }
            rec.push_ours(i as u64, o).unwrap();
        }
        rec.finish(EndReason::Hangup).unwrap();

        let wav = read_wav(&dir.0.join("rec-gap.wav"));
        let (left, right) = (channel(&wav.samples, 0), channel(&wav.samples, 1));
        assert_eq!(right, ours);
        let gap = 10 * FRAME_SAMPLES..20 * FRAME_SAMPLES;
        assert!(left[gap.clone()].iter().all(|&s| s == 0));
        assert_eq!(left[..gap.start], caller[..gap.start]);
        assert_eq!(left[gap.end..], caller[gap.end..]);
    }

    #[test]
    fn caller_frames_arriving_late_within_the_window_keep_their_place() {
        let dir = TempDir::new("reorder");
        let caller = media::tone::sine(400.0, 0.5, 400, SAMPLE_RATE);
        let ours = media::tone::sine(1000.0, 0.5, 400, SAMPLE_RATE);
        let (c, o) = (frames(&caller), frames(&ours));
        let mut rec = Recorder::start(&dir.0, meta("rec-reorder")).unwrap();
        // Each caller frame arrives two ticks after our frame of the same index.
        for i in 0..o.len() + 2 {
            if let Some(f) = o.get(i) {
                rec.push_ours(i as u64, f).unwrap();
            }
            if let Some(f) = i.checked_sub(2).and_then(|j| c.get(j)) {
                rec.push_caller((i - 2) as u64, f).unwrap();
            }
        }
        assert_eq!(rec.late_frames(), 0);
        rec.finish(EndReason::Stop).unwrap();
        let wav = read_wav(&dir.0.join("rec-reorder.wav"));
        assert_eq!(channel(&wav.samples, 0), caller);
        assert_eq!(channel(&wav.samples, 1), ours);
    }

    #[test]
    fn frames_older_than_the_window_are_dropped_and_counted() {
        let dir = TempDir::new("late");
        let mut rec = Recorder::start(&dir.0, meta("rec-late")).unwrap();
        for i in 0..10 {
            rec.push_ours(i, &[100; FRAME_SAMPLES]).unwrap();
        }
        // Frame 0 waited REORDER_WINDOW_FRAMES for the caller, then was written.
        rec.push_caller(0, &[7; FRAME_SAMPLES]).unwrap();
        assert_eq!(rec.late_frames(), 1);
        // Frame 9 is still pending: its caller side is accepted, a duplicate ignored.
        rec.push_caller(9, &[5; FRAME_SAMPLES]).unwrap();
        rec.push_caller(9, &[6; FRAME_SAMPLES]).unwrap();
        rec.finish(EndReason::Stop).unwrap();
        let left = channel(&read_wav(&dir.0.join("rec-late.wav")).samples, 0);
        assert_eq!(left.len(), 10 * FRAME_SAMPLES);
        assert!(left[..9 * FRAME_SAMPLES].iter().all(|&s| s == 0));
        assert!(left[9 * FRAME_SAMPLES..].iter().all(|&s| s == 5));
    }

    #[test]
    fn frames_of_wrong_length_are_padded_or_truncated() {
        let dir = TempDir::new("length");
        let mut rec = Recorder::start(&dir.0, meta("rec-length")).unwrap();
        rec.push_caller(0, &[1; 10]).unwrap();
        rec.push_ours(0, &[2; 500]).unwrap();
        rec.push_caller(1, &[]).unwrap();
        rec.push_ours(1, &[3; FRAME_SAMPLES]).unwrap();
        let info = rec.finish(EndReason::Key).unwrap();
        assert_eq!(info.duration_ms, 40);
        let wav = read_wav(&dir.0.join("rec-length.wav"));
        let (left, right) = (channel(&wav.samples, 0), channel(&wav.samples, 1));
        assert_eq!(left.len(), 2 * FRAME_SAMPLES);
        assert!(left[..10].iter().all(|&s| s == 1));
        assert!(left[10..].iter().all(|&s| s == 0));
        assert!(right[..FRAME_SAMPLES].iter().all(|&s| s == 2));
        assert!(right[FRAME_SAMPLES..].iter().all(|&s| s == 3));
    }

    #[test]
    fn a_jump_in_frame_index_is_filled_with_silence_up_to_a_limit() {
        let dir = TempDir::new("jump");
        let mut rec = Recorder::start(&dir.0, meta("rec-jump")).unwrap();
        rec.push_ours(0, &[1; FRAME_SAMPLES]).unwrap();
        rec.push_ours(50, &[2; FRAME_SAMPLES]).unwrap();
        assert!(matches!(
            rec.push_ours(50 + MAX_GAP_FRAMES + 10, &[3; FRAME_SAMPLES]),
            Err(RecordingError::FrameTooFarAhead { .. })
        ));
        assert!(matches!(
            rec.push_caller(u64::MAX, &[3; FRAME_SAMPLES]),
            Err(RecordingError::FrameTooFarAhead { .. })
        ));
        let info = rec.finish(EndReason::Duration).unwrap();
        assert_eq!(info.duration_ms, 51 * FRAME_MS);
        let right = channel(&read_wav(&dir.0.join("rec-jump.wav")).samples, 1);
        assert!(right[FRAME_SAMPLES..50 * FRAME_SAMPLES]
            .iter()
            .all(|&s| s == 0));
        assert!(right[50 * FRAME_SAMPLES..].iter().all(|&s| s == 2));
    }

    #[test]
    fn header_on_disk_trails_the_samples_by_at_most_one_update_interval() {
        let dir = TempDir::new("header");
        let mut rec = Recorder::start(&dir.0, meta("rec-header")).unwrap();
        let sidecar: RecordingInfo =
            serde_json::from_slice(&std::fs::read(dir.0.join("rec-header.json")).unwrap()).unwrap();
        assert_eq!((sidecar.ended_at, sidecar.end_reason), (None, None));
        for i in 0..23u64 {
            rec.push_ours(i, &[1000; FRAME_SAMPLES]).unwrap();
            rec.push_caller(i, &[-1000; FRAME_SAMPLES]).unwrap();
            // What a crash now would leave: the file as the OS has it, without our buffer.
            let wav = read_wav(&dir.0.join("rec-header.wav"));
            assert_eq!(wav.riff_size, 36 + wav.data_size);
            let declared = u64::from(wav.data_size) / FRAME_BYTES;
            assert_eq!(
                declared,
                (i + 1) / HEADER_UPDATE_FRAMES * HEADER_UPDATE_FRAMES
            );
            assert!(rec.duration_ms() / FRAME_MS - declared < HEADER_UPDATE_FRAMES);
        }
        drop(rec);
        // Dropped without finish: all 23 frames are declared; the sidecar still says recording.
        let wav = read_wav(&dir.0.join("rec-header.wav"));
        assert_eq!(u64::from(wav.data_size), 23 * FRAME_BYTES);
        let sidecar: RecordingInfo =
            serde_json::from_slice(&std::fs::read(dir.0.join("rec-header.json")).unwrap()).unwrap();
        assert_eq!(sidecar.ended_at, None);
    }

    #[test]
    fn ids_that_are_not_plain_file_names_are_refused() {
        let dir = TempDir::new("ids");
        for id in ["", "../escape", "a/b", ".hidden", "a.wav", &"x".repeat(129)] {
            assert!(
                matches!(
                    Recorder::start(&dir.0, meta(id)),
                    Err(RecordingError::InvalidId(_))
                ),
                "{id:?}"
            );
        }
        assert!(!dir.0.exists());
    }

    #[test]
    fn an_existing_recording_is_never_overwritten() {
        let dir = TempDir::new("exists");
        let rec = Recorder::start(&dir.0, meta("rec-dup")).unwrap();
        rec.finish(EndReason::Stop).unwrap();
        assert!(matches!(
            Recorder::start(&dir.0, meta("rec-dup")),
            Err(RecordingError::Io { .. })
        ));
        let json: RecordingInfo =
            serde_json::from_slice(&std::fs::read(dir.0.join("rec-dup.json")).unwrap()).unwrap();
        assert_eq!(json.end_reason, Some(EndReason::Stop));
        assert_eq!(json.duration_ms, 0);
    }
}
