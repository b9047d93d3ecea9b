//! Exhaustive, exact top-k BM25 search: term-at-a-time accumulation into a per-thread score
//! array, then a bounded heap. Ties are broken by internal document number, i.e. by document
//! id descending (trec_eval's order), so results never depend on thread scheduling.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rankforge_data::{Run, ScoredDoc};
use rayon::prelude::*;

use crate::bm25::config::Bm25Variant;
use crate::bm25::index::{progress_bar, Bm25Index};

/// One retrieved document: internal number (see [`Bm25Index::doc_id`]) and score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub doc: u32,
    pub score: f32,
}

/// Per-thread working memory for [`Bm25Index::search_with`]: a score per document (4 bytes
/// each) and the list of documents touched. Reuse it across queries.
#[derive(Debug, Default)]
pub struct SearchScratch {
    scores: Vec<f32>,
    touched: Vec<u32>,
}

impl SearchScratch {
    pub fn new() -> Self {
        Self::default()
    }
}

/// A heap entry ordered so that the worst hit is the maximum (std's heap is a max-heap).
#[derive(PartialEq)]
struct Worst(Hit);

impl Eq for Worst {}

impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .0
            .score
            .total_cmp(&self.0.score)
            .then(self.0.doc.cmp(&other.0.doc))
    }
}

impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `k` best hits seen (highest score, then lowest document number).
struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    fn offer(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if Worst(hit) < *worst {
                *worst = Worst(hit);
            }
        }
    }

    /// Lowest score that can still enter (`-inf` while not full).
    #[inline]
    fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.0.score)
        }
    }

    fn into_sorted(self) -> Vec<Hit> {
        // Ascending `Worst` order = best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|w| w.0)
            .collect()
    }
}

impl Bm25Index {
    /// Analysed query terms found in the index, as (term id, occurrences in the query).
    /// A term repeated in the query counts that many times, as in Lucene and bm25s.
    pub fn query_terms(&self, query: &str) -> Vec<(u32, u32)> {
        let mut ids = Vec::new();
        self.analyzer.for_each_token(query, |term| {
            if let Some(&id) = self.terms.get(term) {
                ids.push(id);
            }
        });
        ids.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for id in ids {
            match out.last_mut() {
                Some((last, count)) if *last == id => *count += 1,
                _ => out.push((id, 1)),
            }
        }
        out
    }

    /// The `k` best documents for `query`, best first. Only documents sharing a query term
    /// (with positive weight) are returned, so there may be fewer than `k`.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        self.search_with(query, k, &mut SearchScratch::new())
    }

    /// [`Bm25Index::search`] reusing a caller-held scratch space.
    pub fn search_with(&self, query: &str, k: usize, scratch: &mut SearchScratch) -> Vec<Hit> {
        let terms = self.query_terms(query);
        self.search_terms(&terms, k, scratch)
    }

    /// Searches already-analysed terms (see [`Bm25Index::query_terms`]).
    pub fn search_terms(
        &self,
        terms: &[(u32, u32)],
        k: usize,
        scratch: &mut SearchScratch,
    ) -> Vec<Hit> {
        if k == 0 || terms.is_empty() {
            return Vec::new();
        }
        let n = self.num_docs();
        if scratch.scores.len() != n {
            scratch.scores = vec![0.0; n];
        }
        scratch.touched.clear();

        let config = &self.config;
        let (k1, delta) = (config.k1, config.delta);
        let mut postings = 0usize;
        let mut weighted: Vec<(u32, f32)> = Vec::with_capacity(terms.len());
        let mut constant = 0.0f32;
        for &(term, count) in terms {
            let weight = self.idf[term as usize] * count as f32;
            if weight <= 0.0 {
                continue;
            }
            postings += self.postings_range(term).len();
            weighted.push((term, weight));
            // BM25L / BM25+: the tf = 0 part that every document gets for every query term.
            constant += weight * self.tf_part_at_zero();
        }
        // Dense scan of all scores when the postings cover a good share of the documents;
        // otherwise remember the touched ones.
        let dense = postings >= n / 8;
        for &(term, weight) in &weighted {
            let range = self.postings_range(term);
            let docs = &self.posting_docs[range.clone()];
            let tfs = &self.posting_tfs[range];
            let zero_part = weight * self.tf_part_at_zero();
            match config.variant {
                Bm25Variant::Lucene | Bm25Variant::Robertson => {
                    accumulate(docs, tfs, &self.length_factor, scratch, dense, |tf, l| {
                        weight * tf / (tf + k1 * l)
                    })
                }
                Bm25Variant::Atire => {
                    let w = weight * (k1 + 1.0);
                    accumulate(docs, tfs, &self.length_factor, scratch, dense, |tf, l| {
                        w * tf / (tf + k1 * l)
                    })
                }
                Bm25Variant::Bm25L => {
                    accumulate(docs, tfs, &self.length_factor, scratch, dense, |tf, l| {
                        let c = tf / l;
                        weight * (k1 + 1.0) * (c + delta) / (k1 + c + delta) - zero_part
                    })
                }
                Bm25Variant::Bm25Plus => {
                    accumulate(docs, tfs, &self.length_factor, scratch, dense, |tf, l| {
                        weight * (k1 + 1.0) * tf / (k1 * l + tf)
                    })
                }
            }
        }

        let mut top = TopK::new(k);
        if dense {
            // Ascending document order: an equal score never beats the heap's worst.
            let mut threshold = f32::NEG_INFINITY;
            for (doc, score) in scratch.scores.iter_mut().enumerate() {
                let s = std::mem::take(score);
                if s > 0.0 && s > threshold {
                    top.offer(Hit {
                        doc: doc as u32,
                        score: s,
                    });
                    threshold = top.threshold();
                }
            }
        } else {
            for &doc in &scratch.touched {
                let s = std::mem::take(&mut scratch.scores[doc as usize]);
                if s >= top.threshold() {
                    top.offer(Hit { doc, score: s });
                }
            }
        }
        let mut hits = top.into_sorted();
        if constant != 0.0 {
            for hit in &mut hits {
                hit.score += constant;
            }
        }
        hits
    }

    fn tf_part_at_zero(&self) -> f32 {
        match self.config.variant {
            Bm25Variant::Bm25L | Bm25Variant::Bm25Plus => self.config.tf_part(0.0, 1.0),
            _ => 0.0,
        }
    }

    /// Searches many queries on rayon's thread pool (run it inside a pool of one thread for
    /// single-threaded work). Results are in query order and identical whatever the threads.
    pub fn search_batch(&self, queries: &[&str], k: usize) -> Vec<Vec<Hit>> {
        queries
            .par_iter()
            .map_init(SearchScratch::new, |scratch, query| {
                self.search_with(query, k, scratch)
            })
            .collect()
    }

    /// Searches `(query id, text)` pairs and returns a run with external document ids, each
    /// list best first. `progress` shows a bar on stderr.
    pub fn search_run(&self, queries: &[(&str, &str)], k: usize, progress: bool) -> Run {
        let bar = progress_bar(progress, queries.len() as u64, "BM25 searching");
        let lists: Vec<Vec<Hit>> = queries
            .par_iter()
            .map_init(SearchScratch::new, |scratch, (_, text)| {
                let hits = self.search_with(text, k, scratch);
                bar.inc(1);
                hits
            })
            .collect();
        bar.finish_and_clear();
        let mut run = Run::new();
        for ((query_id, _), hits) in queries.iter().zip(lists) {
            run.set(
                *query_id,
                hits.into_iter()
                    .map(|h| ScoredDoc {
                        doc_id: self.doc_id(h.doc).to_string(),
                        score: h.score as f64,
                    })
                    .collect(),
            );
        }
        run
    }
}

/// Adds `part(tf, length factor)` of every posting to the score array.
#[inline]
fn accumulate(
    docs: &[u32],
    tfs: &[u16],
    length_factor: &[f32],
    scratch: &mut SearchScratch,
    dense: bool,
    part: impl Fn(f32, f32) -> f32,
) {
    let scores = &mut scratch.scores;
    if dense {
        for (&doc, &tf) in docs.iter().zip(tfs) {
            let d = doc as usize;
            scores[d] += part(tf as f32, length_factor[d]);
        }
    } else {
        for (&doc, &tf) in docs.iter().zip(tfs) {
            let d = doc as usize;
            let slot = &mut scores[d];
            if *slot == 0.0 {
                scratch.touched.push(doc);
            }
            *slot += part(tf as f32, length_factor[d]);
        }
    }
}

impl Bm25Index {
    /// Internal number of an external document id (internal numbers follow descending ids,
    /// so this is a binary search).
    pub fn internal_doc(&self, doc_id: &str) -> Option<u32> {
        // Ids descending: the first position whose id is not above `doc_id`.
        let (mut lo, mut hi) = (0, self.doc_ids.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.doc_ids.get(mid) > doc_id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < self.doc_ids.len() && self.doc_ids.get(lo) == doc_id).then_some(lo as u32)
    }

    /// The BM25 score of one document for `query` (0 when they share no term): the same
    /// number [`Bm25Index::search`] would give it.
    pub fn score_document(&self, query: &str, doc: u32) -> f32 {
        let config = &self.config;
        let l = self.length_factor[doc as usize];
        let zero = self.tf_part_at_zero();
        let mut matched = false;
        let mut score = 0.0f32;
        let mut constant = 0.0f32;
        for (term, count) in self.query_terms(query) {
            let weight = self.idf[term as usize] * count as f32;
            if weight <= 0.0 {
                continue;
            }
            constant += weight * zero;
            let range = self.postings_range(term);
            if let Ok(i) = self.posting_docs[range.clone()].binary_search(&doc) {
                let tf = self.posting_tfs[range.start + i] as f32;
                score += weight * (config.tf_part(tf, l) - zero);
                matched = true;
            }
        }
        if matched {
            score + constant
        } else {
            0.0
        }
    }
}
