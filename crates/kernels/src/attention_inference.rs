//! BERT self-attention for inference on CPU (burn-flex, f32), read straight from the
//! token-major projections and written straight into the token-major context.
//!
//! burn's `attention` takes `[batch, heads, seq, head_dim]` tensors, while BERT's projections
//! are `[batch, seq, heads · head_dim]`: splitting the heads for it and merging them back costs
//! four strided copies per layer, and burn-flex 0.21's kernel then walks the (batch, head)
//! pairs one after the other on a single thread. Here head `h` of sequence `b` is used where it lies — the `[seq, head_dim]` block at
//! row `b · seq`, column `h · head_dim` of the `[batch · seq, hidden]` projection, row stride
//! `hidden` — and the sequences run in parallel on rayon's pool. Per (batch, head):
//!
//! ```text
//! S = Q_bh · K_bhᵀ / √head_dim          one GEMM, [seq, seq]
//! S[i, j] = −∞ where key j is padding
//! P = softmax(S) row by row              (max-subtracted, f32, vectorised exp)
//! context_bh = P · V_bh                  one GEMM, written in place into [batch, seq, hidden]
//! ```
//!
//! the computation of transformers' eager `BertSelfAttention` (Vaswani et al., "Attention Is
//! All You Need", 2017, eq. 1) with BERT's padding mask (Devlin et al., 2019). Masked keys get
//! weight exactly 0 (as `exp(min − max)` underflows to in PyTorch). With a half window `w`
//! (ModernBERT's local layers, `local_attention / 2`), key `j` is also masked for query `i` when
//! `|i − j| > w`; a query whose window holds no key (only possible for a padding query, or a
//! ColBERT query's unattended expansion token) gets zero context, as transformers' SDPA gives
//! such a row (torch ≥ 2.5) and as `AttentionMasks::windowed` makes burn's composition do. A
//! padding query does not see itself: a ColBERT expansion token is a real token masked as a
//! key, whose own output is scored. Training keeps burn's ops
//! (attention dropout and autodiff, see [`crate::attention_training`]); other backends keep
//! burn's `attention`. [`fused_self_attention`] picks by type ([`crate::specialize`]).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::flex_host::values;
use crate::simd::vectorized;
use crate::specialize::{cast, same};
use crate::strided_gemm::{gemm_into, Accumulate, Threads, View};
use crate::vector_math;

/// The attention context `[batch, seq, hidden]` of the projections `q`, `k`, `v` (each
/// `[batch, seq, hidden]`, `heads` heads), with keys at `key_padding` (`[batch, seq]`, `true` at
/// padding) masked out, and, with `half_window` `Some(w)`, keys more than `w` positions from the
/// query too (sliding-window attention); `None` unless `B` is `Flex` and the projections are f32
/// (the caller then runs burn's `attention`).
pub fn fused_self_attention<B: Backend>(
    q: &Tensor<B, 3>,
    k: &Tensor<B, 3>,
    v: &Tensor<B, 3>,
    key_padding: &Tensor<B, 2, Bool>,
    heads: usize,
    half_window: Option<usize>,
) -> Option<Tensor<B, 3>> {
    if q.dtype() != DType::F32 || k.dtype() != DType::F32 || v.dtype() != DType::F32 {
        return None;
    }
    let flex = |t: &Tensor<B, 3>| {
        cast::<Tensor<B, 3>, Tensor<Flex, 3>>(t.clone())
            .ok()
            .map(|t| t.into_primitive().tensor())
    };
    let (q, k, v) = (flex(q)?, flex(k)?, flex(v)?);
    let padding: Vec<bool> = key_padding
        .clone()
        .into_data()
        .convert::<bool>()
        .into_vec::<bool>()
        .ok()?;
    crate::specialize::trace::note("attention_inference");
    let context = host_attention(&q, &k, &v, &padding, heads, half_window);
    Some(same(Tensor::<Flex, 3>::from_primitive(
        TensorPrimitive::Float(context),
    )))
}

/// The kernel over flex buffers; `padding`: `[batch · seq]`.
fn host_attention(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    padding: &[bool],
    heads: usize,
    half_window: Option<usize>,
) -> FlexTensor {
    let shape = q.layout().shape().clone();
    let (batch, seq, hidden) = (shape[0], shape[1], shape[2]);
    assert_eq!(k.layout().shape(), &shape, "key shape");
    assert_eq!(v.layout().shape(), &shape, "value shape");
    assert_eq!(padding.len(), batch * seq, "padding mask shape");
    assert!(
        heads > 0 && hidden % heads == 0,
        "hidden {hidden} splits into {heads} heads"
    );
    let mut context = vec![0f32; batch * seq * hidden];
    if context.is_empty() {
        return FlexTensor::from_data(TensorData::new(context, shape));
    }
    let (q, k, v) = (values(q), values(k), values(v));
    let head_dim = hidden / heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    context
        .par_chunks_mut(seq * hidden)
        .zip(padding.par_chunks(seq))
        .enumerate()
        .for_each_init(
            || (vec![0f32; seq * seq], vec![false; seq]),
            |(scores, row_mask), (b, (out, padding))| {
                let scores_view = View::row_major(0, seq, seq, seq);
                for h in 0..heads {
                    // Head h of sequence b inside the [batch · seq, hidden] projections.
                    let block =
                        View::row_major(b * seq * hidden + h * head_dim, seq, head_dim, hidden);
                    gemm_into(
                        scores,
                        scores_view,
                        &q,
                        block,
                        &k,
                        block.transposed(),
                        scale,
                        Accumulate::Overwrite,
                        Threads::Calling,
                    );
                    vectorized(
                        #[inline(always)]
                        || match half_window {
                            None => {
                                for row in scores.chunks_exact_mut(seq) {
                                    masked_softmax(row, padding);
                                }
                            }
                            Some(w) => {
                                for (i, row) in scores.chunks_exact_mut(seq).enumerate() {
                                    window_mask(row_mask, padding, i, w);
                                    masked_softmax(row, row_mask);
                                }
                            }
                        },
                    );
                    let out_block = View::row_major(h * head_dim, seq, head_dim, hidden);
                    gemm_into(
                        out,
                        out_block,
                        scores,
                        scores_view,
                        &v,
                        block,
                        1.0,
                        Accumulate::Overwrite,
                        Threads::Calling,
                    );
                }
            },
        );
    FlexTensor::from_data(TensorData::new(context, shape))
}

/// The keys query `i` may not see under a half window `w`: padding and every key more than `w`
/// positions away (a row left without keys gets zero context from [`masked_softmax`]).
#[inline(always)]
fn window_mask(mask: &mut [bool], padding: &[bool], i: usize, w: usize) {
    for (j, (m, &pad)) in mask.iter_mut().zip(padding).enumerate() {
        *m = pad || i.abs_diff(j) > w;
    }
}

/// `row ← softmax(row)` over the keys that are not padding; padding keys get 0. A row with
/// every key masked becomes all zeros. Every pass is a plain loop over the row that vectorises
/// ([`vector_math`]); inlined, so that a caller's [`vectorized`] body holds it.
#[inline(always)]
pub(crate) fn masked_softmax(row: &mut [f32], padding: &[bool]) {
    for (s, &pad) in row.iter_mut().zip(padding) {
        if pad {
            *s = f32::NEG_INFINITY;
        }
    }
    let max = vector_math::max(row);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    for (s, &pad) in row.iter_mut().zip(padding) {
        // A select: padding gets exactly 0 (the fast exp of −∞ is tiny, not 0).
        let e = vector_math::exp(*s - max);
        *s = if pad { 0.0 } else { e };
    }
    let inverse = 1.0 / vector_math::sum(row);
    row.iter_mut().for_each(|s| *s *= inverse);
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::module::attention;
    use burn::tensor::ops::AttentionModuleOptions;
    use burn::tensor::Distribution;

    /// burn's own attention on the split heads: what the fused kernel replaces.
    fn reference(
        q: Tensor<Flex, 3>,
        k: Tensor<Flex, 3>,
        v: Tensor<Flex, 3>,
        padding: Tensor<Flex, 2, Bool>,
        heads: usize,
    ) -> Tensor<Flex, 3> {
        let [batch, seq, hidden] = q.dims();
        let split = |t: Tensor<Flex, 3>| {
            t.reshape([batch, seq, heads, hidden / heads])
                .swap_dims(1, 2)
        };
        let mask = padding
            .reshape([batch, 1, 1, seq])
            .expand([batch, heads, seq, seq]);
        attention(
            split(q),
            split(k),
            split(v),
            Some(mask),
            None,
            AttentionModuleOptions::default(),
        )
        .swap_dims(1, 2)
        .reshape([batch, seq, hidden])
    }

    #[test]
    fn matches_burns_attention_with_padding() {
        let device = Default::default();
        let (batch, seq, heads, hidden) = (3, 7, 4, 32);
        let random = || {
            Tensor::<Flex, 3>::random(
                [batch, seq, hidden],
                Distribution::Normal(0.0, 1.0),
                &device,
            )
        };
        // Seeded, inside the RNG section: parallel tests that seed and then draw must not see
        // these draws land between theirs.
        let (q, k, v) = {
            let _rng = crate::backend::seeded_rng_section();
            <Flex as Backend>::seed(&device, 11);
            (random(), random(), random())
        };
        // Sequence 0 is full, 1 has two padding tokens, 2 has five.
        let lengths = [7, 5, 2];
        let padding: Vec<bool> = lengths
            .iter()
            .flat_map(|&len| (0..seq).map(move |j| j >= len))
            .collect();
        let padding =
            Tensor::<Flex, 2, Bool>::from_data(TensorData::new(padding, [batch, seq]), &device);
        crate::specialize::trace::taken();
        let fused =
            fused_self_attention(&q, &k, &v, &padding, heads, None).expect("flex f32 is fused");
        assert_eq!(
            crate::specialize::trace::taken(),
            vec!["attention_inference"]
        );
        let expected = reference(q, k, v, padding, heads);
        let (fused, expected) = (
            fused.into_data().into_vec::<f32>().unwrap(),
            expected.into_data().into_vec::<f32>().unwrap(),
        );
        assert_eq!(fused.len(), expected.len());
        let worst = fused
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "largest difference {worst}");
    }

    /// With a half window, each query attends to its neighbours only: burn's attention with the
    /// window mask (padding, or farther than the half window) gives the same context, and a
    /// query whose window holds only padding gets zero context.
    #[test]
    fn matches_burns_attention_with_a_sliding_window() {
        let device = Default::default();
        let (batch, seq, heads, hidden, half) = (2, 9, 2, 8, 2);
        let (q, k, v) = {
            let _rng = crate::backend::seeded_rng_section();
            <Flex as Backend>::seed(&device, 12);
            let random = || {
                Tensor::<Flex, 3>::random(
                    [batch, seq, hidden],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                )
            };
            (random(), random(), random())
        };
        // Sequence 1 ends in four padding tokens: its last query's window holds only padding.
        let lengths = [9, 5];
        let padding: Vec<bool> = lengths
            .iter()
            .flat_map(|&len| (0..seq).map(move |j| j >= len))
            .collect();
        let mask: Vec<bool> = (0..batch)
            .flat_map(|b| {
                let padding = &padding;
                (0..seq).flat_map(move |i| {
                    (0..seq).map(move |j| {
                        let empty = (0..seq).all(|k| padding[b * seq + k] || i.abs_diff(k) > half);
                        // An empty row keeps itself for burn (no NaN); its context is zeroed below.
                        (padding[b * seq + j] || i.abs_diff(j) > half) && !(empty && j == i)
                    })
                })
            })
            .collect();
        let padding =
            Tensor::<Flex, 2, Bool>::from_data(TensorData::new(padding, [batch, seq]), &device);
        let fused = fused_self_attention(&q, &k, &v, &padding, heads, Some(half)).unwrap();
        let split = |t: Tensor<Flex, 3>| {
            t.reshape([batch, seq, heads, hidden / heads])
                .swap_dims(1, 2)
        };
        let mask = Tensor::<Flex, 4, Bool>::from_data(
            TensorData::new(mask, [batch, 1, seq, seq]),
            &device,
        )
        .expand([batch, heads, seq, seq]);
        let expected = attention(
            split(q),
            split(k),
            split(v),
            Some(mask),
            None,
            AttentionModuleOptions::default(),
        )
        .swap_dims(1, 2)
        .reshape([batch, seq, hidden]);
        let (fused, mut expected) = (
            fused.into_data().into_vec::<f32>().unwrap(),
            expected.into_data().into_vec::<f32>().unwrap(),
        );
        let mut empty_rows = 0;
        for (b, &len) in lengths.iter().enumerate() {
            for i in 0..seq {
                if (len..seq).contains(&i) && (0..len).all(|k| i.abs_diff(k) > half) {
                    let start = (b * seq + i) * hidden;
                    expected[start..start + hidden].fill(0.0);
                    empty_rows += 1;
                }
            }
        }
        assert!(empty_rows > 0, "the case has a window without keys");
        let worst = fused
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "largest difference {worst}");
    }

    #[test]
    fn padding_keys_get_no_weight() {
        // Values at padding keys are huge: any weight on them would show.
        let device = Default::default();
        let q = Tensor::<Flex, 3>::ones([1, 3, 2], &device);
        let k = Tensor::<Flex, 3>::zeros([1, 3, 2], &device);
        let v = Tensor::<Flex, 3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 1e6, 1e6], [1, 3, 2]),
            &device,
        );
        let padding = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(vec![false, false, true], [1, 3]),
            &device,
        );
        let context = fused_self_attention(&q, &k, &v, &padding, 1, None)
            .unwrap()
            .into_data()
            .into_vec::<f32>()
            .unwrap();
        // Equal scores on the two real keys: every query gets their mean.
        assert_eq!(context, vec![2.0, 3.0, 2.0, 3.0, 2.0, 3.0]);
    }

    #[test]
    fn fully_masked_rows_are_zero() {
        let mut row = vec![1.0, 2.0];
        masked_softmax(&mut row, &[true, true]);
        assert_eq!(row, vec![0.0, 0.0]);
    }

    #[test]
    fn other_backends_and_dtypes_are_declined() {
        let device = Default::default();
        type Ad = burn::backend::Autodiff<Flex>;
        let t = Tensor::<Ad, 3>::zeros([1, 2, 4], &device);
        let padding =
            Tensor::<Ad, 2, Bool>::from_data(TensorData::new(vec![false, false], [1, 2]), &device);
        assert!(fused_self_attention(&t, &t, &t, &padding, 2, None).is_none());
        let half = Tensor::<Flex, 3>::zeros([1, 2, 4], &device).cast(DType::F16);
        let padding = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(vec![false, false], [1, 2]),
            &device,
        );
        assert!(fused_self_attention(&half, &half, &half, &padding, 2, None).is_none());
    }
}
