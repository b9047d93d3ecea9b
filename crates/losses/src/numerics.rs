//! Numerically stable building blocks: softplus, log-sum-exp and log-softmax over the real
//! entries of a masked tensor. All shift by a detached maximum, so nothing overflows at
//! |x| = 1e4 and the gradients are exact (the shift cancels analytically).

use burn::tensor::{backend::Backend, Bool, Tensor};

/// Stand-in for padded logits inside a log-sum-exp: far below any real score, yet finite so
/// that no `inf - inf` can appear.
const PADDED_LOGIT: f32 = -1.0e30;

/// `softplus(x) = log(1 + e^x)`, computed as `m + log(e^-m + e^(x-m))` with `m = max(x, 0)`
/// detached: both exponents are <= 0, and the gradient is exactly `sigmoid(x)` (also at 0).
pub(crate) fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let shift = x.clone().clamp_min(0.0).detach();
    let stay = shift.clone().neg().exp();
    let fire = (x - shift.clone()).exp();
    (stay + fire).log() + shift
}

/// Log-sum-exp of `x` over the entries of `dim` where `valid` is true; `dim` is kept with size 1.
/// Rows without a real entry give a very negative finite value the caller must mask out.
pub(crate) fn masked_logsumexp<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    valid: Tensor<B, D, Bool>,
    dim: usize,
) -> Tensor<B, D> {
    let x = x.mask_fill(valid.bool_not(), PADDED_LOGIT);
    let shift = x.clone().detach().max_dim(dim);
    (x - shift.clone()).exp().sum_dim(dim).log() + shift
}

/// Log-softmax of `x` over the real entries of `dim`; padded entries are 0.
pub(crate) fn masked_log_softmax<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    valid: Tensor<B, D, Bool>,
    dim: usize,
) -> Tensor<B, D> {
    let log_normalizer = masked_logsumexp(x.clone(), valid.clone(), dim);
    (x - log_normalizer).mask_fill(valid.bool_not(), 0.0)
}

/// Softmax of `x` over the real entries of `dim`; padded entries are exactly 0.
pub(crate) fn masked_softmax<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    valid: Tensor<B, D, Bool>,
    dim: usize,
) -> Tensor<B, D> {
    masked_log_softmax(x, valid.clone(), dim)
        .exp()
        .mask_fill(valid.bool_not(), 0.0)
}

/// Log-sum-exp of `x` over `dim` (kept with size 1), shifted by the detached maximum.
pub(crate) fn logsumexp<B: Backend, const D: usize>(x: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let shift = x.clone().detach().max_dim(dim);
    (x - shift.clone()).exp().sum_dim(dim).log() + shift
}
