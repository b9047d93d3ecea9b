//! Attention probabilities for training: `softmax(scale · scores)` over the keys, with padded
//! keys masked to −∞, recorded as **one** autodiff operation.
//!
//! burn 0.21's `Autodiff` backend has no softmax of its own: `activation::softmax` decomposes
//! into max / sub / exp / sum / div, and each of those (plus the scale and the mask fill) is
//! recorded with its own backward pass over the `[batch, heads, seq, seq]` scores — about 20
//! full passes over the largest tensor of the step, per layer. Here the forward runs on the
//! inner backend without a graph (flex: one SIMD softmax pass per row) and the backward is the
//! softmax Jacobian-vector product in five passes:
//!
//! ```text
//! p = softmax(scale · s, masked → −∞)        ∂L/∂s = scale · (p ⊙ g − p ⊙ Σ_k (g ⊙ p)_k)
//! ```
//!
//! where `g = ∂L/∂p` and the sum runs over the key axis. Masked keys have `p = 0`, so they get
//! no gradient, exactly as through `mask_fill`. (Derivation: `∂p_j/∂z_i = p_j (δ_ij − p_i)`;
//! e.g. Goodfellow, Bengio & Courville, *Deep Learning*, 6.2.2.3.)
//!
//! The fused operation exists for burn's autodiff backends rankforge builds (`Autodiff<Flex>`,
//! and `Autodiff<Cuda>` under the `cuda` feature); the model code stays generic over `Backend`
//! and [`masked_scaled_softmax`] picks the fused path by type ([`crate::specialize`]), falling back to the plain
//! composition anywhere else (inference backends, other autodiff wrappers).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Bool, Tensor, TensorPrimitive};

use crate::specialize::{cast, same};

/// `softmax(scores · scale)` along the last axis, `true` entries of `mask` (same shape as
/// `scores`) excluded (−∞ before the softmax). One autodiff op on rankforge's autodiff backends.
pub fn masked_scaled_softmax<B: Backend>(
    scores: Tensor<B, 4>,
    mask: Tensor<B, 4, Bool>,
    scale: f64,
) -> Tensor<B, 4> {
    match fused_if_supported(scores, mask, scale) {
        Ok(probs) => probs,
        Err((scores, mask)) => composed(scores, mask, scale),
    }
}

/// The plain composition (what burn records op by op); also the reference in the tests.
pub fn composed<B: Backend>(
    scores: Tensor<B, 4>,
    mask: Tensor<B, 4, Bool>,
    scale: f64,
) -> Tensor<B, 4> {
    softmax((scores * scale).mask_fill(mask, f32::NEG_INFINITY), 3)
}

type Inputs<B> = (Tensor<B, 4>, Tensor<B, 4, Bool>);

/// The fused op when `B` is one of the autodiff backends rankforge builds, else the inputs back.
fn fused_if_supported<B: Backend>(
    scores: Tensor<B, 4>,
    mask: Tensor<B, 4, Bool>,
    scale: f64,
) -> Result<Tensor<B, 4>, Inputs<B>> {
    let inputs = match cast::<Inputs<B>, Inputs<Autodiff<crate::backend::Cpu>>>((scores, mask)) {
        Ok((scores, mask)) => return Ok(same(fused(scores, mask, scale))),
        Err(inputs) => inputs,
    };
    #[cfg(feature = "cuda")]
    let inputs = match cast::<Inputs<B>, Inputs<Autodiff<crate::backend::Cuda>>>(inputs) {
        Ok((scores, mask)) => return Ok(same(fused(scores, mask, scale))),
        Err(inputs) => inputs,
    };
    Err(inputs)
}

/// The backward step: the softmax Jacobian-vector product, state = the probabilities.
#[derive(Debug)]
struct MaskedScaledSoftmax {
    scale: f64,
}

impl<B: Backend> Backward<B, 1> for MaskedScaledSoftmax {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let Ops {
            parents,
            node,
            state,
        } = ops;
        unary::<B, _>(parents, node, grads, |grad| {
            let probs = float::<B>(state);
            let weighted = float::<B>(grad) * probs.clone();
            let row_sums = weighted.clone().sum_dim(3);
            ((weighted - probs * row_sums) * self.scale)
                .into_primitive()
                .tensor()
        });
    }
}

/// `masked_scaled_softmax` on `Autodiff<B, C>` as one recorded operation.
pub fn fused<B: Backend, C: CheckpointStrategy>(
    scores: Tensor<Autodiff<B, C>, 4>,
    mask: Tensor<Autodiff<B, C>, 4, Bool>,
    scale: f64,
) -> Tensor<Autodiff<B, C>, 4> {
    let scores = scores.into_primitive().tensor();
    let mask = Tensor::<B, 4, Bool>::from_primitive(mask.into_primitive());
    let forward = |scores: FloatTensor<B>| {
        let probs = composed(float::<B>(scores), mask, scale);
        probs.into_primitive().tensor()
    };
    let op = MaskedScaledSoftmax { scale };
    let output = match op
        .prepare::<C>([scores.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let probs = forward(scores.primitive.clone());
            prep.finish(probs.clone(), probs)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(scores.primitive)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

fn float<B: Backend>(primitive: FloatTensor<B>) -> Tensor<B, 4> {
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type Ad = CpuAutodiff;

    /// Scores `[2, 3, 5, 7]` with the last two keys of the second sequence masked.
    fn inputs() -> (Tensor<Ad, 4>, Tensor<Ad, 4, Bool>, Tensor<Ad, 4>) {
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        <Ad as Backend>::seed(&device, 11);
        let shape = [2, 3, 5, 7];
        let scores = Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 3.0), &device);
        let mut mask = vec![false; 2 * 3 * 5 * 7];
        for (i, masked) in mask.iter_mut().enumerate() {
            let key = i % 7;
            let batch = i / (3 * 5 * 7);
            *masked = batch == 1 && key >= 5;
        }
        let mask = Tensor::<Ad, 4, Bool>::from_data(TensorData::new(mask, shape), &device);
        // A downstream weighting so the incoming gradient is not uniform (a uniform one has
        // a zero Jacobian-vector product).
        let weights = Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        (scores, mask, weights)
    }

    /// Probabilities and `∂(Σ w ⊙ p)/∂scores` through `softmax_fn`.
    fn probs_and_grad(
        softmax_fn: impl Fn(Tensor<Ad, 4>, Tensor<Ad, 4, Bool>, f64) -> Tensor<Ad, 4>,
    ) -> (TensorData, TensorData) {
        let (scores, mask, weights) = inputs();
        let scores = scores.require_grad();
        let probs = softmax_fn(scores.clone(), mask, 0.37);
        let grads = (probs.clone() * weights).sum().backward();
        let grad = scores.grad(&grads).expect("scores are tracked");
        (probs.into_data(), grad.into_data())
    }

    #[test]
    fn fused_forward_and_gradient_match_burns_composition() {
        let (probs, grad) = probs_and_grad(fused);
        let (reference_probs, reference_grad) = probs_and_grad(composed);
        probs.assert_approx_eq::<f32>(&reference_probs, Tolerance::absolute(1e-6));
        grad.assert_approx_eq::<f32>(&reference_grad, Tolerance::absolute(1e-6));
        let grad = grad.to_vec::<f32>().unwrap();
        assert!(
            grad.iter().any(|g| g.abs() > 1e-3),
            "a non-trivial gradient"
        );
        // Masked keys: zero probability and zero gradient.
        let probs = probs.to_vec::<f32>().unwrap();
        for i in (3 * 5 * 7)..probs.len() {
            if i % 7 >= 5 {
                assert_eq!(probs[i], 0.0);
                assert_eq!(grad[i], 0.0);
            }
        }
    }

    #[test]
    fn the_generic_entry_point_takes_the_fused_path_on_cpu_autodiff_only() {
        let (scores, mask, _) = inputs();
        assert!(fused_if_supported(scores.clone(), mask.clone(), 0.5).is_ok());
        let plain = || scores.clone().inner();
        let plain_mask = Tensor::<crate::backend::Cpu, 4, Bool>::from_data(
            mask.clone().into_data(),
            &Default::default(),
        );
        assert!(fused_if_supported(plain(), plain_mask.clone(), 0.5).is_err());
        // And the fallback computes the same probabilities.
        masked_scaled_softmax(plain(), plain_mask, 0.5)
            .into_data()
            .assert_approx_eq::<f32>(
                &masked_scaled_softmax(scores, mask, 0.5).into_data(),
                Tolerance::absolute(1e-6),
            );
    }

    #[test]
    fn untracked_inputs_give_the_same_probabilities() {
        let (scores, mask, _) = inputs();
        fused(scores.clone(), mask.clone(), 0.37)
            .into_data()
            .assert_approx_eq::<f32>(
                &composed(scores, mask, 0.37).into_data(),
                Tolerance::absolute(1e-6),
            );
    }
}
