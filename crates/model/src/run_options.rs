//! What every model wrapper shares: run options (batching, progress), the one-label score
//! activation, and the tokenizer of a model directory cut at a checked max length.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::bert::BertInput;
use crate::encoder_config::EncoderDims;
use crate::error::{ModelError, Result};
use crate::hf;
use crate::inference::{run_batched, ActivationShape, BatchingConfig, TensorLimit};
use crate::tokenize::{Encoded, TextTokenizer};

/// The most tokens a sequence gets when the model allows more.
pub const MAX_LENGTH_CAP: usize = 512;

/// A progress bar on stderr for `len` sequences, hidden when `show` is false.
pub fn progress_bar(len: usize, show: bool, message: &str) -> Option<ProgressBar> {
    show.then(|| {
        let bar = ProgressBar::new(len as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {bar:30} {pos}/{len} [{elapsed_precise} < {eta_precise}, {per_sec}]",
            )
            .expect("valid template"),
        );
        bar.set_message(message.to_string());
        bar
    })
}

/// Score activation of a one-label cross-encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `1 / (1 + e^-logit)`: sentence-transformers' default for one label.
    #[default]
    Sigmoid,
    /// The raw logit.
    Identity,
}

impl Activation {
    /// The score of a one-label logit.
    pub fn apply(self, logit: f32) -> f32 {
        match self {
            Activation::Sigmoid => 1.0 / (1.0 + (-logit).exp()),
            Activation::Identity => logit,
        }
    }
}

/// Settings shared by everything that runs a model.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub batching: BatchingConfig,
    /// Show a progress bar on stderr for long inputs.
    pub progress: bool,
}

/// The tokenizer of the model directory `dir`, cutting sequences at `requested` tokens or, by
/// default, at the model's position limit (capped at [`MAX_LENGTH_CAP`]); a request beyond the
/// position table is an error, and so is a tokenizer with ids the word embedding has no row for
/// ([`check_vocab_fits`]).
pub fn tokenizer_for_model(
    dir: &Path,
    requested: Option<usize>,
    config: &impl EncoderDims,
) -> Result<TextTokenizer> {
    let max_length = checked_max_length(requested, config)?;
    let path = dir.join(hf::TOKENIZER_FILE);
    let tokenizer = TextTokenizer::from_file(&path, max_length)?;
    check_vocab_fits(&tokenizer, &path, config, &dir.join(hf::CONFIG_FILE))?;
    Ok(tokenizer)
}

/// Every id the tokenizer can produce (its vocabulary and added tokens) must have a row in the
/// word embedding (`config.json` `vocab_size` rows; the weights are checked against that shape
/// when loaded): an id past the table would fail deep inside the forward pass instead.
pub fn check_vocab_fits(
    tokenizer: &TextTokenizer,
    tokenizer_path: &Path,
    config: &impl EncoderDims,
    config_path: &Path,
) -> Result<()> {
    let inner = tokenizer.inner();
    let vocab = inner.get_vocab(true);
    let tokens = vocab.len();
    let Some((token, &max_id)) = vocab.iter().max_by_key(|(_, &id)| id) else {
        return Ok(());
    };
    let rows = config.vocab_size();
    if (max_id as usize) < rows {
        return Ok(());
    }
    Err(ModelError::Config {
        path: config_path.to_path_buf(),
        field: "vocab_size".into(),
        message: format!(
            "the model's word embedding has {rows} rows, but the tokenizer {} has {tokens} \
             tokens (added tokens included) with ids up to {max_id} ({token:?}); ids from {rows} \
             on have no embedding. Use the tokenizer the model was trained with, or resize the \
             model's embeddings to {} rows.",
            tokenizer_path.display(),
            max_id as usize + 1
        ),
    })
}

/// `requested`, checked against the position table, or the default limit (the position table
/// capped at [`MAX_LENGTH_CAP`]). The position table holds [`EncoderDims::max_positions`]
/// tokens (XLM-RoBERTa: two fewer than its rows).
pub fn checked_max_length(requested: Option<usize>, config: &impl EncoderDims) -> Result<usize> {
    let positions = config.max_positions();
    match requested {
        None => Ok(positions.min(MAX_LENGTH_CAP)),
        Some(n) if n >= 1 && n <= positions => Ok(n),
        Some(n) => Err(ModelError::Invalid(format!(
            "max length {n} exceeds what the model supports ({positions} positions)"
        ))),
    }
}

impl RunOptions {
    /// [`run_batched`] under these options, with a progress bar titled `message` for inputs
    /// long enough to need one. On a backend that bounds one tensor's size
    /// (`rankforge_kernels::backend::max_tensor_bytes`: wgpu), batches are also cut so that the
    /// largest activation of a model of `shape` fits.
    pub fn run<B: Backend>(
        &self,
        sequences: &[Encoded],
        shape: ActivationShape,
        device: &B::Device,
        message: &str,
        forward: impl FnMut(BertInput<B>) -> Tensor<B, 2>,
    ) -> Vec<Vec<f32>> {
        let bar = progress_bar(
            sequences.len(),
            self.progress && sequences.len() > 256,
            message,
        );
        let limit = rankforge_kernels::backend::max_tensor_bytes::<B>().map(|bytes| TensorLimit {
            shape,
            max_values: bytes / std::mem::size_of::<f32>(),
        });
        let rows = run_batched(
            sequences,
            &self.batching,
            limit,
            device,
            bar.as_ref(),
            forward,
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        rows
    }
}
