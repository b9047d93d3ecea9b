//! Inference on CPU (burn-flex, f32) of two layout operations ModernBERT runs in every layer,
//! written as plain row passes over contiguous buffers:
//!
//! - [`split_last`]: the column blocks of a fused projection's output (`Wqkv` into queries, keys
//!   and values; GeGLU's `Wi` into input and gate) as contiguous tensors. `narrow` on the last
//!   axis gives strided views, and every later element-wise op on them (and the attention
//!   kernel's read) walks them element by element through burn-flex's strided iterator: 17.6 %
//!   of a ModernBERT-base `bench predict` profile. Here each row's block is one `memcpy`.
//! - [`rotary`]: `x ⊙ cos + rotate_half(x) ⊙ sin` per head (Su et al. 2021, RoPE), which burn's
//!   composition computes with two strided halves, a negation, a concatenation, two products and
//!   a sum. Here one pass: for dimension `j < d/2` of a head, `x₁ = x[j]`, `x₂ = x[j + d/2]`,
//!   `y[j] = x₁·cos[j] − x₂·sin[j]`, `y[j + d/2] = x₂·cos[j + d/2] + x₁·sin[j + d/2]`: the same
//!   products and sums as the composition, so the same values bit for bit.
//!
//! Any other backend (autodiff included: training keeps burn's ops) or dtype takes burn's ops.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::Flex;

use crate::flex_host::values;
use crate::specialize::{cast, same};

/// `x: [..., parts · width]` → `parts` tensors `[..., width]`, the column blocks in order.
pub fn split_last<B: Backend, const D: usize>(x: Tensor<B, D>, parts: usize) -> Vec<Tensor<B, D>> {
    let dims = x.dims();
    let total = dims[D - 1];
    assert!(
        parts > 0 && total.is_multiple_of(parts),
        "{total} columns do not split into {parts} blocks"
    );
    let width = total / parts;
    if x.dtype() != DType::F32 {
        return narrowed(x, parts, width);
    }
    let x = match cast::<Tensor<B, D>, Tensor<Flex, D>>(x) {
        Ok(x) => x,
        Err(x) => return narrowed(x, parts, width),
    };
    crate::specialize::trace::note("split_last");
    let primitive = x.into_primitive().tensor();
    let data = values(&primitive);
    let rows = data.len() / total.max(1);
    let mut blocks: Vec<Vec<f32>> = (0..parts)
        .map(|_| Vec::with_capacity(rows * width))
        .collect();
    for row in data.chunks_exact(total) {
        for (block, part) in blocks.iter_mut().zip(row.chunks_exact(width)) {
            block.extend_from_slice(part);
        }
    }
    let mut shape = dims;
    shape[D - 1] = width;
    blocks
        .into_iter()
        .map(|block| {
            let tensor = burn_flex::FlexTensor::from_data(TensorData::new(block, shape));
            same(Tensor::<Flex, D>::from_primitive(TensorPrimitive::Float(
                tensor,
            )))
        })
        .collect()
}

fn narrowed<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    parts: usize,
    width: usize,
) -> Vec<Tensor<B, D>> {
    (0..parts)
        .map(|i| x.clone().narrow(D - 1, i * width, width))
        .collect()
}

/// Rotary positions applied to `x: [batch, seq, heads · head_dim]` with the tables `cos`, `sin`
/// (`[positions ≥ seq, head_dim]`, row `p` for position `p`); `None` unless `B` is `Flex` and
/// everything is f32 (the caller then runs burn's composition).
pub fn rotary<B: Backend>(
    x: &Tensor<B, 3>,
    cos: &Tensor<B, 2>,
    sin: &Tensor<B, 2>,
    head_dim: usize,
) -> Option<Tensor<B, 3>> {
    if [x.dtype(), cos.dtype(), sin.dtype()]
        .iter()
        .any(|&d| d != DType::F32)
    {
        return None;
    }
    let flex3 = |t: &Tensor<B, 3>| cast::<Tensor<B, 3>, Tensor<Flex, 3>>(t.clone()).ok();
    let flex2 = |t: &Tensor<B, 2>| cast::<Tensor<B, 2>, Tensor<Flex, 2>>(t.clone()).ok();
    let (x, cos, sin) = (flex3(x)?, flex2(cos)?, flex2(sin)?);
    let [batch, seq, hidden] = x.dims();
    let [positions, table_width] = cos.dims();
    assert!(
        positions >= seq && table_width == head_dim && hidden.is_multiple_of(head_dim),
        "rotary tables [{positions}, {table_width}] for [{batch}, {seq}, {hidden}] with heads of {head_dim}"
    );
    crate::specialize::trace::note("rotary");
    // Borrowed where the buffers are contiguous (they are: fresh GEMM outputs and tables).
    let (x, cos, sin) = (
        x.into_primitive().tensor(),
        cos.into_primitive().tensor(),
        sin.into_primitive().tensor(),
    );
    let (x, cos, sin) = (values(&x), values(&cos), values(&sin));
    let half = head_dim / 2;
    let mut out = vec![0f32; x.len()];
    for (token, (row, out_row)) in x
        .chunks_exact(hidden)
        .zip(out.chunks_exact_mut(hidden))
        .enumerate()
    {
        let p = token % seq;
        let (c, s) = (
            &cos[p * head_dim..(p + 1) * head_dim],
            &sin[p * head_dim..(p + 1) * head_dim],
        );
        for (head, y) in row
            .chunks_exact(head_dim)
            .zip(out_row.chunks_exact_mut(head_dim))
        {
            let (x1, x2) = head.split_at(half);
            let (y1, y2) = y.split_at_mut(half);
            for j in 0..half {
                y1[j] = x1[j] * c[j] + -x2[j] * s[j];
                y2[j] = x2[j] * c[half + j] + x1[j] * s[half + j];
            }
        }
    }
    let tensor = burn_flex::FlexTensor::from_data(TensorData::new(out, [batch, seq, hidden]));
    Some(same(Tensor::<Flex, 3>::from_primitive(
        TensorPrimitive::Float(tensor),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn random(shape: [usize; 3], seed: u64) -> Tensor<Flex, 3> {
        let device = Default::default();
        let _rng = crate::backend::seeded_rng_section();
        <Flex as Backend>::seed(&device, seed);
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device)
    }

    #[test]
    fn split_last_equals_narrow() {
        let x = random([2, 5, 12], 3);
        crate::specialize::trace::taken();
        let blocks = split_last(x.clone(), 3);
        assert_eq!(crate::specialize::trace::taken(), ["split_last"]);
        for (i, block) in blocks.into_iter().enumerate() {
            assert_eq!(block.dims(), [2, 5, 4]);
            let want = x.clone().narrow(2, i * 4, 4);
            assert_eq!(
                block.into_data().to_vec::<f32>().unwrap(),
                want.into_data().to_vec::<f32>().unwrap()
            );
        }
    }

    /// The one-pass rotation gives burn's composition's values exactly (same products, same
    /// sums), with the tables longer than the sequence as the model keeps them.
    #[test]
    fn rotary_equals_the_composition_bit_for_bit() {
        let (batch, seq, heads, d) = (2, 5, 3, 8);
        let x = random([batch, seq, heads * d], 5);
        let cos: Tensor<Flex, 2> = random([1, 7, d], 6).reshape([7, d]);
        let sin: Tensor<Flex, 2> = random([1, 7, d], 7).reshape([7, d]);
        let got = rotary(&x, &cos, &sin, d).unwrap();
        let x4 = x.reshape([batch, seq, heads, d]);
        let x1 = x4.clone().narrow(3, 0, d / 2);
        let x2 = x4.clone().narrow(3, d / 2, d / 2);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        let table = |t: &Tensor<Flex, 2>| t.clone().narrow(0, 0, seq).reshape([1, seq, 1, d]);
        let want = (x4 * table(&cos) + rotated * table(&sin)).reshape([batch, seq, heads * d]);
        assert_eq!(
            got.into_data().to_vec::<f32>().unwrap(),
            want.into_data().to_vec::<f32>().unwrap()
        );
    }

    #[test]
    fn other_backends_take_burns_ops() {
        type Ad = burn::backend::Autodiff<Flex>;
        let device = Default::default();
        let x = Tensor::<Ad, 3>::zeros([1, 2, 8], &device);
        let table = Tensor::<Ad, 2>::zeros([2, 4], &device);
        assert!(rotary(&x, &table, &table, 4).is_none());
        crate::specialize::trace::taken();
        assert_eq!(split_last(x, 2).len(), 2);
        assert!(crate::specialize::trace::taken().is_empty());
    }
}
