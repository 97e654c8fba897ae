//! Voice activity by frame energy, and the silence timer behind recording's
//! `end_of_silence`.
//!
//! A frame is voice when its RMS level reaches a threshold in dBFS, as
//! [`level::rms_dbfs`](crate::level::rms_dbfs) measures it; anything quieter
//! is silence. Simple and cheap, which suits telephone audio: line noise sits
//! far below speech, and [`amd`](crate::amd) needs only voiced/unvoiced per
//! 20 ms.
//!
//! Time is counted in samples at 8 kHz, so frames of any length advance it by
//! exactly their duration.
//!
//! ```
//! use media::vad::SilenceTracker;
//!
//! let mut tracker = SilenceTracker::new(-40.0);
//! let speech = media::tone::sine(300.0, 0.3, 20, 8000);
//! assert_eq!(tracker.process(&speech), 0);
//! assert_eq!(tracker.process(&[0; 160]), 20);
//! assert_eq!(tracker.process(&[0; 160]), 40);
//! ```

use crate::level::rms_dbfs;

/// Default voice threshold: -40 dBFS RMS (≈ an average magnitude of 300 of 32768).
pub const DEFAULT_THRESHOLD_DBFS: f32 = -40.0;
/// Sample rate the durations assume.
pub const SAMPLE_RATE: u32 = 8000;

/// True when the RMS level of `frame` reaches `threshold_dbfs`. Empty and
/// all-zero frames are silence; a non-finite threshold is treated as
/// [`DEFAULT_THRESHOLD_DBFS`].
pub fn is_voice(frame: &[i16], threshold_dbfs: f32) -> bool {
    rms_dbfs(frame) >= sanitize(threshold_dbfs)
}

fn sanitize(threshold_dbfs: f32) -> f32 {
    if threshold_dbfs.is_finite() {
        threshold_dbfs
    } else {
        DEFAULT_THRESHOLD_DBFS
    }
}

/// Counts consecutive silence on one audio stream.
///
/// Every voiced frame resets the count; silence counts from the start, so a
/// stream that never speaks accumulates from its first frame.
#[derive(Debug, Clone)]
pub struct SilenceTracker {
    threshold_dbfs: f32,
    silent_samples: u64,
}

impl Default for SilenceTracker {
    fn default() -> Self {
        Self::new(DEFAULT_THRESHOLD_DBFS)
    }
}

impl SilenceTracker {
    /// A tracker with voice at or above `threshold_dbfs` (non-finite: the default).
    pub fn new(threshold_dbfs: f32) -> Self {
        SilenceTracker {
            threshold_dbfs: sanitize(threshold_dbfs),
            silent_samples: 0,
        }
    }

    /// Feeds the next frame (8 kHz, any length; 20 ms usual) and returns the
    /// consecutive silence so far in ms, this frame included; 0 when the
    /// frame is voice. Feed a frame of zeros for a lost packet so time moves on.
    pub fn process(&mut self, frame: &[i16]) -> u32 {
        if is_voice(frame, self.threshold_dbfs) {
            self.silent_samples = 0;
        } else {
            self.silent_samples = self.silent_samples.saturating_add(frame.len() as u64);
        }
        self.silent_ms()
    }

    /// Consecutive silence so far in ms (saturating).
    pub fn silent_ms(&self) -> u32 {
        u32::try_from(self.silent_samples * 1000 / u64::from(SAMPLE_RATE)).unwrap_or(u32::MAX)
    }

    /// Restarts the count (e.g. when a recording starts).
    pub fn reset(&mut self) {
        self.silent_samples = 0;
    }

    /// The threshold in use, in dBFS.
    pub fn threshold_dbfs(&self) -> f32 {
        self.threshold_dbfs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_signal::{noise, voice, Rng};

    #[test]
    fn speech_is_voice_and_line_noise_is_not() {
        let mut rng = Rng::new(1);
        let talk = voice(&mut rng, 200, -20.0, false);
        assert!(is_voice(&talk[400..560], DEFAULT_THRESHOLD_DBFS));
        let hiss = noise(&mut rng, 160, 10f64.powf(-55.0 / 20.0));
        assert!(!is_voice(&hiss, DEFAULT_THRESHOLD_DBFS));
        assert!(!is_voice(&[], DEFAULT_THRESHOLD_DBFS));
        assert!(
            !is_voice(&[0; 160], f32::NAN),
            "NaN threshold falls back to the default"
        );
    }

    #[test]
    fn silence_accumulates_across_frames_of_any_length_and_voice_resets_it() {
        let mut tracker = SilenceTracker::default();
        assert_eq!(tracker.process(&[0; 160]), 20);
        assert_eq!(tracker.process(&[0; 80]), 30);
        assert_eq!(tracker.process(&[0; 240]), 60);
        let loud = crate::tone::sine(500.0, 0.5, 20, SAMPLE_RATE);
        assert_eq!(tracker.process(&loud), 0);
        assert_eq!(tracker.process(&[3; 160]), 20, "near-silence is silence");
        tracker.reset();
        assert_eq!(tracker.silent_ms(), 0);
    }

    #[test]
    fn end_of_silence_fires_after_the_configured_seconds() {
        // recording_start {end_of_silence: 2}: speech, then 2 s of quiet.
        let mut rng = Rng::new(2);
        let mut audio = voice(&mut rng, 1000, -22.0, false);
        audio.extend(noise(&mut rng, 8000 * 3, 10f64.powf(-60.0 / 20.0)));
        let mut tracker = SilenceTracker::default();
        let stop_frame = audio
            .chunks(160)
            .position(|f| tracker.process(f) >= 2000)
            .unwrap();
        // Speech ends at frame 50; the 100th silent frame completes 2 s.
        assert!((145..=149).contains(&stop_frame), "{stop_frame}");
    }
}
