//! Symmetric int8 quantization (weights per output channel, activations per row) and bf16
//! rounding, the inputs of [`crate::int8_gemm`] and [`crate::bf16_gemm`].
//!
//! A value `x` of a group with scale `s = max|x| / 127` becomes `q = clamp(round(x / s))` in
//! `[-127, 127]` (round half to even; `-128` is never produced, so `|q| ≤ 127` everywhere, which
//! the AVX2 body relies on) and stands for `q · s`. The product of a quantized row `a` (scale
//! `sa`) and a quantized column `w` (scale `sw`) is `sa · sw · Σ a_k w_k`, the sum exact in
//! int32 (`k · 127² < 2³¹` for `k < 133 000`). An all-zero group gets scale 0 and codes 0.
//!
//! Activations are quantized as `x · (127 / max)` rather than `x / s`: one multiplication per
//! value, the same in every body (the same IEEE operations, so every body sees the same codes).

use crate::simd::vectorized;

/// The largest code magnitude.
pub const QMAX: f32 = 127.0;

/// `round_half_even(x · inv)` clamped to `[-127, 127]`, as an i8 (NaN gives 0). Written so
/// that it vectorises: a saturating `f32 as i8` does not (LLVM converts one value at a time),
/// while the clamped, NaN-free value converts with `to_int_unchecked` (`vcvttps2dq`) and
/// narrows with a plain truncation.
#[inline(always)]
fn code(x: f32, inv: f32) -> i8 {
    let v = (x * inv).round_ties_even().clamp(-QMAX, QMAX);
    let v = if v.is_nan() { 0.0 } else { v };
    // SAFETY: `v` is finite and within [-127, 127].
    unsafe { v.to_int_unchecked::<i32>() as i8 }
}

/// Lanes of the running maximum in [`max_abs`].
const LANES: usize = 16;

/// The largest magnitude in `values` (0 for an empty slice; NaN never wins a comparison, so it
/// is ignored). Sixteen running maxima, then their maximum: a compare-and-select per lane
/// vectorises where `f32::max` folded one value at a time does not (a maximum does not depend
/// on the order, so the result is the same).
#[inline(always)]
fn max_abs(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            let a = x.abs();
            *m = if a > *m { a } else { *m };
        }
    }
    for (m, &x) in lanes.iter_mut().zip(tail) {
        let a = x.abs();
        *m = if a > *m { a } else { *m };
    }
    lanes.iter().fold(0.0f32, |m, &x| if x > m { x } else { m })
}

/// `(scale, 1 / scale)` of a group whose largest magnitude is `max`; `(0, 0)` when it is 0 (or
/// not finite: such a row has no meaningful int8 image, and codes 0 keep the product finite).
#[inline(always)]
fn scales(max: f32) -> (f32, f32) {
    if max > 0.0 && max.is_finite() {
        (max / QMAX, QMAX / max)
    } else {
        (0.0, 0.0)
    }
}

/// Quantizes one row: writes `codes[..row.len()]` (the rest of `codes`, the padding, is left as
/// it is) and returns the row's scale.
#[inline(always)]
pub fn quantize_row(row: &[f32], codes: &mut [i8]) -> f32 {
    let (scale, inv) = scales(max_abs(row));
    codes
        .iter_mut()
        .zip(row)
        .for_each(|(c, &x)| *c = code(x, inv));
    scale
}

/// Quantizes the rows of a row-major `[rows, k]` matrix into `codes` (`[rows_padded, k_pad]`,
/// padding zero) and `row_scales` (`[rows]`), using the wide body where the CPU has it (the
/// codes are the same either way).
pub fn quantize_rows(x: &[f32], k: usize, k_pad: usize, codes: &mut [i8], row_scales: &mut [f32]) {
    vectorized(
        #[inline(always)]
        || {
            for ((row, c), s) in x
                .chunks_exact(k.max(1))
                .zip(codes.chunks_exact_mut(k_pad.max(1)))
                .zip(row_scales.iter_mut())
            {
                *s = quantize_row(row, &mut c[..k]);
            }
        },
    )
}

/// Per-column quantization of a row-major `[k, n]` weight (burn's `[d_in, d_out]`): codes in
/// the same layout and one scale per column (output channel).
pub fn quantize_columns(w: &[f32], k: usize, n: usize) -> (Vec<i8>, Vec<f32>) {
    assert_eq!(w.len(), k * n, "weight size");
    let mut max = vec![0.0f32; n];
    for row in w.chunks_exact(n.max(1)) {
        max.iter_mut()
            .zip(row)
            .for_each(|(m, &x)| *m = m.max(x.abs()));
    }
    let (scale, inv): (Vec<f32>, Vec<f32>) = max.iter().map(|&m| scales(m)).unzip();
    let mut codes = vec![0i8; k * n];
    for (c, row) in codes
        .chunks_exact_mut(n.max(1))
        .zip(w.chunks_exact(n.max(1)))
    {
        for ((c, &x), &inv) in c.iter_mut().zip(row).zip(&inv) {
            *c = code(x, inv);
        }
    }
    (codes, scale)
}

/// `x` rounded to bfloat16 (round to nearest, ties to even; NaN stays a quiet NaN), as its
/// 16 bits: the upper half of the f32 after rounding, which is what `vcvtne2ps2bf16` computes.
#[inline(always)]
pub fn bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounding = 0x7fff + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

/// The f32 value of bfloat16 bits.
#[inline(always)]
pub fn bf16_value(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_stay_in_the_symmetric_range_and_round_half_to_even() {
        let row = [1.0f32, -1.0, 0.5 / 127.0, 1.5 / 127.0, 0.0, -0.999];
        let mut codes = [0i8; 6];
        let s = quantize_row(&row, &mut codes);
        assert_eq!(s, 1.0 / 127.0);
        assert_eq!(codes, [127, -127, 0, 2, 0, -127]);
        let mut zeros = [5i8; 3];
        assert_eq!(quantize_row(&[0.0; 3], &mut zeros), 0.0);
        assert_eq!(zeros, [0; 3]);
    }

    #[test]
    fn columns_have_their_own_scales() {
        let w = [1.0f32, 10.0, -0.5, 5.0];
        let (codes, scales) = quantize_columns(&w, 2, 2);
        assert_eq!(scales, [1.0 / 127.0, 10.0 / 127.0]);
        assert_eq!(codes, [127, 127, -64, 64]);
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(bf16_value(bf16_bits(1.0)), 1.0);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even mantissa (1).
        assert_eq!(bf16_value(bf16_bits(1.0 + 1.0 / 256.0)), 1.0);
        assert_eq!(bf16_value(bf16_bits(1.0 + 3.0 / 256.0)), 1.0 + 4.0 / 256.0);
        assert!(bf16_value(bf16_bits(f32::NAN)).is_nan());
        assert_eq!(bf16_value(bf16_bits(f32::INFINITY)), f32::INFINITY);
    }
}
