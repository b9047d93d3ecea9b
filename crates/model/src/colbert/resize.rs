//! Growing the word embedding for new tokens as transformers' `resize_token_embeddings` does
//! with `mean_resizing=True` (its default, and how PyLate calls it when it adds its prefix
//! tokens): rows past the new size are dropped; added rows are drawn from the multivariate
//! normal `N(μ, 1e-9·Σ)` of the old rows' mean `μ` and (biased, `/n`) covariance `Σ` when
//! `1e-9·Σ` is positive definite, else set to `μ` exactly.
//!
//! transformers draws with torch's global generator (`μ + L·z`, `L` the Cholesky factor of
//! `1e-9·Σ`, `z` standard normal); the same `μ + L·z` is drawn here with `z` from the caller's
//! seeded generator, so the rows follow the same distribution and only the tiny noise (about
//! `3e-5` of the embedding's spread) differs from any one PyLate run; `μ` is the same.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

/// transformers' `epsilon` in `_init_added_embeddings_weights_with_mean`.
const COVARIANCE_SCALE: f64 = 1e-9;

/// The lower Cholesky factor of the symmetric `n × n` matrix `a` (row-major), or `None` when
/// it is not positive definite (as `torch.linalg.cholesky_ex` reports).
fn cholesky(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            let value = a[i * n + j] - dot;
            if i == j {
                if value <= 0.0 || !value.is_finite() {
                    return None;
                }
                l[i * n + i] = value.sqrt();
            } else {
                l[i * n + j] = value / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// `table` (`[rows, width]`) resized to `rows` rows, as `resize_token_embeddings(rows)` does
/// (see the module's doc); the new rows' noise is drawn from `rng`.
pub(crate) fn resize_token_embeddings<B: Backend>(
    table: Tensor<B, 2>,
    rows: usize,
    rng: &mut StdRng,
) -> Tensor<B, 2> {
    let [old, width] = table.dims();
    if rows <= old {
        return if rows == old {
            table
        } else {
            table.slice([0..rows, 0..width])
        };
    }
    let device = table.device();
    // In f32 on the backend, as torch computes them.
    let mean = table.clone().mean_dim(0);
    let centered = table.clone() - mean.clone();
    let covariance = centered.clone().transpose().matmul(centered) / old as f32;
    let to_host = |t: Tensor<B, 2>| -> Vec<f64> {
        t.into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 values")
            .into_iter()
            .map(f64::from)
            .collect()
    };
    let mean = to_host(mean);
    let scaled: Vec<f64> = to_host(covariance)
        .into_iter()
        .map(|c| c * COVARIANCE_SCALE)
        .collect();
    let factor = cholesky(&scaled, width);
    let added = rows - old;
    let mut values = Vec::with_capacity(added * width);
    for _ in 0..added {
        match &factor {
            Some(l) => {
                let z: Vec<f64> = (0..width).map(|_| StandardNormal.sample(rng)).collect();
                for i in 0..width {
                    let noise: f64 = (0..=i).map(|k| l[i * width + k] * z[k]).sum();
                    values.push((mean[i] + noise) as f32);
                }
            }
            None => values.extend(mean.iter().map(|&m| m as f32)),
        }
    }
    let new_rows = Tensor::<B, 2>::from_data(TensorData::new(values, [added, width]), &device)
        .cast(table.dtype());
    Tensor::cat(vec![table, new_rows], 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use rand::SeedableRng;

    fn values(t: Tensor<Cpu, 2>) -> Vec<f32> {
        t.into_data().convert::<f32>().into_vec::<f32>().unwrap()
    }

    #[test]
    fn added_rows_are_the_mean_plus_tiny_noise_and_old_rows_stay() {
        let device = Default::default();
        let mut rng = StdRng::seed_from_u64(1);
        let old: Vec<f32> = (0..40 * 4)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect();
        let table = Tensor::<Cpu, 2>::from_data(TensorData::new(old.clone(), [40, 4]), &device);
        let grown = values(resize_token_embeddings(table.clone(), 42, &mut rng));
        assert_eq!(&grown[..160], &old[..]);
        for c in 0..4 {
            let mean = (0..40).map(|r| old[r * 4 + c] as f64).sum::<f64>() / 40.0;
            for r in 40..42 {
                let d = (grown[r * 4 + c] as f64 - mean).abs();
                // σ ≈ 1, so the noise is about 3e-5.
                assert!(d < 3e-4 && d > 0.0, "row {r} column {c}: {d}");
            }
        }
        // One row: the covariance is zero, not positive definite; the new row is the mean.
        let one = Tensor::<Cpu, 2>::from_data(TensorData::new(old[..4].to_vec(), [1, 4]), &device);
        assert_eq!(
            values(resize_token_embeddings(one, 2, &mut rng))[4..],
            old[..4]
        );
        // Shrinking drops the last rows.
        assert_eq!(
            values(resize_token_embeddings(table, 2, &mut rng)),
            &old[..8]
        );
    }
}
