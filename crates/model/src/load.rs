//! The one way to load a model for use: [`CrossEncoder::builder`] and [`BiEncoder::builder`]
//! read an HF directory and apply the settings every consumer (CLI commands, evaluation, the
//! trainer, the server) shares: max length (checked against the model's positions), precision,
//! the seed of a new classification head, batching and progress, long-document handling.
//!
//! ```no_run
//! use rankforge_model::{backend::Cpu, CrossEncoder, Precision};
//! let (scorer, report) = CrossEncoder::<Cpu>::builder("runs/quickstart/best")
//!     .max_length(Some(256))
//!     .precision(Precision::F32)
//!     .load(&Default::default())?;
//! report.warn();
//! # Ok::<(), rankforge_model::ModelError>(())
//! ```

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;

use crate::error::{ModelError, Result};
use crate::hf::{self, LoadReport};
use crate::inference::BatchingConfig;
use crate::run_options::{tokenizer_for_model, Activation, RunOptions};
use crate::tokenize::{LongDocMode, LongDocSettings};
use crate::{BiEncoder, CrossEncoder};
use rankforge_kernels::precision::{cast_module, Precision};

/// Seed of the classification head made for a checkpoint that has none, unless set.
pub const DEFAULT_HEAD_SEED: u64 = 42;

/// Where the length comes from when neither the caller nor the directory sets one.
const DEFAULT_LENGTH_SOURCE: &str = "no saved length: the position table, capped at 512";

/// The settings both builders share, with their defaults.
#[derive(Debug, Clone)]
struct Settings {
    dir: PathBuf,
    /// `None`: the model's own limit (see the model types' `load`).
    max_length: Option<usize>,
    /// Default f32; half types cast the weights once after loading.
    precision: Precision,
    run: RunOptions,
}

impl Settings {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            max_length: None,
            precision: Precision::F32,
            run: RunOptions::default(),
        }
    }
}

/// Setters shared by both builders.
macro_rules! shared_setters {
    () => {
        /// Tokens per sequence at most; `None` (the default) takes the length the model was
        /// saved with (cross-encoders: `tokenizer_config.json` `model_max_length`, or the
        /// legacy `config_sentence_transformers.json` `max_length`; bi-encoders:
        /// `sentence_bert_config.json` `max_seq_length`, else, as sentence-transformers 5+
        /// saves it, `tokenizer_config.json` `model_max_length`), capped by the position table
        /// ([`crate::BertConfig::max_positions`]), else the position table capped at 512.
        pub fn max_length(mut self, max_length: Option<usize>) -> Self {
            self.settings.max_length = max_length;
            self
        }

        /// Float type of the forward pass (default f32).
        pub fn precision(mut self, precision: Precision) -> Self {
            self.settings.precision = precision;
            self
        }

        /// Batch limits (default: [`BatchingConfig::default`]).
        pub fn batching(mut self, batching: BatchingConfig) -> Self {
            self.settings.run.batching = batching;
            self
        }

        /// A progress bar on stderr for long inputs (default off).
        pub fn progress(mut self, progress: bool) -> Self {
            self.settings.run.progress = progress;
            self
        }
    };
}

/// Loads a [`CrossEncoder`]; made by [`CrossEncoder::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `load`"]
pub struct CrossEncoderBuilder<B: Backend> {
    backend: PhantomData<fn() -> B>,
    settings: Settings,
    head_seed: u64,
    activation: Activation,
    long_doc: LongDocSettings,
}

impl<B: Backend> CrossEncoderBuilder<B> {
    shared_setters!();

    /// Seed of the new head for a checkpoint without one (default [`DEFAULT_HEAD_SEED`]).
    pub fn head_seed(mut self, seed: u64) -> Self {
        self.head_seed = seed;
        self
    }

    /// Score activation (default sigmoid).
    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Long documents: truncated (default) or scored by their best window. Takes a
    /// [`LongDocMode`] (at most
    /// [`DEFAULT_MAX_WINDOWS`](crate::tokenize::DEFAULT_MAX_WINDOWS) windows per document) or
    /// [`LongDocSettings`] with another cap.
    pub fn long_doc(mut self, long_doc: impl Into<LongDocSettings>) -> Self {
        self.long_doc = long_doc.into();
        self
    }

    /// Reads the directory and applies the settings; the report says what loading made up.
    pub fn load(self, device: &B::Device) -> Result<(CrossEncoder<B>, LoadReport)> {
        let Settings { dir, .. } = &self.settings;
        self.settings
            .precision
            .check_backend::<B>()
            .map_err(ModelError::Invalid)?;
        if matches!(self.long_doc.mode, LongDocMode::MaxChunk { .. })
            && self.long_doc.max_windows == 0
        {
            return Err(ModelError::Invalid(
                "max-chunk needs at least 1 window per document (max_windows 0)".into(),
            ));
        }
        let (model, config, mut report) = hf::load_cross_encoder::<B>(dir, self.head_seed, device)?;
        report.source = dir.clone();
        report.head_seed = self.head_seed;
        let saved = hf::saved_max_length(dir)?;
        let positions = config.max_positions();
        let (requested, source) = match (self.settings.max_length, saved) {
            (Some(n), _) => (Some(n), "set at load".to_string()),
            (None, Some((n, from))) if n > positions => (
                Some(positions),
                format!("{from} says {n}, capped by the position table"),
            ),
            (None, Some((n, from))) => (Some(n), from.to_string()),
            (None, None) => (None, DEFAULT_LENGTH_SOURCE.to_string()),
        };
        let tokenizer = tokenizer_for_model(dir, requested, &config)?;
        report.max_length = Some((tokenizer.max_length(), source));
        let mut scorer = CrossEncoder::from_parts(model, config, tokenizer, dir, device.clone());
        scorer.model = cast_module(scorer.model, self.settings.precision);
        scorer.run = self.settings.run;
        scorer.activation = self.activation;
        scorer.long_doc = self.long_doc.mode;
        scorer.max_windows = self.long_doc.max_windows;
        Ok((scorer, report))
    }
}

/// Loads a [`BiEncoder`]; made by [`BiEncoder::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `load`"]
pub struct BiEncoderBuilder<B: Backend> {
    backend: PhantomData<fn() -> B>,
    settings: Settings,
}

impl<B: Backend> BiEncoderBuilder<B> {
    shared_setters!();

    /// Reads the directory (sentence-transformers modules if present) and applies the settings.
    pub fn load(self, device: &B::Device) -> Result<(BiEncoder<B>, LoadReport)> {
        let Settings { dir, .. } = &self.settings;
        self.settings
            .precision
            .check_backend::<B>()
            .map_err(ModelError::Invalid)?;
        let (model, config, mut report) = hf::load_bi_encoder::<B>(dir, device)?;
        report.source = dir.clone();
        let settings = hf::read_sentence_transformer_settings(dir)?;
        // sentence-transformers 5+ saves the length as the tokenizer's `model_max_length` only
        // (and reads `max_seq_length` first, where an older version wrote it).
        let saved = match settings.max_seq_length {
            Some(n) => Some((n, "sentence_bert_config.json `max_seq_length`".to_string())),
            None => hf::saved_max_length(dir)?
                .filter(|(_, from)| *from == hf::SavedLengthSource::TokenizerConfig)
                .map(|(n, from)| (n, from.to_string())),
        };
        let positions = config.max_positions();
        let (requested, source) = match (self.settings.max_length, saved) {
            (Some(n), _) => (Some(n), "set at load".to_string()),
            (None, Some((n, from))) if n > positions => (
                Some(positions),
                format!("{from} says {n}, capped by the position table"),
            ),
            (None, Some((n, from))) => (Some(n), from),
            (None, None) => (None, DEFAULT_LENGTH_SOURCE.to_string()),
        };
        let tokenizer = tokenizer_for_model(dir, requested, &config)?;
        report.max_length = Some((tokenizer.max_length(), source));
        let mut encoder =
            BiEncoder::from_parts(model, config, settings, tokenizer, dir, device.clone());
        encoder.model = cast_module(encoder.model, self.settings.precision);
        encoder.run = self.settings.run;
        Ok((encoder, report))
    }
}

impl<B: Backend> CrossEncoder<B> {
    /// A builder that loads the HF directory `dir` as a cross-encoder.
    pub fn builder(dir: impl AsRef<Path>) -> CrossEncoderBuilder<B> {
        CrossEncoderBuilder {
            backend: PhantomData,
            settings: Settings::new(dir.as_ref()),
            head_seed: DEFAULT_HEAD_SEED,
            activation: Activation::default(),
            long_doc: LongDocSettings::default(),
        }
    }
}

impl<B: Backend> BiEncoder<B> {
    /// A builder that loads the HF (or sentence-transformers) directory `dir` as a bi-encoder.
    pub fn builder(dir: impl AsRef<Path>) -> BiEncoderBuilder<B> {
        BiEncoderBuilder {
            backend: PhantomData,
            settings: Settings::new(dir.as_ref()),
        }
    }
}

impl LoadReport {
    /// What the user should know about this load, one line each: the max length and where it
    /// came from, a made-up head or pooler, tensors left unused.
    pub fn notices(&self) -> Vec<String> {
        let dir = self.source.display();
        let mut lines = Vec::new();
        if let Some((length, source)) = &self.max_length {
            lines.push(format!(
                "note: {dir}: max length {length} tokens ({source})"
            ));
        }
        lines.extend(self.notes.iter().map(|note| format!("note: {dir}: {note}")));
        match (self.new_head, &self.new_head_kind) {
            (true, None) => lines.push(format!(
                "warning: {dir} has no classification head; a new one was initialised (seed {}). \
                 Its scores mean nothing until the model is fine-tuned.",
                self.head_seed
            )),
            (true, Some(kind)) => lines.push(format!(
                "note: {dir}: new {kind} (seed {}), trained from here",
                self.head_seed
            )),
            (false, _) => {}
        }
        if self.new_pooler {
            lines.push(format!(
                "warning: {dir} has no pooler; a new one was initialised."
            ));
        }
        if !self.unused.is_empty() {
            lines.push(format!(
                "note: {} tensors in the checkpoint are not used: {}",
                self.unused.len(),
                self.unused.join(", ")
            ));
        }
        lines
    }

    /// Prints [`Self::notices`] to stderr.
    pub fn warn(&self) {
        for line in self.notices() {
            eprintln!("{line}");
        }
    }
}
