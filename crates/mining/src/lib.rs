//! First-stage retrieval and training-data mining for rankforge.
//!
//! - [`bm25`]: Lucene-style BM25 (and Robertson, ATIRE, BM25L, BM25+) over an in-memory
//!   inverted index with exact, deterministic, multi-threaded top-k search; saved and loaded
//!   in a versioned binary format.
//! - [`analyzer`]: Unicode tokenization, stop words, Snowball stemming, CJK bigrams.
//! - [`retriever`]: the [`CandidateRetriever`] and [`Rescorer`] traits that any first stage
//!   (BM25 here; dense retrieval and cross-encoders elsewhere) implements.
//! - [`fusion`]: reciprocal-rank and weighted score fusion of runs.
//! - [`miner`]: hard-negative mining with sentence-transformers' knobs, written as triplets,
//!   n-tuples, labeled pairs/lists or FlagEmbedding jsonl.
//!
//! Everything a command needs is a plain config struct with serde defaults and
//! `deny_unknown_fields`, so a TOML file can fill it.

pub mod analyzer;
pub mod bm25;
pub mod error;
pub mod fusion;
pub mod miner;
pub mod retriever;
pub mod stopwords;

pub use analyzer::{
    Analyzer, AnalyzerConfig, CjkMode, Splitter, StemmerLanguage, StopWordList, StopWords,
};
pub use bm25::{Bm25Config, Bm25Index, Bm25Variant, Hit, IndexDocument, SearchScratch};
pub use error::{MiningError, Result};
pub use fusion::{
    fuse, reciprocal_rank_fusion, score_fusion, FusedRetriever, FusionConfig, FusionMethod,
    Normalization,
};
pub use miner::{
    mine_hard_negatives, mined_records, write_mined, FilterCounts, Mined, MinedDoc, MinedQuery,
    MinerConfig, MiningData, MiningSummary, OutputFormat, Sampling, ScoreStats,
};
pub use retriever::{bm25_retrieve, Bm25RetrieveConfig, CandidateRetriever, Rescorer};
