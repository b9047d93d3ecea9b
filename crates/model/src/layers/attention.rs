//! Multi-head self-attention with key padding (`softmax(Q Kᵀ / √d_head) V`, per head), the
//! parameters of BERT's `attention.self` (`query`, `key`, `value`).

use std::cell::OnceCell;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor};

use super::{Dropout, Linear};

/// The padding of one batch in the two forms attention takes, each built at most once per
/// batch and shared by every layer.
#[derive(Debug)]
pub struct AttentionMasks<B: Backend> {
    /// `[batch, seq]`, `true` at padding keys.
    key_padding: Tensor<B, 2, Bool>,
    expanded: OnceCell<Tensor<B, 4, Bool>>,
}

impl<B: Backend> AttentionMasks<B> {
    /// `key_padding`: `[batch, seq]`, `true` at padding positions.
    pub fn new(key_padding: Tensor<B, 2, Bool>) -> Self {
        Self {
            key_padding,
            expanded: OnceCell::new(),
        }
    }

    /// `[batch, seq]`, `true` at padding keys.
    pub fn key_padding(&self) -> &Tensor<B, 2, Bool> {
        &self.key_padding
    }

    /// `[batch, 1, seq, seq]`, `true` where a key is padding (the same for every head, so
    /// burn's attention kernels broadcast it instead of copying it per head); `bool_not` twice
    /// materialises the broadcast view into one contiguous buffer.
    fn expanded(&self) -> &Tensor<B, 4, Bool> {
        self.expanded.get_or_init(|| {
            let [batch, seq] = self.key_padding.dims();
            self.key_padding
                .clone()
                .reshape([batch, 1, 1, seq])
                .expand([batch, 1, seq, seq])
                .bool_not()
                .bool_not()
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
    /// training. On the CPU backend in f32 one kernel reads the heads in place (training: one
    /// autodiff op); other backends and dtypes run burn's composition.
    pub fn attend(&self, (q, k, v): Projections<B>, masks: &AttentionMasks<B>) -> Tensor<B, 3> {
        let [batch, seq, hidden] = q.dims();
        let heads = self.num_heads;
        let head_dim = hidden / heads;
        let training = B::ad_enabled(&q.device()) && self.dropout.prob > 0.0;
        let (q, k, v) = if training {
            match rankforge_kernels::self_attention_training(
                q,
                k,
                v,
                &masks.key_padding,
                heads,
                &self.dropout.as_burn(),
            ) {
                Ok(context) => return context,
                Err(projections) => projections,
            }
        } else {
            match rankforge_kernels::self_attention_inference(&q, &k, &v, &masks.key_padding, heads)
            {
                Some(context) => return context,
                None => (q, k, v),
            }
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
            self.dropout.forward(probabilities).matmul(v)
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
        context.swap_dims(1, 2).reshape([batch, seq, hidden])
    }
}
