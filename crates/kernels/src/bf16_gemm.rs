//! `y = bf16(x) · bf16(W) + b` (optionally GELU) with f32 accumulation, for token rows
//! `x: [m, k]` and a weight `W: [k, n]` rounded to bfloat16 once ([`Bf16Weight`]); the
//! activations are rounded (to nearest, ties to even) on each call.
//!
//! The AVX-512 BF16 body uses `vdpbf16ps`: each f32 lane adds the products of 2 consecutive
//! `k` (bf16 × bf16 products are exact in f32; the additions round, with denormals flushed).
//! The weight is packed like [`crate::int8_gemm`]'s: panels of [`NR`] = 32 columns, within a
//! panel for each pair of rows of `k` 32 columns × 2 bf16 (128 bytes: two zmm); `k` padded to
//! even and `n` to 32 with zeros. The scalar body (CPUs without AVX512_BF16, and the tests'
//! reference of the same rounded inputs) multiplies the same bf16 values in f32. Rows are split
//! into blocks on rayon's pool; within a block the loop runs over panels, then tiles of
//! [`MR`] rows, and one epilogue per tile adds the bias (then GELU).

use rayon::prelude::*;

use crate::quantize::{bf16_bits, bf16_value};
use crate::simd::vectorized;

/// Columns per panel (and tile).
pub const NR: usize = 32;
/// Rows per tile.
pub const MR: usize = 8;
const ROWS_PER_BLOCK: usize = 64;
const POOL_THRESHOLD: usize = 128 * 128 * 128;

type Tile = [[f32; NR]; MR];

/// A `[k, n]` weight in bfloat16, packed for the kernels.
#[derive(Debug, Clone)]
pub struct Bf16Weight {
    pub k: usize,
    pub n: usize,
    /// `k` rounded up to even.
    k_pad: usize,
    panels: usize,
    /// Panels of `k_pad / 2` pairs × `NR` columns × 2 values.
    packed: Vec<u16>,
}

impl Bf16Weight {
    /// Rounds and packs a row-major `[k, n]` weight.
    pub fn new(w: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "weight size");
        let k_pad = k.div_ceil(2) * 2;
        let panels = n.div_ceil(NR);
        let pairs = k_pad / 2;
        let mut packed = vec![0u16; panels * pairs * NR * 2];
        for row in 0..k {
            for col in 0..n {
                let (p, c) = (col / NR, col % NR);
                packed[((p * pairs + row / 2) * NR + c) * 2 + row % 2] =
                    bf16_bits(w[row * n + col]);
            }
        }
        Self {
            k,
            n,
            k_pad,
            panels,
            packed,
        }
    }

    fn pairs(&self) -> usize {
        self.k_pad / 2
    }

    fn panel(&self, p: usize) -> &[u16] {
        let len = self.pairs() * NR * 2;
        &self.packed[p * len..(p + 1) * len]
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        2 * self.packed.len()
    }
}

/// A bf16 kernel body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Avx512Bf16,
    Scalar,
}

impl Body {
    pub const ALL: [Body; 2] = [Body::Avx512Bf16, Body::Scalar];

    /// Whether this CPU runs the body (`None`) or why not.
    pub fn unavailable(self) -> Option<&'static str> {
        match self {
            Body::Scalar => None,
            Body::Avx512Bf16 => {
                #[cfg(target_arch = "x86_64")]
                if is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512bf16")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                {
                    return None;
                }
                Some("the CPU lacks AVX512_BF16")
            }
        }
    }

    /// Whether the CPU has the fast body: only then does CPU inference in bf16 take this path
    /// (the scalar body is slower than f32).
    pub fn fast_available() -> bool {
        Body::Avx512Bf16.unavailable().is_none()
    }

    pub fn name(self) -> &'static str {
        match self {
            Body::Avx512Bf16 => "avx512bf16",
            Body::Scalar => "scalar",
        }
    }
}

/// Rows of one block: bf16 values `[rows rounded up to MR, k_pad]`.
struct Block<'a> {
    a: &'a [u16],
    rows: usize,
    weight: &'a Bf16Weight,
}

/// Bias (then GELU) into a block of output rows.
struct Epilogue<'a> {
    out: &'a mut [f32],
    n: usize,
    bias: &'a [f32],
    gelu: bool,
}

impl Epilogue<'_> {
    #[inline(always)]
    fn tile(&mut self, row: usize, rows: usize, col: usize, tile: &Tile) {
        let width = NR.min(self.n - col);
        for (r, acc) in tile.iter().enumerate().take(rows) {
            let start = (row + r) * self.n + col;
            let out = &mut self.out[start..start + width];
            let bias = &self.bias[col..col + width];
            for ((y, &acc), &b) in out.iter_mut().zip(acc).zip(bias) {
                *y = acc + b;
            }
            if self.gelu {
                out.iter_mut()
                    .for_each(|y| *y = crate::gelu::gelu_scalar(*y));
            }
        }
    }
}

#[inline(always)]
fn drive(
    block: &Block,
    sink: &mut Epilogue,
    mut tile: impl FnMut(&[u16], usize, &[u16], usize, &mut Tile),
) {
    let w = block.weight;
    for p in 0..w.panels {
        let panel = w.panel(p);
        for r in (0..block.rows).step_by(MR) {
            let mut out = [[0.0f32; NR]; MR];
            tile(&block.a[r * w.k_pad..], w.k_pad, panel, w.pairs(), &mut out);
            sink.tile(r, MR.min(block.rows - r), p * NR, &out);
        }
    }
}

fn block_scalar(block: &Block, sink: &mut Epilogue) {
    drive(block, sink, |a, lda, panel, pairs, out| {
        for (r, out) in out.iter_mut().enumerate() {
            for (c, acc) in out.iter_mut().enumerate() {
                let mut sum = 0.0f32;
                for g in 0..pairs {
                    let i = (g * NR + c) * 2;
                    let (a0, a1) = (a[r * lda + 2 * g], a[r * lda + 2 * g + 1]);
                    sum += bf16_value(a1) * bf16_value(panel[i + 1]);
                    sum += bf16_value(a0) * bf16_value(panel[i]);
                }
                *acc = sum;
            }
        }
    });
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512bf16,avx2,fma")]
    #[inline]
    unsafe fn tile_avx512bf16(
        a: *const u16,
        lda: usize,
        panel: *const u16,
        pairs: usize,
        tile: &mut Tile,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; MR];
        for g in 0..pairs {
            let w = panel.add(g * NR * 2);
            let w0: __m512bh = std::mem::transmute(_mm512_loadu_si512(w as *const __m512i));
            let w1: __m512bh = std::mem::transmute(_mm512_loadu_si512(w.add(32) as *const __m512i));
            for (r, acc) in acc.iter_mut().enumerate() {
                let pair = (a.add(r * lda + 2 * g) as *const i32).read_unaligned();
                let b: __m512bh = std::mem::transmute(_mm512_set1_epi32(pair));
                acc[0] = _mm512_dpbf16_ps(acc[0], b, w0);
                acc[1] = _mm512_dpbf16_ps(acc[1], b, w1);
            }
        }
        for (acc, out) in acc.iter().zip(tile.iter_mut()) {
            _mm512_storeu_ps(out.as_mut_ptr(), acc[0]);
            _mm512_storeu_ps(out.as_mut_ptr().add(16), acc[1]);
        }
    }

    /// Safety: the CPU has AVX512_BF16 (and AVX-512 F/BW); `block` holds whole tiles.
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16,avx2,fma")]
    pub(super) unsafe fn block_avx512bf16(block: &Block, sink: &mut Epilogue) {
        drive(block, sink, |a, lda, panel, pairs, out| {
            debug_assert!(a.len() >= MR * lda && panel.len() >= pairs * NR * 2);
            // SAFETY: the caller checked the features; `drive` passes whole tiles.
            unsafe { tile_avx512bf16(a.as_ptr(), lda, panel.as_ptr(), pairs, out) }
        });
    }
}

fn run_block(body: Body, block: &Block, sink: &mut Epilogue) {
    assert!(
        body.unavailable().is_none(),
        "bf16 body {} on a CPU without it",
        body.name()
    );
    #[cfg(target_arch = "x86_64")]
    if body == Body::Avx512Bf16 {
        // SAFETY: the features were checked just above.
        return unsafe { x86::block_avx512bf16(block, sink) };
    }
    block_scalar(block, sink)
}

/// `x: [m, k]` rounded to bf16 as `[m rounded up to MR, k_pad]`, zero-padded.
pub(crate) fn round_activations(x: &[f32], m: usize, w: &Bf16Weight) -> Vec<u16> {
    let (k, k_pad) = (w.k, w.k_pad);
    assert_eq!(x.len(), m * k, "input size");
    let mut a = vec![0u16; m.div_ceil(MR) * MR * k_pad];
    if k > 0 {
        a[..m * k_pad]
            .par_chunks_mut(ROWS_PER_BLOCK * k_pad)
            .zip(x.par_chunks(ROWS_PER_BLOCK * k))
            .for_each(|(a, x)| {
                vectorized(
                    #[inline(always)]
                    || {
                        for (a, x) in a.chunks_exact_mut(k_pad).zip(x.chunks_exact(k)) {
                            a.iter_mut().zip(x).for_each(|(a, &x)| *a = bf16_bits(x));
                        }
                    },
                )
            });
    }
    a
}

/// `bf16(x) · W + bias` (zeros when `None`), then GELU when `gelu`: `x: [m, k]` → `[m, n]`.
pub fn matmul_with(
    body: Body,
    x: &[f32],
    m: usize,
    w: &Bf16Weight,
    bias: Option<&[f32]>,
    gelu: bool,
) -> Vec<f32> {
    let n = w.n;
    let zeros;
    let bias = match bias {
        Some(b) => b,
        None => {
            zeros = vec![0.0f32; n];
            &zeros
        }
    };
    assert_eq!(bias.len(), n, "bias length");
    let a = round_activations(x, m, w);
    let mut out = vec![0.0f32; m * n];
    if n == 0 || m == 0 {
        return out;
    }
    let task = |(i, out): (usize, &mut [f32])| {
        let row0 = i * ROWS_PER_BLOCK;
        let block = Block {
            a: &a[row0 * w.k_pad..],
            rows: out.len() / n,
            weight: w,
        };
        let mut sink = Epilogue { out, n, bias, gelu };
        run_block(body, &block, &mut sink);
    };
    if m.saturating_mul(w.k).saturating_mul(n) >= POOL_THRESHOLD {
        out.par_chunks_mut(ROWS_PER_BLOCK * n)
            .enumerate()
            .for_each(task);
    } else {
        out.chunks_mut(ROWS_PER_BLOCK * n)
            .enumerate()
            .for_each(task);
    }
    out
}

/// [`matmul_with`] the fastest body.
pub fn matmul(x: &[f32], m: usize, w: &Bf16Weight, bias: Option<&[f32]>, gelu: bool) -> Vec<f32> {
    let body = if Body::fast_available() {
        Body::Avx512Bf16
    } else {
        Body::Scalar
    };
    matmul_with(body, x, m, w, bias, gelu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seed: u64, len: usize, scale: f32) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s % 20001) as f32 / 10000.0 - 1.0) * scale
            })
            .collect()
    }

    /// Every body against f64 sums of the bf16-rounded inputs: the only differences left are
    /// the f32 additions (`k` roundings of at most half an ulp of the running sum each).
    #[test]
    fn every_body_matches_a_float64_reference_of_the_rounded_inputs() {
        for &(m, k, n) in &[
            (1usize, 1usize, 1usize),
            (3, 5, 7),
            (17, 33, 65),
            (70, 384, 47),
            (9, 1023, 33),
        ] {
            let x = values(m as u64 * 31 + 1, m * k, 3.0);
            let wf = values(k as u64 * 17 + 5, k * n, 0.2);
            let bias = values(n as u64 + 3, n, 1.0);
            let w = Bf16Weight::new(&wf, k, n);
            let r = |v: f32| bf16_value(bf16_bits(v)) as f64;
            for gelu in [false, true] {
                for body in Body::ALL {
                    if let Some(why) = body.unavailable() {
                        eprintln!("skipping bf16 body {}: {why}", body.name());
                        continue;
                    }
                    let got = matmul_with(body, &x, m, &w, Some(&bias), gelu);
                    for i in 0..m {
                        for j in 0..n {
                            let terms = (0..k).map(|t| r(x[i * k + t]) * r(wf[t * n + j]));
                            let magnitude: f64 = terms.clone().map(f64::abs).sum();
                            let mut want = terms.sum::<f64>() + bias[j] as f64;
                            let mut tol = (k as f64 + 2.0) * 6e-8 * (magnitude + 1.0);
                            if gelu {
                                want = 0.5 * want * (1.0 + libm::erf(want / 2f64.sqrt()));
                                tol = tol * 1.2 + 1e-6;
                            }
                            let y = got[i * n + j] as f64;
                            assert!(
                                (y - want).abs() <= tol,
                                "{} {m}×{k}×{n} [{i},{j}]: {y} vs {want} (tol {tol})",
                                body.name()
                            );
                        }
                    }
                }
            }
        }
    }
}
