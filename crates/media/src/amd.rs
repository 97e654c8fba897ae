//! Answering machine detection on the caller's audio after answer.
//!
//! The classic rules of Asterisk's `app_amd`, over 20 ms frames (time is the
//! number of frames seen), plus a beep detector:
//!
//! 1. Each frame is voice or silence by energy ([`vad::is_voice`]).
//! 2. A **word** is voice lasting at least `min_word_ms`; words are separated
//!    by at least `between_words_silence_ms` of silence. The first word starts
//!    the **greeting**.
//! 3. Verdicts, first match wins:
//!    - a beep: a steady tone heard after the greeting started → `Machine`, [`AmdCause::Beep`];
//!    - more than `max_words` words → `Machine`, [`AmdCause::MaxWords`];
//!    - `greeting_ms` of voice in the greeting → `Machine`, [`AmdCause::LongGreeting`];
//!    - `after_greeting_silence_ms` of silence after the greeting started →
//!      `Human`, [`AmdCause::Human`] (a person says "hello?" and waits);
//!    - no word within `initial_silence_ms` → `initial_silence_result`
//!      (default `NotSure`: a silent line is as often a person waiting as a
//!      machine; Asterisk says `Machine`), [`AmdCause::InitialSilence`];
//!    - `total_analysis_ms` without a verdict → `NotSure`, [`AmdCause::TooLong`].
//!
//! A **beep** is a tone whose frequency lies in `beep_min_hz..=beep_max_hz`,
//! holds within 3 % for `beep_min_ms` (rounded up to whole frames) and carries
//! at least 85 % of each frame's energy; speech spreads its energy over many
//! harmonics and never does. The frequency is estimated from zero crossings
//! and confirmed with one Goertzel probe, so the cost is a few operations per
//! sample. Beep tracking goes on after the verdict, so a caller who keeps
//! feeding audio learns when the voicemail beep came ([`Amd::beep_detected_at`])
//! and ended ([`Amd::beep_ended_at`]) and can start speaking after it.
//!
//! ```
//! use media::amd::{Amd, AmdCause, AmdConfig, AmdResult};
//!
//! let mut amd = Amd::new(AmdConfig::default());
//! // "Hello?" (a 500 ms tone stands in for speech here), then silence.
//! let mut audio = media::tone::sine(300.0, 0.3, 500, 8000);
//! audio.extend([0i16; 8000]);
//! let verdict = audio.chunks(160).find_map(|frame| amd.process(frame)).unwrap();
//! assert_eq!(verdict.result, AmdResult::Human);
//! assert_eq!(verdict.cause, AmdCause::Human);
//! assert_eq!(verdict.decided_after_ms, 1300);
//! ```

use crate::goertzel::{mean_square, Goertzel};
use crate::vad;

/// Samples per analysis frame: 20 ms at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// Duration of one analysis frame in ms.
pub const FRAME_MS: u32 = 20;
/// Smallest share of a frame's energy at the tone's frequency for a beep frame.
pub const BEEP_PURITY: f32 = 0.85;
/// Largest frequency drift within a beep, as a fraction of its frequency.
pub const BEEP_DRIFT: f32 = 0.03;

/// Parameters of the detector; [`Default`] gives the documented defaults
/// (Asterisk's `amd.conf` values where it has them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmdConfig {
    /// Frames at or above this RMS level are voice. Default -40 dBFS.
    pub silence_threshold_dbfs: f32,
    /// No word within this long after answer ends the analysis. Default 2500 ms.
    pub initial_silence_ms: u32,
    /// The result for [`AmdCause::InitialSilence`]. Default [`AmdResult::NotSure`].
    pub initial_silence_result: AmdResult,
    /// Voice in the greeting beyond this means a machine. Default 1500 ms.
    pub greeting_ms: u32,
    /// Silence after the greeting started that means a human. Default 800 ms.
    pub after_greeting_silence_ms: u32,
    /// Analysis gives up (`NotSure`) after this long. Default 5000 ms.
    pub total_analysis_ms: u32,
    /// Shortest voice that counts as a word. Default 100 ms.
    pub min_word_ms: u32,
    /// Shortest silence that separates two words. Default 50 ms (3 frames).
    pub between_words_silence_ms: u32,
    /// More words than this means a machine. Default 3.
    pub max_words: u32,
    /// Shortest steady tone that is a beep. Default 150 ms (8 frames).
    pub beep_min_ms: u32,
    /// Lowest beep frequency. Default 400 Hz.
    pub beep_min_hz: f32,
    /// Highest beep frequency. Default 2000 Hz.
    pub beep_max_hz: f32,
}

impl Default for AmdConfig {
    fn default() -> Self {
        AmdConfig {
            silence_threshold_dbfs: vad::DEFAULT_THRESHOLD_DBFS,
            initial_silence_ms: 2500,
            initial_silence_result: AmdResult::NotSure,
            greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            total_analysis_ms: 5000,
            min_word_ms: 100,
            between_words_silence_ms: 50,
            max_words: 3,
            beep_min_ms: 150,
            beep_min_hz: 400.0,
            beep_max_hz: 2000.0,
        }
    }
}

/// What answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmdResult {
    /// A person.
    Human,
    /// An answering machine or voicemail.
    Machine,
    /// Could not tell.
    NotSure,
}

impl AmdResult {
    /// The value for `amd.result`: `human`, `machine` or `notsure`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmdResult::Human => "human",
            AmdResult::Machine => "machine",
            AmdResult::NotSure => "notsure",
        }
    }
}

/// Which rule decided (Asterisk's `AMDCAUSE` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmdCause {
    /// Silence after a short greeting.
    Human,
    /// No word within the initial silence.
    InitialSilence,
    /// The greeting went on too long.
    LongGreeting,
    /// Too many words.
    MaxWords,
    /// A beep after the greeting.
    Beep,
    /// The analysis time ran out.
    TooLong,
}

impl AmdCause {
    /// `HUMAN`, `INITIALSILENCE`, `LONGGREETING`, `MAXWORDS`, `BEEP` or `TOOLONG`.
    pub fn as_str(self) -> &'static str {
        match self {
            AmdCause::Human => "HUMAN",
            AmdCause::InitialSilence => "INITIALSILENCE",
            AmdCause::LongGreeting => "LONGGREETING",
            AmdCause::MaxWords => "MAXWORDS",
            AmdCause::Beep => "BEEP",
            AmdCause::TooLong => "TOOLONG",
        }
    }
}

/// The outcome of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmdVerdict {
    /// What answered.
    pub result: AmdResult,
    /// Which rule decided.
    pub cause: AmdCause,
    /// Audio analysed when the verdict was reached, in ms from the first frame.
    pub decided_after_ms: u32,
    /// Words counted by then.
    pub words: u32,
    /// Voice heard in the greeting by then, in ms.
    pub greeting_voice_ms: u32,
}

/// Answering machine detector for one call. Feed it the caller's audio from
/// answer on.
#[derive(Debug, Clone)]
pub struct Amd {
    cfg: AmdConfig,
    frame: [i16; FRAME_SAMPLES],
    filled: usize,
    elapsed_ms: u32,
    voice_run_ms: u32,
    voice_total_ms: u32,
    silence_run_ms: u32,
    in_word: bool,
    words: u32,
    greeting_started: bool,
    verdict: Option<AmdVerdict>,
    beep: BeepTracker,
    scratch: Vec<f32>,
}

impl Amd {
    /// A detector with `cfg`. A non-finite threshold is replaced by the default.
    pub fn new(cfg: AmdConfig) -> Self {
        let mut cfg = cfg;
        if !cfg.silence_threshold_dbfs.is_finite() {
            cfg.silence_threshold_dbfs = vad::DEFAULT_THRESHOLD_DBFS;
        }
        Amd {
            frame: [0; FRAME_SAMPLES],
            filled: 0,
            elapsed_ms: 0,
            voice_run_ms: 0,
            voice_total_ms: 0,
            silence_run_ms: 0,
            in_word: false,
            words: 0,
            greeting_started: false,
            verdict: None,
            beep: BeepTracker::new(&cfg),
            scratch: Vec::with_capacity(FRAME_SAMPLES),
            cfg,
        }
    }

    /// Feeds the caller's next samples (8 kHz, any length; analysed in 20 ms
    /// frames, a partial frame waits for the rest). Returns the verdict when
    /// it is reached, once; afterwards only beep tracking continues and this
    /// returns `None`. Feed zeros for lost packets so time moves on.
    pub fn process(&mut self, samples: &[i16]) -> Option<AmdVerdict> {
        let mut decided = None;
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (FRAME_SAMPLES - self.filled).min(rest.len());
            let (now, later) = rest.split_at_checked(take).unwrap_or((rest, &[]));
            if let Some(slots) = self.frame.get_mut(self.filled..self.filled + now.len()) {
                slots.copy_from_slice(now);
            }
            self.filled += now.len();
            rest = later;
            if self.filled == FRAME_SAMPLES {
                self.filled = 0;
                if let Some(verdict) = self.analyse_frame() {
                    decided = Some(verdict);
                }
            }
        }
        decided
    }

    /// The verdict, once reached.
    pub fn verdict(&self) -> Option<AmdVerdict> {
        self.verdict
    }

    /// When a beep was recognised (ms from the first frame; its tone began
    /// about `beep_min_ms` earlier). Beeps heard before the greeting started
    /// do not count.
    pub fn beep_detected_at(&self) -> Option<u32> {
        self.beep.detected_at
    }

    /// When the recognised beep's tone stopped (ms from the first frame).
    pub fn beep_ended_at(&self) -> Option<u32> {
        self.beep.ended_at
    }

    /// Audio analysed so far in ms (whole frames).
    pub fn elapsed_ms(&self) -> u32 {
        self.elapsed_ms
    }

    fn analyse_frame(&mut self) -> Option<AmdVerdict> {
        self.elapsed_ms = self.elapsed_ms.saturating_add(FRAME_MS);
        let voiced = vad::is_voice(&self.frame, self.cfg.silence_threshold_dbfs);
        let beep_now = self.beep_step(voiced);
        if self.verdict.is_some() {
            return None;
        }
        let decision = if beep_now {
            Some((AmdResult::Machine, AmdCause::Beep))
        } else {
            self.step_words(voiced)
        }
        .or_else(|| {
            (self.elapsed_ms >= self.cfg.total_analysis_ms)
                .then_some((AmdResult::NotSure, AmdCause::TooLong))
        });
        let (result, cause) = decision?;
        let verdict = AmdVerdict {
            result,
            cause,
            decided_after_ms: self.elapsed_ms,
            words: self.words,
            greeting_voice_ms: self.voice_total_ms,
        };
        self.verdict = Some(verdict);
        Some(verdict)
    }

    /// The word and greeting rules for one frame.
    fn step_words(&mut self, voiced: bool) -> Option<(AmdResult, AmdCause)> {
        let cfg = &self.cfg;
        if voiced {
            self.silence_run_ms = 0;
            self.voice_run_ms = self.voice_run_ms.saturating_add(FRAME_MS);
            self.voice_total_ms = self.voice_total_ms.saturating_add(FRAME_MS);
            if self.voice_run_ms >= cfg.min_word_ms && !self.in_word {
                self.in_word = true;
                self.words = self.words.saturating_add(1);
                self.greeting_started = true;
            }
            if self.words > cfg.max_words {
                return Some((AmdResult::Machine, AmdCause::MaxWords));
            }
            if self.greeting_started && self.voice_total_ms >= cfg.greeting_ms {
                return Some((AmdResult::Machine, AmdCause::LongGreeting));
            }
        } else {
            self.silence_run_ms = self.silence_run_ms.saturating_add(FRAME_MS);
            if self.silence_run_ms >= cfg.between_words_silence_ms {
                self.in_word = false;
                self.voice_run_ms = 0;
            }
            if self.greeting_started && self.silence_run_ms >= cfg.after_greeting_silence_ms {
                return Some((AmdResult::Human, AmdCause::Human));
            }
            if !self.greeting_started && self.elapsed_ms >= cfg.initial_silence_ms {
                return Some((cfg.initial_silence_result, AmdCause::InitialSilence));
            }
        }
        None
    }

    /// The beep tracker for one frame; true when a beep is recognised now.
    fn beep_step(&mut self, voiced: bool) -> bool {
        let tone_hz = if voiced {
            crate::goertzel::to_unit(&self.frame, &mut self.scratch);
            pure_tone_hz(&self.scratch, &self.cfg)
        } else {
            None
        };
        self.beep
            .step(tone_hz, self.elapsed_ms, self.greeting_started)
    }
}

/// Follows runs of steady tone frames.
#[derive(Debug, Clone)]
struct BeepTracker {
    frames_needed: u32,
    run_frames: u32,
    run_hz: f32,
    /// The current run began after the greeting started.
    run_eligible: bool,
    /// The current run has been reported as the beep.
    run_reported: bool,
    detected_at: Option<u32>,
    ended_at: Option<u32>,
}

impl BeepTracker {
    fn new(cfg: &AmdConfig) -> Self {
        BeepTracker {
            frames_needed: cfg.beep_min_ms.div_ceil(FRAME_MS).max(1),
            run_frames: 0,
            run_hz: 0.0,
            run_eligible: false,
            run_reported: false,
            detected_at: None,
            ended_at: None,
        }
    }

    /// `tone_hz`: the frame's pure tone, if it is one. `now_ms`: the end of
    /// this frame. Returns true on the frame that recognises the beep.
    fn step(&mut self, tone_hz: Option<f32>, now_ms: u32, greeting_started: bool) -> bool {
        let continues = match tone_hz {
            Some(hz) => self.run_frames > 0 && (hz - self.run_hz).abs() <= BEEP_DRIFT * self.run_hz,
            None => false,
        };
        if !continues {
            if self.run_reported && self.ended_at.is_none() {
                self.ended_at = Some(now_ms.saturating_sub(FRAME_MS));
            }
            self.run_reported = false;
            self.run_frames = 0;
        }
        let Some(hz) = tone_hz else {
            return false;
        };
        if self.run_frames == 0 {
            self.run_hz = hz;
            self.run_eligible = greeting_started;
        }
        self.run_frames = self.run_frames.saturating_add(1);
        let recognised = self.run_eligible
            && !self.run_reported
            && self.detected_at.is_none()
            && self.run_frames >= self.frames_needed;
        if recognised {
            self.run_reported = true;
            self.detected_at = Some(now_ms);
        }
        recognised
    }
}

/// The frequency of `frame` if it is a single steady tone within the
/// configured band: estimated from upward zero crossings, confirmed when a
/// Goertzel probe there holds [`BEEP_PURITY`] of the energy.
fn pure_tone_hz(frame: &[f32], cfg: &AmdConfig) -> Option<f32> {
    let mut first: Option<f32> = None;
    let mut last = 0.0f32;
    let mut crossings = 0u32;
    for (i, (&a, &b)) in frame.iter().zip(frame.iter().skip(1)).enumerate() {
        if a < 0.0 && b >= 0.0 {
            let t = i as f32 + a / (a - b);
            first.get_or_insert(t);
            last = t;
            crossings += 1;
        }
    }
    let first = first?;
    if crossings < 3 || last <= first {
        return None;
    }
    let hz = (crossings - 1) as f32 * vad::SAMPLE_RATE as f32 / (last - first);
    if !(cfg.beep_min_hz..=cfg.beep_max_hz).contains(&hz) {
        return None;
    }
    let energy = mean_square(frame);
    let tone = Goertzel::new(hz, vad::SAMPLE_RATE).power(frame);
    (energy > 0.0 && tone >= BEEP_PURITY * energy).then_some(hz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_signal::{add_noise, noise, silence, voice, Rng};
    use crate::tone;

    fn run(audio: &[i16]) -> (Option<AmdVerdict>, Amd) {
        run_with(AmdConfig::default(), audio)
    }

    fn run_with(cfg: AmdConfig, audio: &[i16]) -> (Option<AmdVerdict>, Amd) {
        let mut amd = Amd::new(cfg);
        let mut verdict = None;
        for frame in audio.chunks(160) {
            if let Some(v) = amd.process(frame) {
                assert!(verdict.is_none(), "a second verdict: {v:?}");
                verdict = Some(v);
            }
        }
        (verdict, amd)
    }

    /// Words of `word_ms` voice separated by `gap_ms` of quiet line noise.
    fn greeting(rng: &mut Rng, words: usize, word_ms: usize, gap_ms: usize) -> Vec<i16> {
        let mut audio = Vec::new();
        for _ in 0..words {
            audio.extend(voice(rng, word_ms, -20.0, false));
            audio.extend(line_noise(rng, gap_ms));
        }
        audio
    }

    fn line_noise(rng: &mut Rng, ms: usize) -> Vec<i16> {
        noise(rng, ms * 8, 10f64.powf(-60.0 / 20.0))
    }

    #[test]
    fn hello_then_silence_is_human_after_800_ms_of_silence() {
        for (burst_ms, seed) in [(500, 1), (650, 2), (800, 3)] {
            let mut rng = Rng::new(seed);
            let mut audio = voice(&mut rng, burst_ms, -20.0, false);
            audio.extend(line_noise(&mut rng, 3000));
            let (verdict, amd) = run(&audio);
            let verdict = verdict.unwrap();
            assert_eq!(verdict.result, AmdResult::Human, "{burst_ms} ms");
            assert_eq!(verdict.cause, AmdCause::Human);
            assert_eq!(verdict.words, 1);
            let expected = burst_ms as u32 + 800;
            assert!(
                verdict.decided_after_ms.abs_diff(expected) <= 40,
                "{burst_ms} ms burst: decided at {}",
                verdict.decided_after_ms
            );
            assert_eq!(amd.beep_detected_at(), None);
        }
        let mut rng = Rng::new(4);
        let mut audio = voice(&mut rng, 500, -20.0, false);
        audio.extend(line_noise(&mut rng, 3000));
        assert!(
            run(&audio).0.unwrap().decided_after_ms <= 1340,
            "within ~1.3 s"
        );
    }

    #[test]
    fn a_human_answering_after_a_pause_is_still_human() {
        let mut rng = Rng::new(5);
        let mut audio = line_noise(&mut rng, 700);
        audio.extend(greeting(&mut rng, 2, 300, 150)); // "hello, hello?"
        audio.extend(line_noise(&mut rng, 2000));
        let verdict = run(&audio).0.unwrap();
        assert_eq!(
            (verdict.result, verdict.cause),
            (AmdResult::Human, AmdCause::Human)
        );
        assert_eq!(verdict.words, 2);
    }

    #[test]
    fn a_many_word_greeting_is_a_machine_by_word_count() {
        let mut rng = Rng::new(6);
        // "Hi, you've reached Alex, please leave a message": 350 ms words, 150 ms gaps.
        let audio = greeting(&mut rng, 8, 350, 150);
        let verdict = run(&audio).0.unwrap();
        assert_eq!(verdict.result, AmdResult::Machine);
        assert_eq!(verdict.cause, AmdCause::MaxWords);
        assert_eq!(verdict.words, 4);
        // The 4th word is counted 100 ms into it: 3 × 500 + 100.
        assert!(
            verdict.decided_after_ms.abs_diff(1600) <= 40,
            "{}",
            verdict.decided_after_ms
        );
    }

    #[test]
    fn a_long_continuous_greeting_is_a_machine_by_length() {
        let mut rng = Rng::new(7);
        let mut audio = line_noise(&mut rng, 300);
        audio.extend(voice(&mut rng, 4000, -20.0, false));
        let verdict = run(&audio).0.unwrap();
        assert_eq!(
            (verdict.result, verdict.cause),
            (AmdResult::Machine, AmdCause::LongGreeting)
        );
        assert!(
            verdict.decided_after_ms.abs_diff(1800) <= 40,
            "{}",
            verdict.decided_after_ms
        );
        assert!(verdict.greeting_voice_ms >= 1500);
    }

    #[test]
    fn natural_multi_second_greetings_are_machines() {
        for seed in 10..20 {
            let mut rng = Rng::new(seed);
            let mut audio = line_noise(&mut rng, 200);
            audio.extend(voice(&mut rng, 4500, -22.0, true));
            audio.extend(line_noise(&mut rng, 1000));
            let (verdict, amd) = run(&audio);
            let verdict = verdict.unwrap();
            assert_eq!(
                verdict.result,
                AmdResult::Machine,
                "seed {seed}: {verdict:?}"
            );
            assert!(
                matches!(verdict.cause, AmdCause::MaxWords | AmdCause::LongGreeting),
                "seed {seed}: {verdict:?}"
            );
            assert_eq!(
                amd.beep_detected_at(),
                None,
                "speech is not a beep (seed {seed})"
            );
        }
    }

    #[test]
    fn a_short_greeting_then_a_beep_is_a_machine_by_beep() {
        let mut rng = Rng::new(8);
        let mut audio = greeting(&mut rng, 1, 600, 300);
        let beep_start = audio.len() / 8;
        let beep = tone::sine(1000.0, 0.3, 400, 8000);
        audio.extend(add_noise(&mut rng, &beep, &beep, 25.0));
        audio.extend(line_noise(&mut rng, 2000));
        let (verdict, amd) = run(&audio);
        let verdict = verdict.unwrap();
        assert_eq!(
            (verdict.result, verdict.cause),
            (AmdResult::Machine, AmdCause::Beep)
        );
        let at = amd.beep_detected_at().unwrap();
        assert_eq!(verdict.decided_after_ms, at);
        assert!(
            (beep_start as u32 + 150..=beep_start as u32 + 200).contains(&at),
            "{at}"
        );
        let ended = amd.beep_ended_at().unwrap();
        assert!(ended.abs_diff(beep_start as u32 + 400) <= 20, "{ended}");
    }

    #[test]
    fn a_beep_after_a_long_greeting_is_reported_after_the_verdict() {
        let mut rng = Rng::new(9);
        let mut audio = voice(&mut rng, 3000, -20.0, true);
        audio.extend(line_noise(&mut rng, 400));
        let beep_start = audio.len() as u32 / 8;
        audio.extend(tone::sine(850.0, 0.4, 300, 8000));
        audio.extend(line_noise(&mut rng, 500));
        let (verdict, amd) = run(&audio);
        let verdict = verdict.unwrap();
        assert_eq!(verdict.result, AmdResult::Machine);
        assert_ne!(verdict.cause, AmdCause::Beep);
        let at = amd.beep_detected_at().unwrap();
        assert!(at > verdict.decided_after_ms);
        assert!((beep_start + 150..=beep_start + 200).contains(&at), "{at}");
    }

    #[test]
    fn beeps_across_the_band_are_recognised_but_not_outside_it() {
        for (hz, expected) in [
            (400.0, true),
            (1400.0, true),
            (1950.0, true),
            (300.0, false),
            (2600.0, false),
        ] {
            let mut rng = Rng::new(11);
            let mut audio = greeting(&mut rng, 1, 400, 200);
            audio.extend(tone::sine(hz, 0.3, 500, 8000));
            audio.extend(line_noise(&mut rng, 1500));
            let (_, amd) = run(&audio);
            assert_eq!(amd.beep_detected_at().is_some(), expected, "{hz} Hz");
        }
    }

    #[test]
    fn a_tone_shorter_than_the_minimum_is_not_a_beep() {
        let mut rng = Rng::new(12);
        let mut audio = greeting(&mut rng, 1, 400, 200);
        audio.extend(tone::sine(1000.0, 0.3, 100, 8000));
        audio.extend(line_noise(&mut rng, 1500));
        let (verdict, amd) = run(&audio);
        assert_eq!(amd.beep_detected_at(), None);
        assert_eq!(verdict.unwrap().cause, AmdCause::Human);
    }

    #[test]
    fn a_tone_before_any_greeting_is_not_a_beep() {
        let mut rng = Rng::new(13);
        let mut audio = tone::sine(1000.0, 0.3, 400, 8000);
        audio.extend(line_noise(&mut rng, 2000));
        let (verdict, amd) = run(&audio);
        assert_eq!(amd.beep_detected_at(), None);
        assert_ne!(verdict.unwrap().cause, AmdCause::Beep);
    }

    #[test]
    fn pure_silence_is_not_sure_after_the_initial_silence() {
        let mut rng = Rng::new(14);
        let (verdict, _) = run(&line_noise(&mut rng, 6000));
        let verdict = verdict.unwrap();
        assert_eq!(verdict.result, AmdResult::NotSure);
        assert_eq!(verdict.cause, AmdCause::InitialSilence);
        assert_eq!(verdict.decided_after_ms, 2500);
        assert_eq!(
            (verdict.result.as_str(), verdict.cause.as_str()),
            ("notsure", "INITIALSILENCE")
        );
    }

    #[test]
    fn initial_silence_result_is_configurable_asterisk_style() {
        let cfg = AmdConfig {
            initial_silence_result: AmdResult::Machine,
            ..AmdConfig::default()
        };
        let (verdict, _) = run_with(cfg, &silence(3000));
        let verdict = verdict.unwrap();
        assert_eq!(
            (verdict.result, verdict.cause),
            (AmdResult::Machine, AmdCause::InitialSilence)
        );
    }

    #[test]
    fn undecided_analysis_gives_up_as_too_long() {
        // Words of 200 ms with 300 ms pauses: never 800 ms of silence, never
        // long enough in total before 5 s with a raised word limit.
        let cfg = AmdConfig {
            max_words: 100,
            greeting_ms: 10_000,
            ..AmdConfig::default()
        };
        let mut rng = Rng::new(15);
        let audio = greeting(&mut rng, 20, 200, 300);
        let (verdict, _) = run_with(cfg, &audio);
        let verdict = verdict.unwrap();
        assert_eq!(
            (verdict.result, verdict.cause),
            (AmdResult::NotSure, AmdCause::TooLong)
        );
        assert_eq!(verdict.decided_after_ms, 5000);
    }

    #[test]
    fn frames_of_any_length_give_the_same_verdict() {
        let mut rng = Rng::new(16);
        let mut audio = voice(&mut rng, 600, -20.0, false);
        audio.extend(line_noise(&mut rng, 1500));
        let framed = run(&audio).0.unwrap();
        let mut amd = Amd::new(AmdConfig::default());
        let odd: Vec<AmdVerdict> = audio.chunks(77).filter_map(|c| amd.process(c)).collect();
        assert_eq!(odd, [framed]);
        let mut amd = Amd::new(AmdConfig::default());
        assert_eq!(amd.process(&audio), Some(framed), "one long slice");
        assert_eq!(amd.verdict(), Some(framed));
        assert_eq!(amd.elapsed_ms(), audio.len() as u32 / 8 / 20 * 20);
    }

    #[test]
    fn degenerate_configs_and_input_do_not_panic() {
        let cfg = AmdConfig {
            silence_threshold_dbfs: f32::NAN,
            initial_silence_ms: 0,
            greeting_ms: 0,
            after_greeting_silence_ms: 0,
            total_analysis_ms: 0,
            min_word_ms: 0,
            between_words_silence_ms: 0,
            max_words: 0,
            beep_min_ms: 0,
            beep_min_hz: f32::NAN,
            beep_max_hz: -1.0,
            initial_silence_result: AmdResult::Human,
        };
        let mut amd = Amd::new(cfg);
        assert_eq!(amd.process(&[]), None);
        assert!(amd.process(&[i16::MIN; 160]).is_some());
        assert_eq!(amd.process(&[i16::MAX; 1000]), None);
    }
}
