//! Run-time choice of instruction set for rankforge's element-wise CPU loops.
//!
//! The release binary targets baseline x86-64 (SSE2: four f32 lanes), so the loops of
//! [`crate::vector_math`], the softmax, GELU and AdamW vectorise to 128-bit registers only.
//! [`vectorized`] runs a loop body compiled a second time with AVX2 + FMA enabled (x86-64-v3,
//! eight lanes) when the CPU has them, and as compiled otherwise; the choice is made on each
//! call by pulp (a cached CPUID check), the crate the `gemm` crate uses for the same choice in
//! burn-flex's matrix products.
//!
//! Results do not depend on the choice: Rust never contracts `a * b + c` into a fused
//! multiply-add on its own, and every reduction here fixes its order in code
//! ([`crate::vector_math::sum`]), so the wide and the narrow body compute the same IEEE
//! operations in the same order and agree bit for bit (tested below).
//!
//! For the wide body to exist, everything the closure calls must be inlined into it: mark the
//! closure and the functions it calls `#[inline(always)]`.

/// Runs `body` compiled with AVX2 + FMA enabled when this x86-64 CPU has them (pulp's
/// x86-64-v3 level: [`pulp::x86::V3`]) and [`wide_enabled`], as compiled otherwise (and on
/// other architectures, whose baseline — NEON on aarch64 — already has the vector unit).
/// Mark `body` `#[inline(always)]`.
#[inline(always)]
pub fn vectorized<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if wide_enabled() {
        if let Some(v3) = pulp::x86::V3::try_new() {
            return v3.vectorize(body);
        }
    }
    body()
}

/// False when the environment variable `RANKFORGE_SIMD` is `baseline` (read once per
/// process): then [`vectorized`] always runs the baseline body. For A/B measurements and for
/// ruling the wide bodies out when chasing a problem; results are the same either way.
pub fn wide_enabled() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| std::env::var("RANKFORGE_SIMD").map_or(true, |v| v != "baseline"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector_math;

    /// One pass of each element-wise kernel shape (exp, erf, max and sum reductions) over
    /// `values`.
    #[inline(always)]
    fn kernels(values: &[f32]) -> (Vec<f32>, Vec<f32>, f32, f32) {
        let exps: Vec<f32> = values.iter().map(|&x| vector_math::exp(x)).collect();
        let erfs: Vec<f32> = values.iter().map(|&x| vector_math::erf(x)).collect();
        (
            exps,
            erfs,
            vector_math::max(values),
            vector_math::sum(values),
        )
    }

    #[test]
    fn wide_and_baseline_bodies_agree_bit_for_bit() {
        let values: Vec<f32> = (0..1003)
            .map(|i| ((i * 7919 % 2003) as f32 - 1001.0) * 0.0173)
            .collect();
        let wide = vectorized(
            #[inline(always)]
            || kernels(&values),
        );
        let baseline = kernels(&values);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wide.0), bits(&baseline.0), "exp");
        assert_eq!(bits(&wide.1), bits(&baseline.1), "erf");
        assert_eq!(wide.2.to_bits(), baseline.2.to_bits(), "max");
        assert_eq!(wide.3.to_bits(), baseline.3.to_bits(), "sum");
    }
}
