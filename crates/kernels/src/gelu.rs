//! Exact (erf) GELU, `x · Φ(x) = ½ x (1 + erf(x / √2))`, computed in parallel on CPU tensors.
//!
//! burn-flex 0.21 evaluates GELU and its gradient one element at a time on one thread (scalar
//! `libm::erff` in a plain loop); on the feed-forward activations (`[batch, seq, 1536]` per
//! layer for MiniLM) that is one of the larger serial costs of a step. Here the same
//! formulas run over fixed-size chunks on rayon's pool, with a branch-free rational erf
//! ([`crate::vector_math::erf`]) whose loops vectorise (within 4.2e-7 of the exact erf; flex's values and gradients agree to
//! ~1e-6), for:
//! - `Flex` (inference): the forward;
//! - `Autodiff<Flex>` (training): one recorded operation whose backward is
//!   `∂L/∂x = g · (Φ(x) + x · φ(x))`, `φ(x) = e^{−x²/2} / √(2π)` (Hendrycks & Gimpel, "Gaussian
//!   Error Linear Units", arXiv:1606.08415). The forward computes the output and the derivative
//!   `Φ(x) + x · φ(x)` from one erf per element and saves the derivative as the state (in
//!   the input's buffer when it owns it), so the backward is one multiplication: flex saves the
//!   input and evaluates erf again in the backward. Saving the derivative instead of the
//!   input costs no memory: nothing else keeps the feed-forward layer's pre-activation.
//!
//! Any other backend or dtype keeps burn's `activation::gelu`; [`gelu`] picks by type ([`crate::specialize`]).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::flex_host::{owned_contiguous, update_values, values};
use crate::simd::vectorized;
use crate::specialize::{cast, same};
use crate::vector_math::erf;

/// Elements per parallel chunk (at least).
const CHUNK: usize = 1 << 15;

/// GELU (erf form) of `x`; in parallel for f32 tensors on `Flex` and `Autodiff<Flex>`.
pub fn gelu<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if x.dtype() != DType::F32 {
        return burn::tensor::activation::gelu(x);
    }
    let x = match cast::<Tensor<B, D>, Tensor<Flex, D>>(x) {
        Ok(x) => return same(host_forward(x)),
        Err(x) => x,
    };
    match cast::<Tensor<B, D>, Tensor<Autodiff<Flex>, D>>(x) {
        Ok(x) => same(tracked(x)),
        Err(x) => burn::tensor::activation::gelu(x),
    }
}

/// `erf(x / √2)`, the one transcendental both the value and the derivative need.
#[inline(always)]
fn erf_scaled(x: f32) -> f32 {
    erf(x * std::f32::consts::FRAC_1_SQRT_2)
}

/// `x · Φ(x)` from `e = erf(x / √2)`, in flex's order.
#[inline(always)]
fn gelu_from_erf(x: f32, e: f32) -> f32 {
    0.5 * x * (1.0 + e)
}

/// `Φ(x) + x · φ(x)` from `e = erf(x / √2)`, in flex's order (`Φ = ½(1 + e)`,
/// `φ = e^{−x²/2} / √(2π)`).
#[inline(always)]
fn derivative_from_erf(x: f32, e: f32) -> f32 {
    let inv_sqrt_2pi: f32 = 1.0 / (2.0 * std::f32::consts::PI).sqrt();
    0.5 * (1.0 + e) + x * (inv_sqrt_2pi * crate::vector_math::exp(-0.5 * x * x))
}

/// GELU of one value (the erf form); inlined into the int8 / bf16 GEMM epilogues.
#[inline(always)]
pub(crate) fn gelu_scalar(x: f32) -> f32 {
    gelu_from_erf(x, erf_scaled(x))
}

/// `(gelu(x), gelu'(x))` from one erf.
#[inline(always)]
fn both(x: f32) -> (f32, f32) {
    let e = erf_scaled(x);
    (gelu_from_erf(x, e), derivative_from_erf(x, e))
}

/// The forward of training: the output and the derivative at `x`. The derivative is written
/// over `x` when it owns its contiguous buffer (the usual case: the fresh output of the
/// feed-forward layer), else into a new buffer.
fn gelu_with_derivative(mut x: FlexTensor) -> (FlexTensor, FlexTensor) {
    let shape = x.layout().shape().clone();
    // Whole chunks per task: the inner loops vectorise.
    if let Some(values) = owned_contiguous(&mut x) {
        let mut output = vec![0f32; values.len()];
        output
            .par_chunks_mut(CHUNK)
            .zip(values.par_chunks_mut(CHUNK))
            .for_each(|(output, values)| {
                vectorized(
                    #[inline(always)]
                    || {
                        for (y, value) in output.iter_mut().zip(values) {
                            let (gelu, derivative) = both(*value);
                            *y = gelu;
                            *value = derivative;
                        }
                    },
                )
            });
        return (FlexTensor::from_data(TensorData::new(output, shape)), x);
    }
    let input = values(&x);
    let mut output = vec![0f32; input.len()];
    let mut derivative = vec![0f32; input.len()];
    output
        .par_chunks_mut(CHUNK)
        .zip(derivative.par_chunks_mut(CHUNK))
        .zip(input.par_chunks(CHUNK))
        .for_each(|((output, derivative), input)| {
            vectorized(
                #[inline(always)]
                || {
                    for ((y, d), &x) in output.iter_mut().zip(derivative.iter_mut()).zip(input) {
                        (*y, *d) = both(x);
                    }
                },
            )
        });
    (
        FlexTensor::from_data(TensorData::new(output, shape.clone())),
        FlexTensor::from_data(TensorData::new(derivative, shape)),
    )
}

fn gelu_values(x: &FlexTensor) -> FlexTensor {
    let x_values = values(x);
    let mut out = vec![0f32; x_values.len()];
    out.par_chunks_mut(CHUNK)
        .zip(x_values.par_chunks(CHUNK))
        .for_each(|(out, x)| {
            vectorized(
                #[inline(always)]
                || {
                    for (y, &x) in out.iter_mut().zip(x) {
                        *y = gelu_scalar(x);
                    }
                },
            )
        });
    FlexTensor::from_data(TensorData::new(out, x.layout().shape().clone()))
}

/// `g · derivative`, written over `grad` when it owns its contiguous buffer (the usual case: a
/// fresh gradient), else over a copy.
fn gelu_backward_values(derivative: &FlexTensor, grad: FlexTensor) -> FlexTensor {
    let derivative = values(derivative);
    update_values(grad, |grad| {
        grad.par_iter_mut()
            .with_min_len(CHUNK)
            .zip(derivative.par_iter())
            .for_each(|(g, &d)| *g *= d)
    })
}

/// Inference: in place when the tensor is the only owner of its contiguous buffer (as flex
/// does; the usual case, the feed-forward layer's fresh output), else over a copy.
fn host_forward<const D: usize>(x: Tensor<Flex, D>) -> Tensor<Flex, D> {
    crate::specialize::trace::note("gelu_inference");
    let x = update_values(x.into_primitive().tensor(), |values| {
        // Whole chunks per task: the inner loop vectorises.
        values.par_chunks_mut(CHUNK).for_each(|chunk| {
            vectorized(
                #[inline(always)]
                || {
                    for value in chunk {
                        *value = gelu_scalar(*value);
                    }
                },
            )
        })
    });
    Tensor::from_primitive(TensorPrimitive::Float(x))
}

/// The backward step; state = the derivative at the input, `Φ(x) + x · φ(x)`.
#[derive(Debug)]
struct HostGelu;

impl Backward<Flex, 1> for HostGelu {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let Ops {
            parents,
            node,
            state,
        } = ops;
        unary::<Flex, _>(parents, node, grads, |grad| {
            gelu_backward_values(&state, grad)
        });
    }
}

/// GELU on `Autodiff<Flex, C>` as one recorded operation.
fn tracked<C: CheckpointStrategy, const D: usize>(
    x: Tensor<Autodiff<Flex, C>, D>,
) -> Tensor<Autodiff<Flex, C>, D> {
    let x = x.into_primitive().tensor();
    crate::specialize::trace::note("gelu");
    let output = match HostGelu
        .prepare::<C>([x.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (output, derivative) = gelu_with_derivative(x.primitive);
            prep.finish(derivative, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(gelu_values(&x.primitive)),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuAutodiff};
    use burn::tensor::Distribution;

    /// The largest absolute difference between two tensors' values.
    fn max_diff(a: TensorData, b: TensorData) -> f32 {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// Values within `1e-6 · max(1, |x|)` of each other, element by element: what the rational
    /// erf's 4.2e-7 leaves of GELU (`½ x · Δerf`) and of its derivative.
    fn assert_close(a: TensorData, b: TensorData, what: &str) {
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-6 * y.abs().max(1.0),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// `[3, 70_000]`: several chunks, values well into both tails.
    fn input<B: Backend>() -> Tensor<B, 2> {
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        B::seed(&device, 5);
        Tensor::random([3, 70_000], Distribution::Normal(0.0, 3.0), &device)
    }

    #[test]
    fn inference_values_match_burns() {
        // A uniquely owned tensor is overwritten in place.
        crate::specialize::trace::taken();
        let reference = burn::tensor::activation::gelu(input::<Cpu>()).into_data();
        assert_close(gelu(input::<Cpu>()).into_data(), reference.clone(), "owned");
        assert_eq!(crate::specialize::trace::taken(), ["gelu_inference"]);
        assert!(
            max_diff(gelu(input::<Cpu>()).into_data(), reference) > 0.0,
            "not burn's op"
        );
        // A shared one is not (and keeps its values).
        let x = input::<Cpu>();
        assert_close(
            gelu(x.clone()).into_data(),
            burn::tensor::activation::gelu(x.clone()).into_data(),
            "shared",
        );
        assert_eq!(x.into_data(), input::<Cpu>().into_data());
        // A strided view (transposed) goes through the copy path.
        let x = input::<Cpu>().transpose();
        assert_close(
            gelu(x.clone()).into_data(),
            burn::tensor::activation::gelu(x).into_data(),
            "strided",
        );
    }

    #[test]
    fn training_values_and_gradient_match_burns() {
        let weights = input::<CpuAutodiff>().mul_scalar(0.5).cos();
        let run = |f: &dyn Fn(Tensor<CpuAutodiff, 2>) -> Tensor<CpuAutodiff, 2>| {
            let x = input::<CpuAutodiff>().require_grad();
            let y = f(x.clone());
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.into_data(), x.grad(&grads).expect("tracked").into_data())
        };
        crate::specialize::trace::taken();
        let (y, grad) = run(&|x| gelu(x));
        assert_eq!(crate::specialize::trace::taken(), ["gelu"]);
        let (reference_y, reference_grad) = run(&|x| burn::tensor::activation::gelu(x));
        assert_close(y, reference_y, "output");
        assert_close(grad.clone(), reference_grad, "gradient");
        let grad = grad.to_vec::<f32>().unwrap();
        assert!(grad.iter().any(|g| g.abs() > 0.5));
        // The recorded op on its own: with ∂L/∂y = 1 its gradient is Φ(x) + x·φ(x).
        let x = input::<CpuAutodiff>().require_grad();
        let y = tracked(x.clone());
        let grads = y.sum().backward();
        let grad = x.grad(&grads).expect("HostGelu registered a gradient");
        let expected: Vec<f32> = input::<Cpu>()
            .into_data()
            .to_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(|x| {
                let phi = 0.5 * (1.0 + libm::erff(x / std::f32::consts::SQRT_2));
                phi + x * ((-0.5 * x * x).exp() / (2.0 * std::f32::consts::PI).sqrt())
            })
            .collect();
        let grad = grad.into_data().to_vec::<f32>().unwrap();
        for (g, e) in grad.iter().zip(&expected) {
            assert!((g - e).abs() <= 1e-6, "{g} vs {e}");
        }
    }

    /// The pre-activation is usually a fresh tensor nothing else holds: its buffer then takes
    /// the saved derivative. Gradients match burn's on that path too.
    #[test]
    fn training_on_a_fresh_pre_activation_matches_burns() {
        let weights = input::<CpuAutodiff>().mul_scalar(0.5).cos();
        let run = |f: &dyn Fn(Tensor<CpuAutodiff, 2>) -> Tensor<CpuAutodiff, 2>| {
            let x = input::<CpuAutodiff>().require_grad();
            let y = f(x.clone().mul_scalar(2.0));
            let grads = (y.clone() * weights.clone()).sum().backward();
            (y.into_data(), x.grad(&grads).expect("tracked").into_data())
        };
        let (y, grad) = run(&|x| gelu(x));
        let (reference_y, reference_grad) = run(&|x| burn::tensor::activation::gelu(x));
        assert_close(y, reference_y, "output");
        assert_close(grad, reference_grad, "gradient");
    }

    #[test]
    fn the_derivative_overwrites_only_a_uniquely_owned_input() {
        let x = || input::<Cpu>().into_primitive().tensor();
        assert!(x().is_unique());
        let (owned_y, owned_d) = gelu_with_derivative(x());
        let shared = x();
        let (shared_y, shared_d) = gelu_with_derivative(shared.clone());
        assert_eq!(owned_y.into_data(), shared_y.into_data());
        assert_eq!(owned_d.into_data(), shared_d.into_data());
        // The shared input keeps its values.
        assert_eq!(shared.into_data(), x().into_data());
    }
}
