//! Built-in stop-word lists.

/// English stop words of bm25s (`stopwords="en"`), which are Lucene's / Anserini's default
/// English list: 33 words, checked after lowercasing and before stemming.
pub const ENGLISH: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with",
];
