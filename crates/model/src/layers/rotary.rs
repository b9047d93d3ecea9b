//! Rotary position embeddings (RoPE, Su et al. 2021) as transformers' default `rope_type`
//! computes them: per head of `d` dimensions, `inv_freq[i] = 1 / θ^(2i/d)` for `i < d/2`, the
//! angle of position `p` is `p · inv_freq[i]` (in f32, as PyTorch multiplies), and
//! `x' = x ⊙ cos + rotate_half(x) ⊙ sin` with `cos`/`sin` of the angles repeated twice
//! (`[f₀ … f_{d/2−1}, f₀ … f_{d/2−1}]`) and `rotate_half([x₁, x₂]) = [−x₂, x₁]`.
//!
//! Applied to queries and keys between [`SelfAttention::project`](super::SelfAttention::project)
//! (or [`FusedQkvAttention::project`](super::FusedQkvAttention::project)) and `attend`, in their
//! `[batch, seq, hidden]` layout with the heads side by side.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// Rotary positions of one base θ over heads of `head_dim` dimensions (no parameters).
#[derive(Module, Clone, Debug)]
pub struct Rotary {
    /// The base θ (ModernBERT: `global_rope_theta` or `local_rope_theta`).
    pub theta: f64,
    pub head_dim: usize,
}

impl Rotary {
    pub fn new(theta: f64, head_dim: usize) -> Self {
        assert!(
            head_dim.is_multiple_of(2),
            "rotary positions need an even head size, not {head_dim}"
        );
        Self { theta, head_dim }
    }

    /// `1 / θ^(2i/d)` for `i < d/2`, in f32 as transformers computes it.
    pub fn inverse_frequencies(&self) -> Vec<f32> {
        let d = self.head_dim;
        let base = self.theta as f32;
        (0..d / 2)
            .map(|i| 1.0 / base.powf((2 * i) as f32 / d as f32))
            .collect()
    }

    /// `cos` and `sin` of the angles of positions `0..seq`, each `[seq, head_dim]` (the half
    /// table repeated twice). The angle is the f32 product `p · inv_freq` (PyTorch's), its
    /// cosine and sine taken in f64 and rounded.
    pub fn tables<B: Backend>(
        &self,
        seq: usize,
        device: &B::Device,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let inv = self.inverse_frequencies();
        let d = self.head_dim;
        let mut cos = Vec::with_capacity(seq * d);
        let mut sin = Vec::with_capacity(seq * d);
        for p in 0..seq {
            for _ in 0..2 {
                for &f in &inv {
                    let angle = (p as f32 * f) as f64;
                    cos.push(angle.cos() as f32);
                    sin.push(angle.sin() as f32);
                }
            }
        }
        (
            Tensor::from_data(TensorData::new(cos, [seq, d]), device),
            Tensor::from_data(TensorData::new(sin, [seq, d]), device),
        )
    }

    /// Rotates `x: [batch, seq, heads · head_dim]` (heads side by side) by the positions
    /// `0..seq` of `tables` (from [`Self::tables`] for at least `seq` positions).
    pub fn apply<B: Backend>(
        &self,
        x: Tensor<B, 3>,
        (cos, sin): &(Tensor<B, 2>, Tensor<B, 2>),
    ) -> Tensor<B, 3> {
        if let Some(rotated) = rankforge_kernels::columns::rotary(&x, cos, sin, self.head_dim) {
            return rotated;
        }
        let [batch, seq, hidden] = x.dims();
        let d = self.head_dim;
        let heads = hidden / d;
        let x = x.reshape([batch, seq, heads, d]);
        let half = d / 2;
        let x1 = x.clone().narrow(3, 0, half);
        let x2 = x.clone().narrow(3, half, half);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        let table = |t: &Tensor<B, 2>| t.clone().narrow(0, 0, seq).reshape([1, seq, 1, d]);
        (x * table(cos) + rotated * table(sin)).reshape([batch, seq, hidden])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    /// Against the formula written out per element: head h, dimension j < d/2 pairs with
    /// j + d/2 and both rotate by the angle p · θ^(−2j/d).
    #[test]
    fn rotates_each_pair_of_each_head_by_its_angle() {
        let device = Default::default();
        let (batch, seq, heads, d) = (2, 5, 3, 4);
        let values: Vec<f32> = (0..batch * seq * heads * d)
            .map(|i| ((i * 7919) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let x = Tensor::<Cpu, 3>::from_data(
            TensorData::new(values.clone(), [batch, seq, heads * d]),
            &device,
        );
        let rotary = Rotary::new(100.0, d);
        let tables = rotary.tables::<Cpu>(seq + 3, &device);
        let got: Vec<f32> = rotary.apply(x, &tables).into_data().into_vec().unwrap();
        let at = |b: usize, p: usize, h: usize, j: usize| ((b * seq + p) * heads + h) * d + j;
        for b in 0..batch {
            for p in 0..seq {
                for h in 0..heads {
                    for j in 0..d / 2 {
                        let angle = p as f64 * 100f64.powf(-(2.0 * j as f64) / d as f64);
                        let (s, c) = angle.sin_cos();
                        let (a, z) = (
                            values[at(b, p, h, j)] as f64,
                            values[at(b, p, h, j + d / 2)] as f64,
                        );
                        let want = [a * c - z * s, z * c + a * s];
                        let have = [got[at(b, p, h, j)], got[at(b, p, h, j + d / 2)]];
                        for (w, g) in want.iter().zip(have) {
                            assert!(
                                (w - g as f64).abs() < 1e-5,
                                "b{b} p{p} h{h} j{j}: {w} vs {g}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Position 0 is the identity; a rotation keeps each pair's length.
    #[test]
    fn position_zero_is_unchanged_and_norms_are_kept() {
        let device = Default::default();
        let x = Tensor::<Cpu, 3>::from_data(
            TensorData::new(
                (0..16).map(|i| i as f32 - 7.5).collect::<Vec<_>>(),
                [1, 2, 8],
            ),
            &device,
        );
        let rotary = Rotary::new(10000.0, 8);
        let y = rotary.apply(x.clone(), &rotary.tables::<Cpu>(2, &device));
        let (x, y): (Vec<f32>, Vec<f32>) = (
            x.into_data().into_vec().unwrap(),
            y.into_data().into_vec().unwrap(),
        );
        assert_eq!(&x[..8], &y[..8]);
        for j in 0..4 {
            let norm = |v: &[f32]| (v[8 + j].powi(2) + v[12 + j].powi(2)).sqrt();
            assert!((norm(&x) - norm(&y)).abs() < 1e-5);
        }
    }
}
