//! BERT self-attention for CPU training (burn-flex, f32) as **one** autodiff operation that
//! reads the heads where they lie in the token-major projections, forward and backward.
//!
//! Through burn's ops, a training step splits the `[batch, seq, hidden]` projections into
//! `[batch, heads, seq, head_dim]` views, multiplies them (each product's output zeroed and
//! copied once more by burn-flex's allocation, see [`crate::linear`]), and in the
//! backward turns the three head-major gradients back into token-major ones with burn-flex's
//! scalar strided copy on the calling thread, all of it serial. Here, per (sequence `b`, head `h`), with `Q, K, V` the `[seq, head_dim]` blocks at
//! row `b · seq`, column `h · head_dim` of the projections (row stride `hidden`), padding keys
//! masked and `M` the dropout mask ([`crate::dropout`]'s draws, scaled by `1 / (1 − p)`):
//!
//! ```text
//! forward   P = softmax(Q · Kᵀ / √head_dim)       D = P ⊙ M        C = D · V
//! backward  ∂V = Dᵀ · G                          ∂D = G · Vᵀ
//!           ∂S = (∂D ⊙ D − P ⊙ Σ_keys(∂D ⊙ D)) / √head_dim
//!           ∂Q = ∂S · K                          ∂K = ∂Sᵀ · Q
//! ```
//!
//! where `∂S` is the softmax Jacobian-vector product of `∂P = ∂D ⊙ M`, rewritten with
//! `P ⊙ M = D` (see [`crate::attention_softmax`]). Every product is a GEMM over strided views
//! (`strided_gemm`); the gradients are written straight into token-major buffers.
//! The state is `P` and `D` (what the composition keeps too) and the projections themselves
//! (shared, not copied). The mask is expanded from one backend-seeded draw exactly as
//! `dropout::apply` expands it, so the operation gives the composition's values and gradients
//! (tested). Vaswani et al., "Attention Is All You Need" (2017), eq. 1, with BERT's padding
//! mask and attention dropout (Devlin et al., 2019). Any other backend or dtype keeps burn's
//! ops.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::nn::Dropout;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, DType, Tensor, TensorData, TensorPrimitive};
use burn_flex::{Flex, FlexTensor};
use rayon::prelude::*;

use crate::attention_inference::masked_softmax;
use crate::flex_host::values;
use crate::simd::vectorized;
use crate::specialize::{cast, same};
use crate::strided_gemm::{gemm_into, Accumulate, Threads, View};
use crate::vector_math;

type Projections<B> = (Tensor<B, 3>, Tensor<B, 3>, Tensor<B, 3>);

/// `dropout(softmax(q·kᵀ/√d, padding keys masked)) · v` per head, merged back to
/// `[batch, seq, hidden]`, for the projections `q`, `k`, `v` (`[batch, seq, hidden]`, `heads`
/// heads) and `key_padding` (`[batch, seq]`, `true` at padding): one autodiff op when `B` is
/// `Autodiff<Flex>` and the projections are f32, else the projections back for burn's ops.
pub fn fused_training_attention<B: Backend>(
    q: Tensor<B, 3>,
    k: Tensor<B, 3>,
    v: Tensor<B, 3>,
    key_padding: &Tensor<B, 2, Bool>,
    heads: usize,
    dropout: &Dropout,
) -> Result<Tensor<B, 3>, Projections<B>> {
    if [q.dtype(), k.dtype(), v.dtype()] != [DType::F32; 3] {
        return Err((q, k, v));
    }
    match cast::<Projections<B>, Projections<Autodiff<Flex>>>((q, k, v)) {
        Ok((q, k, v)) => {
            let padding: Vec<bool> = key_padding
                .clone()
                .into_data()
                .convert::<bool>()
                .into_vec::<bool>()
                .expect("a bool padding mask");
            Ok(same(fused(q, k, v, &padding, heads, dropout.prob)))
        }
        Err(projections) => Err(projections),
    }
}

/// Shape of one attention: `[batch, seq, hidden]` with `heads` heads.
#[derive(Debug, Clone, Copy)]
struct Dims {
    batch: usize,
    seq: usize,
    hidden: usize,
    heads: usize,
}

impl Dims {
    fn of(q: &FlexTensor, heads: usize) -> Self {
        let shape = q.layout().shape();
        assert_eq!(shape.num_dims(), 3, "[batch, seq, hidden] projections");
        let (batch, seq, hidden) = (shape[0], shape[1], shape[2]);
        assert!(
            heads > 0 && hidden % heads == 0,
            "hidden {hidden} splits into {heads} heads"
        );
        Self {
            batch,
            seq,
            hidden,
            heads,
        }
    }

    fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    fn scale(&self) -> f32 {
        1.0 / (self.head_dim() as f32).sqrt()
    }

    /// Head `h` of sequence `b` inside a `[batch · seq, hidden]` buffer.
    fn head(&self, b: usize, h: usize) -> View {
        View::row_major(
            (b * self.seq) * self.hidden + h * self.head_dim(),
            self.seq,
            self.head_dim(),
            self.hidden,
        )
    }

    /// Head `h` inside one sequence's `[seq, hidden]` rows.
    fn head_in_sequence(&self, h: usize) -> View {
        View::row_major(h * self.head_dim(), self.seq, self.head_dim(), self.hidden)
    }

    /// The `[seq, seq]` block of (sequence, head) `bh` inside `[batch, heads, seq, seq]`.
    fn probabilities(&self, bh: usize) -> View {
        View::row_major(bh * self.seq * self.seq, self.seq, self.seq, self.seq)
    }

    fn tensor(&self, values: Vec<f32>) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(values, [self.batch, self.seq, self.hidden]))
    }
}

/// What the backward needs: the projections, `P` and `D = P ⊙ M` (`[batch, heads, seq, seq]`).
#[derive(Debug, Clone)]
struct AttentionState {
    q: FlexTensor,
    k: FlexTensor,
    v: FlexTensor,
    probabilities: Arc<Vec<f32>>,
    dropped: Arc<Vec<f32>>,
    heads: usize,
}

/// The forward on flex buffers: `(context, P, D)`.
fn forward_host(
    q: &FlexTensor,
    k: &FlexTensor,
    v: &FlexTensor,
    padding: &[bool],
    heads: usize,
    seed: u64,
    prob: f64,
) -> (FlexTensor, Vec<f32>, Vec<f32>) {
    let dims = Dims::of(q, heads);
    let Dims { batch, seq, .. } = dims;
    assert_eq!(k.layout().shape(), q.layout().shape(), "key shape");
    assert_eq!(v.layout().shape(), q.layout().shape(), "value shape");
    assert_eq!(padding.len(), batch * seq, "padding mask shape");
    let (q, k, v) = (values(q), values(k), values(v));
    let mut probabilities = vec![0.0f32; batch * heads * seq * seq];
    if seq > 0 {
        probabilities
            .par_chunks_mut(seq * seq)
            .enumerate()
            .for_each(|(bh, block)| {
                let (b, h) = (bh / heads, bh % heads);
                let head = dims.head(b, h);
                gemm_into(
                    block,
                    View::dense(seq, seq),
                    &q,
                    head,
                    &k,
                    head.transposed(),
                    dims.scale(),
                    Accumulate::Overwrite,
                    Threads::Calling,
                );
                let padding = &padding[b * seq..(b + 1) * seq];
                vectorized(
                    #[inline(always)]
                    || {
                        for row in block.chunks_exact_mut(seq) {
                            masked_softmax(row, padding);
                        }
                    },
                );
            });
    }
    let dropped = crate::dropout::masked_copy(seed, &probabilities, prob);
    let mut context = vec![0.0f32; batch * seq * dims.hidden];
    if seq > 0 {
        context
            .par_chunks_mut(seq * dims.hidden)
            .enumerate()
            .for_each(|(b, out)| {
                for h in 0..heads {
                    gemm_into(
                        out,
                        dims.head_in_sequence(h),
                        &dropped,
                        dims.probabilities(b * heads + h),
                        &v,
                        dims.head(b, h),
                        1.0,
                        Accumulate::Overwrite,
                        Threads::Calling,
                    );
                }
            });
    }
    (dims.tensor(context), probabilities, dropped)
}

/// `(∂Q, ∂K, ∂V)` for the context gradient `grad`, token-major like the projections.
fn backward_host(state: &AttentionState, grad: &FlexTensor) -> [FlexTensor; 3] {
    let dims = Dims::of(&state.q, state.heads);
    let Dims {
        batch,
        seq,
        hidden,
        heads,
    } = dims;
    let (q, k, v, g) = (
        values(&state.q),
        values(&state.k),
        values(&state.v),
        values(grad),
    );
    let (p, d) = (&state.probabilities[..], &state.dropped[..]);
    let n = batch * seq * hidden;
    let (mut dq, mut dk, mut dv) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
    if seq > 0 {
        let rows = seq * hidden;
        dq.par_chunks_mut(rows)
            .zip(dk.par_chunks_mut(rows))
            .zip(dv.par_chunks_mut(rows))
            .enumerate()
            .for_each_init(
                || vec![0.0f32; seq * seq],
                |ds, (b, ((dq, dk), dv))| {
                    let square = View::dense(seq, seq);
                    for h in 0..heads {
                        let (head, local) = (dims.head(b, h), dims.head_in_sequence(h));
                        let block = dims.probabilities(b * heads + h);
                        let prod = |dst: &mut [f32], dv: View, l: &[f32], lv, r: &[f32], rv, s| {
                            gemm_into(
                                dst,
                                dv,
                                l,
                                lv,
                                r,
                                rv,
                                s,
                                Accumulate::Overwrite,
                                Threads::Calling,
                            )
                        };
                        // ∂V = Dᵀ · G
                        prod(dv, local, d, block.transposed(), &g, head, 1.0);
                        // ∂D = G · Vᵀ, then the softmax JVP in place: ∂S.
                        prod(ds, square, &g, head, &v, head.transposed(), 1.0);
                        let (offset, scale) = (block.offset, dims.scale());
                        vectorized(
                            #[inline(always)]
                            || {
                                for (i, row) in ds.chunks_exact_mut(seq).enumerate() {
                                    let start = offset + i * seq;
                                    let (p, d) = (&p[start..start + seq], &d[start..start + seq]);
                                    let weighted = vector_math::dot(row, d);
                                    for ((g, &p), &d) in row.iter_mut().zip(p).zip(d) {
                                        *g = scale * (*g * d - p * weighted);
                                    }
                                }
                            },
                        );
                        // ∂Q = ∂S · K, ∂K = ∂Sᵀ · Q
                        prod(dq, local, ds, square, &k, head, 1.0);
                        prod(dk, local, ds, square.transposed(), &q, head, 1.0);
                    }
                },
            );
    }
    [dims.tensor(dq), dims.tensor(dk), dims.tensor(dv)]
}

/// The backward step.
#[derive(Debug)]
struct HostAttention;

impl Backward<Flex, 3> for HostAttention {
    type State = AttentionState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let gradients = backward_host(&ops.state, &grad);
        for (node, gradient) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, gradient);
            }
        }
    }
}

/// [`fused_training_attention`] on `Autodiff<Flex, C>` as one recorded operation. The mask's
/// seed is drawn from the backend's RNG as `dropout::apply` draws it (none for `prob = 0`).
fn fused<C: CheckpointStrategy>(
    q: Tensor<Autodiff<Flex, C>, 3>,
    k: Tensor<Autodiff<Flex, C>, 3>,
    v: Tensor<Autodiff<Flex, C>, 3>,
    padding: &[bool],
    heads: usize,
    prob: f64,
) -> Tensor<Autodiff<Flex, C>, 3> {
    let seed = if prob > 0.0 {
        crate::dropout::draw_seed::<Autodiff<Flex, C>>(&q.device())
    } else {
        0
    };
    crate::specialize::trace::note("attention_training");
    let (q, k, v) = (
        q.into_primitive().tensor(),
        k.into_primitive().tensor(),
        v.into_primitive().tensor(),
    );
    let (context, probabilities, dropped) = forward_host(
        &q.primitive,
        &k.primitive,
        &v.primitive,
        padding,
        heads,
        seed,
        prob,
    );
    let output = match HostAttention
        .prepare::<C>([q.node.clone(), k.node.clone(), v.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            AttentionState {
                q: q.primitive,
                k: k.primitive,
                v: v.primitive,
                probabilities: Arc::new(probabilities),
                dropped: Arc::new(dropped),
                heads,
            },
            context,
        ),
        OpsKind::UnTracked(prep) => prep.finish(context),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention_softmax::composed;
    use crate::backend::CpuAutodiff;
    use burn::nn::DropoutConfig;
    use burn::tensor::{Distribution, Tolerance};

    type Ad = CpuAutodiff;
    const HEADS: usize = 4;

    /// Projections `[3, 9, 32]` (4 heads of 8), sequences with 0, 2 and 6 padding tokens,
    /// and a downstream weighting of the context.
    fn inputs() -> (Projections<Ad>, Tensor<Ad, 2, Bool>, Tensor<Ad, 3>) {
        let device = Default::default();
        let (batch, seq, hidden) = (3, 9, 32);
        let _rng = crate::backend::seeded_rng_section();
        <Ad as Backend>::seed(&device, 53);
        let random = |std| {
            Tensor::<Ad, 3>::random(
                [batch, seq, hidden],
                Distribution::Normal(0.0, std),
                &device,
            )
        };
        let projections = (random(1.5), random(1.5), random(1.0));
        let weights = random(1.0);
        let lengths = [9, 7, 3];
        let padding: Vec<bool> = lengths
            .iter()
            .flat_map(|&len| (0..seq).map(move |j| j >= len))
            .collect();
        let padding = Tensor::from_data(TensorData::new(padding, [batch, seq]), &device);
        (projections, padding, weights)
    }

    /// burn's ops on split heads, with the same dropout draws: what the fused op replaces.
    fn composition(
        (q, k, v): Projections<Ad>,
        padding: &Tensor<Ad, 2, Bool>,
        dropout: &Dropout,
    ) -> Tensor<Ad, 3> {
        let [batch, seq, hidden] = q.dims();
        let head_dim = hidden / HEADS;
        let split = |t: Tensor<Ad, 3>| t.reshape([batch, seq, HEADS, head_dim]).swap_dims(1, 2);
        let mask = padding
            .clone()
            .reshape([batch, 1, 1, seq])
            .expand([batch, HEADS, seq, seq]);
        let scores = split(q).matmul(split(k).swap_dims(2, 3));
        let probabilities = composed(scores, mask, 1.0 / (head_dim as f64).sqrt());
        crate::dropout::apply(dropout, probabilities)
            .matmul(split(v))
            .swap_dims(1, 2)
            .reshape([batch, seq, hidden])
    }

    /// The context and the gradients of `Σ w ⊙ context` for q, k, v, with the backend
    /// seeded just before the attention (the dropout draw).
    fn run(
        prob: f64,
        attend: impl Fn(Projections<Ad>, &Tensor<Ad, 2, Bool>, &Dropout) -> Tensor<Ad, 3>,
    ) -> [TensorData; 4] {
        let ((q, k, v), padding, weights) = inputs();
        let (q, k, v) = (q.require_grad(), k.require_grad(), v.require_grad());
        let dropout = DropoutConfig::new(prob).init();
        let context = {
            let _rng = crate::backend::seeded_rng_section();
            <Ad as Backend>::seed(&Default::default(), 7);
            attend((q.clone(), k.clone(), v.clone()), &padding, &dropout)
        };
        let grads = (context.clone() * weights).sum().backward();
        [
            context.into_data(),
            q.grad(&grads).unwrap().into_data(),
            k.grad(&grads).unwrap().into_data(),
            v.grad(&grads).unwrap().into_data(),
        ]
    }

    #[test]
    fn fused_equals_burns_ops_in_value_and_every_gradient() {
        for prob in [0.0, 0.1, 0.5] {
            crate::specialize::trace::taken();
            let fused = run(prob, |(q, k, v), padding, dropout| {
                fused_training_attention(q, k, v, padding, HEADS, dropout)
                    .unwrap_or_else(|_| panic!("Autodiff<Flex> f32 is fused"))
            });
            assert_eq!(crate::specialize::trace::taken(), ["attention_training"]);
            let expected = run(prob, composition);
            for (name, (a, b)) in ["context", "q", "k", "v"]
                .iter()
                .zip(fused.iter().zip(&expected))
            {
                let worst = a
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .zip(b.to_vec::<f32>().unwrap())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "p = {prob}, {name}: largest difference {worst}"
                );
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-5));
            }
        }
    }

    #[test]
    fn padding_keys_get_no_weight_and_no_gradient() {
        let ((q, k, v), padding, weights) = inputs();
        let (k, v) = (k.require_grad(), v.require_grad());
        let dropout = DropoutConfig::new(0.1).init();
        // The dropout mask is drawn from the process-wide RNG: inside the section, so that the
        // draw cannot land between another test's seeding and its draws.
        let context = {
            let _rng = crate::backend::seeded_rng_section();
            fused_training_attention(q, k.clone(), v.clone(), &padding, HEADS, &dropout)
                .unwrap_or_else(|_| panic!("fused"))
        };
        let grads = (context * weights).sum().backward();
        let padded: Vec<bool> = padding.into_data().to_vec().unwrap();
        for grad in [k.grad(&grads).unwrap(), v.grad(&grads).unwrap()] {
            let grad: Vec<f32> = grad.into_data().to_vec().unwrap();
            for (token, row) in grad.chunks(32).enumerate() {
                if padded[token] {
                    assert!(row.iter().all(|&g| g == 0.0), "token {token}: {row:?}");
                }
            }
        }
    }

    #[test]
    fn other_backends_and_dtypes_are_declined() {
        let device = Default::default();
        let dropout = DropoutConfig::new(0.1).init();
        let t = Tensor::<Flex, 3>::zeros([1, 2, 4], &device);
        let padding = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(vec![false, false], [1, 2]),
            &device,
        );
        assert!(fused_training_attention(t.clone(), t.clone(), t, &padding, 2, &dropout).is_err());
        let half = Tensor::<Ad, 3>::zeros([1, 2, 4], &device).cast(DType::F16);
        let padding =
            Tensor::<Ad, 2, Bool>::from_data(TensorData::new(vec![false, false], [1, 2]), &device);
        let declined =
            fused_training_attention(half.clone(), half.clone(), half, &padding, 2, &dropout);
        assert!(declined.is_err());
    }
}
