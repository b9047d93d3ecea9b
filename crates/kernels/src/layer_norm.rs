//! Layer normalisation for CPU training as **one** autodiff operation on `Autodiff<Flex>`.
//!
//! burn 0.21's `Autodiff` has no layer norm of its own: `LayerNorm::forward` records the
//! composition mean → sub → mul → mean → add → sqrt → div → mul γ → add β, each op with its
//! backward pass over `[batch, seq, hidden]`, and γ's and β's gradients as broadcast
//! reductions. BERT has 2 per layer plus the embeddings'. Here the forward is one pass per row
//! (saving `x̂` and `1/σ` per row) and the backward two (Ba, Kiros & Hinton, "Layer
//! Normalization", arXiv:1607.06450):
//!
//! ```text
//! μ = mean(x), σ = √(mean((x − μ)²) + ε), x̂ = (x − μ) / σ, y = γ ⊙ x̂ + β
//! ∂L/∂x = (1/σ) · (g⊙γ − mean(g⊙γ) − x̂ · mean(g⊙γ⊙x̂))    (means over the row)
//! ∂L/∂γ = Σ_rows g ⊙ x̂,   ∂L/∂β = Σ_rows g
//! ```
//!
//! `x̂` is written over the input's buffer when it owns it (the residual sum nothing else
//! keeps). Any other backend, dtype, or a norm without β takes `LayerNorm::forward`; flex's own
//! fused forward serves inference.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::flex_host::{shaped_like, update_values, values};
use crate::specialize::{cast, same};

/// Rows per parallel task, at least.
const ROWS_PER_TASK: usize = 32;

/// LayerNorm over the last axis, `γ ⊙ (x − μ) / √(σ² + ε) + β` (burn's `LayerNorm::forward`
/// with an explicit ε, which burn keeps private); one autodiff op on `Autodiff<Flex>` in f32.
pub fn layer_norm<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    epsilon: f64,
) -> Tensor<B, D> {
    let Some(beta) = beta else {
        return composed(x, gamma, None, epsilon);
    };
    if x.dtype() != DType::F32 || !B::ad_enabled(&x.device()) {
        return composed(x, gamma, Some(beta), epsilon);
    }
    type Inputs<B, const D: usize> = (Tensor<B, D>, Tensor<B, 1>, Tensor<B, 1>);
    match cast::<Inputs<B, D>, Inputs<Autodiff<Flex>, D>>((x, gamma, beta)) {
        Ok((x, gamma, beta)) => same(fused(x, gamma, beta, epsilon)),
        Err((x, gamma, beta)) => composed(x, gamma, Some(beta), epsilon),
    }
}

/// burn's own LayerNorm op (what `burn::nn::LayerNorm::forward` runs).
fn composed<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    epsilon: f64,
) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(B::layer_norm(
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta.map(|b| b.into_primitive().tensor()),
        epsilon,
    )))
}

/// The backward step; state = (`x̂`, `1/σ` per row, `γ`).
#[derive(Debug)]
struct HostLayerNorm;

impl Backward<Flex, 3> for HostLayerNorm {
    type State = (FlexTensor, Vec<f32>, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (normalized, inverse_std, gamma) = ops.state;
        let gamma = values(&gamma);
        let hidden = gamma.len();
        if node_gamma.is_some() || node_beta.is_some() {
            let (d_gamma, d_beta) = parameter_grads(&values(&normalized), &values(&grad), hidden);
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, vector(d_gamma));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, vector(d_beta));
            }
        }
        if let Some(node) = node_x {
            let d_x = input_grad(&normalized, &inverse_std, &gamma, grad);
            grads.register::<Flex>(node.id, d_x);
        }
    }
}

fn vector(values: Vec<f32>) -> FlexTensor {
    let n = values.len();
    FlexTensor::from_data(TensorData::new(values, [n]))
}

/// `(Σ_rows g ⊙ x̂, Σ_rows g)`: partial sums over fixed blocks of rows in parallel, then added
/// in block order.
fn parameter_grads(normalized: &[f32], grad: &[f32], hidden: usize) -> (Vec<f32>, Vec<f32>) {
    let block = hidden * ROWS_PER_TASK;
    let sums = normalized
        .par_chunks(block)
        .zip(grad.par_chunks(block))
        .map(|(x_hat, g)| {
            let mut sums = vec![0.0f32; 2 * hidden];
            let (d_gamma, d_beta) = sums.split_at_mut(hidden);
            for (x_hat, g) in x_hat.chunks(hidden).zip(g.chunks(hidden)) {
                for j in 0..hidden {
                    d_gamma[j] += g[j] * x_hat[j];
                    d_beta[j] += g[j];
                }
            }
            sums
        })
        .collect::<Vec<_>>();
    // Added in block order, not in rayon's reduction tree (whose shape follows the work
    // stealing): the same sums on every run.
    let mut total = vec![0.0f32; 2 * hidden];
    for block in &sums {
        total.iter_mut().zip(block).for_each(|(t, s)| *t += s);
    }
    let (d_gamma, d_beta) = total.split_at(hidden);
    (d_gamma.to_vec(), d_beta.to_vec())
}

/// `∂L/∂x` row by row, written over `grad` when it owns its buffer.
fn input_grad(
    normalized: &FlexTensor,
    inverse_std: &[f32],
    gamma: &[f32],
    grad: FlexTensor,
) -> FlexTensor {
    let hidden = gamma.len();
    let x_hat = values(normalized);
    let row = |g: &mut [f32], x_hat: &[f32], inverse_std: f32| {
        let (mut mean_g, mut mean_gx) = (0.0f32, 0.0f32);
        for j in 0..hidden {
            let g_gamma = g[j] * gamma[j];
            mean_g += g_gamma;
            mean_gx += g_gamma * x_hat[j];
        }
        let (mean_g, mean_gx) = (mean_g / hidden as f32, mean_gx / hidden as f32);
        for j in 0..hidden {
            g[j] = inverse_std * (g[j] * gamma[j] - mean_g - x_hat[j] * mean_gx);
        }
    };
    let run = |g: &mut [f32]| {
        g.par_chunks_mut(hidden)
            .with_min_len(ROWS_PER_TASK)
            .zip(x_hat.par_chunks(hidden))
            .zip(inverse_std.par_iter())
            .for_each(|((g, x_hat), &inverse_std)| row(g, x_hat, inverse_std));
    };
    update_values(grad, run)
}

/// The forward: `(y, x̂, 1/σ per row)`; `x̂` over `x`'s buffer when `x` owns it.
fn forward_rows(
    x: FlexTensor,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
) -> (FlexTensor, FlexTensor, Vec<f32>) {
    let hidden = gamma.len();
    let rows = x.layout().num_elements() / hidden;
    let mut output = vec![0.0f32; rows * hidden];
    let mut inverse_std = vec![0.0f32; rows];
    let row = |x: &mut [f32], y: &mut [f32], inverse_std: &mut f32| {
        let mean = x.iter().sum::<f32>() / hidden as f32;
        let variance = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / hidden as f32;
        let std = (variance + epsilon).sqrt();
        *inverse_std = 1.0 / std;
        for j in 0..hidden {
            x[j] = (x[j] - mean) / std;
            y[j] = x[j] * gamma[j] + beta[j];
        }
    };
    let run = |x: &mut [f32]| {
        x.par_chunks_mut(hidden)
            .with_min_len(ROWS_PER_TASK)
            .zip(output.par_chunks_mut(hidden))
            .zip(inverse_std.par_iter_mut())
            .for_each(|((x, y), inverse_std)| row(x, y, inverse_std));
    };
    let normalized = update_values(x, run);
    let output = shaped_like(output, &normalized);
    (output, normalized, inverse_std)
}

/// [`layer_norm`] on `Autodiff<Flex, C>` as one recorded operation.
pub fn fused<C: CheckpointStrategy, const D: usize>(
    x: Tensor<Autodiff<Flex, C>, D>,
    gamma: Tensor<Autodiff<Flex, C>, 1>,
    beta: Tensor<Autodiff<Flex, C>, 1>,
    epsilon: f64,
) -> Tensor<Autodiff<Flex, C>, D> {
    let x = x.into_primitive().tensor();
    crate::specialize::trace::note("layer_norm");
    let gamma = gamma.into_primitive().tensor();
    let beta = beta.into_primitive().tensor();
    let forward = |x: FlexTensor| {
        forward_rows(
            x,
            &values(&gamma.primitive),
            &values(&beta.primitive),
            epsilon as f32,
        )
    };
    let output = match HostLayerNorm
        .prepare::<C>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (output, normalized, inverse_std) = forward(x.primitive);
            prep.finish((normalized, inverse_std, gamma.primitive.clone()), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive).0),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LayerNorm;

    /// The kernel applied to a burn `LayerNorm`'s parameters.
    fn through_kernel<B: Backend, const D: usize>(
        norm: &LayerNorm<B>,
        epsilon: f64,
        x: Tensor<B, D>,
    ) -> Tensor<B, D> {
        layer_norm(
            x,
            norm.gamma.val(),
            norm.beta.as_ref().map(|b| b.val()),
            epsilon,
        )
    }
    use crate::backend::CpuAutodiff;
    use burn::module::AutodiffModule;
    use burn::nn::LayerNormConfig;
    use burn::tensor::{Distribution, Tolerance};

    type Ad = CpuAutodiff;

    /// A norm over 96 features with non-trivial γ and β, an input `[3, 70, 96]` with an
    /// offset and scale per row, and a downstream weighting.
    fn setup() -> (LayerNorm<Ad>, Tensor<Ad, 3>, Tensor<Ad, 3>) {
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        <Ad as Backend>::seed(&device, 31);
        let mut norm = LayerNormConfig::new(96)
            .with_epsilon(1e-5)
            .init::<Ad>(&device);
        let around = |mean: f64| {
            let values = Tensor::<Ad, 1>::random([96], Distribution::Normal(mean, 0.5), &device);
            burn::module::Param::from_tensor(values.detach())
        };
        norm.gamma = around(1.0);
        norm.beta = Some(around(0.0));
        let x = Tensor::<Ad, 3>::random([3, 70, 96], Distribution::Normal(0.0, 2.0), &device).add(
            Tensor::random([3, 70, 1], Distribution::Normal(3.0, 1.0), &device),
        );
        let weights = Tensor::<Ad, 3>::random([3, 70, 96], Distribution::Normal(0.0, 1.0), &device);
        (norm, x, weights)
    }

    type Grads = (TensorData, TensorData, TensorData, TensorData);

    /// Output and the gradients of `Σ w ⊙ out` for x, γ, β. `fresh`: x reaches the norm as an
    /// intermediate nothing else holds (the in-place path).
    fn run(fused_path: bool, fresh: bool) -> Grads {
        let (norm, x, weights) = setup();
        let x = x.require_grad();
        let input = if fresh {
            x.clone().mul_scalar(1.0)
        } else {
            x.clone()
        };
        let out = if fused_path {
            through_kernel(&norm, 1e-5, input)
        } else {
            norm.forward(input)
        };
        let grads = (out.clone() * weights).sum().backward();
        let grad = |t: Tensor<Ad, 1>| t.grad(&grads).expect("tracked").into_data();
        (
            out.into_data(),
            x.grad(&grads).expect("tracked").into_data(),
            grad(norm.gamma.val()),
            grad(norm.beta.as_ref().unwrap().val()),
        )
    }

    #[test]
    fn fused_equals_burns_composition_in_value_and_all_three_gradients() {
        crate::specialize::trace::taken();
        let reference = run(false, false);
        assert!(crate::specialize::trace::taken().is_empty());
        for fresh in [false, true] {
            let fused = run(true, fresh);
            assert_eq!(crate::specialize::trace::taken(), ["layer_norm"]);
            fused
                .0
                .assert_approx_eq::<f32>(&reference.0, Tolerance::absolute(1e-5));
            fused
                .1
                .assert_approx_eq::<f32>(&reference.1, Tolerance::absolute(1e-5));
            fused
                .2
                .assert_approx_eq::<f32>(&reference.2, Tolerance::absolute(1e-4));
            fused
                .3
                .assert_approx_eq::<f32>(&reference.3, Tolerance::absolute(1e-4));
        }
        let d_x = reference.1.to_vec::<f32>().unwrap();
        assert!(d_x.iter().any(|g| g.abs() > 1e-2), "a non-trivial gradient");
    }

    #[test]
    fn other_backends_keep_burns_forward() {
        let (norm, x, _) = setup();
        let inner_norm = norm.valid();
        let inner_x = x.clone().inner();
        crate::specialize::trace::taken();
        through_kernel(&inner_norm, 1e-5, inner_x.clone())
            .into_data()
            .assert_approx_eq::<f32>(
                &inner_norm.forward(inner_x).into_data(),
                Tolerance::absolute(1e-6),
            );
        assert!(crate::specialize::trace::taken().is_empty());
    }
}
