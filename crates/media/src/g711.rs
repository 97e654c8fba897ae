//! ITU-T G.711 companding: µ-law (PCMU) and A-law (PCMA).
//!
//! Encoding follows the segment/quantisation rules of G.711 (the classic
//! 16-bit formulation: µ-law with bias 0x84 and clip at 32635, A-law on the
//! 13-bit magnitude with even-bit inversion 0x55). Decoding uses two 256-entry
//! tables built at compile time by `const fn`, so a decode is one load.
//!
//! Every function is total: any `i16` encodes, any `u8` decodes.
//!
//! Round trip: `encode(decode(c)) == c` for every code, with one exception:
//! µ-law has a positive zero (0xFF) and a negative zero (0x7F); both decode to
//! 0 and 0 encodes to 0xFF, so `ulaw_encode(ulaw_decode(0x7F)) == 0xFF`.

/// µ-law code of digital silence (positive zero).
pub const ULAW_SILENCE: u8 = 0xFF;
/// A-law code of digital silence (the smallest positive step, decodes to +8).
pub const ALAW_SILENCE: u8 = 0xD5;

/// µ-law bias added to the magnitude before finding the segment.
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude µ-law represents before clipping (32635 + bias = 0x7FFF).
const ULAW_CLIP: i32 = 32635;

/// Encodes one linear 16-bit sample as a µ-law code.
///
/// Magnitudes above 32635 clip to the largest code (full scale positive → 0x80,
/// negative → 0x00). Magnitudes 0..=3 map to zero: `-1` encodes to 0x7F
/// (negative zero), `0..=3` to 0xFF.
#[inline]
pub fn ulaw_encode(sample: i16) -> u8 {
    let value = i32::from(sample);
    let (sign, magnitude) = if value < 0 {
        (0x80u8, -value)
    } else {
        (0x00u8, value)
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS; // 132..=32767
                                                       // Segment (exponent) = position of the highest set bit above bit 7.
                                                       // `biased` >= 132 so the highest bit is in 7..=14 and `exponent` in 0..=7.
    let highest_bit = 31 - biased.leading_zeros();
    let exponent = highest_bit.saturating_sub(7);
    let mantissa = (biased >> (exponent + 3)) & 0x0F;
    // Both operands fit in a nibble/3 bits: the casts cannot truncate.
    !(sign | ((exponent as u8) << 4) | mantissa as u8)
}

/// Decodes one µ-law code to a linear 16-bit sample (range ±32124).
#[inline]
// A u8 always indexes a 256-entry table: in bounds.
#[allow(clippy::indexing_slicing)]
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_DECODE[usize::from(code)]
}

/// Encodes one linear 16-bit sample as an A-law code.
///
/// The sample is reduced to 13 bits (arithmetic shift, so `-1..=-8` fall in the
/// smallest negative step): `0` encodes to [`ALAW_SILENCE`] (0xD5), `-1` to 0x55.
#[inline]
pub fn alaw_encode(sample: i16) -> u8 {
    let value = i32::from(sample) >> 3; // -4096..=4095
    let (mask, magnitude) = if value >= 0 {
        (0xD5u8, value)
    } else {
        (0x55u8, -value - 1)
    };
    // magnitude is 0..=4095: segment 0 for < 32, then one segment per octave.
    let bit_len = 32 - magnitude.leading_zeros(); // 0..=12
    let segment = bit_len.saturating_sub(5); // 0..=7
    let shift = if segment < 2 { 1 } else { segment };
    let mantissa = (magnitude >> shift) & 0x0F;
    (((segment as u8) << 4) | mantissa as u8) ^ mask
}

/// Decodes one A-law code to a linear 16-bit sample (range ±32256).
#[inline]
// A u8 always indexes a 256-entry table: in bounds.
#[allow(clippy::indexing_slicing)]
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_DECODE[usize::from(code)]
}

/// Encodes a buffer of linear samples as µ-law, appending to `out`.
pub fn ulaw_encode_into(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| ulaw_encode(s)));
}

/// Encodes a buffer of linear samples as A-law, appending to `out`.
pub fn alaw_encode_into(pcm: &[i16], out: &mut Vec<u8>) {
    out.extend(pcm.iter().map(|&s| alaw_encode(s)));
}

/// µ-law code → linear sample, built at compile time.
static ULAW_DECODE: [i16; 256] = build_ulaw_table();
/// A-law code → linear sample, built at compile time.
static ALAW_DECODE: [i16; 256] = build_alaw_table();

/// The G.711 µ-law expansion of one code (reference formula, used for the table).
const fn ulaw_expand(code: u8) -> i16 {
    let inverted = !code;
    let exponent = (inverted >> 4) & 0x07;
    let mantissa = (inverted & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS; // 0..=32124
    if inverted & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// The G.711 A-law expansion of one code (reference formula, used for the table).
const fn alaw_expand(code: u8) -> i16 {
    let value = code ^ 0x55;
    let segment = (value & 0x70) >> 4;
    let mut magnitude = ((value & 0x0F) as i32) << 4;
    magnitude += match segment {
        0 => 8,
        _ => 0x108,
    };
    if segment > 1 {
        magnitude <<= segment - 1;
    }
    // magnitude <= 32256: fits in i16.
    if value & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

// Indices run over 0..256 into a 256-entry array: in bounds by construction.
#[allow(clippy::indexing_slicing)]
const fn build_ulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0usize;
    while code < 256 {
        table[code] = ulaw_expand(code as u8);
        code += 1;
    }
    table
}

// Indices run over 0..256 into a 256-entry array: in bounds by construction.
#[allow(clippy::indexing_slicing)]
const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0usize;
    while code < 256 {
        table[code] = alaw_expand(code as u8);
        code += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every i16, in ascending order.
    fn all_samples() -> impl Iterator<Item = i16> {
        i16::MIN..=i16::MAX
    }

    #[test]
    fn ulaw_reference_values_match_g711() {
        let encode_cases: &[(i16, u8)] = &[
            (0, 0xFF),
            (1, 0xFF),
            (3, 0xFF),
            (-1, 0x7F),
            (32767, 0x80),
            (32635, 0x80),
            (-32768, 0x00),
            (-32767, 0x00),
            (8, 0xFE),
            (-8, 0x7E),
        ];
        for &(sample, code) in encode_cases {
            assert_eq!(ulaw_encode(sample), code, "encode({sample})");
        }
        let decode_cases: &[(u8, i16)] = &[
            (0x00, -32124),
            (0x80, 32124),
            (0xFF, 0),
            (0x7F, 0),
            (0xFE, 8),
            (0x7E, -8),
            (0xEF, 132),
            (0xF0, 120),
            (0x70, -120),
        ];
        for &(code, sample) in decode_cases {
            assert_eq!(ulaw_decode(code), sample, "decode({code:#04x})");
        }
    }

    #[test]
    fn alaw_reference_values_match_g711() {
        let decode_cases: &[(u8, i16)] = &[
            (0xD5, 8),
            (0x55, -8),
            (0xAA, 32256),
            (0x2A, -32256),
            (0xD4, 24),
            (0xC5, 264),
        ];
        for &(code, sample) in decode_cases {
            assert_eq!(alaw_decode(code), sample, "decode({code:#04x})");
        }
        let encode_cases: &[(i16, u8)] = &[
            (0, 0xD5),
            (7, 0xD5),
            (-1, 0x55),
            (-8, 0x55),
            (32767, 0xAA),
            (-32768, 0x2A),
        ];
        for &(sample, code) in encode_cases {
            assert_eq!(alaw_encode(sample), code, "encode({sample})");
        }
    }

    #[test]
    fn silence_constants_decode_to_near_zero() {
        assert_eq!(ulaw_decode(ULAW_SILENCE), 0);
        assert_eq!(alaw_decode(ALAW_SILENCE), 8);
        assert_eq!(ulaw_encode(0), ULAW_SILENCE);
        assert_eq!(alaw_encode(0), ALAW_SILENCE);
    }

    #[test]
    fn ulaw_round_trips_every_code_except_negative_zero() {
        for code in 0..=255u8 {
            let back = ulaw_encode(ulaw_decode(code));
            if code == 0x7F {
                assert_eq!(back, 0xFF, "negative zero re-encodes as positive zero");
            } else {
                assert_eq!(back, code, "code {code:#04x}");
            }
        }
    }

    #[test]
    fn alaw_round_trips_every_code() {
        for code in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn decode_tables_equal_the_reference_formula() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_decode(code), ulaw_expand(code));
            assert_eq!(alaw_decode(code), alaw_expand(code));
        }
    }

    #[test]
    fn ulaw_decode_is_monotonic_across_segments() {
        // 0x00..=0x7F run from -32124 up to -0; 0xFF..=0x80 from +0 up to 32124.
        let ascending: Vec<i16> = (0x00..=0x7Fu8)
            .chain((0x80..=0xFFu8).rev())
            .map(ulaw_decode)
            .collect();
        for pair in ascending.windows(2) {
            assert!(pair[0] <= pair[1], "{pair:?}");
        }
        // Strict except at the two zeros.
        let strict = ascending.windows(2).filter(|p| p[0] < p[1]).count();
        assert_eq!(strict, 254);
    }

    #[test]
    fn alaw_decode_is_strictly_monotonic_across_segments() {
        // After removing the even-bit inversion, codes are sign + 7-bit magnitude index.
        let negative = (0..128u8).rev().map(|i| alaw_decode(i ^ 0x55));
        let positive = (0..128u8).map(|i| alaw_decode((0x80 | i) ^ 0x55));
        let ascending: Vec<i16> = negative.chain(positive).collect();
        for pair in ascending.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
    }

    #[test]
    fn companded_value_never_decreases_as_input_increases() {
        let mut last_u = i16::MIN;
        let mut last_a = i16::MIN;
        for s in all_samples() {
            let u = ulaw_decode(ulaw_encode(s));
            let a = alaw_decode(alaw_encode(s));
            assert!(u >= last_u && a >= last_a, "at {s}");
            last_u = u;
            last_a = a;
        }
    }

    #[test]
    fn ulaw_quantisation_error_is_within_half_a_step_on_full_sweep() {
        for s in all_samples() {
            let x = i32::from(s);
            let magnitude = x.abs().min(ULAW_CLIP);
            let exponent = (31 - (magnitude + ULAW_BIAS).leading_zeros()).saturating_sub(7);
            let half_step = 4 << exponent;
            let clip_error = x.abs() - magnitude; // non-zero only beyond 32635
            let error = (i32::from(ulaw_decode(ulaw_encode(s))) - x).abs();
            assert!(error <= half_step + clip_error, "sample {s}: error {error}");
        }
    }

    #[test]
    fn alaw_quantisation_error_is_within_half_a_step_on_full_sweep() {
        for s in all_samples() {
            let x = i32::from(s);
            let magnitude = if x >= 0 { x >> 3 } else { -(x >> 3) - 1 };
            let segment = (32 - magnitude.leading_zeros()).saturating_sub(5);
            let half_step = 8 << segment.saturating_sub(1);
            let error = (i32::from(alaw_decode(alaw_encode(s))) - x).abs();
            assert!(error <= half_step, "sample {s}: error {error}");
        }
    }

    #[test]
    fn ulaw_relative_error_stays_under_four_and_a_half_percent_above_segment_one() {
        for s in all_samples().filter(|s| s.unsigned_abs() >= 256 && s.unsigned_abs() <= 32635) {
            let error = (f64::from(ulaw_decode(ulaw_encode(s))) - f64::from(s)).abs();
            assert!(error / f64::from(s).abs() < 0.045, "sample {s}");
        }
    }

    #[test]
    fn buffer_encoders_append_per_sample_codes() {
        let pcm = [0i16, 1000, -1000, i16::MAX, i16::MIN];
        let mut u = vec![0xAB];
        ulaw_encode_into(&pcm, &mut u);
        assert_eq!(u[0], 0xAB);
        assert_eq!(&u[1..], pcm.map(ulaw_encode).as_slice());
        let mut a = Vec::new();
        alaw_encode_into(&pcm, &mut a);
        assert_eq!(a, pcm.map(alaw_encode).to_vec());
    }
}
