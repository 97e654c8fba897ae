//! Deterministic synthetic signals for the DSP tests: white noise, a
//! speech-like voice, level conversions. Test-only.

use std::f64::consts::PI;

/// xorshift64*: a small deterministic PRNG, good enough for test noise.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// Approximately Gaussian, mean 0, variance 1 (sum of 12 uniforms).
    pub fn gaussian(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

/// Peak amplitude (fraction of full scale) for a peak level in dBFS.
pub fn amplitude_for_dbfs(dbfs: f64) -> f32 {
    10f64.powf(dbfs / 20.0) as f32
}

/// RMS (fraction of full scale) of `samples`.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum();
    (sum / samples.len() as f64).sqrt()
}

/// White Gaussian noise at RMS `rms_level` (fraction of full scale).
pub fn noise(rng: &mut Rng, len: usize, rms_level: f64) -> Vec<i16> {
    (0..len)
        .map(|_| clip(rng.gaussian() * rms_level * 32768.0))
        .collect()
}

/// `signal` plus white noise `snr_db` below the RMS of `reference`.
pub fn add_noise(rng: &mut Rng, signal: &[i16], reference: &[i16], snr_db: f64) -> Vec<i16> {
    let level = rms(reference) / 10f64.powf(snr_db / 20.0);
    signal
        .iter()
        .map(|&s| clip(f64::from(s) + rng.gaussian() * level * 32768.0))
        .collect()
}

/// Silence of `ms` milliseconds at 8 kHz.
pub fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

/// A speech-like voice: syllables of a glottal harmonic series (source
/// falling 6 dB per octave, pitch gliding between 90 and 260 Hz, harmonics up
/// to 3.6 kHz) through three moving formant resonances (F1 300-900 Hz,
/// F2 900-2500 Hz, F3 2400-3200 Hz), with an amplitude envelope, at roughly
/// `rms_dbfs` while voiced, plus noise 25 dB down. `ms` long; pauses between
/// syllables when `pauses` is true.
pub fn voice(rng: &mut Rng, ms: usize, rms_dbfs: f64, pauses: bool) -> Vec<i16> {
    let len = ms * 8;
    let mut out = Vec::with_capacity(len);
    let mut phase = 0.0f64; // phase of the fundamental, radians
    let target_rms = 10f64.powf(rms_dbfs / 20.0);
    // Magnitude of a two-pole resonance at `centre` with bandwidth `bw`, 1 at DC.
    let resonance = |f: f64, centre: f64, bw: f64| {
        centre * centre / ((centre * centre - f * f).powi(2) + (bw * f).powi(2)).sqrt()
    };
    while out.len() < len {
        let syllable = (rng.range(120.0, 320.0) * 8.0) as usize;
        let (f0_start, f0_end) = (rng.range(90.0, 260.0), rng.range(90.0, 260.0));
        let (f1_start, f1_end) = (rng.range(300.0, 900.0), rng.range(300.0, 900.0));
        let (f2_start, f2_end) = (rng.range(900.0, 2500.0), rng.range(900.0, 2500.0));
        let f3 = rng.range(2400.0, 3200.0);
        let mut chunk = Vec::with_capacity(syllable);
        for i in 0..syllable {
            let t = i as f64 / syllable as f64;
            let vibrato = 3.0 * (2.0 * PI * 5.0 * i as f64 / 8000.0).sin();
            let f0 = f0_start + (f0_end - f0_start) * t + vibrato;
            let f1 = f1_start + (f1_end - f1_start) * t;
            let f2 = f2_start + (f2_end - f2_start) * t;
            phase += 2.0 * PI * f0 / 8000.0;
            let mut value = 0.0;
            let mut k = 1.0;
            while k * f0 < 3600.0 {
                let f = k * f0;
                let gain =
                    resonance(f, f1, 80.0) * resonance(f, f2, 100.0) * resonance(f, f3, 150.0) / k;
                value += gain * (k * phase).sin();
                k += 1.0;
            }
            let envelope = (PI * t).sin().powf(0.5);
            chunk.push(value * envelope);
        }
        let chunk_rms =
            (chunk.iter().map(|v| v * v).sum::<f64>() / chunk.len().max(1) as f64).sqrt();
        let scale = if chunk_rms > 0.0 {
            target_rms * 32768.0 / chunk_rms
        } else {
            0.0
        };
        out.extend(chunk.iter().map(|v| clip(v * scale)));
        if pauses {
            let pause = (rng.range(30.0, 200.0) * 8.0) as usize;
            out.extend(std::iter::repeat_n(0i16, pause));
        }
    }
    out.truncate(len);
    let noise_level = target_rms / 10f64.powf(25.0 / 20.0);
    out.iter()
        .map(|&s| clip(f64::from(s) + rng.gaussian() * noise_level * 32768.0))
        .collect()
}

fn clip(value: f64) -> i16 {
    value.round().clamp(-32768.0, 32767.0) as i16
}
