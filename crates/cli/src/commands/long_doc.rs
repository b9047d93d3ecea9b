//! `--long-doc truncate|max-chunk` and its window settings.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use rankforge_model::{LongDocMode, LongDocSettings, DEFAULT_MAX_WINDOWS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LongDocKind {
    /// Cut each pair at the max length (longest_first).
    Truncate,
    /// Score overlapping windows of the document and keep the best (MaxP).
    MaxChunk,
}

#[derive(Debug, Clone, Args)]
pub struct LongDocArgs {
    /// What to do with documents longer than the model's input.
    #[arg(long, value_enum, default_value_t = LongDocKind::Truncate)]
    pub long_doc: LongDocKind,
    /// max-chunk: document tokens per window (shrunk to what the query leaves free).
    #[arg(long, default_value_t = 384)]
    pub chunk_window: usize,
    /// max-chunk: tokens between the starts of consecutive windows (≤ window; overlap =
    /// window − stride).
    #[arg(long, default_value_t = 256)]
    pub chunk_stride: usize,
    /// max-chunk: windows per document at most (the first ones; they cover window + (n − 1) ×
    /// stride tokens). A document needing more is reported on stderr.
    #[arg(long, default_value_t = DEFAULT_MAX_WINDOWS)]
    pub chunk_max_windows: usize,
}

impl LongDocArgs {
    /// The long-document settings for the model builder (`CrossEncoderBuilder::long_doc`).
    pub fn mode(&self) -> Result<LongDocSettings> {
        if self.long_doc == LongDocKind::MaxChunk && self.chunk_max_windows == 0 {
            bail!("--chunk-max-windows must be at least 1");
        }
        let mode = match self.long_doc {
            LongDocKind::Truncate => LongDocMode::Truncate,
            LongDocKind::MaxChunk => {
                if self.chunk_window == 0
                    || self.chunk_stride == 0
                    || self.chunk_stride > self.chunk_window
                {
                    bail!(
                        "--chunk-stride must be between 1 and --chunk-window (got window {}, stride {})",
                        self.chunk_window,
                        self.chunk_stride
                    );
                }
                LongDocMode::MaxChunk {
                    window: self.chunk_window,
                    stride: self.chunk_stride,
                }
            }
        };
        Ok(LongDocSettings::from(mode).with_max_windows(self.chunk_max_windows))
    }
}
