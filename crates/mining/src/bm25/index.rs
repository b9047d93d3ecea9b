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
//! | per document: id (packed: its bytes + an end offset `u64`), length `u32`, length factor `f32` | 16 + id length |
//! | per term: the string (16 + length), hash-map slot (~12), offset `u64`, idf `f32` | ~40 + length |
//! | per searching thread: score accumulator `f32` per document | 4 |
//!
//! So a document costs about `16 + id length + 6 × (distinct terms)` bytes: ~320 bytes for a
//! 50-distinct-term passage. Term frequencies above 65,535 are stored as 65,535 (the BM25
//! tf part is saturated by then: the score changes by under 10⁻⁵ relative).
//!
//! Building needs, on top of the finished index, each document's (term, tf) list until the
//! postings are laid out (6 bytes per posting + 12 per document) and the analyses of one
//! batch of 32 × 8,192 documents; [`Bm25Builder`] takes documents in batches, so the corpus
//! texts need not all be in memory (BENCHMARKS.md, "BM25 and mining at MS MARCO scale").

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
    pub(crate) doc_ids: DocIds,
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
/// Chunks analysed in parallel before their results are merged into the builder (and the
/// chunks' local vocabularies freed): bounds the build's working memory to ~256k documents'
/// analyses whatever the corpus size.
const CHUNKS_PER_BATCH: usize = 32;

/// External document ids, packed: one string of all ids and the end of each (16 bytes of
/// bookkeeping per document less than a `Vec<String>`, and one allocation instead of N).
#[derive(Debug, Clone, Default)]
pub(crate) struct DocIds {
    bytes: String,
    ends: Vec<u64>,
}

impl DocIds {
    pub(crate) fn with_capacity(docs: usize) -> Self {
        Self {
            bytes: String::new(),
            ends: Vec::with_capacity(docs),
        }
    }

    pub(crate) fn push(&mut self, id: &str) {
        self.bytes.push_str(id);
        self.ends.push(self.bytes.len() as u64);
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 8
    }
}

/// Builds a [`Bm25Index`] from documents given in batches of any size, so a corpus can be
/// streamed from disk without holding its texts: only the documents' ids and their (term,
/// tf) lists (6 bytes per distinct term of a document) are kept until [`Bm25Builder::finish`]
/// lays out the postings. [`Bm25Index::build`] is `new` + one `add` + `finish`.
///
/// Peak memory of a build: the final index (6 bytes per posting + ~23 bytes per document +
/// ~60 per term) plus, while `finish` lays out the postings, the per-document lists (another
/// 6 bytes per posting + 12 per document), plus the analyses of one batch of 32 × 8,192
/// documents in flight.
pub struct Bm25Builder {
    config: Bm25Config,
    analyzer: Analyzer,
    terms: HashMap<Box<str>, u32>,
    /// Ids in arrival order.
    ids: DocIds,
    lengths: Vec<u32>,
    /// (global term id, tf) of every document in arrival order, as two parallel arrays.
    doc_terms: Vec<u32>,
    doc_tfs: Vec<u16>,
    /// End of each document's slice in `doc_terms` / `doc_tfs`.
    doc_ends: Vec<u64>,
}

impl Bm25Builder {
    pub fn new(config: &Bm25Config) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config: config.clone(),
            analyzer: Analyzer::new(config.analyzer.clone())?,
            terms: HashMap::new(),
            ids: DocIds::default(),
            lengths: Vec::new(),
            doc_terms: Vec::new(),
            doc_tfs: Vec::new(),
            doc_ends: Vec::new(),
        })
    }

    /// Documents added so far.
    pub fn len(&self) -> usize {
        self.lengths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lengths.is_empty()
    }

    /// Analyses `documents` (tokenization on rayon's thread pool) and appends them. Ids are
    /// checked for duplicates in [`Bm25Builder::finish`].
    pub fn add<D: IndexDocument>(&mut self, documents: &[D]) -> Result<()> {
        self.add_with(documents, &ProgressBar::hidden())
    }

    fn add_with<D: IndexDocument>(&mut self, documents: &[D], bar: &ProgressBar) -> Result<()> {
        if self.len() + documents.len() >= u32::MAX as usize {
            return Err(MiningError::Config(format!(
                "{} documents: at most {} fit in an index",
                self.len() + documents.len(),
                u32::MAX - 1
            )));
        }
        for batch in documents.chunks(CHUNK_DOCS * CHUNKS_PER_BATCH) {
            let analyser = &self.analyzer;
            let chunks: Vec<AnalysedChunk> = batch
                .par_chunks(CHUNK_DOCS)
                .map(|chunk| {
                    let analysed = analyse_chunk(analyser, chunk);
                    bar.inc(chunk.len() as u64);
                    analysed
                })
                .collect();
            // Merged in order: the global vocabulary is in first-seen order, deterministic
            // whatever the threads did.
            for (chunk, docs) in chunks.into_iter().zip(batch.chunks(CHUNK_DOCS)) {
                let map: Vec<u32> = chunk
                    .vocab
                    .into_iter()
                    .map(|term| {
                        let next = self.terms.len() as u32;
                        *self.terms.entry(term).or_insert(next)
                    })
                    .collect();
                self.doc_terms.reserve(chunk.terms.len());
                self.doc_tfs.reserve(chunk.terms.len());
                for &(local, tf) in &chunk.terms {
                    self.doc_terms.push(map[local as usize]);
                    self.doc_tfs.push(tf.min(u16::MAX as u32) as u16);
                }
                let base = self.doc_ends.last().copied().unwrap_or(0);
                self.doc_ends
                    .extend(chunk.ends.iter().map(|&end| base + end as u64));
                self.lengths.extend_from_slice(&chunk.lengths);
                for document in docs {
                    self.ids.push(document.id());
                }
            }
        }
        Ok(())
    }

    /// Lays out the postings and returns the index.
    pub fn finish(self) -> Result<Bm25Index> {
        let Bm25Builder {
            config,
            analyzer,
            terms,
            ids,
            lengths,
            doc_terms,
            doc_tfs,
            doc_ends,
        } = self;
        let num_terms = terms.len();
        let num_docs = lengths.len();

        // Internal numbering: ids descending (trec_eval's tie order).
        let mut order: Vec<u32> = (0..num_docs as u32).collect();
        order.par_sort_unstable_by(|&a, &b| ids.get(b as usize).cmp(ids.get(a as usize)));
        if let Some(pair) = order
            .windows(2)
            .find(|w| ids.get(w[0] as usize) == ids.get(w[1] as usize))
        {
            return Err(MiningError::Config(format!(
                "duplicate document id `{}` in the documents to index",
                ids.get(pair[0] as usize)
            )));
        }

        let mut df = vec![0u64; num_terms];
        for &term in &doc_terms {
            df[term as usize] += 1;
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
        let mut doc_ids = DocIds::with_capacity(num_docs);
        doc_ids.bytes.reserve_exact(ids.bytes.len());
        let mut doc_lengths = Vec::with_capacity(num_docs);
        for (internal, &original) in order.iter().enumerate() {
            let original = original as usize;
            let start = if original == 0 {
                0
            } else {
                doc_ends[original - 1] as usize
            };
            let end = doc_ends[original] as usize;
            for (&term, &tf) in doc_terms[start..end].iter().zip(&doc_tfs[start..end]) {
                let slot = cursor[term as usize] as usize;
                posting_docs[slot] = internal as u32;
                posting_tfs[slot] = tf;
                cursor[term as usize] += 1;
            }
            doc_ids.push(ids.get(original));
            doc_lengths.push(lengths[original]);
        }
        drop((doc_terms, doc_tfs, doc_ends, ids, lengths, order, cursor));
        doc_ids.shrink_to_fit();

        let mut index = Bm25Index {
            config,
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
}

impl Bm25Index {
    /// Indexes `documents` (e.g. `corpus.documents()`, or `(id, text)` pairs). Duplicate ids
    /// are an error. Tokenization runs on rayon's thread pool; `progress` shows a bar on
    /// stderr. To index a corpus without holding all its texts, feed a [`Bm25Builder`] in
    /// batches instead.
    pub fn build<D: IndexDocument>(
        documents: &[D],
        config: &Bm25Config,
        progress: bool,
    ) -> Result<Self> {
        let mut builder = Bm25Builder::new(config)?;
        let bar = progress_bar(progress, documents.len() as u64, "BM25 analysing");
        builder.add_with(documents, &bar)?;
        bar.finish_and_clear();
        builder.finish()
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
        self.doc_ids.get(doc as usize)
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
        let ids = self.doc_ids.memory_bytes();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn documents() -> Vec<(String, String)> {
        (0..50)
            .map(|i| {
                (
                    format!("d{}", (i * 7) % 50),
                    format!("alpha beta{} gamma{} the delta{}", i % 3, i % 5, i % 11),
                )
            })
            .collect()
    }

    #[test]
    fn builder_in_batches_equals_one_build() {
        let docs = documents();
        let config = Bm25Config::default();
        let whole = Bm25Index::build(&docs, &config, false).unwrap();
        let mut builder = Bm25Builder::new(&config).unwrap();
        for batch in docs.chunks(7) {
            builder.add(batch).unwrap();
        }
        assert_eq!(builder.len(), docs.len());
        let batched = builder.finish().unwrap();
        assert_eq!(
            whole.doc_ids.iter().collect::<Vec<_>>(),
            batched.doc_ids.iter().collect::<Vec<_>>()
        );
        assert_eq!(whole.doc_lengths, batched.doc_lengths);
        assert_eq!(whole.terms, batched.terms);
        assert_eq!(whole.offsets, batched.offsets);
        assert_eq!(whole.posting_docs, batched.posting_docs);
        assert_eq!(whole.posting_tfs, batched.posting_tfs);
        // Ids descending, and every id found again.
        let ids: Vec<&str> = whole.doc_ids.iter().collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]));
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(whole.internal_doc(id), Some(i as u32));
        }
        assert_eq!(whole.internal_doc("d50"), None);
        assert_eq!(whole.internal_doc(""), None);
    }

    #[test]
    fn builder_finds_duplicates_across_batches() {
        let mut builder = Bm25Builder::new(&Bm25Config::default()).unwrap();
        builder.add(&[("a", "one text"), ("b", "two")]).unwrap();
        builder.add(&[("c", "three"), ("a", "again")]).unwrap();
        let err = builder.finish().unwrap_err();
        assert!(
            err.to_string().contains("duplicate document id `a`"),
            "{err}"
        );
    }
}
