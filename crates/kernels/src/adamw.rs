//! One parameter's AdamW update (the trainer's optimizer calls it per parameter) as tensor ops
//! on any backend, and on burn-flex as **one** parallel pass that updates the weights and both
//! moments in place.
//!
//! Through tensor ops the update is ~15 element-wise passes over the parameter, its gradient
//! and moments, each a separate burn-flex op allocating its output, mostly on the calling
//! thread, over every parameter every step (the word-embedding gradient is dense, as in
//! PyTorch). The host pass reads `w, g, m, v`
//! once and writes `w, m, v` once, in the same order of f32 operations as the tensor path
//! (tested to agree to rounding).

use crate::flex_host::{owned_contiguous, values};
use crate::simd::vectorized;
use crate::specialize::{cast, same};
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

/// Elements per parallel task.
const CHUNK: usize = 1 << 14;

/// The scalars of one parameter's update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamUpdate {
    /// Factor on the gradient (global-norm clipping; 1 = none).
    pub grad_scale: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    /// `1 − β₂ᵗ`.
    pub bias_correction2: f64,
    /// `1 − lr · λ`, or `None` for parameters without weight decay.
    pub decay: Option<f64>,
    /// `lr / (1 − β₁ᵗ)`.
    pub step_size: f64,
}

/// Weights and the two moments (flattened) after one update.
pub type Updated<B> = (Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>);

/// The update of flattened `weights` with `grad` and the previous moments (`None` on the first
/// step: zeros), on the host when `B` is `Flex` and everything is f32, else by tensor ops.
pub fn update<B: Backend>(
    weights: Tensor<B, 1>,
    grad: Tensor<B, 1>,
    moments: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    u: &ParamUpdate,
) -> Updated<B> {
    let all_f32 = weights.dtype() == DType::F32
        && grad.dtype() == DType::F32
        && moments
            .as_ref()
            .is_none_or(|(m, v)| m.dtype() == DType::F32 && v.dtype() == DType::F32);
    if !all_f32 {
        return with_tensor_ops(weights, grad, moments, u);
    }
    type Inputs<B> = (
        Tensor<B, 1>,
        Tensor<B, 1>,
        Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    );
    match cast::<Inputs<B>, Inputs<Flex>>((weights, grad, moments)) {
        Ok((weights, grad, moments)) => {
            let primitive = |t: Tensor<Flex, 1>| t.into_primitive().tensor();
            let (w, m, v) = on_host(
                primitive(weights),
                &primitive(grad),
                moments.map(|(m, v)| (primitive(m), primitive(v))),
                u,
            );
            let tensor = |t| Tensor::<Flex, 1>::from_primitive(TensorPrimitive::Float(t));
            same((tensor(w), tensor(m), tensor(v)))
        }
        Err((weights, grad, moments)) => with_tensor_ops(weights, grad, moments, u),
    }
}

/// The update as burn tensor ops (any backend, any float type).
pub(crate) fn with_tensor_ops<B: Backend>(
    weights: Tensor<B, 1>,
    grad: Tensor<B, 1>,
    moments: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    u: &ParamUpdate,
) -> Updated<B> {
    let grad = grad.mul_scalar(u.grad_scale);
    let (exp_avg, exp_avg_sq) = match moments {
        Some((m, v)) => (
            m.mul_scalar(u.beta1) + grad.clone().mul_scalar(1.0 - u.beta1),
            v.mul_scalar(u.beta2) + grad.square().mul_scalar(1.0 - u.beta2),
        ),
        None => (
            grad.clone().mul_scalar(1.0 - u.beta1),
            grad.square().mul_scalar(1.0 - u.beta2),
        ),
    };
    let weights = match u.decay {
        Some(factor) => weights.mul_scalar(factor),
        None => weights,
    };
    let denominator = exp_avg_sq
        .clone()
        .div_scalar(u.bias_correction2)
        .sqrt()
        .add_scalar(u.epsilon);
    let step = exp_avg.clone().div(denominator).mul_scalar(u.step_size);
    (weights - step, exp_avg, exp_avg_sq)
}

/// A buffer that may be written: the tensor's own (sole owner, contiguous) or a copy.
fn writable(mut tensor: FlexTensor) -> FlexTensor {
    if owned_contiguous(&mut tensor).is_some() {
        return tensor;
    }
    let copy = values(&tensor).into_owned();
    flat(copy)
}

fn flat(values: Vec<f32>) -> FlexTensor {
    let n = values.len();
    FlexTensor::from_data(TensorData::new(values, [n]))
}

/// The update on flex buffers, one pass, `w`, `m`, `v` in place when they own their buffers.
fn on_host(
    weights: FlexTensor,
    grad: &FlexTensor,
    moments: Option<(FlexTensor, FlexTensor)>,
    u: &ParamUpdate,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let g = values(grad);
    let n = g.len();
    let first_step = moments.is_none();
    let (m, v) = moments.unwrap_or_else(|| (flat(vec![0.0; n]), flat(vec![0.0; n])));
    let (mut w, mut m, mut v) = (writable(weights), writable(m), writable(v));
    let (ws, ms, vs) = (
        owned_contiguous(&mut w).expect("writable"),
        owned_contiguous(&mut m).expect("writable"),
        owned_contiguous(&mut v).expect("writable"),
    );
    assert!(
        ws.len() == n && ms.len() == n && vs.len() == n,
        "weights, gradient and moments have one length"
    );
    // The tensor path's scalars, as flex applies them (f32).
    let f = |x: f64| x as f32;
    let (grad_scale, beta1, beta2) = (f(u.grad_scale), f(u.beta1), f(u.beta2));
    let (one_minus_beta1, one_minus_beta2) = (f(1.0 - u.beta1), f(1.0 - u.beta2));
    let (bias_correction2, epsilon, step_size) =
        (f(u.bias_correction2), f(u.epsilon), f(u.step_size));
    let decay = u.decay.map(f);
    ws.par_chunks_mut(CHUNK)
        .zip(ms.par_chunks_mut(CHUNK))
        .zip(vs.par_chunks_mut(CHUNK))
        .zip(g.par_chunks(CHUNK))
        .for_each(|(((w, m), v), g)| {
            // Zipped slices (no index checks) in a wide body: the loop vectorises.
            vectorized(
                #[inline(always)]
                || {
                    for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g)
                    {
                        let g = g * grad_scale;
                        let (m_new, v_new) = if first_step {
                            (g * one_minus_beta1, g * g * one_minus_beta2)
                        } else {
                            (
                                *m * beta1 + g * one_minus_beta1,
                                *v * beta2 + g * g * one_minus_beta2,
                            )
                        };
                        let weight = match decay {
                            Some(factor) => *w * factor,
                            None => *w,
                        };
                        let denominator = (v_new / bias_correction2).sqrt() + epsilon;
                        *w = weight - m_new / denominator * step_size;
                        *m = m_new;
                        *v = v_new;
                    }
                },
            )
        });
    (w, m, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn random(n: usize, std: f64, seed: u64) -> Tensor<Flex, 1> {
        let _rng = crate::backend::seeded_rng_section();
        let device = Default::default();
        <Flex as Backend>::seed(&device, seed);
        Tensor::random([n], Distribution::Normal(0.0, std), &device)
    }

    fn settings(decay: Option<f64>, grad_scale: f64) -> ParamUpdate {
        ParamUpdate {
            grad_scale,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            bias_correction2: 1.0 - 0.999f64.powi(3),
            decay,
            step_size: 2e-3 / (1.0 - 0.9f64.powi(3)),
        }
    }

    fn assert_close(a: Tensor<Flex, 1>, b: Tensor<Flex, 1>, what: &str) {
        let (a, b) = (
            a.into_data().to_vec::<f32>().unwrap(),
            b.into_data().to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-6 * y.abs().max(1e-3),
                "{what}[{i}]: host {x} vs tensor ops {y}"
            );
        }
    }

    #[test]
    fn the_host_pass_equals_the_tensor_ops() {
        // More elements than one parallel chunk; first steps and later ones; with and without
        // decay and clipping.
        let n = 3 * CHUNK + 17;
        for (decay, grad_scale, first) in [
            (Some(1.0 - 2e-3 * 0.01), 1.0, true),
            (None, 0.37, false),
            (Some(0.99), 0.5, false),
        ] {
            let u = settings(decay, grad_scale);
            let (w, g) = (random(n, 0.5, 1), random(n, 2.0, 2));
            let moments = (!first).then(|| (random(n, 0.1, 3), random(n, 0.1, 4).abs()));
            let host = update(w.clone(), g.clone(), moments.clone(), &u);
            let ops = with_tensor_ops(w, g, moments, &u);
            assert_close(host.0, ops.0, "weights");
            assert_close(host.1, ops.1, "first moment");
            assert_close(host.2, ops.2, "second moment");
        }
    }

    #[test]
    fn shared_buffers_are_copied_not_overwritten() {
        let n = 100;
        let (w, g) = (random(n, 0.5, 5), random(n, 1.0, 6));
        let kept = w.clone();
        let before = kept.clone().into_data();
        let (updated, _, _) = update(w, g, None, &settings(None, 1.0));
        assert_eq!(
            kept.into_data(),
            before,
            "a tensor that shares the weights is untouched"
        );
        assert_ne!(updated.into_data(), before);
    }
}
