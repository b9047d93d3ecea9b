//! Attention probabilities with dropout for CPU training: `dropout(softmax(scale · scores))`,
//! padded keys masked, recorded as **one** autodiff operation on `Autodiff<Flex>`.
//!
//! [`crate::attention_softmax`] already records the masked, scaled softmax as one op; the
//! dropout after it was still its own: a host mask the size of `[batch, heads, seq, seq]`
//! allocated and filled, a multiply that saved the mask for its backward, and a backward
//! multiply. Here the mask is never materialised: the forward writes `d = p ⊙ m` straight from
//! the probabilities and the dropout draws ([`crate::dropout`]'s generator, so the masks are
//! the ones `dropout::apply` would draw from the same seed), and the backward is one pass per
//! row. With `g = ∂L/∂d`, `∂L/∂p = g ⊙ m`, and the softmax Jacobian-vector product
//! ([`crate::attention_softmax`]) of that:
//!
//! ```text
//! ∂L/∂s = scale · (p ⊙ (g ⊙ m) − p ⊙ Σ_k (g ⊙ m ⊙ p)_k) = scale · (g ⊙ d − p ⊙ Σ_k (g ⊙ d)_k)
//! ```
//!
//! since `p ⊙ m = d`. The state is `p` and `d`; `d` is the output, which the following matmul
//! saves anyway (a shared buffer), so the mask's memory is saved outright. (Dropout on
//! attention probabilities: Vaswani et al., "Attention Is All You Need", 2017, and BERT.)
//!
//! Any other backend, dtype, or a zero dropout probability takes the composition
//! `dropout::apply(masked_scaled_softmax(..))`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, DType, Tensor, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

#[cfg(test)]
use crate::attention_softmax::composed;
use crate::attention_softmax::masked_scaled_softmax;
use crate::flex_host::{shaped_like, update_values, values};
use crate::specialize::{cast, same};

/// Rows (of the key axis) per parallel task, at least.
const ROWS_PER_TASK: usize = 64;

/// `dropout(softmax(scores · scale))` along the last axis, `true` entries of `mask` (the
/// scores' shape, e.g. a padding mask `expand`ed to it) excluded; one autodiff op on
/// `Autodiff<Flex>` in f32.
pub fn masked_scaled_softmax_dropout<B: Backend>(
    scores: Tensor<B, 4>,
    mask: Tensor<B, 4, Bool>,
    scale: f64,
    dropout: &Dropout,
) -> Tensor<B, 4> {
    let device = scores.device();
    if dropout.prob == 0.0 || !B::ad_enabled(&device) || scores.dtype() != DType::F32 {
        return crate::dropout::apply(dropout, masked_scaled_softmax(scores, mask, scale));
    }
    type Inputs<B> = (Tensor<B, 4>, Tensor<B, 4, Bool>);
    match cast::<Inputs<B>, Inputs<Autodiff<Flex>>>((scores, mask)) {
        Ok((scores, mask)) => same(fused(scores, mask, scale, dropout.prob)),
        Err((scores, mask)) => {
            crate::dropout::apply(dropout, masked_scaled_softmax(scores, mask, scale))
        }
    }
}

/// The backward step; state = (probabilities `p`, output `d = p ⊙ m`).
#[derive(Debug)]
struct SoftmaxDropout {
    scale: f32,
}

impl Backward<Flex, 1> for SoftmaxDropout {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let Ops {
            parents,
            node,
            state: (probs, dropped),
        } = ops;
        unary::<Flex, _>(parents, node, grads, |grad| {
            backward_rows(&probs, &dropped, grad, self.scale)
        });
    }
}

/// `scale · (g ⊙ d − p ⊙ Σ_k (g ⊙ d)_k)` row by row, written over `grad` when it owns its
/// buffer.
fn backward_rows(
    probs: &FlexTensor,
    dropped: &FlexTensor,
    grad: FlexTensor,
    scale: f32,
) -> FlexTensor {
    let keys = *probs.layout().shape().last().expect("a 4-d tensor");
    let (p, d) = (values(probs), values(dropped));
    let row = |g: &mut [f32], p: &[f32], d: &[f32]| {
        let weighted_sum: f32 = g.iter().zip(d).map(|(g, d)| g * d).sum();
        for ((g, &p), &d) in g.iter_mut().zip(p).zip(d) {
            *g = scale * (*g * d - p * weighted_sum);
        }
    };
    let run = |g: &mut [f32]| {
        g.par_chunks_mut(keys)
            .with_min_len(ROWS_PER_TASK)
            .zip(p.par_chunks(keys))
            .zip(d.par_chunks(keys))
            .for_each(|((g, p), d)| row(g, p, d));
    };
    update_values(grad, run)
}

/// `softmax(scale · s)` over each row of the last axis, keys where `mask` (any layout, e.g.
/// the padding mask expanded over heads and queries with zero strides) is `true` excluded: one
/// read of the scores, no materialised mask, the result written over the scores when they own
/// their buffer (the usual case: the fresh `q · kᵀ`). A row whose keys are all masked becomes
/// zeros (the composition would give NaN; BERT always has its `[CLS]` key).
fn masked_softmax_rows(scores: FlexTensor, mask: &FlexTensor, scale: f32) -> FlexTensor {
    let shape = scores.layout().shape().clone();
    let dims: [usize; 4] = std::array::from_fn(|i| shape[i]);
    let keys = dims[3];
    assert_eq!(
        mask.layout().shape(),
        &shape,
        "the attention mask must have the scores' shape (expand it)"
    );
    let bytes = mask.bytes();
    let (offset, strides) = (
        mask.layout().start_offset() as isize,
        mask.layout().strides(),
    );
    // The mask byte of `(row, key)` is at `row_start(row) + key · strides[3]`.
    let row_start = |row: usize| {
        let (b, h, q) = (
            row / (dims[1] * dims[2]),
            row / dims[2] % dims[1],
            row % dims[2],
        );
        offset + b as isize * strides[0] + h as isize * strides[1] + q as isize * strides[2]
    };
    let key_stride = strides[3];
    let softmax_row = |row: usize, values: &mut [f32]| {
        let start = row_start(row);
        let mut max = f32::NEG_INFINITY;
        for (key, value) in values.iter_mut().enumerate() {
            *value = if bytes[(start + key as isize * key_stride) as usize] != 0 {
                f32::NEG_INFINITY
            } else {
                *value * scale
            };
            max = max.max(*value);
        }
        if max == f32::NEG_INFINITY {
            values.fill(0.0);
            return;
        }
        // Plain loops over the row: they vectorise (`vector_math`).
        for value in values.iter_mut() {
            // A select: masked keys get exactly 0 (the fast exp of −∞ is tiny, not 0).
            let e = crate::vector_math::exp(*value - max);
            *value = if *value == f32::NEG_INFINITY { 0.0 } else { e };
        }
        let inverse = 1.0 / crate::vector_math::sum(values);
        values.iter_mut().for_each(|value| *value *= inverse);
    };
    let run = |values: &mut [f32]| {
        values
            .par_chunks_mut(keys)
            .with_min_len(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(row, values)| softmax_row(row, values));
    };
    update_values(scores, run)
}

/// `masked_scaled_softmax_dropout` on `Autodiff<Flex, C>` as one recorded operation. The mask's
/// seed is drawn from the backend's RNG as `dropout::apply` draws it.
pub fn fused<C: CheckpointStrategy>(
    scores: Tensor<Autodiff<Flex, C>, 4>,
    mask: Tensor<Autodiff<Flex, C>, 4, Bool>,
    scale: f64,
    prob: f64,
) -> Tensor<Autodiff<Flex, C>, 4> {
    let seed = crate::dropout::draw_seed::<Autodiff<Flex, C>>(&scores.device());
    crate::specialize::trace::note("softmax_dropout");
    let scores = scores.into_primitive().tensor();
    let mask: FlexTensor = mask.into_primitive();
    let forward = |scores: FlexTensor| {
        let probs = masked_softmax_rows(scores, &mask, scale as f32);
        let dropped = shaped_like(
            crate::dropout::masked_copy(seed, &values(&probs), prob),
            &probs,
        );
        (probs, dropped)
    };
    let op = SoftmaxDropout {
        scale: scale as f32,
    };
    let output = match op
        .prepare::<C>([scores.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (probs, dropped) = forward(scores.primitive);
            prep.finish((probs, dropped.clone()), dropped)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(scores.primitive).1),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::nn::DropoutConfig;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type Ad = CpuAutodiff;

    /// Scores `[2, 3, 5, 70]` (rows longer than a SIMD width), the last 20 keys of the second
    /// sequence masked, and a downstream weighting.
    fn inputs() -> (Tensor<Ad, 4>, Tensor<Ad, 4, Bool>, Tensor<Ad, 4>) {
        let device = Default::default();
        let shape = [2, 3, 5, 70];
        let (scores, weights) = {
            let _rng = crate::backend::seeded_rng_section();
            <Ad as Backend>::seed(&device, 23);
            (
                Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 3.0), &device),
                Tensor::<Ad, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device),
            )
        };
        let mask: Vec<bool> = (0..shape.iter().product::<usize>())
            .map(|i| i / (3 * 5 * 70) == 1 && i % 70 >= 50)
            .collect();
        let mask = Tensor::<Ad, 4, Bool>::from_data(TensorData::new(mask, shape), &device);
        (scores, mask, weights)
    }

    /// Output and `∂(Σ w ⊙ out)/∂scores` with the backend seeded to `seed` just before.
    fn output_and_grad(
        seed: u64,
        f: impl Fn(Tensor<Ad, 4>, Tensor<Ad, 4, Bool>) -> Tensor<Ad, 4>,
    ) -> (TensorData, TensorData) {
        let (scores, mask, weights) = inputs();
        let scores = scores.require_grad();
        let output = {
            let _rng = crate::backend::seeded_rng_section();
            <Ad as Backend>::seed(&Default::default(), seed);
            f(scores.clone(), mask)
        };
        let grads = (output.clone() * weights).sum().backward();
        let grad = scores.grad(&grads).expect("scores are tracked");
        (output.into_data(), grad.into_data())
    }

    #[test]
    fn fused_equals_softmax_then_dropout_in_value_and_gradient() {
        let dropout = DropoutConfig::new(0.3).init();
        let (out, grad) = output_and_grad(5, |s, m| fused(s, m, 0.41, 0.3));
        let (reference_out, reference_grad) = output_and_grad(5, |s, m| {
            crate::dropout::apply(&dropout, composed(s, m, 0.41))
        });
        out.assert_approx_eq::<f32>(&reference_out, Tolerance::absolute(1e-6));
        grad.assert_approx_eq::<f32>(&reference_grad, Tolerance::absolute(1e-6));
        let (out, grad) = (out.to_vec::<f32>().unwrap(), grad.to_vec::<f32>().unwrap());
        let dropped = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
        assert!((0.3..0.5).contains(&dropped), "{dropped}");
        assert!(
            grad.iter().any(|g| g.abs() > 1e-3),
            "a non-trivial gradient"
        );
        // Masked keys: zero output and zero gradient.
        for i in (3 * 5 * 70)..out.len() {
            if i % 70 >= 50 {
                assert_eq!((out[i], grad[i]), (0.0, 0.0));
            }
        }
        // Another seed, another mask.
        assert_ne!(
            output_and_grad(6, |s, m| fused(s, m, 0.41, 0.3))
                .0
                .to_vec::<f32>()
                .unwrap(),
            out
        );
    }

    /// The model's mask: the `[batch, 1, 1, keys]` padding expanded over heads and queries
    /// (zero strides), read in place; a row with every key masked is zeros.
    #[test]
    fn expanded_padding_masks_are_read_through_their_strides() {
        let device = Default::default();
        let (scores, full_mask, _) = inputs();
        let padding: Vec<bool> = (0..2 * 70).map(|i| i >= 70 && i % 70 >= 50).collect();
        let expanded =
            Tensor::<Ad, 4, Bool>::from_data(TensorData::new(padding, [2, 1, 1, 70]), &device)
                .expand([2, 3, 5, 70]);
        let inner = |t: Tensor<Ad, 4>| t.inner().into_primitive().tensor();
        let probs = |mask: Tensor<Ad, 4, Bool>| {
            masked_softmax_rows(inner(scores.clone()), &mask.into_primitive(), 0.41).into_data()
        };
        let reference = composed(scores.clone(), full_mask.clone(), 0.41).into_data();
        probs(expanded).assert_approx_eq::<f32>(&reference, Tolerance::absolute(1e-6));
        probs(full_mask.clone()).assert_approx_eq::<f32>(&reference, Tolerance::absolute(1e-6));
        // In place over a fresh scores buffer: the same.
        let fresh = inner(scores.clone().mul_scalar(1.0));
        assert!(fresh.is_unique());
        masked_softmax_rows(fresh, &full_mask.into_primitive(), 0.41)
            .into_data()
            .assert_approx_eq::<f32>(&reference, Tolerance::absolute(1e-6));
        let everything = Tensor::<Ad, 4, Bool>::from_data(
            TensorData::new(vec![true; 2 * 3 * 5 * 70], [2, 3, 5, 70]),
            &device,
        );
        assert!(probs(everything)
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .all(|&p| p == 0.0));
    }

    #[test]
    fn the_generic_entry_point_fuses_only_on_cpu_autodiff_with_dropout() {
        let dropout = DropoutConfig::new(0.3).init();
        crate::specialize::trace::taken();
        let generic = output_and_grad(9, |s, m| {
            masked_scaled_softmax_dropout(s, m, 0.41, &dropout)
        });
        assert_eq!(crate::specialize::trace::taken(), ["softmax_dropout"]);
        let specific = output_and_grad(9, |s, m| fused(s, m, 0.41, 0.3));
        assert_eq!(generic, specific);
        // No dropout: the plain softmax.
        let none = DropoutConfig::new(0.0).init();
        let (out, _) = output_and_grad(9, |s, m| masked_scaled_softmax_dropout(s, m, 0.41, &none));
        let (plain, _) = output_and_grad(9, |s, m| composed(s, m, 0.41));
        out.assert_approx_eq::<f32>(&plain, Tolerance::absolute(1e-6));
        // Inference backend: dropout is the identity.
        let (scores, mask, _) = inputs();
        let inner = masked_scaled_softmax_dropout(
            scores.clone().inner(),
            Tensor::from_primitive(mask.clone().into_primitive()),
            0.41,
            &dropout,
        );
        inner.into_data().assert_approx_eq::<f32>(
            &composed(scores, mask, 0.41).into_data(),
            Tolerance::absolute(1e-6),
        );
    }
}
