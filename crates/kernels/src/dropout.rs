//! Dropout as BERT trains with it (`x · mask / (1 − p)`, mask ~ Bernoulli(1 − p)), with the
//! masks drawn on the host by a counter-based generator when the backend computes on the CPU.
//!
//! burn's [`Dropout`] samples every mask element through the backend's ChaCha-based
//! `Distribution::Bernoulli`; for attention-probability dropout (`[batch, heads, seq, seq]`,
//! 25M elements per layer at batch 32 × length 256) that per-element sampling dominates the
//! cost of dropout. Here one seed is drawn from the backend's RNG per call, so runs stay reproducible
//! under `B::seed`, and the mask is expanded from it with SplitMix64 over fixed-size chunks in
//! parallel (the same mask for any thread count). Backends with their own device memory (GPU)
//! keep burn's on-device sampling: a host mask would have to be copied over.

use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, FloatDType, Tensor, TensorData};
use rayon::prelude::*;

use crate::seed::splitmix64;

/// Elements per independently seeded chunk of a mask.
const CHUNK: usize = 1 << 14;

/// `dropout.forward(input)`, with host-drawn masks on CPU backends.
pub fn apply<B: Backend, const D: usize>(dropout: &Dropout, input: Tensor<B, D>) -> Tensor<B, D> {
    let device = input.device();
    if !B::ad_enabled(&device) || dropout.prob == 0.0 {
        return input;
    }
    if !masks_on_host::<B>(&device) {
        return dropout.forward(input);
    }
    let seed = draw_seed::<B>(&device);
    let shape = input.shape();
    let mask = scaled_mask(seed, shape.num_elements(), dropout.prob);
    let mask = Tensor::<B, D>::from_data(TensorData::new(mask, shape), &device);
    let dtype = input.dtype();
    if mask.dtype() == dtype {
        input * mask
    } else {
        input * mask.cast(FloatDType::from(dtype))
    }
}

/// Whether the backend computes in host memory (burn's CPU backends).
fn masks_on_host<B: Backend>(device: &B::Device) -> bool {
    let name = B::name(device);
    name.contains("flex") || name.contains("ndarray")
}

/// 48 random bits from the backend's seeded RNG.
pub(crate) fn draw_seed<B: Backend>(device: &B::Device) -> u64 {
    let draws = Tensor::<B, 1>::random([2], Distribution::Uniform(0.0, 1.0), device)
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("two f32 draws");
    let bits = |x: f32| (f64::from(x) * f64::from(1u32 << 24)) as u64 & 0xFF_FFFF;
    bits(draws[0]) << 24 | bits(draws[1])
}

/// `n` values, each `1 / (1 − p)` with probability `1 − p` and `0` otherwise.
pub fn scaled_mask(seed: u64, n: usize, p: f64) -> Vec<f32> {
    let keep = (1.0 / (1.0 - p)) as f32;
    let threshold = drop_threshold(p);
    let mut mask = vec![0.0f32; n];
    mask.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, values)| {
            for_each_draw(seed, chunk, values.len(), threshold, |i, kept| {
                values[i] = if kept { keep } else { 0.0 };
            });
        });
    mask
}

/// `input ⊙ scaled_mask(seed, input.len(), p)` without the mask's buffer: the same draws,
/// the same products.
pub(crate) fn masked_copy(seed: u64, input: &[f32], p: f64) -> Vec<f32> {
    let keep = (1.0 / (1.0 - p)) as f32;
    let threshold = drop_threshold(p);
    let mut output = vec![0.0f32; input.len()];
    output
        .par_chunks_mut(CHUNK)
        .zip(input.par_chunks(CHUNK))
        .enumerate()
        .for_each(|(chunk, (output, input))| {
            for_each_draw(seed, chunk, output.len(), threshold, |i, kept| {
                output[i] = input[i] * if kept { keep } else { 0.0 };
            });
        });
    output
}

/// An element is dropped when its 32 random bits fall below `p · 2³²`.
fn drop_threshold(p: f64) -> u32 {
    (p * 4_294_967_296.0).round().min(u32::MAX as f64) as u32
}

/// Visits the `len` elements of mask chunk `chunk` in order with whether each is kept: chunk
/// `c`'s counter starts at `splitmix64(seed ^ splitmix64(c))`, each step gives two elements
/// their 32 bits.
fn for_each_draw(
    seed: u64,
    chunk: usize,
    len: usize,
    threshold: u32,
    mut visit: impl FnMut(usize, bool),
) {
    let mut counter = splitmix64(seed ^ splitmix64(chunk as u64));
    for first in (0..len).step_by(2) {
        counter = counter.wrapping_add(1);
        let bits = splitmix64(counter);
        visit(first, bits as u32 >= threshold);
        if first + 1 < len {
            visit(first + 1, (bits >> 32) as u32 >= threshold);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuAutodiff};

    #[test]
    fn masks_keep_one_minus_p_scaled_by_its_inverse() {
        let p = 0.1;
        let mask = scaled_mask(7, 1_000_003, p);
        let kept = mask.iter().filter(|&&v| v != 0.0).count() as f64 / mask.len() as f64;
        assert!((kept - 0.9).abs() < 2e-3, "{kept}");
        assert!(mask
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.9).abs() < 1e-6));
        let mean = mask.iter().map(|&v| f64::from(v)).sum::<f64>() / mask.len() as f64;
        assert!((mean - 1.0).abs() < 3e-3, "{mean}");
        assert_eq!(mask, scaled_mask(7, 1_000_003, p));
        assert_ne!(mask, scaled_mask(8, 1_000_003, p));
        // Chunks are seeded apart: the second chunk is not a copy of the first.
        assert_ne!(mask[..CHUNK], mask[CHUNK..2 * CHUNK]);
        // The fused product draws the same mask.
        let input: Vec<f32> = (0..mask.len()).map(|i| (i % 97) as f32 - 40.5).collect();
        let product: Vec<f32> = input.iter().zip(&mask).map(|(x, m)| x * m).collect();
        assert_eq!(masked_copy(7, &input, p), product);
    }

    #[test]
    fn training_masks_follow_the_backend_seed_and_inference_is_the_identity() {
        let dropout = burn::nn::DropoutConfig::new(0.25).init();
        let device = Default::default();
        let x = || Tensor::<CpuAutodiff, 2>::ones([64, 64], &device);
        let run = |seed| {
            let _rng = crate::backend::seeded_rng_section();
            <CpuAutodiff as Backend>::seed(&device, seed);
            apply(&dropout, x()).into_data().to_vec::<f32>().unwrap()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
        let zeros = a.iter().filter(|&&v| v == 0.0).count() as f64 / a.len() as f64;
        assert!((zeros - 0.25).abs() < 0.03, "{zeros}");
        let plain = Tensor::<Cpu, 2>::ones([4, 4], &device);
        assert_eq!(
            apply(&dropout, plain.clone()).into_data(),
            plain.into_data()
        );
    }
}
