//! Multi-head self-attention with key padding (`softmax(Q Kᵀ / √d_head) V`, per head), the
//! parameters of BERT's `attention.self` (`query`, `key`, `value`) or of a fused projection
//! (ModernBERT's `Wqkv` and `Wo`), over all tokens or, with a windowed [`AttentionMasks`], over
//! a sliding window of neighbours (ModernBERT's local layers).

use std::cell::OnceCell;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Int, Tensor};

use super::{Dropout, Linear};

/// The padding of one batch in the two forms attention takes, each built at most once per
/// batch and shared by every layer; optionally restricted to a sliding window.
#[derive(Debug)]
pub struct AttentionMasks<B: Backend> {
    /// `[batch, seq]`, `true` at padding keys.
    key_padding: Tensor<B, 2, Bool>,
    expanded: OnceCell<Tensor<B, 4, Bool>>,
    /// Windowed masks: the queries without a key in reach ([`Self::empty_rows`]).
    empty_rows: OnceCell<Tensor<B, 4, Bool>>,
    /// Local attention: a query sees the keys at most this many positions away.
    half_window: Option<usize>,
}

impl<B: Backend> AttentionMasks<B> {
    /// `key_padding`: `[batch, seq]`, `true` at padding positions.
    pub fn new(key_padding: Tensor<B, 2, Bool>) -> Self {
        Self {
            key_padding,
            expanded: OnceCell::new(),
            empty_rows: OnceCell::new(),
            half_window: None,
        }
    }

    /// Sliding-window (local) attention: query `i` sees key `j` when `|i − j| ≤ half_window`
    /// and `j` is not padding (transformers' `sliding_window_bidirectional_overlay`; ModernBERT's
    /// `local_attention / 2`), padding queries included (a ColBERT query's unattended expansion
    /// tokens are masked as keys but scored). A query whose window holds only padding gets zero
    /// context, as transformers' SDPA gives such a row (torch ≥ 2.5): [`scaled_dot_product`]
    /// lets it see itself (no NaN) and zeroes its context.
    pub fn windowed(key_padding: Tensor<B, 2, Bool>, half_window: usize) -> Self {
        Self {
            key_padding,
            expanded: OnceCell::new(),
            empty_rows: OnceCell::new(),
            half_window: Some(half_window),
        }
    }

    /// The half window of a windowed mask.
    pub fn half_window(&self) -> Option<usize> {
        self.half_window
    }

    /// `[batch, seq]`, `true` at padding keys.
    pub fn key_padding(&self) -> &Tensor<B, 2, Bool> {
        &self.key_padding
    }

    /// Windowed masks: `[batch, 1, seq, 1]`, `true` at the queries whose window holds no key
    /// (their context is zero); `None` for padding-only masks.
    fn empty_rows(&self) -> Option<&Tensor<B, 4, Bool>> {
        let half = self.half_window?;
        Some(self.empty_rows.get_or_init(|| {
            let [batch, seq] = self.key_padding.dims();
            let device = self.key_padding.device();
            let keys = self
                .key_padding
                .clone()
                .bool_not()
                .int()
                .reshape([batch, 1, seq]);
            // Keys in reach of query i: a [seq, seq] band of ones times the key flags.
            let positions = Tensor::<B, 1, Int>::arange(0..seq as i64, &device);
            let distance = (positions.clone().reshape([seq, 1]).expand([seq, seq])
                - positions.reshape([1, seq]).expand([seq, seq]))
            .abs();
            let band = distance
                .lower_equal_elem(half as i64)
                .int()
                .reshape([1, seq, seq]);
            (band.expand([batch, seq, seq]) * keys.expand([batch, seq, seq]))
                .sum_dim(2)
                .equal_elem(0)
                .reshape([batch, 1, seq, 1])
        }))
    }

    /// `[batch, 1, seq, seq]`, `true` where a key is padding (the same for every head, so
    /// burn's attention kernels broadcast it instead of copying it per head); `bool_not` twice
    /// materialises the broadcast view into one contiguous buffer.
    fn expanded(&self) -> &Tensor<B, 4, Bool> {
        self.expanded.get_or_init(|| {
            let [batch, seq] = self.key_padding.dims();
            let padding = self
                .key_padding
                .clone()
                .reshape([batch, 1, 1, seq])
                .expand([batch, 1, seq, seq])
                .bool_not()
                .bool_not();
            match self.half_window {
                None => padding,
                Some(half) => {
                    let device = self.key_padding.device();
                    let positions = Tensor::<B, 1, Int>::arange(0..seq as i64, &device);
                    let queries = positions.clone().reshape([seq, 1]).expand([seq, seq]);
                    let keys = positions.reshape([1, seq]).expand([seq, seq]);
                    let distance = (queries.clone() - keys.clone()).abs();
                    let outside = distance.greater_elem(half as i64).reshape([1, 1, seq, seq]);
                    let itself = queries.equal(keys).reshape([1, 1, seq, seq]);
                    let masked = padding.bool_or(outside.expand([batch, 1, seq, seq]));
                    // A row without keys keeps itself (its context is zeroed after).
                    let empty = self.empty_rows().expect("a windowed mask").clone();
                    masked.bool_and(
                        empty
                            .expand([batch, 1, seq, seq])
                            .bool_and(itself.expand([batch, 1, seq, seq]))
                            .bool_not(),
                    )
                }
            }
        })
    }
}

/// Queries, keys and values of every token, `[batch, seq, hidden]` each, heads side by side.
pub type Projections<B> = (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>);

/// Self-attention over all tokens (bidirectional), heads of `hidden / num_heads`.
#[derive(Module, Debug)]
pub struct SelfAttention<B: Backend> {
    pub query: Linear<B>,
    pub key: Linear<B>,
    pub value: Linear<B>,
    /// On the attention probabilities.
    pub dropout: Dropout,
    num_heads: usize,
}

impl<B: Backend> SelfAttention<B> {
    pub fn new(hidden: usize, num_heads: usize, dropout: f64, device: &B::Device) -> Self {
        Self {
            query: Linear::new(hidden, hidden, device),
            key: Linear::new(hidden, hidden, device),
            value: Linear::new(hidden, hidden, device),
            dropout: Dropout::new(dropout),
            num_heads,
        }
    }

    /// `x: [batch, seq, hidden]` → the context `[batch, seq, hidden]` (heads concatenated).
    pub fn forward(&self, x: Tensor<B, 3>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        self.attend(self.project(x), masks)
    }

    /// The query, key and value projections.
    pub fn project(&self, x: Tensor<B, 3>) -> Projections<B> {
        (
            self.query.forward(x.clone()),
            self.key.forward(x.clone()),
            self.value.forward(x),
        )
    }

    /// Scaled dot-product attention of projections (possibly transformed in between, e.g. by
    /// rotary positions) over the non-padding keys, with dropout on the probabilities while
    /// training. See [`scaled_dot_product`].
    pub fn attend(&self, projections: Projections<B>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        scaled_dot_product(projections, masks, self.num_heads, &self.dropout)
    }
}

/// Scaled dot-product attention of `heads` heads over the keys `masks` lets each query see,
/// with `dropout` on the probabilities while training: `[batch, seq, hidden]` projections →
/// the context `[batch, seq, hidden]`. On the CPU backend in f32 one kernel reads the heads in
/// place: in inference for every mask (windowed ones included), in training (one autodiff op)
/// when the mask is key padding only; windowed training and other backends and dtypes run
/// burn's composition.
pub fn scaled_dot_product<B: Backend>(
    (q, k, v): Projections<B>,
    masks: &AttentionMasks<B>,
    heads: usize,
    dropout: &Dropout,
) -> Tensor<B, 3> {
    let [batch, seq, hidden] = q.dims();
    let head_dim = hidden / heads;
    let training = B::ad_enabled(&q.device()) && dropout.prob > 0.0;
    let padding_only = masks.half_window.is_none();
    let (q, k, v) = if !training {
        match rankforge_kernels::self_attention_inference(
            &q,
            &k,
            &v,
            &masks.key_padding,
            heads,
            masks.half_window,
        ) {
            Some(context) => return context,
            None => (q, k, v),
        }
    } else if padding_only {
        match rankforge_kernels::self_attention_training(
            q,
            k,
            v,
            &masks.key_padding,
            heads,
            &dropout.as_burn(),
        ) {
            Ok(context) => return context,
            Err(projections) => projections,
        }
    } else {
        (q, k, v)
    };
    let split = |t: Tensor<B, 3>| t.reshape([batch, seq, heads, head_dim]).swap_dims(1, 2);
    let (q, k, v) = (split(q), split(k), split(v));
    let attention_mask = masks.expanded();
    let context = if training {
        // Attention-probability dropout needs the explicit softmax (one autodiff op).
        let scores = q.matmul(k.swap_dims(2, 3));
        let mask = attention_mask.clone().expand([batch, heads, seq, seq]);
        let scale = 1.0 / (head_dim as f64).sqrt();
        let probabilities = rankforge_kernels::masked_scaled_softmax(scores, mask, scale);
        dropout.forward(probabilities).matmul(v)
    } else {
        attention(
            q,
            k,
            v,
            Some(attention_mask.clone()),
            None,
            AttentionModuleOptions::default(),
        )
    };
    let context = match masks.empty_rows() {
        Some(empty) => context.mask_fill(empty.clone().expand([batch, heads, seq, head_dim]), 0.0),
        None => context,
    };
    context.swap_dims(1, 2).reshape([batch, seq, hidden])
}

/// Self-attention with one fused input projection (`[hidden] → [3 · hidden]`: queries, keys,
/// values side by side) and an output projection, biases as the checkpoint has them: ModernBERT's
/// `attn.Wqkv` / `attn.Wo` (fields `wqkv` / `wo`; `hf` renames them). `out_dropout` follows the
/// output projection (ModernBERT's `out_drop`, the attention dropout).
#[derive(Module, Debug)]
pub struct FusedQkvAttention<B: Backend> {
    pub wqkv: Linear<B>,
    pub wo: Linear<B>,
    /// On the attention probabilities.
    pub dropout: Dropout,
    /// After `wo`.
    pub out_dropout: Dropout,
    num_heads: usize,
}

impl<B: Backend> FusedQkvAttention<B> {
    pub fn new(
        hidden: usize,
        num_heads: usize,
        bias: bool,
        dropout: f64,
        device: &B::Device,
    ) -> Self {
        Self {
            wqkv: Linear::new_with_bias(hidden, 3 * hidden, bias, device),
            wo: Linear::new_with_bias(hidden, hidden, bias, device),
            dropout: Dropout::new(dropout),
            out_dropout: Dropout::new(dropout),
            num_heads,
        }
    }

    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// The fused projection, split into queries, keys and values.
    pub fn project(&self, x: Tensor<B, 3>) -> Projections<B> {
        // Three contiguous blocks (a host copy per row in CPU inference, views otherwise).
        let mut blocks = rankforge_kernels::columns::split_last(self.wqkv.forward(x), 3);
        let v = blocks.pop().expect("three blocks");
        let k = blocks.pop().expect("three blocks");
        let q = blocks.pop().expect("three blocks");
        (q, k, v)
    }

    /// Attention of (possibly rotated) projections, then the output projection and its dropout.
    pub fn attend(&self, projections: Projections<B>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        let context = scaled_dot_product(projections, masks, self.num_heads, &self.dropout);
        self.out_dropout.forward(self.wo.forward(context))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    fn tensor(seq: usize, hidden: usize, salt: usize) -> Tensor<Cpu, 3> {
        let values: Vec<f32> = (0..seq * hidden)
            .map(|i| (((i + salt) * 7919) % 31) as f32 / 10.0 - 1.5)
            .collect();
        Tensor::from_data(
            TensorData::new(values, [1, seq, hidden]),
            &Default::default(),
        )
    }

    fn padding(flags: &[bool]) -> Tensor<Cpu, 2, Bool> {
        Tensor::from_data(
            TensorData::new(flags.to_vec(), [1, flags.len()]),
            &Default::default(),
        )
    }

    fn row(t: &Tensor<Cpu, 3>, i: usize) -> Vec<f32> {
        let hidden = t.dims()[2];
        t.clone()
            .narrow(1, i, 1)
            .reshape([hidden])
            .into_data()
            .into_vec()
            .unwrap()
    }

    /// A windowed query sees exactly the keys within the half window: its output equals
    /// full attention where every other key is padding.
    #[test]
    fn a_windowed_query_sees_only_its_neighbours() {
        let (seq, hidden, heads, half) = (7, 8, 2, 2);
        let (q, k, v) = (
            tensor(seq, hidden, 0),
            tensor(seq, hidden, 3),
            tensor(seq, hidden, 11),
        );
        let dropout = Dropout::new(0.0);
        let windowed = scaled_dot_product(
            (q.clone(), k.clone(), v.clone()),
            &AttentionMasks::windowed(padding(&[false; 7]), half),
            heads,
            &dropout,
        );
        for i in 0..seq {
            let flags: Vec<bool> = (0..seq).map(|j| i.abs_diff(j) > half).collect();
            let full = scaled_dot_product(
                (q.clone(), k.clone(), v.clone()),
                &AttentionMasks::new(padding(&flags)),
                heads,
                &dropout,
            );
            let (a, b) = (row(&windowed, i), row(&full, i));
            let diff = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(diff < 1e-6, "query {i}: {diff}");
        }
    }

    /// Padding keys stay masked inside the window, and a padding query whose window holds only
    /// padding gets zero context (transformers' SDPA) instead of NaN.
    #[test]
    fn windowed_masks_keep_padding_and_never_leave_a_row_empty() {
        let (seq, hidden, heads) = (8, 4, 1);
        let flags = [false, false, false, true, true, true, true, true];
        let (q, k, v) = (
            tensor(seq, hidden, 1),
            tensor(seq, hidden, 2),
            tensor(seq, hidden, 5),
        );
        let dropout = Dropout::new(0.0);
        let windowed = scaled_dot_product(
            (q.clone(), k.clone(), v.clone()),
            &AttentionMasks::windowed(padding(&flags), 1),
            heads,
            &dropout,
        );
        let mut local = flags.to_vec();
        local[0] = true; // query 2 with half window 1 sees keys 1..=3, of which 3 is padding
        let full = scaled_dot_product(
            (q, k, v),
            &AttentionMasks::new(padding(&local)),
            heads,
            &dropout,
        );
        assert_eq!(row(&windowed, 2), row(&full, 2));
        // Query 5 sees key 4..=6, all padding: zero context. Query 3 (padding) sees key 2 only.
        assert!(row(&windowed, 5).iter().all(|&x| x == 0.0));
        assert!(row(&windowed, 3).iter().any(|&x| x != 0.0));
        let values: Vec<f32> = windowed.into_data().into_vec().unwrap();
        assert!(values.iter().all(|x| x.is_finite()), "{values:?}");
    }
}
