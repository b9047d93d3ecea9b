//! The one inference path: tokenized sequences → length-sorted batches bounded by a token
//! budget and a batch size → padded to each batch's longest → forward without autodiff →
//! rows back in input order. `predict`, `rerank`, `embed`, evaluation, teacher scoring and the
//! HTTP server all run through [`run_batched`].

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::bert::BertInput;
use crate::tokenize::Encoded;

/// How sequences are grouped into forward passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchingConfig {
    /// Sequences per forward pass at most. Default: 32.
    pub max_batch_size: usize,
    /// Padded tokens (sequences × the batch's longest) per forward pass at most. Default: 16384.
    pub max_batch_tokens: usize,
}

impl BatchingConfig {
    /// Sequences per forward pass at most, unless set.
    pub const DEFAULT_MAX_BATCH_SIZE: usize = 32;
    /// Padded tokens per forward pass at most, unless set.
    pub const DEFAULT_MAX_BATCH_TOKENS: usize = 16384;
}

impl Default for BatchingConfig {
    fn default() -> Self {
        Self {
            max_batch_size: Self::DEFAULT_MAX_BATCH_SIZE,
            max_batch_tokens: Self::DEFAULT_MAX_BATCH_TOKENS,
        }
    }
}

/// How large a batch's biggest intermediate tensors grow: the attention scores hold
/// `batch × heads × seq²` values, the widest per-token activation (the feed-forward's
/// intermediate layer) `batch × seq × widest_row`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationShape {
    pub heads: usize,
    pub widest_row: usize,
}

impl ActivationShape {
    /// The shape of an encoder ([`crate::encoder_config::EncoderDims::activation_shape`]).
    pub fn of(config: &impl crate::encoder_config::EncoderDims) -> Self {
        config.activation_shape()
    }

    /// Values in the largest activation of `batch` sequences padded to `seq` tokens.
    pub fn largest(&self, batch: usize, seq: usize) -> usize {
        batch
            .saturating_mul(seq)
            .saturating_mul((self.heads.saturating_mul(seq)).max(self.widest_row))
    }
}

/// A bound on one tensor's size on the device (see `rankforge_kernels::backend::max_tensor_bytes`):
/// batches are cut so that their largest activation holds at most `max_values` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorLimit {
    pub shape: ActivationShape,
    pub max_values: usize,
}

/// Groups sequence indices into batches: longest first, each batch as large as the batch size,
/// the token budget and `limit` allow (a single sequence over a bound still gets its own
/// batch).
pub fn plan_batches(
    lengths: &[usize],
    config: &BatchingConfig,
    limit: Option<TensorLimit>,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]).then(a.cmp(&b)));
    let max_size = config.max_batch_size.max(1);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for index in order {
        // Sorted longest first, so the batch's first sequence sets its padded length.
        let padded = current
            .first()
            .map_or(lengths[index], |&first| lengths[first])
            .max(1);
        if !current.is_empty()
            && (current.len() + 1 > max_size
                || (current.len() + 1) * padded > config.max_batch_tokens
                || limit.is_some_and(|l| l.shape.largest(current.len() + 1, padded) > l.max_values))
        {
            batches.push(std::mem::take(&mut current));
        }
        current.push(index);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Pads sequences to the longest of them and builds the model input.
pub fn collate<B: Backend>(items: &[&Encoded], device: &B::Device) -> BertInput<B> {
    let batch = items.len();
    let seq = items.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![0i64; batch * seq];
    let mut types = vec![0i64; batch * seq];
    let mut padding = vec![true; batch * seq];
    for (row, item) in items.iter().enumerate() {
        for (col, (&id, &ty)) in item.ids.iter().zip(&item.type_ids).enumerate() {
            ids[row * seq + col] = id as i64;
            types[row * seq + col] = ty as i64;
            padding[row * seq + col] = false;
        }
    }
    BertInput {
        input_ids: Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [batch, seq]), device),
        token_type_ids: Tensor::<B, 2, Int>::from_data(
            TensorData::new(types, [batch, seq]),
            device,
        ),
        padding_mask: Tensor::<B, 2, Bool>::from_data(
            TensorData::new(padding, [batch, seq]),
            device,
        ),
    }
}

/// Runs `forward` (a batch → `[batch, width]`) over all sequences and returns one row per
/// sequence, in input order. `progress` advances by sequences done.
pub fn run_batched<B: Backend>(
    sequences: &[Encoded],
    config: &BatchingConfig,
    limit: Option<TensorLimit>,
    device: &B::Device,
    progress: Option<&ProgressBar>,
    mut forward: impl FnMut(BertInput<B>) -> Tensor<B, 2>,
) -> Vec<Vec<f32>> {
    let lengths: Vec<usize> = sequences.iter().map(Encoded::len).collect();
    let mut rows: Vec<Vec<f32>> = vec![Vec::new(); sequences.len()];
    for batch in plan_batches(&lengths, config, limit) {
        let items: Vec<&Encoded> = batch.iter().map(|&i| &sequences[i]).collect();
        let output = forward(collate(&items, device));
        let [_, width] = output.dims();
        let values: Vec<f32> = output
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("model output converts to f32");
        for (row, &index) in batch.iter().enumerate() {
            rows[index] = values[row * width..(row + 1) * width].to_vec();
        }
        if let Some(bar) = progress {
            bar.inc(batch.len() as u64);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_size_and_token_budget() {
        let lengths = [10, 200, 30, 200, 5, 90];
        let config = BatchingConfig {
            max_batch_size: 3,
            max_batch_tokens: 400,
        };
        let batches = plan_batches(&lengths, &config, None);
        assert_eq!(batches, vec![vec![1, 3], vec![5, 2, 0], vec![4]]);
        for batch in &batches {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(batch.len() <= 3 && batch.len() * longest <= 400);
        }
        let mut all: Vec<usize> = batches.concat();
        all.sort();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
    }

    #[test]
    fn oversized_sequence_gets_its_own_batch() {
        let batches = plan_batches(
            &[1000, 3],
            &BatchingConfig {
                max_batch_size: 8,
                max_batch_tokens: 100,
            },
            None,
        );
        assert_eq!(batches, vec![vec![0], vec![1]]);
    }

    /// The measured lavapipe case: 11 sequences of 512 tokens with 12 heads hold 138 MB of
    /// attention scores, over a 128 MiB tensor limit; 10 hold 126 MB.
    #[test]
    fn a_tensor_limit_cuts_batches_whose_attention_scores_would_not_fit() {
        let limit = TensorLimit {
            shape: ActivationShape {
                heads: 12,
                widest_row: 1536,
            },
            max_values: (128 << 20) / 4,
        };
        let batches = plan_batches(&[512; 11], &BatchingConfig::default(), Some(limit));
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [10, 1]);
        // Short sequences are bounded by the feed-forward rows instead: 64 × 512 tokens × 1536.
        let wide = TensorLimit {
            shape: ActivationShape {
                heads: 1,
                widest_row: 1536,
            },
            max_values: 64 * 512 * 1536,
        };
        let config = BatchingConfig {
            max_batch_size: 1000,
            max_batch_tokens: usize::MAX,
        };
        let batches = plan_batches(&[512; 100], &config, Some(wide));
        assert_eq!(batches[0].len(), 64);
        assert_eq!(plan_batches(&[512; 11], &config, None).len(), 1);
    }

    #[test]
    fn empty_input_plans_nothing() {
        assert!(plan_batches(&[], &BatchingConfig::default(), None).is_empty());
    }
}
