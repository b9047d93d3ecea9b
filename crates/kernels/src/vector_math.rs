//! Branch-free f32 `erf` and `exp` for rankforge's CPU kernels: plain arithmetic, no tables, no
//! calls, so a loop over a slice vectorises (libm's `erff` / `expf` run one element at a time).
//! Used by GELU ([`crate::gelu`]) and the attention softmax ([`crate::attention_inference`]).

/// erf in f32 as `x · P(x²) / Q(x²)` on `|x| ≤ 3.925` (beyond, erf rounds to ±1 in f32 and `x` is
/// clamped), absolute error ≤ 4.2e-7 (≈ 7 ulp at 1; libm's `erff`, which flex calls, is within
/// 1 ulp). Coefficients from `scripts/reference/fit_erf.py` (a least-squares fit reweighted
/// towards the minimax rational approximation, the form of Cody, "Rational Chebyshev
/// approximations for the error function", Math. Comp. 1969). No branches, no tables: a loop of
/// it vectorises, where `erff` runs one element at a time. NaN stays
/// NaN, ±∞ gives ±1.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    const CLAMP: f32 = 3.925;
    // erf'(0) = 2/√π: the fit lands on it.
    const P0: f32 = std::f32::consts::FRAC_2_SQRT_PI;
    const P1: f32 = 0.18377778;
    const P2: f32 = 0.051990576;
    const P3: f32 = 0.0035159388;
    const P4: f32 = 0.00028521838;
    const P5: f32 = 2.177362e-06;
    const Q1: f32 = 0.49620187;
    const Q2: f32 = 0.11147747;
    const Q3: f32 = 0.014461616;
    const Q4: f32 = 0.0011132744;
    const Q5: f32 = 3.9432278e-05;
    let clamped = x.clamp(-CLAMP, CLAMP);
    let z = clamped * clamped;
    let p = ((((P5 * z + P4) * z + P3) * z + P2) * z + P1) * z + P0;
    let q = ((((Q5 * z + Q4) * z + Q3) * z + Q2) * z + Q1) * z + 1.0;
    let inside = clamped * p / q;
    // A select, not a branch: both sides are computed. False for NaN, which stays NaN.
    if x.abs() >= CLAMP {
        1f32.copysign(x)
    } else {
        inside
    }
}

/// `e^x` in f32 for `x ≤ 88.7`, within 2 ulp of `expf` on the normal range: `x = n·ln 2 + r`
/// with `n` the nearest integer to `x / ln 2` (Cody & Waite's two-part `ln 2`, so `r` is
/// exact to f32), `e^r` by its Taylor polynomial to degree 7 on `|r| ≤ ln 2 / 2` (truncation
/// below 6e-9 relative), `2^n` built in the exponent bits. Below −87.3, where `e^x` would be
/// subnormal, it returns a value below 1.2e-38 rather than the subnormal: harmless for a
/// softmax, whose largest term is 1. NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits so n · LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer (|v| < 2^22).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.336_54, 88.722_83);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // n ∈ [−126, 128]: 2^n as the exponent field (128 only with r < 0, where p < 1).
    let scale = f32::from_bits(((n as i32 + 127).clamp(1, 254) as u32) << 23);
    let y = p * scale;
    if n > 127.5 {
        // 2^128 is not an f32: 2^127 · (2 p).
        f32::from_bits(254 << 23) * (2.0 * p)
    } else {
        y
    }
}

/// Lanes of the reductions below: one AVX register of f32 (two SSE ones).
const LANES: usize = 8;

/// The largest value (−∞ for an empty slice; NaNs are skipped, as `f32::max` does), with
/// `LANES` running maxima so the loop vectorises.
#[inline(always)]
pub fn max(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    lanes.into_iter().fold(tail, f32::max)
}

/// The sum, with `LANES` running sums so the loop vectorises (the order of the additions is
/// therefore not left to right).
#[inline(always)]
pub fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    lanes.into_iter().sum::<f32>() + tail
}

/// `Σ aᵢ bᵢ` over the shorter of the two, with `LANES` running sums so the loop vectorises
/// (the order of the additions is therefore not left to right, and fixed: the same on every
/// CPU).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut lanes = [0.0f32; LANES];
    let (mut a_chunks, mut b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (a, b) in (&mut a_chunks).zip(&mut b_chunks) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(a).zip(b) {
            *lane += x * y;
        }
    }
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.into_iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rational_erf_is_within_4e7_of_libm_everywhere() {
        // libm's erff is within 1 ulp of erf; every 1e-5 over [-8, 8], plus the edges.
        let worst = (-800_000..=800_000)
            .map(|i| i as f32 * 1e-5)
            .map(|x| (erf(x) - libm::erff(x)).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 4.5e-7, "largest error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(f32::INFINITY), 1.0);
        assert_eq!(erf(4.0), 1.0);
        assert_eq!(erf(f32::NEG_INFINITY), -1.0);
        assert!((erf(1e-30) - 1.1283791e-30).abs() < 1e-36, "linear near 0");
        assert!(erf(f32::NAN).is_nan());
        for x in [0.3f32, 1.7, 3.0, 3.925, 5.0] {
            assert_eq!(erf(-x), -erf(x), "odd at {x}");
        }
    }

    /// Distance in units in the last place between two positive normal floats.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn lane_reductions_match_sequential_ones() {
        for len in [0usize, 1, 7, 8, 9, 23, 214] {
            let values: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25)
                .collect();
            let expected_max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&values), expected_max, "max of {len}");
            let expected_sum: f32 = values.iter().sum();
            assert!((sum(&values) - expected_sum).abs() <= 1e-5, "sum of {len}");
        }
        assert_eq!(max(&[f32::NAN, 1.0, f32::NAN]), 1.0);
        for len in [0usize, 1, 7, 8, 9, 23, 214] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5)
                .collect();
            let b: Vec<f32> = (0..len)
                .map(|i| ((i * 5 % 9) as f32 - 4.0) * 0.25)
                .collect();
            let expected: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - expected).abs() <= 1e-5, "dot of {len}");
            assert_eq!(
                dot(&a, &b[..len / 2]),
                dot(&a[..len / 2], &b),
                "shorter side"
            );
        }
    }

    #[test]
    fn exp_is_within_2_ulp_of_libm_on_the_normal_range() {
        let worst = (-873_365..=887_228)
            .map(|i| i as f32 * 1e-4)
            .map(|x| ulps(exp(x), libm::expf(x)))
            .max()
            .unwrap();
        assert!(worst <= 2, "largest error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert!(ulps(exp(1.0), std::f32::consts::E) <= 1);
        assert!(exp(-100.0) < 1.2e-38 && exp(-100.0) >= 0.0);
        assert!(exp(f32::NEG_INFINITY) < 1.2e-38);
        assert!(exp(f32::NAN).is_nan());
        assert!(ulps(exp(88.7), libm::expf(88.7)) <= 2);
    }
}
