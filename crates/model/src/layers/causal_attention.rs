//! Causal (decoder-only) self-attention with grouped key/value heads over **left-padded**
//! batches: the masks and rotary positions of one batch ([`CausalMasks`]), and the attention
//! itself ([`GroupedQueryAttention`]: `q_proj`, `k_proj`, `v_proj`, `o_proj`, as Qwen3 and
//! Llama name them).
//!
//! Left padding puts every row's last real token in the last column, where a yes/no reranker
//! reads its score. Each row's positions count from its first real token (`0, 1, …`; padding
//! gets 0), as transformers' `generate` derives them from the attention mask, so a pair scores
//! the same whatever its batch mates (a plain transformers forward counts positions over the
//! padded width instead: rotary attention depends only on position differences, so that moves
//! scores by rounding alone).

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Tensor, TensorData};

use super::{Linear, Rotary};

/// The masks and rotary tables of one left-padded batch, built once and shared by every layer.
#[derive(Debug, Clone)]
pub struct CausalMasks<B: Backend> {
    /// `[batch, 1, seq, seq]`, `true` where query `i` may not see key `j`: a later key, or a
    /// padding key (a padding query sees itself only, so no row is empty).
    mask: Tensor<B, 4, Bool>,
    /// `cos` and `sin` of each row's positions, `[batch, seq, 1, head_dim]`.
    cos: Tensor<B, 4>,
    sin: Tensor<B, 4>,
    /// Leading padding of each row.
    padding: Vec<usize>,
    seq: usize,
}

impl<B: Backend> CausalMasks<B> {
    /// A batch of rows of `lengths` real tokens, left padded to `seq` (at least the longest),
    /// rotated by `rotary`.
    pub fn left_padded(lengths: &[usize], seq: usize, rotary: &Rotary, device: &B::Device) -> Self {
        let batch = lengths.len();
        let padding: Vec<usize> = lengths
            .iter()
            .map(|&n| {
                assert!(n <= seq, "a row of {n} tokens in a batch of width {seq}");
                seq - n
            })
            .collect();
        let mut mask = Vec::with_capacity(batch * seq * seq);
        for &pad in &padding {
            for i in 0..seq {
                for j in 0..seq {
                    mask.push(j > i || (j < pad && j != i));
                }
            }
        }
        let inverse = rotary.inverse_frequencies();
        let d = rotary.head_dim;
        let (mut cos, mut sin) = (
            Vec::with_capacity(batch * seq * d),
            Vec::with_capacity(batch * seq * d),
        );
        for &pad in &padding {
            for c in 0..seq {
                let p = c.saturating_sub(pad);
                for _ in 0..2 {
                    for &f in &inverse {
                        // The f32 product, as PyTorch multiplies positions by inv_freq.
                        let angle = (p as f32 * f) as f64;
                        cos.push(angle.cos() as f32);
                        sin.push(angle.sin() as f32);
                    }
                }
            }
        }
        Self {
            mask: Tensor::from_data(TensorData::new(mask, [batch, 1, seq, seq]), device),
            cos: Tensor::from_data(TensorData::new(cos, [batch, seq, 1, d]), device),
            sin: Tensor::from_data(TensorData::new(sin, [batch, seq, 1, d]), device),
            padding,
            seq,
        }
    }

    /// Leading padding of each row.
    pub fn padding(&self) -> &[usize] {
        &self.padding
    }

    pub fn seq(&self) -> usize {
        self.seq
    }

    /// Rotates `x: [batch, seq, heads · head_dim]` (heads side by side) by each row's positions:
    /// `x ⊙ cos + rotate_half(x) ⊙ sin` per head.
    pub fn rotate(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, seq, width] = x.dims();
        let d = self.cos.dims()[3];
        let heads = width / d;
        let x = x.reshape([batch, seq, heads, d]);
        let half = d / 2;
        let rotated = Tensor::cat(
            vec![
                x.clone().narrow(3, half, half).neg(),
                x.clone().narrow(3, 0, half),
            ],
            3,
        );
        (x * self.cos.clone() + rotated * self.sin.clone()).reshape([batch, seq, width])
    }
}

/// Queries, keys and values, `[batch, seq, heads · head_dim]` and twice
/// `[batch, seq, kv_heads · head_dim]`.
pub type GroupedProjections<B> = (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>);

/// Causal self-attention with `heads` query heads and `kv_heads` key/value heads of
/// `head_dim` (each key/value head shared by `heads / kv_heads` query heads), `softmax(Q Kᵀ /
/// √head_dim) V`, then the output projection. As two steps ([`Self::project`], [`Self::attend`])
/// so per-head norms and rotary positions fit between them.
#[derive(Module, Debug)]
pub struct GroupedQueryAttention<B: Backend> {
    pub q_proj: Linear<B>,
    pub k_proj: Linear<B>,
    pub v_proj: Linear<B>,
    pub o_proj: Linear<B>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

impl<B: Backend> GroupedQueryAttention<B> {
    pub fn new(
        hidden: usize,
        heads: usize,
        kv_heads: usize,
        head_dim: usize,
        bias: bool,
        device: &B::Device,
    ) -> Self {
        Self {
            q_proj: Linear::new_with_bias(hidden, heads * head_dim, bias, device),
            k_proj: Linear::new_with_bias(hidden, kv_heads * head_dim, bias, device),
            v_proj: Linear::new_with_bias(hidden, kv_heads * head_dim, bias, device),
            o_proj: Linear::new_with_bias(heads * head_dim, hidden, bias, device),
            heads,
            kv_heads,
            head_dim,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
    }

    pub fn project(&self, x: Tensor<B, 3>) -> GroupedProjections<B> {
        (
            self.q_proj.forward(x.clone()),
            self.k_proj.forward(x.clone()),
            self.v_proj.forward(x),
        )
    }

    /// Attention of (normed, rotated) projections under `masks`, then `o_proj`.
    pub fn attend(&self, qkv: GroupedProjections<B>, masks: &CausalMasks<B>) -> Tensor<B, 3> {
        self.o_proj.forward(self.context(qkv, masks))
    }

    /// [`Self::attend`] before `o_proj`: the heads' contexts side by side, `[batch, seq,
    /// heads · head_dim]` (the input of `o_proj`, where a LoRA branch of it reads).
    pub fn context(
        &self,
        (q, k, v): GroupedProjections<B>,
        masks: &CausalMasks<B>,
    ) -> Tensor<B, 3> {
        let [batch, seq, _] = q.dims();
        let (heads, kv, d) = (self.heads, self.kv_heads, self.head_dim);
        let group = heads / kv;
        let q = q.reshape([batch, seq, heads, d]).swap_dims(1, 2);
        let repeat = |t: Tensor<B, 3>| {
            let t = t.reshape([batch, seq, kv, d]).swap_dims(1, 2);
            if group == 1 {
                t
            } else {
                t.reshape([batch, kv, 1, seq, d])
                    .expand([batch, kv, group, seq, d])
                    .reshape([batch, heads, seq, d])
            }
        };
        let (k, v) = (repeat(k), repeat(v));
        let context = attention(
            q,
            k,
            v,
            Some(masks.mask.clone()),
            None,
            AttentionModuleOptions::default(),
        );
        context.swap_dims(1, 2).reshape([batch, seq, heads * d])
    }
}
