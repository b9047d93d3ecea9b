//! Multi-head attention with an additive bias and no `1/√d` scaling of `q·kᵀ` (T5's
//! `T5Attention`), and the bucketed relative position bias that T5's first block owns and the
//! later ones share (`relative_attention_bias`).
//!
//! Queries come from one sequence; keys and values from the same one (self-attention) or from
//! another (cross-attention: the decoder over the encoder's output). The bias holds both the
//! positions and the masks (padding keys, future keys of a causal decoder), so each stack builds
//! it once per batch ([`attention_bias`]) and every block adds it.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

use super::{Dropout, Linear};

/// Added to the scores of keys a query must not see: large enough that their weight is zero in
/// f32 (as transformers' `finfo.min`), finite so that nothing turns into NaN.
const MASKED: f32 = -1.0e30;

/// The bucket of relative position `relative` (key position − query position), as
/// transformers' `T5Attention._relative_position_bucket` computes it (Mesh TensorFlow's): half
/// the buckets for each direction when `bidirectional` (else only keys at or before the query,
/// later ones in bucket 0), exact buckets for distances under half of them, logarithmic ones up
/// to `max_distance`, one bucket beyond. The logarithm is in f32, as transformers takes it.
pub fn relative_position_bucket(
    relative: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let mut buckets = num_buckets as i64;
    let mut bucket = 0i64;
    let distance = if bidirectional {
        buckets /= 2;
        if relative > 0 {
            bucket += buckets;
        }
        relative.abs()
    } else {
        (-relative).max(0)
    };
    let max_exact = buckets / 2;
    if distance < max_exact {
        bucket += distance;
    } else {
        let log_ratio = (distance as f32 / max_exact as f32).ln();
        let log_range = (max_distance as f64 / max_exact as f64).ln() as f32;
        let large = max_exact + (log_ratio / log_range * (buckets - max_exact) as f32) as i64;
        bucket += large.min(buckets - 1);
    }
    bucket as usize
}

/// The learned bias of each bucket and head (`relative_attention_bias.weight`,
/// `[num_buckets, heads]`, an `nn.Embedding` in transformers).
#[derive(Module, Debug)]
pub struct RelativePositionBias<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
    #[module(skip)]
    bidirectional: bool,
    max_distance: usize,
}

impl<B: Backend> RelativePositionBias<B> {
    /// Zero biases (weights are normally loaded over them).
    pub fn new(
        num_buckets: usize,
        heads: usize,
        max_distance: usize,
        bidirectional: bool,
        device: &B::Device,
    ) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::zeros([num_buckets, heads], device)),
            bidirectional,
            max_distance,
        }
    }

    /// `[1, heads, queries, keys]`: the bias of query `i` for key `j` (bucket of `j − i`).
    pub fn forward(&self, queries: usize, keys: usize) -> Tensor<B, 4> {
        let [num_buckets, heads] = self.weight.dims();
        let device = self.weight.device();
        // One bucket per distance, from −(queries − 1) to keys − 1.
        let offset = queries as i64 - 1;
        let by_distance: Vec<i64> = (-offset..keys as i64)
            .map(|r| {
                relative_position_bucket(r, self.bidirectional, num_buckets, self.max_distance)
                    as i64
            })
            .collect();
        let ids: Vec<i64> = (0..queries as i64)
            .flat_map(|i| (0..keys as i64).map(move |j| (j - i + offset) as usize))
            .map(|d| by_distance[d])
            .collect();
        let ids = Tensor::<B, 1, Int>::from_data(TensorData::new(ids, [queries * keys]), &device);
        self.weight
            .val()
            .select(0, ids)
            .reshape([queries, keys, heads])
            .permute([2, 0, 1])
            .unsqueeze::<4>()
    }
}

/// The additive bias of one batch's attention, `[batch, heads or 1, queries, keys]`: `position`
/// (`[1, heads, queries, keys]`, or none: cross-attention) with [`MASKED`] at padding keys
/// (`key_padding`, `[batch, keys]`, `true` at padding) and, when `causal`, at keys after the
/// query.
pub fn attention_bias<B: Backend>(
    position: Option<Tensor<B, 4>>,
    key_padding: &Tensor<B, 2, Bool>,
    queries: usize,
    causal: bool,
) -> Tensor<B, 4> {
    let [batch, keys] = key_padding.dims();
    let device = key_padding.device();
    let heads = position.as_ref().map_or(1, |p| p.dims()[1]);
    let mut masked = key_padding
        .clone()
        .reshape([batch, 1, 1, keys])
        .expand([batch, heads, queries, keys]);
    if causal {
        let future: Vec<bool> = (0..queries)
            .flat_map(|i| (0..keys).map(move |j| j > i))
            .collect();
        let future =
            Tensor::<B, 2, Bool>::from_data(TensorData::new(future, [queries, keys]), &device)
                .reshape([1, 1, queries, keys])
                .expand([batch, heads, queries, keys]);
        masked = masked.bool_or(future);
    }
    let base = match position {
        Some(position) => position.expand([batch, heads, queries, keys]),
        None => Tensor::zeros([batch, heads, queries, keys], &device),
    };
    base.mask_fill(masked, MASKED)
}

/// `o(softmax(q·kᵀ + bias)·v)` per head, no scaling, projections without biases (transformers'
/// `T5Attention`, fields `q`, `k`, `v`, `o`, and `relative_attention_bias` in the block that
/// owns it). Heads are `d_kv` wide; `heads × d_kv` need not be the model width.
#[derive(Module, Debug)]
pub struct BiasedAttention<B: Backend> {
    pub q: Linear<B>,
    pub k: Linear<B>,
    pub v: Linear<B>,
    pub o: Linear<B>,
    pub relative_attention_bias: Option<RelativePositionBias<B>>,
    /// On the attention probabilities.
    pub dropout: Dropout,
    num_heads: usize,
}

impl<B: Backend> BiasedAttention<B> {
    pub fn new(
        d_model: usize,
        num_heads: usize,
        d_kv: usize,
        relative_attention_bias: Option<RelativePositionBias<B>>,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        let inner = num_heads * d_kv;
        Self {
            q: Linear::new_with_bias(d_model, inner, false, device),
            k: Linear::new_with_bias(d_model, inner, false, device),
            v: Linear::new_with_bias(d_model, inner, false, device),
            o: Linear::new_with_bias(inner, d_model, false, device),
            relative_attention_bias,
            dropout: Dropout::new(dropout),
            num_heads,
        }
    }

    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// `x: [batch, queries, d_model]` attending over `context` (`[batch, keys, d_model]`; `x`
    /// itself when `None`) with `bias` (broadcast to `[batch, heads, queries, keys]`).
    pub fn forward(
        &self,
        x: Tensor<B, 3>,
        context: Option<Tensor<B, 3>>,
        bias: &Tensor<B, 4>,
    ) -> Tensor<B, 3> {
        let [batch, queries, _] = x.dims();
        let context = context.unwrap_or_else(|| x.clone());
        let keys = context.dims()[1];
        let heads = self.num_heads;
        let split = |t: Tensor<B, 3>, len: usize| {
            let inner = t.dims()[2];
            t.reshape([batch, len, heads, inner / heads])
                .swap_dims(1, 2)
        };
        let q = split(self.q.forward(x), queries);
        let k = split(self.k.forward(context.clone()), keys);
        let v = split(self.v.forward(context), keys);
        let bias = bias.clone().expand([batch, heads, queries, keys]);
        let scores = q.matmul(k.swap_dims(2, 3)) + bias;
        let probabilities = self.dropout.forward(softmax(scores, 3));
        let context = probabilities.matmul(v).swap_dims(1, 2);
        let inner = context.dims()[3] * heads;
        self.o.forward(context.reshape([batch, queries, inner]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// transformers' buckets for 32 bidirectional buckets up to 128: exact under 8 in each
    /// direction, then logarithmic, the last bucket from 128 on.
    #[test]
    fn buckets_follow_mesh_tensorflow() {
        let b = |r| relative_position_bucket(r, true, 32, 128);
        assert_eq!((b(0), b(-1), b(1), b(-7), b(7)), (0, 1, 17, 7, 23));
        assert_eq!((b(-8), b(-200), b(200)), (8, 15, 31));
        let c = |r| relative_position_bucket(r, false, 32, 128);
        assert_eq!((c(0), c(5), c(-3), c(-15), c(-1000)), (0, 0, 3, 15, 31));
    }
}
