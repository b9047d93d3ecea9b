//! Token-wise `Linear` layers (`y = x · W + b`, `x: [tokens, d_in]`, `W: [d_in, d_out]`) on
//! burn-flex in f32 as **one** GEMM into a buffer that starts as the bias, for inference and
//! as one autodiff operation for training.
//!
//! burn-flex 0.21 allocates every matmul output as a zeroed `Vec<u8>` and, because a byte
//! vector's recorded alignment is 1, copies it straight into a 16-byte-aligned buffer
//! (`Bytes::from_bytes_vec`): a zero fill and a copy of every output on the calling thread
//! before the product starts, and the bias is then added by one more op with one more output,
//! all serial work on every linear layer. Here the
//! output is one `Vec<f32>` filled with the bias rows and the product is accumulated onto it;
//! the backward is (Rumelhart et al., 1986; the usual dense-layer gradients)
//!
//! ```text
//! ∂L/∂x = G · Wᵀ      [tokens, d_out] · [d_out, d_in]    (Wᵀ read through strides, no copy)
//! ∂L/∂W = xᵀ · G      [d_in, tokens] · [tokens, d_out]   (k = tokens: one long product)
//! ∂L/∂b = Σ_rows G    partial sums over fixed row blocks, added in block order
//! ```
//!
//! The bias gradient's blocks are fixed and summed in order, so it does not depend on how
//! rayon scheduled them: seeded runs stay reproducible. Inference of a layer without bias takes
//! the same GEMM onto a zeroed output; training without bias, any other backend or dtype takes
//! `Linear::forward`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;
use std::any::TypeId;

use burn::module::ParamId;

use crate::prepared::Prepared;

use crate::flex_host::values;
use crate::specialize::{cast, same};
use crate::strided_gemm::{gemm_into, Accumulate, Threads, View};

/// Products with at least this many multiply-adds use rayon's pool (burn-flex's threshold).
const POOL_THRESHOLD: usize = 192 * 192 * 192;

/// Rows per block of the bias gradient's partial sums.
const ROWS_PER_BLOCK: usize = 64;

/// `x · W + b` for `x: [tokens, d_in]`, `W: [d_in, d_out]` (burn's `Linear` weight layout):
/// one GEMM on `Flex` and `Autodiff<Flex>` in f32; burn's `module::linear` otherwise.
pub fn linear<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    let Some(bias) = bias else {
        return without_bias(x, weight);
    };
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return burn::tensor::module::linear(x, weight, Some(bias));
    }
    type Inputs<B> = (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>);
    let inputs = (x, weight, bias);
    let inputs = match cast::<Inputs<B>, Inputs<Flex>>(inputs) {
        Ok((x, weight, bias)) => {
            crate::specialize::trace::note("linear_inference");
            let output = forward_host(
                &x.into_primitive().tensor(),
                &weight.into_primitive().tensor(),
                &bias.into_primitive().tensor(),
            );
            return same(Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(
                output,
            )));
        }
        Err(inputs) => inputs,
    };
    match cast::<Inputs<B>, Inputs<Autodiff<Flex>>>(inputs) {
        Ok((x, weight, bias)) => same(fused(x, weight, bias)),
        Err((x, weight, bias)) => burn::tensor::module::linear(x, weight, Some(bias)),
    }
}

/// [`linear`] for the weight of a module's parameter `id`, optionally followed by GELU: on
/// `Flex` in f32, a weight that [`crate::precision::cast_module`] prepared for int8 or bf16
/// ([`crate::prepared`]) runs that kernel, bias and GELU fused into its epilogue; anything else
/// is [`linear`] (then [`crate::gelu`] when `gelu`).
pub fn linear_param<B: Backend>(
    id: &ParamId,
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    gelu: bool,
) -> Tensor<B, 2> {
    let prepared = if TypeId::of::<B>() == TypeId::of::<Flex>() && x.dtype() == DType::F32 {
        crate::prepared::lookup(id)
    } else {
        None
    };
    let Some(prepared) = prepared else {
        let y = linear(x, weight, bias);
        return if gelu { crate::gelu(y) } else { y };
    };
    let x: Tensor<Flex, 2> = same(x);
    let bias: Option<Tensor<Flex, 1>> = bias.map(same);
    let [m, k] = x.dims();
    let x = x.into_primitive().tensor();
    let x = values(&x);
    let bias = bias.map(|b| b.into_primitive().tensor());
    let bias = bias.as_ref().map(values);
    let bias = bias.as_deref();
    let (y, n) = match &*prepared {
        Prepared::Int8(w) => {
            crate::specialize::trace::note("linear_int8");
            assert_eq!(w.k, k, "input features {k} vs weight rows {}", w.k);
            (crate::int8_gemm::matmul(&x, m, w, bias, gelu), w.n)
        }
        Prepared::Bf16(w) => {
            crate::specialize::trace::note("linear_bf16");
            assert_eq!(w.k, k, "input features {k} vs weight rows {}", w.k);
            (crate::bf16_gemm::matmul(&x, m, w, bias, gelu), w.n)
        }
    };
    same(Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(
        FlexTensor::from_data(TensorData::new(y, [m, n])),
    )))
}

/// Which pool a `[m, k] · [k, n]` product uses.
fn threads(m: usize, k: usize, n: usize) -> Threads {
    if m.saturating_mul(k).saturating_mul(n) >= POOL_THRESHOLD {
        Threads::Pool
    } else {
        Threads::Calling
    }
}

fn dims2(tensor: &FlexTensor) -> [usize; 2] {
    let shape = tensor.layout().shape();
    assert_eq!(shape.num_dims(), 2, "a matrix");
    [shape[0], shape[1]]
}

/// `x · W` for a layer without bias (ModernBERT's, by default): the same host GEMM for f32
/// inference on `Flex`; burn's `module::linear` otherwise (training included: the fused
/// autodiff op above carries a bias gradient).
fn without_bias<B: Backend>(x: Tensor<B, 2>, weight: Tensor<B, 2>) -> Tensor<B, 2> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return burn::tensor::module::linear(x, weight, None);
    }
    match cast::<(Tensor<B, 2>, Tensor<B, 2>), (Tensor<Flex, 2>, Tensor<Flex, 2>)>((x, weight)) {
        Ok((x, weight)) => {
            crate::specialize::trace::note("linear_inference");
            let output = forward_host_into(
                &x.into_primitive().tensor(),
                &weight.into_primitive().tensor(),
                None,
            );
            same(Tensor::<Flex, 2>::from_primitive(TensorPrimitive::Float(
                output,
            )))
        }
        Err((x, weight)) => burn::tensor::module::linear(x, weight, None),
    }
}

/// `x · W + b` on flex buffers.
fn forward_host(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    forward_host_into(x, weight, Some(bias))
}

/// `x · W (+ b)` on flex buffers: the output starts as the bias rows (or zeros) and the product
/// is accumulated onto it.
fn forward_host_into(x: &FlexTensor, weight: &FlexTensor, bias: Option<&FlexTensor>) -> FlexTensor {
    let [tokens, d_in] = dims2(x);
    let [w_in, d_out] = dims2(weight);
    assert_eq!(w_in, d_in, "input features {d_in} vs weight rows {w_in}");
    let mut output = match bias {
        Some(bias) => {
            let bias = values(bias);
            assert_eq!(bias.len(), d_out, "bias length");
            let mut output = Vec::with_capacity(tokens * d_out);
            for _ in 0..tokens {
                output.extend_from_slice(&bias);
            }
            output
        }
        None => vec![0.0f32; tokens * d_out],
    };
    gemm_into(
        &mut output,
        View::dense(tokens, d_out),
        &values(x),
        View::dense(tokens, d_in),
        &values(weight),
        View::dense(d_in, d_out),
        1.0,
        Accumulate::Add,
        threads(tokens, d_in, d_out),
    );
    FlexTensor::from_data(TensorData::new(output, [tokens, d_out]))
}

/// `G · Wᵀ`: `[tokens, d_in]`.
fn input_grad(grad: &[f32], weight: &[f32], tokens: usize, d_in: usize, d_out: usize) -> Vec<f32> {
    let mut dx = vec![0.0f32; tokens * d_in];
    gemm_into(
        &mut dx,
        View::dense(tokens, d_in),
        grad,
        View::dense(tokens, d_out),
        weight,
        View::dense(d_in, d_out).transposed(),
        1.0,
        Accumulate::Overwrite,
        threads(tokens, d_out, d_in),
    );
    dx
}

/// `xᵀ · G`: `[d_in, d_out]`.
fn weight_grad(x: &[f32], grad: &[f32], tokens: usize, d_in: usize, d_out: usize) -> Vec<f32> {
    let mut dw = vec![0.0f32; d_in * d_out];
    gemm_into(
        &mut dw,
        View::dense(d_in, d_out),
        x,
        View::dense(tokens, d_in).transposed(),
        grad,
        View::dense(tokens, d_out),
        1.0,
        Accumulate::Overwrite,
        threads(d_in, tokens, d_out),
    );
    dw
}

/// `Σ_rows values` of a row-major `[rows, width]` matrix: partial sums over fixed blocks of
/// rows in parallel, then added in block order (the same result however rayon ran them).
pub(crate) fn column_sums(values: &[f32], width: usize) -> Vec<f32> {
    let mut total = vec![0.0f32; width];
    if width == 0 {
        return total;
    }
    let partials: Vec<Vec<f32>> = values
        .par_chunks(width * ROWS_PER_BLOCK)
        .map(|block| {
            let mut sums = vec![0.0f32; width];
            for row in block.chunks_exact(width) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            sums
        })
        .collect();
    for partial in &partials {
        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
    }
    total
}

/// The backward step; state = (`x`, `W`).
#[derive(Debug)]
struct HostLinear;

impl Backward<Flex, 3> for HostLinear {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight) = ops.state;
        let ([tokens, d_in], [_, d_out]) = (dims2(&x), dims2(&weight));
        let g = values(&grad);
        if let Some(node) = node_x {
            let dx = input_grad(&g, &values(&weight), tokens, d_in, d_out);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dx, [tokens, d_in])),
            );
        }
        if let Some(node) = node_weight {
            let dw = weight_grad(&values(&x), &g, tokens, d_in, d_out);
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dw, [d_in, d_out])),
            );
        }
        if let Some(node) = node_bias {
            let db = column_sums(&g, d_out);
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(db, [d_out])));
        }
    }
}

/// [`linear`] on `Autodiff<Flex, C>` as one recorded operation.
pub fn fused<C: CheckpointStrategy>(
    x: Tensor<Autodiff<Flex, C>, 2>,
    weight: Tensor<Autodiff<Flex, C>, 2>,
    bias: Tensor<Autodiff<Flex, C>, 1>,
) -> Tensor<Autodiff<Flex, C>, 2> {
    crate::specialize::trace::note("linear");
    let x = x.into_primitive().tensor();
    let weight = weight.into_primitive().tensor();
    let bias = bias.into_primitive().tensor();
    let output = forward_host(&x.primitive, &weight.primitive, &bias.primitive);
    let output = match HostLinear
        .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x.primitive, weight.primitive), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::Linear;

    /// The kernel applied to a burn `Linear`'s parameters.
    fn through_kernel<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
        linear(x, layer.weight.val(), layer.bias.as_ref().map(|b| b.val()))
    }
    use crate::backend::CpuAutodiff;
    use burn::module::AutodiffModule;
    use burn::nn::LinearConfig;
    use burn::tensor::{Distribution, Tolerance};

    type Ad = CpuAutodiff;

    /// A `Linear` 48 → 40 with a random bias, an input of 70 tokens (more than one bias-gradient
    /// block), and a downstream weighting.
    fn setup(tokens: usize) -> (Linear<Ad>, Tensor<Ad, 2>, Tensor<Ad, 2>) {
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        <Ad as Backend>::seed(&device, 41);
        let mut layer = LinearConfig::new(48, 40).init::<Ad>(&device);
        layer.bias = layer.bias.map(|b| {
            b.map(|b| {
                Tensor::random(b.dims(), Distribution::Normal(0.0, 1.0), &device).require_grad()
            })
        });
        let x = Tensor::<Ad, 2>::random([tokens, 48], Distribution::Normal(0.0, 2.0), &device);
        let w = Tensor::<Ad, 2>::random([tokens, 40], Distribution::Normal(0.0, 1.0), &device);
        (layer, x, w)
    }

    /// Output and the gradients of `Σ w ⊙ out` for x, W, b, through `f`.
    fn run(
        tokens: usize,
        f: impl Fn(&Linear<Ad>, Tensor<Ad, 2>) -> Tensor<Ad, 2>,
    ) -> [TensorData; 4] {
        let (layer, x, w) = setup(tokens);
        let x = x.require_grad();
        let out = f(&layer, x.clone());
        let grads = (out.clone() * w).sum().backward();
        [
            out.into_data(),
            x.grad(&grads).unwrap().into_data(),
            layer.weight.val().grad(&grads).unwrap().into_data(),
            layer
                .bias
                .as_ref()
                .unwrap()
                .val()
                .grad(&grads)
                .unwrap()
                .into_data(),
        ]
    }

    #[test]
    fn fused_equals_burns_linear_in_value_and_every_gradient() {
        for tokens in [1, 70, 300] {
            crate::specialize::trace::taken();
            let fused = run(tokens, through_kernel);
            assert_eq!(crate::specialize::trace::taken(), ["linear"]);
            let burns = run(tokens, |layer, x| layer.forward(x));
            for (name, (a, b)) in ["output", "x", "weight", "bias"]
                .iter()
                .zip(fused.iter().zip(&burns))
            {
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-4));
                assert!(!a.to_vec::<f32>().unwrap().is_empty(), "{name}");
            }
        }
    }

    /// A layer without bias (ModernBERT's) takes the host GEMM in inference too.
    #[test]
    fn inference_without_bias_takes_the_host_forward_with_the_same_values() {
        let (mut layer, x, _) = setup(70);
        layer.bias = None;
        let expected = layer.forward(x.clone()).into_data();
        let (layer, x) = (layer.valid(), x.inner());
        crate::specialize::trace::taken();
        let got = through_kernel(&layer, x).into_data();
        assert_eq!(crate::specialize::trace::taken(), ["linear_inference"]);
        got.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-4));
    }

    #[test]
    fn inference_takes_the_host_forward_with_the_same_values() {
        let (layer, x, _) = setup(70);
        let expected = layer.forward(x.clone()).into_data();
        let (layer, x) = (layer.valid(), x.inner());
        crate::specialize::trace::taken();
        let got = through_kernel(&layer, x).into_data();
        assert_eq!(crate::specialize::trace::taken(), ["linear_inference"]);
        got.assert_approx_eq::<f32>(&expected, Tolerance::absolute(1e-4));
    }

    #[test]
    fn half_precision_and_layers_without_bias_take_burns_linear() {
        let (layer, x, _) = setup(3);
        crate::specialize::trace::taken();
        let no_bias = Linear {
            bias: None,
            ..layer.clone()
        };
        let _ = through_kernel(&no_bias, x.clone());
        let half = crate::precision::cast_module(layer, crate::precision::Precision::F16);
        let _ = through_kernel(&half, x.cast(burn::tensor::FloatDType::F16));
        assert!(crate::specialize::trace::taken().is_empty());
    }

    #[derive(burn::module::Module, Debug)]
    struct Net<B: Backend> {
        dense: Linear<B>,
        classifier: Linear<B>,
    }

    /// `cast_module` with int8 / bf16 on `Flex` prepares token-wise `Linear` weights (fresh
    /// ids), leaves the classifier f32, and `linear_param` runs the prepared kernels with values
    /// close to f32; the f32 module keeps burn's path.
    #[test]
    fn prepared_linears_run_their_kernels_and_the_head_stays_f32() {
        use crate::precision::{cast_module, Precision};
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        <Flex as Backend>::seed(&device, 3);
        let net = Net::<Flex> {
            dense: LinearConfig::new(64, 48).init(&device),
            classifier: LinearConfig::new(48, 1).init(&device),
        };
        let x = Tensor::<Flex, 2>::random([37, 64], Distribution::Normal(0.0, 1.0), &device);
        let run = |net: &Net<Flex>, gelu: bool| {
            let layer = &net.dense;
            let y = linear_param(
                &layer.weight.id,
                x.clone(),
                layer.weight.val(),
                layer.bias.as_ref().map(|b| b.val()),
                gelu,
            );
            let c = &net.classifier;
            let _ = linear_param(
                &c.weight.id,
                y.clone(),
                c.weight.val(),
                c.bias.as_ref().map(|b| b.val()),
                false,
            );
            y
        };
        crate::specialize::trace::taken();
        let want = run(&net, true).into_data();
        assert!(!crate::specialize::trace::taken().contains(&"linear_int8"));
        for (precision, kernel, tolerance) in [
            (Precision::Int8, "linear_int8", 0.05),
            (Precision::Bf16, "linear_bf16", 0.05),
        ] {
            let prepared = if precision == Precision::Bf16 {
                crate::precision::prepare_linears(net.clone(), precision)
            } else {
                cast_module(net.clone(), precision)
            };
            assert_ne!(prepared.dense.weight.id, net.dense.weight.id);
            assert_eq!(prepared.classifier.weight.id, net.classifier.weight.id);
            let got = run(&prepared, true).into_data();
            assert_eq!(
                crate::specialize::trace::taken()
                    .iter()
                    .filter(|k| **k == kernel)
                    .count(),
                1,
                "{precision}: the dense layer only"
            );
            got.assert_approx_eq::<f32>(&want, Tolerance::absolute(tolerance));
        }
    }

    #[test]
    fn column_sums_are_the_in_order_sum_of_fixed_blocks() {
        let values: Vec<f32> = (0..(1000 * 7))
            .map(|i| ((i * 7919) % 1013) as f32 * 1e-3)
            .collect();
        // The same blocks added one after the other on this thread: bit for bit the same
        // however rayon scheduled the parallel sums.
        let mut expected = vec![0.0f32; 7];
        for block in values.chunks(7 * ROWS_PER_BLOCK) {
            let mut sums = vec![0.0f32; 7];
            for row in block.chunks_exact(7) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            expected.iter_mut().zip(&sums).for_each(|(e, s)| *e += s);
        }
        assert_eq!(column_sums(&values, 7), expected);
        let naive: Vec<f32> = (0..7)
            .map(|j| {
                values
                    .iter()
                    .skip(j)
                    .step_by(7)
                    .map(|&v| v as f64)
                    .sum::<f64>() as f32
            })
            .collect();
        for (a, b) in expected.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-3, "{a} vs {b}");
        }
    }
}
