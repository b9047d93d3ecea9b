//! `y = dequant(q(x) · q(W)) + b` (optionally GELU) for token rows `x: [m, k]` in f32 and a
//! weight `W: [k, n]` quantized once per output channel ([`Int8Weight`]); activations are
//! quantized per row on each call ([`crate::quantize`]). The products accumulate in int32 and
//! one epilogue per output tile turns them into `acc · sa[row] · sw[col] + b[col]` (then GELU),
//! so the output is written once.
//!
//! Bodies, chosen at run time ([`Body::best`]) with `is_x86_feature_detected!`:
//! - **AVX-512 VNNI** (`vpdpbusd` on zmm): `u8 × i8` products of 4 consecutive `k` summed into
//!   each int32 lane. The activation codes `a ∈ [-127, 127]` are shifted to `a + 128 ∈ [1, 255]`
//!   (an xor of the sign bit), so each lane sums `Σ (a + 128) w = Σ a w + 128 Σ w`; the tile
//!   subtracts `128 · Σ_k w[k, col]`, precomputed per column at packing. Exact.
//! - **AVX-VNNI** (the VEX-encoded `vpdpbusd` on ymm, Alder Lake and later): the same
//!   arithmetic at 256 bits. The same code compiled for AVX-512 VNNI's EVEX ymm form is the
//!   `Avx512Vnni256` body, which is what tests exercise on CPUs with AVX-512 but no AVX-VNNI.
//! - **AVX2** (`vpmaddubsw` + `vpmaddwd`): `vpmaddubsw` multiplies `u8 × i8` and adds adjacent
//!   pairs into *saturating* int16. With the `+128` shift a pair could reach
//!   `2 · 255 · 127 = 64 770` and saturate; instead this body feeds `|a|` as the unsigned operand
//!   and `sign(a) · w` (`vpsignb`) as the signed one: `|a| · sign(a) · w = a · w`, and since both
//!   codes are at most 127 in magnitude a pair is at most `2 · 127² = 32 258 < 2¹⁵`. No
//!   saturation, no loss of activation precision (full 8-bit codes), exact; `vpmaddwd` with ones
//!   then adds the pairs into int32.
//! - **scalar**: the reference, one `i32` multiply-add per product.
//!
//! Every body produces the same int32 tile (tested exactly), so the f32 output does not depend
//! on the CPU. Layout: the weight is packed once into panels of [`NR`] = 32 columns; within a
//! panel, for each group of 4 rows of `k`, 32 columns × 4 codes (128 bytes: two zmm, one per 16
//! columns). `k` is padded to a multiple of 4 and `n` to a multiple of 32 with zero codes.
//! The activation codes are laid out `[m rounded up to MR, k_pad]`. Work is split into blocks
//! of [`ROWS_PER_BLOCK`] rows on rayon's pool; within a block the loop runs over panels, then
//! over tiles of [`MR`] rows, so one panel (`k · 32` bytes) stays in L1 while the block's rows
//! come from L2.

use rayon::prelude::*;

use crate::quantize::{quantize_columns, quantize_rows};

/// Columns per packed panel (and per tile).
pub const NR: usize = 32;
/// Rows per tile.
pub const MR: usize = 8;
/// Rows per parallel task.
const ROWS_PER_BLOCK: usize = 64;
/// Products with at least this many multiply-adds run on rayon's pool.
const POOL_THRESHOLD: usize = 128 * 128 * 128;

/// One tile of int32 sums: `MR` rows × `NR` columns.
pub type Tile = [[i32; NR]; MR];

/// A `[k, n]` weight quantized per column and packed for the kernels.
#[derive(Debug, Clone)]
pub struct Int8Weight {
    /// Input features.
    pub k: usize,
    /// Output features.
    pub n: usize,
    /// `k` rounded up to a multiple of 4.
    k_pad: usize,
    /// `n` rounded up to a multiple of [`NR`], over [`NR`].
    panels: usize,
    /// Panels, each `k_pad / 4` groups of `NR × 4` codes.
    packed: Vec<i8>,
    /// Per-column scales, zero-padded to `panels · NR`.
    scales: Vec<f32>,
    /// `128 · Σ_k W_q[k, col]`, zero-padded: the correction of the `+128` shift.
    shift_correction: Vec<i32>,
}

impl Int8Weight {
    /// Quantizes (symmetric, per output column) and packs a row-major `[k, n]` weight.
    pub fn new(w: &[f32], k: usize, n: usize) -> Self {
        let (codes, col_scales) = quantize_columns(w, k, n);
        Self::from_codes(&codes, col_scales, k, n)
    }

    /// Packs quantized codes `[k, n]` (row-major) with their per-column scales.
    pub fn from_codes(codes: &[i8], col_scales: Vec<f32>, k: usize, n: usize) -> Self {
        assert_eq!(codes.len(), k * n, "codes size");
        assert_eq!(col_scales.len(), n, "one scale per column");
        let k_pad = k.div_ceil(4) * 4;
        let panels = n.div_ceil(NR);
        let groups = k_pad / 4;
        let mut packed = vec![0i8; panels * groups * NR * 4];
        let mut shift_correction = vec![0i32; panels * NR];
        for row in 0..k {
            for col in 0..n {
                let (p, c) = (col / NR, col % NR);
                let (g, t) = (row / 4, row % 4);
                let code = codes[row * n + col];
                packed[((p * groups + g) * NR + c) * 4 + t] = code;
                shift_correction[col] += 128 * code as i32;
            }
        }
        let mut scales = col_scales;
        scales.resize(panels * NR, 0.0);
        Self {
            k,
            n,
            k_pad,
            panels,
            packed,
            scales,
            shift_correction,
        }
    }

    fn groups(&self) -> usize {
        self.k_pad / 4
    }

    fn panel(&self, p: usize) -> &[i8] {
        let len = self.groups() * NR * 4;
        &self.packed[p * len..(p + 1) * len]
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.packed.len() + 4 * (self.scales.len() + self.shift_correction.len())
    }
}

/// An int8 kernel body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Avx512Vnni,
    /// The AVX-VNNI code path compiled for AVX-512 VNNI's ymm (EVEX) encoding.
    Avx512Vnni256,
    AvxVnni,
    Avx2,
    Scalar,
}

impl Body {
    /// Every body, fastest first.
    pub const ALL: [Body; 5] = [
        Body::Avx512Vnni,
        Body::AvxVnni,
        Body::Avx512Vnni256,
        Body::Avx2,
        Body::Scalar,
    ];

    /// Whether this CPU runs the body (`None`) or why not.
    pub fn unavailable(self) -> Option<&'static str> {
        #[cfg(target_arch = "x86_64")]
        {
            let has = |ok: bool, why| if ok { None } else { Some(why) };
            match self {
                Body::Avx512Vnni | Body::Avx512Vnni256 => has(
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vl")
                        && is_x86_feature_detected!("avx512vnni")
                        && is_x86_feature_detected!("avx2")
                        && is_x86_feature_detected!("fma"),
                    "the CPU lacks AVX-512 VNNI (avx512f/bw/vl/vnni)",
                ),
                Body::AvxVnni => has(
                    is_x86_feature_detected!("avxvnni")
                        && is_x86_feature_detected!("avx2")
                        && is_x86_feature_detected!("fma"),
                    "the CPU lacks AVX-VNNI (avx_vnni)",
                ),
                Body::Avx2 => has(
                    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                    "the CPU lacks AVX2 + FMA",
                ),
                Body::Scalar => None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match self {
            Body::Scalar => None,
            _ => Some("not an x86-64 CPU"),
        }
    }

    /// The fastest body this CPU runs (checked once per process). `RANKFORGE_INT8_BODY`
    /// (`avx512vnni`, `avxvnni`, `avx2`, `scalar`) picks a slower one for A/B measurements; one
    /// the CPU cannot run is ignored.
    pub fn best() -> Body {
        static BEST: std::sync::OnceLock<Body> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            let wanted = std::env::var("RANKFORGE_INT8_BODY").ok();
            let named = Body::ALL
                .into_iter()
                .find(|b| wanted.as_deref() == Some(b.name()) && b.unavailable().is_none());
            named.unwrap_or_else(|| {
                Body::ALL
                    .into_iter()
                    .find(|b| *b != Body::Avx512Vnni256 && b.unavailable().is_none())
                    .unwrap_or(Body::Scalar)
            })
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Body::Avx512Vnni => "avx512vnni",
            Body::Avx512Vnni256 => "avx512vnni256",
            Body::AvxVnni => "avxvnni",
            Body::Avx2 => "avx2",
            Body::Scalar => "scalar",
        }
    }
}

/// Receives finished tiles: `rows` valid rows from block row `row`, columns from `col`.
pub(crate) trait Sink {
    fn tile(&mut self, row: usize, rows: usize, col: usize, tile: &Tile);
}

/// The rows of one block: codes `[rows rounded up to MR, k_pad]`.
struct Block<'a> {
    codes: &'a [i8],
    rows: usize,
    weight: &'a Int8Weight,
}

/// Scalar tile: `Σ_k a[r, k] · w[k, c]` in int32 over the packed layout.
#[inline(always)]
fn tile_scalar(a: &[i8], lda: usize, panel: &[i8], groups: usize, tile: &mut Tile) {
    for (r, out) in tile.iter_mut().enumerate() {
        let row = &a[r * lda..r * lda + 4 * groups];
        for (c, acc) in out.iter_mut().enumerate() {
            let mut sum = 0i32;
            for g in 0..groups {
                for t in 0..4 {
                    sum += row[4 * g + t] as i32 * panel[(g * NR + c) * 4 + t] as i32;
                }
            }
            *acc = sum;
        }
    }
}

/// Runs `tile` over every (panel, row tile) of `block`, in that loop order, handing results to
/// `sink`.
#[inline(always)]
fn drive<S: Sink>(
    block: &Block,
    sink: &mut S,
    mut tile: impl FnMut(&[i8], usize, &[i8], usize, &[i32], &mut Tile),
) {
    let w = block.weight;
    for p in 0..w.panels {
        let panel = w.panel(p);
        let correction = &w.shift_correction[p * NR..(p + 1) * NR];
        for r in (0..block.rows).step_by(MR) {
            let mut out = [[0i32; NR]; MR];
            tile(
                &block.codes[r * w.k_pad..],
                w.k_pad,
                panel,
                w.groups(),
                correction,
                &mut out,
            );
            sink.tile(r, MR.min(block.rows - r), p * NR, &out);
        }
    }
}

fn block_scalar<S: Sink>(block: &Block, sink: &mut S) {
    drive(block, sink, |a, lda, panel, groups, _, out| {
        tile_scalar(a, lda, panel, groups, out)
    });
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;
    use std::arch::x86_64::*;

    /// The 4 codes of row `r` at group `g`, as one 32-bit word.
    #[inline(always)]
    unsafe fn word(a: *const i8, lda: usize, r: usize, g: usize) -> i32 {
        (a.add(r * lda + 4 * g) as *const i32).read_unaligned()
    }

    /// `0x80` in every byte: `a ^ SHIFT` is `a + 128` as an unsigned byte.
    const SHIFT: i32 = 0x8080_8080u32 as i32;

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
    #[inline]
    unsafe fn tile_avx512vnni(
        a: *const i8,
        lda: usize,
        panel: *const i8,
        groups: usize,
        correction: &[i32],
        tile: &mut Tile,
    ) {
        let mut acc = [[_mm512_setzero_si512(); 2]; MR];
        for g in 0..groups {
            let w0 = _mm512_loadu_si512(panel.add(g * NR * 4) as *const __m512i);
            let w1 = _mm512_loadu_si512(panel.add(g * NR * 4 + 64) as *const __m512i);
            for (r, acc) in acc.iter_mut().enumerate() {
                let b = _mm512_set1_epi32(word(a, lda, r, g) ^ SHIFT);
                acc[0] = _mm512_dpbusd_epi32(acc[0], b, w0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], b, w1);
            }
        }
        let c0 = _mm512_loadu_si512(correction.as_ptr() as *const __m512i);
        let c1 = _mm512_loadu_si512(correction.as_ptr().add(16) as *const __m512i);
        for (acc, out) in acc.iter().zip(tile.iter_mut()) {
            let p = out.as_mut_ptr();
            _mm512_storeu_si512(p as *mut __m512i, _mm512_sub_epi32(acc[0], c0));
            _mm512_storeu_si512(p.add(16) as *mut __m512i, _mm512_sub_epi32(acc[1], c1));
        }
    }

    /// The 256-bit VNNI tile with the given `vpdpbusd` (VEX or EVEX form): two halves of 16
    /// columns, each as two passes of 4 rows × 2 ymm (8 accumulators: AVX2 has 16 registers).
    macro_rules! tile_vnni256 {
        ($name:ident, $features:literal, $dpbusd:ident) => {
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn $name(
                a: *const i8,
                lda: usize,
                panel: *const i8,
                groups: usize,
                correction: &[i32],
                tile: &mut Tile,
            ) {
                for half in 0..2 {
                    for rows in 0..MR / 4 {
                        let mut acc = [[_mm256_setzero_si256(); 2]; 4];
                        for g in 0..groups {
                            let w = panel.add(g * NR * 4 + half * 64);
                            let w0 = _mm256_loadu_si256(w as *const __m256i);
                            let w1 = _mm256_loadu_si256(w.add(32) as *const __m256i);
                            for (r, acc) in acc.iter_mut().enumerate() {
                                let b = _mm256_set1_epi32(word(a, lda, rows * 4 + r, g) ^ SHIFT);
                                acc[0] = $dpbusd(acc[0], b, w0);
                                acc[1] = $dpbusd(acc[1], b, w1);
                            }
                        }
                        let c = correction.as_ptr().add(half * 16);
                        let c0 = _mm256_loadu_si256(c as *const __m256i);
                        let c1 = _mm256_loadu_si256(c.add(8) as *const __m256i);
                        for (r, acc) in acc.iter().enumerate() {
                            let p = tile[rows * 4 + r].as_mut_ptr().add(half * 16);
                            _mm256_storeu_si256(p as *mut __m256i, _mm256_sub_epi32(acc[0], c0));
                            _mm256_storeu_si256(
                                p.add(8) as *mut __m256i,
                                _mm256_sub_epi32(acc[1], c1),
                            );
                        }
                    }
                }
            }
        };
    }

    tile_vnni256!(tile_avxvnni, "avxvnni,avx2,fma", _mm256_dpbusd_avx_epi32);
    tile_vnni256!(
        tile_avx512vnni256,
        "avx512f,avx512vl,avx512vnni,avx2,fma",
        _mm256_dpbusd_epi32
    );

    /// AVX2: `vpmaddubsw(|a|, sign(a)·w)` then `vpmaddwd` with ones (see the module doc).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile_avx2(
        a: *const i8,
        lda: usize,
        panel: *const i8,
        groups: usize,
        _correction: &[i32],
        tile: &mut Tile,
    ) {
        let ones = _mm256_set1_epi16(1);
        for half in 0..2 {
            for rows in 0..MR / 4 {
                let mut acc = [[_mm256_setzero_si256(); 2]; 4];
                for g in 0..groups {
                    let w = panel.add(g * NR * 4 + half * 64);
                    let w0 = _mm256_loadu_si256(w as *const __m256i);
                    let w1 = _mm256_loadu_si256(w.add(32) as *const __m256i);
                    for (r, acc) in acc.iter_mut().enumerate() {
                        let b = _mm256_set1_epi32(word(a, lda, rows * 4 + r, g));
                        let magnitude = _mm256_abs_epi8(b);
                        let p0 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w0, b));
                        let p1 = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w1, b));
                        acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(p0, ones));
                        acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(p1, ones));
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    let p = tile[rows * 4 + r].as_mut_ptr().add(half * 16);
                    _mm256_storeu_si256(p as *mut __m256i, acc[0]);
                    _mm256_storeu_si256(p.add(8) as *mut __m256i, acc[1]);
                }
            }
        }
    }

    macro_rules! block_fn {
        ($name:ident, $features:literal, $tile:ident) => {
            /// Safety: the CPU has the enabled features; `block`'s codes hold whole tiles.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name<S: Sink>(block: &Block, sink: &mut S) {
                drive(block, sink, |a, lda, panel, groups, correction, out| {
                    debug_assert!(a.len() >= MR * lda && panel.len() >= groups * NR * 4);
                    // SAFETY: the caller checked the features; `drive` passes whole tiles.
                    unsafe { $tile(a.as_ptr(), lda, panel.as_ptr(), groups, correction, out) }
                });
            }
        };
    }

    block_fn!(
        block_avx512vnni,
        "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma",
        tile_avx512vnni
    );
    block_fn!(
        block_avx512vnni256,
        "avx512f,avx512vl,avx512vnni,avx2,fma",
        tile_avx512vnni256
    );
    block_fn!(block_avxvnni, "avxvnni,avx2,fma", tile_avxvnni);
    block_fn!(block_avx2, "avx2,fma", tile_avx2);
}

/// Runs one block with `body`.
fn run_block<S: Sink>(body: Body, block: &Block, sink: &mut S) {
    assert!(
        body.unavailable().is_none(),
        "int8 body {} on a CPU without it",
        body.name()
    );
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the features were checked just above.
    unsafe {
        match body {
            Body::Avx512Vnni => return x86::block_avx512vnni(block, sink),
            Body::Avx512Vnni256 => return x86::block_avx512vnni256(block, sink),
            Body::AvxVnni => return x86::block_avxvnni(block, sink),
            Body::Avx2 => return x86::block_avx2(block, sink),
            Body::Scalar => {}
        }
    }
    block_scalar(block, sink)
}

/// Activation codes of `x: [m, k]`: `[m rounded up to MR, k_pad]` and per-row scales.
pub(crate) fn quantize_activations(x: &[f32], m: usize, w: &Int8Weight) -> (Vec<i8>, Vec<f32>) {
    let (k, k_pad) = (w.k, w.k_pad);
    assert_eq!(x.len(), m * k, "input size");
    let m_pad = m.div_ceil(MR) * MR;
    let mut codes = vec![0i8; m_pad * k_pad];
    let mut scales = vec![0.0f32; m_pad];
    let rows = ROWS_PER_BLOCK;
    if k > 0 {
        codes[..m * k_pad]
            .par_chunks_mut(rows * k_pad)
            .zip(x.par_chunks(rows * k))
            .zip(scales[..m].par_chunks_mut(rows))
            .for_each(|((codes, x), scales)| quantize_rows(x, k, k_pad, codes, scales));
    }
    (codes, scales)
}

/// Writes `acc · sa · sw + b` (then GELU) for the valid part of each tile into a block of rows.
struct Dequantize<'a> {
    out: &'a mut [f32],
    n: usize,
    row_scales: &'a [f32],
    col_scales: &'a [f32],
    bias: &'a [f32],
    gelu: bool,
}

impl Sink for Dequantize<'_> {
    #[inline(always)]
    fn tile(&mut self, row: usize, rows: usize, col: usize, tile: &Tile) {
        let width = NR.min(self.n - col);
        for (r, acc) in tile.iter().enumerate().take(rows) {
            let sa = self.row_scales[row + r];
            let start = (row + r) * self.n + col;
            let out = &mut self.out[start..start + width];
            let sw = &self.col_scales[col..col + width];
            let bias = &self.bias[col..col + width];
            for (((y, &acc), &sw), &b) in out.iter_mut().zip(acc).zip(sw).zip(bias) {
                *y = acc as f32 * (sa * sw) + b;
            }
            if self.gelu {
                out.iter_mut()
                    .for_each(|y| *y = crate::gelu::gelu_scalar(*y));
            }
        }
    }
}

/// `q(x) · q(W)` dequantized, plus `bias` (zeros when `None`), then GELU when `gelu`:
/// `x: [m, k]` row-major → `[m, n]`, with `body`.
pub fn matmul_with(
    body: Body,
    x: &[f32],
    m: usize,
    w: &Int8Weight,
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
    let (codes, row_scales) = quantize_activations(x, m, w);
    let mut out = vec![0.0f32; m * n];
    if n == 0 || m == 0 {
        return out;
    }
    let task = |(i, out): (usize, &mut [f32])| {
        let row0 = i * ROWS_PER_BLOCK;
        let rows = out.len() / n;
        let block = Block {
            codes: &codes[row0 * w.k_pad..],
            rows,
            weight: w,
        };
        let mut sink = Dequantize {
            out,
            n,
            row_scales: &row_scales[row0..],
            col_scales: &w.scales,
            bias,
            gelu,
        };
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
pub fn matmul(x: &[f32], m: usize, w: &Int8Weight, bias: Option<&[f32]>, gelu: bool) -> Vec<f32> {
    matmul_with(Body::best(), x, m, w, bias, gelu)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random stream (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn code(&mut self) -> i8 {
            self.next() as u8 as i8
        }
        fn f32(&mut self) -> f32 {
            (self.next() % 20001) as f32 / 10000.0 - 1.0
        }
    }

    /// Collects int32 tiles into a `[m, n]` matrix.
    struct Collect<'a> {
        out: &'a mut [i32],
        n: usize,
        row0: usize,
    }
    impl Sink for Collect<'_> {
        fn tile(&mut self, row: usize, rows: usize, col: usize, tile: &Tile) {
            for (r, acc) in tile.iter().enumerate().take(rows) {
                for (c, &v) in acc.iter().enumerate().take(NR.min(self.n - col)) {
                    self.out[(self.row0 + row + r) * self.n + col + c] = v;
                }
            }
        }
    }

    /// The int32 product of activation codes `[m, k]` and weight codes `[k, n]` through `body`.
    fn int32_product(body: Body, a: &[i8], m: usize, codes: &[i8], k: usize, n: usize) -> Vec<i32> {
        let w = Int8Weight::from_codes(codes, vec![1.0; n], k, n);
        let m_pad = m.div_ceil(MR) * MR;
        let mut padded = vec![0i8; m_pad * w.k_pad];
        for r in 0..m {
            padded[r * w.k_pad..r * w.k_pad + k].copy_from_slice(&a[r * k..(r + 1) * k]);
        }
        let mut out = vec![0i32; m * n];
        // Blocks of 16 rows, so that a block's first row is not always row 0.
        for start in (0..m).step_by(16) {
            let rows = 16.min(m - start);
            let block = Block {
                codes: &padded[start * w.k_pad..],
                rows,
                weight: &w,
            };
            let mut sink = Collect {
                out: &mut out,
                n,
                row0: start,
            };
            run_block(body, &block, &mut sink);
        }
        out
    }

    fn reference(a: &[i8], m: usize, codes: &[i8], k: usize, n: usize) -> Vec<i32> {
        let mut out = vec![0i32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|t| a[i * k + t] as i32 * codes[t * n + j] as i32)
                    .sum();
            }
        }
        out
    }

    /// Shapes with odd edges in every dimension.
    const SHAPES: [(usize, usize, usize); 7] = [
        (1, 1, 1),
        (3, 5, 7),
        (8, 4, 32),
        (17, 33, 65),
        (70, 130, 47),
        (9, 384, 96),
        (33, 1023, 33),
    ];

    #[test]
    fn every_body_gives_the_exact_int32_sums() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for body in Body::ALL {
            if let Some(why) = body.unavailable() {
                eprintln!("skipping int8 body {}: {why}", body.name());
                continue;
            }
            for &(m, k, n) in &SHAPES {
                // Activation codes in the quantizer's range; weight codes the same, with the
                // extremes forced in so saturation would show.
                let a: Vec<i8> = (0..m * k)
                    .map(|i| match i % 13 {
                        0 => 127,
                        1 => -127,
                        _ => rng.code().clamp(-127, 127),
                    })
                    .collect();
                let w: Vec<i8> = (0..k * n)
                    .map(|i| match i % 11 {
                        0 => 127,
                        1 => -127,
                        _ => rng.code().clamp(-127, 127),
                    })
                    .collect();
                let got = int32_product(body, &a, m, &w, k, n);
                assert_eq!(
                    got,
                    reference(&a, m, &w, k, n),
                    "{} at {m}×{k}×{n}",
                    body.name()
                );
            }
        }
    }

    #[test]
    fn worst_case_sums_do_not_saturate() {
        // Every product 127 · 127 (or its negative): the AVX2 pairs sit at their largest.
        let (m, k, n) = (8, 256, 32);
        for body in Body::ALL {
            if body.unavailable().is_some() {
                continue;
            }
            for sign in [1i8, -1] {
                let a = vec![127i8 * sign; m * k];
                let w = vec![127i8; k * n];
                let got = int32_product(body, &a, m, &w, k, n);
                assert!(got.iter().all(|&v| v == sign as i32 * 127 * 127 * k as i32));
            }
        }
    }

    /// The dequantized output against the same arithmetic in f64 from the same codes.
    #[test]
    fn dequantized_output_matches_a_float64_reference_of_the_quantized_arithmetic() {
        let mut rng = Rng(7);
        for &(m, k, n) in &[(5usize, 37usize, 70usize), (130, 384, 64), (64, 96, 33)] {
            let x: Vec<f32> = (0..m * k).map(|_| rng.f32() * 3.0).collect();
            let wf: Vec<f32> = (0..k * n).map(|_| rng.f32() * 0.2).collect();
            let bias: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
            let w = Int8Weight::new(&wf, k, n);
            let (wc, ws) = quantize_columns(&wf, k, n);
            let (codes, sa) = quantize_activations(&x, m, &w);
            for gelu in [false, true] {
                for body in Body::ALL {
                    if body.unavailable().is_some() {
                        continue;
                    }
                    let got = matmul_with(body, &x, m, &w, Some(&bias), gelu);
                    for i in 0..m {
                        for j in 0..n {
                            let acc: i64 = (0..k)
                                .map(|t| codes[i * w.k_pad + t] as i64 * wc[t * n + j] as i64)
                                .sum();
                            let mut want =
                                acc as f64 * sa[i] as f64 * ws[j] as f64 + bias[j] as f64;
                            if gelu {
                                want = 0.5 * want * (1.0 + libm::erf(want / 2f64.sqrt()));
                            }
                            let y = got[i * n + j] as f64;
                            assert!(
                                (y - want).abs() <= 1e-5 * (1.0 + want.abs()),
                                "{} {m}×{k}×{n} gelu {gelu} [{i},{j}]: {y} vs {want}",
                                body.name()
                            );
                        }
                    }
                }
            }
        }
    }

    /// Quantization error against the float product stays within its bound:
    /// `|Σ a w − Σ ã w̃| ≤ Σ |a||w − w̃| + |w̃||a − ã| ≤ ½ (sw Σ|a| + sa Σ|w̃|)` per output.
    #[test]
    fn the_quantized_product_stays_within_the_rounding_bound_of_the_float_one() {
        let mut rng = Rng(99);
        let (m, k, n) = (20, 200, 40);
        let x: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
        let wf: Vec<f32> = (0..k * n).map(|_| rng.f32() * 0.1).collect();
        let w = Int8Weight::new(&wf, k, n);
        let got = matmul(&x, m, &w, None, false);
        let (_, ws) = quantize_columns(&wf, k, n);
        let (_, sa) = quantize_activations(&x, m, &w);
        for i in 0..m {
            for j in 0..n {
                let exact: f64 = (0..k)
                    .map(|t| x[i * k + t] as f64 * wf[t * n + j] as f64)
                    .sum();
                let bound: f64 = (0..k)
                    .map(|t| {
                        0.5 * ws[j] as f64 * (x[i * k + t] as f64).abs()
                            + 0.5 * sa[i] as f64 * ((wf[t * n + j] as f64).abs() + ws[j] as f64)
                    })
                    .sum();
                let err = (got[i * n + j] as f64 - exact).abs();
                assert!(err <= bound + 1e-5, "[{i},{j}] error {err} > bound {bound}");
            }
        }
    }
}
