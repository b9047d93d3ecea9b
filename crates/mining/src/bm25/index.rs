//! The inverted index: vocabulary, postings (document, term frequency) and document lengths,
//! built in parallel.
//!
//! # Layout and memory
//! Documents get internal numbers `0..N` in descending order of their ids, so that ranking
//! ties broken by the lower internal number come out in trec_eval's order (score descending,
//! then document id descending), and results are deterministic whatever the thread count.
//!
//! | part | bytes |
//! |---|---|
//! | per posting (a document holding a term): doc number `u32` + term frequency `u16` | 6 |
//! | per document: id (`String`, 24 + id length), length `u32`, length factor `f32` | 32 + id length |
//! | per term: the string (16 + length), hash-map slot (~12), offset `u64`, idf `f32` | ~40 + length |
//! | per searching thread: score accumulator `f32` per document | 4 |
//!
//! So a document costs about `32 + id length + 6 × (distinct terms)` bytes: ~330 bytes for a
//! 50-distinct-term passage. Term frequencies above 65,535 are stored as 65,535 (the BM25
//! tf part is saturated by then: the score changes by under 10⁻⁵ relative).

use std::collections::HashMap;

use indicatif::{ProgressBar, ProgressStyle};
use rankforge_data::Document;
use rayon::prelude::*;

use crate::analyzer::Analyzer;
use crate::bm25::config::Bm25Config;
use crate::error::{MiningError, Result};

/// Something that can be indexed: an id and the text fields analysed one after the other.
pub trait IndexDocument: Sync {
    fn id(&self) -> &str;
    /// Text fields, analysed in order as if joined by a space (title, then text).
    fn fields(&self) -> [&str; 2];
}

impl IndexDocument for Document {
    fn id(&self) -> &str {
        &self.id
    }
    fn fields(&self) -> [&str; 2] {
        [&self.title, &self.text]
    }
}

/// `(id, text)` pairs.
impl<S: AsRef<str> + Sync> IndexDocument for (S, S) {
    fn id(&self) -> &str {
        self.0.as_ref()
    }
    fn fields(&self) -> [&str; 2] {
        ["", self.1.as_ref()]
    }
}

/// An immutable BM25 index. Build with [`Bm25Index::build`], search with
/// [`Bm25Index::search`] / [`Bm25Index::search_batch`], persist with [`Bm25Index::save`] and
/// [`Bm25Index::load`].
pub struct Bm25Index {
    pub(crate) config: Bm25Config,
    pub(crate) analyzer: Analyzer,
    /// External id of each internal document number.
    pub(crate) doc_ids: Vec<String>,
    /// Number of terms (after stop words) in each document.
    pub(crate) doc_lengths: Vec<u32>,
    /// Term string → term id.
    pub(crate) terms: HashMap<Box<str>, u32>,
    /// Postings of term `t` are `offsets[t]..offsets[t + 1]`.
    pub(crate) offsets: Vec<u64>,
    /// Internal document numbers, ascending within each term.
    pub(crate) posting_docs: Vec<u32>,
    /// Term frequencies, parallel to `posting_docs`.
    pub(crate) posting_tfs: Vec<u16>,
    // Derived from the above and the config when built or loaded:
    /// Inverse document frequency per term.
    pub(crate) idf: Vec<f32>,
    /// `1 − b + b·dl/avgdl` per document.
    pub(crate) length_factor: Vec<f32>,
}

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("documents", &self.num_docs())
            .field("terms", &self.num_terms())
            .field("postings", &self.num_postings())
            .field("config", &self.config)
            .finish()
    }
}

/// Documents analysed by one worker: a local vocabulary and per-document (term, tf) lists.
struct AnalysedChunk {
    /// Local term strings, by local id.
    vocab: Vec<Box<str>>,
    /// (local term id, tf) of every document, concatenated.
    terms: Vec<(u32, u32)>,
    /// End of each document's slice in `terms`.
    ends: Vec<usize>,
    lengths: Vec<u32>,
}

const CHUNK_DOCS: usize = 8192;

impl Bm25Index {
    /// Indexes `documents` (e.g. `corpus.documents()`, or `(id, text)` pairs). Duplicate ids
    /// are an error. Tokenization runs on rayon's thread pool; `progress` shows a bar on
    /// stderr.
    pub fn build<D: IndexDocument>(
        documents: &[D],
        config: &Bm25Config,
        progress: bool,
    ) -> Result<Self> {
        config.validate()?;
        let analyzer = Analyzer::new(config.analyzer.clone())?;
        if documents.len() >= u32::MAX as usize {
            return Err(MiningError::Config(format!(
                "{} documents: at most {} fit in an index",
                documents.len(),
                u32::MAX - 1
            )));
        }
        let bar = progress_bar(progress, documents.len() as u64, "BM25 analysing");
        let chunks: Vec<AnalysedChunk> = documents
            .par_chunks(CHUNK_DOCS)
            .map(|chunk| {
                let analysed = analyse_chunk(&analyzer, chunk);
                bar.inc(chunk.len() as u64);
                analysed
            })
            .collect();
        bar.finish_and_clear();

        // Global vocabulary in first-seen order (deterministic, whatever the threads did).
        let mut terms: HashMap<Box<str>, u32> = HashMap::new();
        let mut local_to_global: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let map = chunk
                .vocab
                .iter()
                .map(|term| {
                    let next = terms.len() as u32;
                    *terms.entry(term.clone()).or_insert(next)
                })
                .collect();
            local_to_global.push(map);
        }
        let num_terms = terms.len();

        // Internal numbering: ids descending (trec_eval's tie order).
        let mut order: Vec<u32> = (0..documents.len() as u32).collect();
        order.par_sort_unstable_by(|&a, &b| {
            documents[b as usize].id().cmp(documents[a as usize].id())
        });
        if let Some(pair) = order
            .windows(2)
            .find(|w| documents[w[0] as usize].id() == documents[w[1] as usize].id())
        {
            return Err(MiningError::Config(format!(
                "duplicate document id `{}` in the documents to index",
                documents[pair[0] as usize].id()
            )));
        }

        let mut df = vec![0u64; num_terms];
        for (chunk, map) in chunks.iter().zip(&local_to_global) {
            for &(local, _) in &chunk.terms {
                df[map[local as usize] as usize] += 1;
            }
        }
        let mut offsets = Vec::with_capacity(num_terms + 1);
        let mut total = 0u64;
        offsets.push(0);
        for &count in &df {
            total += count;
            offsets.push(total);
        }
        drop(df);
        let mut cursor: Vec<u64> = offsets[..num_terms].to_vec();
        let mut posting_docs = vec![0u32; total as usize];
        let mut posting_tfs = vec![0u16; total as usize];
        let mut doc_ids = Vec::with_capacity(documents.len());
        let mut doc_lengths = Vec::with_capacity(documents.len());
        for (internal, &original) in order.iter().enumerate() {
            let original = original as usize;
            let (chunk_no, within) = (original / CHUNK_DOCS, original % CHUNK_DOCS);
            let chunk = &chunks[chunk_no];
            let map = &local_to_global[chunk_no];
            let start = if within == 0 {
                0
            } else {
                chunk.ends[within - 1]
            };
            for &(local, tf) in &chunk.terms[start..chunk.ends[within]] {
                let term = map[local as usize] as usize;
                let slot = cursor[term] as usize;
                posting_docs[slot] = internal as u32;
                posting_tfs[slot] = tf.min(u16::MAX as u32) as u16;
                cursor[term] += 1;
            }
            doc_ids.push(documents[original].id().to_string());
            doc_lengths.push(chunk.lengths[within]);
        }
        drop(chunks);

        let mut index = Bm25Index {
            config: config.clone(),
            analyzer,
            doc_ids,
            doc_lengths,
            terms,
            offsets,
            posting_docs,
            posting_tfs,
            idf: Vec::new(),
            length_factor: Vec::new(),
        };
        index.derive();
        Ok(index)
    }

    /// Computes idf and length factors from the counts and the config.
    pub(crate) fn derive(&mut self) {
        let n = self.num_docs() as u32;
        self.idf = self
            .offsets
            .windows(2)
            .map(|w| self.config.idf((w[1] - w[0]) as u32, n) as f32)
            .collect();
        let total: u64 = self.doc_lengths.iter().map(|&l| l as u64).sum();
        let avg = if n == 0 { 1.0 } else { total as f64 / n as f64 };
        let avg = if avg > 0.0 { avg } else { 1.0 };
        let b = self.config.b as f64;
        self.length_factor = self
            .doc_lengths
            .iter()
            .map(|&dl| (1.0 - b + b * dl as f64 / avg) as f32)
            .collect();
    }

    pub fn config(&self) -> &Bm25Config {
        &self.config
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn num_docs(&self) -> usize {
        self.doc_ids.len()
    }

    pub fn num_terms(&self) -> usize {
        self.terms.len()
    }

    pub fn num_postings(&self) -> usize {
        self.posting_docs.len()
    }

    /// External id of an internal document number (as found in [`crate::Hit::doc`]).
    pub fn doc_id(&self, doc: u32) -> &str {
        &self.doc_ids[doc as usize]
    }

    /// Length (terms after stop words) of an internal document.
    pub fn doc_length(&self, doc: u32) -> u32 {
        self.doc_lengths[doc as usize]
    }

    /// Mean document length in terms.
    pub fn average_doc_length(&self) -> f64 {
        let total: u64 = self.doc_lengths.iter().map(|&l| l as u64).sum();
        total as f64 / self.num_docs().max(1) as f64
    }

    /// Number of documents holding `term` (an analysed term, e.g. `"cancer"` stemmed).
    pub fn doc_frequency(&self, term: &str) -> u32 {
        self.terms
            .get(term)
            .map_or(0, |&t| self.postings_range(t).len() as u32)
    }

    pub(crate) fn postings_range(&self, term: u32) -> std::ops::Range<usize> {
        self.offsets[term as usize] as usize..self.offsets[term as usize + 1] as usize
    }

    /// Approximate heap bytes held by the index (see the module docs for the breakdown).
    pub fn memory_bytes(&self) -> usize {
        let ids: usize = self.doc_ids.iter().map(|s| 24 + s.capacity()).sum();
        let terms: usize = self.terms.keys().map(|t| 16 + 12 + t.len()).sum();
        ids + terms
            + self.doc_lengths.len() * 4
            + self.length_factor.len() * 4
            + self.offsets.len() * 8
            + self.idf.len() * 4
            + self.posting_docs.len() * 4
            + self.posting_tfs.len() * 2
    }
}

fn analyse_chunk<D: IndexDocument>(analyzer: &Analyzer, documents: &[D]) -> AnalysedChunk {
    // Word (lowercased, before stop words and stemming) → local term id, or None for a stop
    // word: one hash lookup per token once a word has been seen.
    let mut words: HashMap<Box<str>, Option<u32>> = HashMap::new();
    let mut vocab_ids: HashMap<Box<str>, u32> = HashMap::new();
    let mut vocab: Vec<Box<str>> = Vec::new();
    let mut out = AnalysedChunk {
        vocab: Vec::new(),
        terms: Vec::new(),
        ends: Vec::with_capacity(documents.len()),
        lengths: Vec::with_capacity(documents.len()),
    };
    let mut tokens: Vec<u32> = Vec::new();
    for document in documents {
        tokens.clear();
        for field in document.fields() {
            if field.is_empty() {
                continue;
            }
            analyzer.for_each_word(field, |word| {
                let id = match words.get(word) {
                    Some(&id) => id,
                    None => {
                        let id = analyzer.normalize_word(word).map(|term| {
                            if let Some(&id) = vocab_ids.get(term.as_ref()) {
                                id
                            } else {
                                let id = vocab.len() as u32;
                                let term: Box<str> = Box::from(term.as_ref());
                                vocab.push(term.clone());
                                vocab_ids.insert(term, id);
                                id
                            }
                        });
                        words.insert(Box::from(word), id);
                        id
                    }
                };
                if let Some(id) = id {
                    tokens.push(id);
                }
            });
        }
        out.lengths.push(tokens.len() as u32);
        tokens.sort_unstable();
        let mut i = 0;
        while i < tokens.len() {
            let term = tokens[i];
            let mut j = i + 1;
            while j < tokens.len() && tokens[j] == term {
                j += 1;
            }
            out.terms.push((term, (j - i) as u32));
            i = j;
        }
        out.ends.push(out.terms.len());
    }
    out.vocab = vocab;
    out
}

pub(crate) fn progress_bar(show: bool, len: u64, message: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}
