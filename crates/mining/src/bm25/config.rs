//! BM25 settings: the scoring variant, k1, b, delta, and the analyzer.

use serde::{Deserialize, Serialize};

use crate::analyzer::AnalyzerConfig;
use crate::error::{MiningError, Result};

/// The BM25 formula. With `N` documents, `df` documents holding the term, `tf` occurrences in
/// a document of length `dl` (in terms, after stop words) and mean length `avgdl`, let
/// `L = 1 − b + b·dl/avgdl`. Following Kamphuis et al. (ECIR 2020) and bm25s:
///
/// | variant | idf | term-frequency part |
/// |---|---|---|
/// | `lucene` (default) | ln(1 + (N − df + 0.5)/(df + 0.5)) | tf / (tf + k1·L) |
/// | `robertson` | ln((N − df + 0.5)/(df + 0.5)), floored at 0 | tf / (tf + k1·L) |
/// | `atire` | ln(N/df) | (k1 + 1)·tf / (tf + k1·L) |
/// | `bm25l` | ln((N + 1)/(df + 0.5)) | (k1 + 1)(c + δ)/(k1 + c + δ), c = tf/L |
/// | `bm25plus` | ln((N + 1)/df) | (k1 + 1)·tf/(k1·L + tf) + δ |
///
/// Lucene (since 8.0) drops the constant (k1 + 1) factor, which does not change rankings; so
/// does bm25s's `lucene` method, whose scores ours match. For `bm25l` and `bm25plus` the
/// term-frequency part is non-zero at tf = 0; as in bm25s, every matched document also gets
/// that tf = 0 part for the query terms it lacks (a per-query constant). Only documents
/// sharing at least one query term with a positive weight are returned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bm25Variant {
    #[default]
    Lucene,
    Robertson,
    Atire,
    #[serde(rename = "bm25l")]
    Bm25L,
    #[serde(rename = "bm25plus")]
    Bm25Plus,
}

/// BM25 settings. Every field has a default (Anserini's / bm25s's Lucene BM25), so a TOML
/// table may name only some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bm25Config {
    /// Term-frequency saturation (default 0.9, Anserini).
    pub k1: f32,
    /// Length normalisation, 0 (none) to 1 (full) (default 0.4, Anserini).
    pub b: f32,
    /// Scoring formula (default `lucene`).
    pub variant: Bm25Variant,
    /// δ of BM25L and BM25+ (default 0.5); unused by the other variants.
    pub delta: f32,
    /// Tokenization, stop words, stemming (default: bm25s English).
    pub analyzer: AnalyzerConfig,
}

impl Default for Bm25Config {
    fn default() -> Self {
        Self {
            k1: 0.9,
            b: 0.4,
            variant: Bm25Variant::Lucene,
            delta: 0.5,
            analyzer: AnalyzerConfig::default(),
        }
    }
}

impl Bm25Config {
    /// Checks the ranges: k1 ≥ 0, 0 ≤ b ≤ 1, δ ≥ 0, all finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(MiningError::Config(what.to_string()));
        if !(self.k1.is_finite() && self.k1 >= 0.0) {
            return bad("bm25.k1 must be a finite number ≥ 0");
        }
        if !(0.0..=1.0).contains(&self.b) {
            return bad("bm25.b must lie in [0, 1]");
        }
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return bad("bm25.delta must be a finite number ≥ 0");
        }
        Ok(())
    }

    /// Inverse document frequency of a term held by `df` of `n` documents.
    pub fn idf(&self, df: u32, n: u32) -> f64 {
        let (df, n) = (df as f64, n as f64);
        match self.variant {
            Bm25Variant::Lucene => (1.0 + (n - df + 0.5) / (df + 0.5)).ln(),
            Bm25Variant::Robertson => ((n - df + 0.5) / (df + 0.5)).max(1.0).ln(),
            Bm25Variant::Atire => (n / df).ln(),
            Bm25Variant::Bm25L => ((n + 1.0) / (df + 0.5)).ln(),
            Bm25Variant::Bm25Plus => ((n + 1.0) / df).ln(),
        }
    }

    /// The term-frequency part for `tf` occurrences in a document with length factor
    /// `l = 1 − b + b·dl/avgdl`.
    pub fn tf_part(&self, tf: f32, l: f32) -> f32 {
        let (k1, delta) = (self.k1, self.delta);
        match self.variant {
            Bm25Variant::Lucene | Bm25Variant::Robertson => tf / (tf + k1 * l),
            Bm25Variant::Atire => (k1 + 1.0) * tf / (tf + k1 * l),
            Bm25Variant::Bm25L => {
                let c = tf / l;
                (k1 + 1.0) * (c + delta) / (k1 + c + delta)
            }
            Bm25Variant::Bm25Plus => (k1 + 1.0) * tf / (k1 * l + tf) + delta,
        }
    }
}
