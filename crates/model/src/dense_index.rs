//! Dense first-stage retrieval with a bi-encoder: the corpus is embedded once through the
//! shared inference path (and cached on disk, keyed by the model's files and the corpus
//! content), queries are embedded the same way, and the exact top-k comes from chunked matrix
//! products, so memory stays bounded by `query_chunk × doc_chunk` scores whatever the corpus
//! size — the full query × corpus matrix is never built.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rankforge_data::{Corpus, Run, ScoredDoc};
use rankforge_mining::{CandidateRetriever, MiningError, Rescorer};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, ModelError, Result};
use crate::hf;
use crate::{BiEncoder, CrossEncoder};

/// Cache file layout (version 2): magic, the 32-byte cache key (the identity of model,
/// tokenizer, length, precision and corpus), docs and dim as u64, the `docs × dim` f32 values,
/// then a blake3 hash of everything before it. A file whose hash, key or size does not match is
/// not used: the corpus is embedded again and the file rewritten, with a warning.
const CACHE_MAGIC: &[u8; 8] = b"RFEMB002";
const KEY_LEN: usize = 32;
const HEADER_LEN: usize = 8 + KEY_LEN + 16;
const CHECKSUM_LEN: usize = 32;

/// How query and document embeddings are compared (shared with the in-batch losses).
pub use rankforge_kernels::Similarity;

/// Dense retrieval settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DenseConfig {
    /// Default: cosine.
    pub similarity: Similarity,
    /// Documents scored per matrix product (default 16384).
    pub doc_chunk: usize,
    /// Queries scored per matrix product (default 256).
    pub query_chunk: usize,
    /// Directory of the embedding cache; `None` disables it (default `.cache/embeddings`).
    pub cache_dir: Option<PathBuf>,
}

impl Default for DenseConfig {
    fn default() -> Self {
        Self {
            similarity: Similarity::Cosine,
            doc_chunk: 16384,
            query_chunk: 256,
            cache_dir: Some(PathBuf::from(".cache/embeddings")),
        }
    }
}

/// A corpus embedded by a bi-encoder, ready to search.
pub struct DenseIndex<'a, B: Backend> {
    encoder: &'a BiEncoder<B>,
    doc_ids: Vec<String>,
    dim: usize,
    /// Row-major `[docs, dim]`, normalised when the similarity is cosine.
    embeddings: Vec<f32>,
    config: DenseConfig,
}

fn normalize_rows(values: &mut [f32], dim: usize) {
    for row in values.chunks_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A cache key over everything that decides the embeddings: the model's weights, config,
/// pooling and tokenizer files, the max length, the weights' precision, and every document's id
/// and text.
fn cache_key<B: Backend>(encoder: &BiEncoder<B>, corpus: &Corpus) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    for name in [
        hf::WEIGHTS_FILE,
        hf::CONFIG_FILE,
        "modules.json",
        "1_Pooling/config.json",
        hf::TOKENIZER_FILE,
    ] {
        let path = encoder.source_dir.join(name);
        if path.is_file() {
            let mut file = std::fs::File::open(&path).map_err(io_err(&path))?;
            hasher.update(name.as_bytes());
            std::io::copy(&mut file, &mut hasher).map_err(io_err(&path))?;
        }
    }
    hasher.update(&(encoder.tokenizer.max_length() as u64).to_le_bytes());
    hasher.update(format!("{:?}", encoder.settings.head).as_bytes());
    hasher.update(format!("{:?}", encoder.model.float_dtype()).as_bytes());
    for doc in corpus.iter() {
        for part in [&doc.id, &doc.title, &doc.text] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    Ok(hasher.finalize().to_hex()[..32].to_string())
}

/// What the cache holds for a key.
#[derive(Debug)]
enum Cached {
    /// `(dim, values)`, checksum verified.
    Hit(usize, Vec<f32>),
    /// No cache file.
    Absent,
    /// A file that must not be used, and why.
    Invalid(String),
}

fn read_cache(path: &Path, key: &str, expected_docs: usize) -> Cached {
    let mut bytes = Vec::new();
    match std::fs::File::open(path) {
        Ok(mut file) => {
            if let Err(e) = file.read_to_end(&mut bytes) {
                return Cached::Invalid(e.to_string());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Cached::Absent,
        Err(e) => return Cached::Invalid(e.to_string()),
    }
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN || &bytes[..8] != CACHE_MAGIC {
        return Cached::Invalid("not a rankforge embedding cache of this version".into());
    }
    let (body, stored) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    if blake3::hash(body).as_bytes() != stored {
        return Cached::Invalid("checksum mismatch (the file is corrupt)".into());
    }
    if &body[8..8 + KEY_LEN] != key.as_bytes() {
        return Cached::Invalid("written for another model, corpus or length".into());
    }
    let u64_at = |at: usize| u64::from_le_bytes(body[at..at + 8].try_into().unwrap()) as usize;
    let (docs, dim) = (u64_at(8 + KEY_LEN), u64_at(16 + KEY_LEN));
    if docs != expected_docs
        || Some(body.len()) != docs.checked_mul(dim * 4).map(|n| n + HEADER_LEN)
    {
        return Cached::Invalid(format!(
            "holds {docs} documents × {dim} dimensions, not the {expected_docs} documents expected"
        ));
    }
    let values = body[HEADER_LEN..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Cached::Hit(dim, values)
}

fn write_cache(path: &Path, key: &str, docs: usize, dim: usize, values: &[f32]) -> Result<()> {
    // Streamed through the hasher into the atomic file: no second copy of the embeddings.
    let mut out = rankforge_data::AtomicFile::create(path).map_err(io_err(path))?;
    let mut hasher = blake3::Hasher::new();
    let mut put = |bytes: &[u8]| -> std::io::Result<()> {
        hasher.update(bytes);
        out.write_all(bytes)
    };
    put(CACHE_MAGIC)
        .and_then(|()| put(key.as_bytes()))
        .and_then(|()| put(&(docs as u64).to_le_bytes()))
        .and_then(|()| put(&(dim as u64).to_le_bytes()))
        .and_then(|()| values.iter().try_for_each(|v| put(&v.to_le_bytes())))
        .map_err(io_err(path))?;
    out.write_all(hasher.finalize().as_bytes())
        .and_then(|()| out.commit())
        .map_err(io_err(path))
}

impl<'a, B: Backend> DenseIndex<'a, B> {
    /// Embeds `corpus` (title + text) with `encoder`, or reads the embeddings from the cache.
    pub fn build(encoder: &'a BiEncoder<B>, corpus: &Corpus, config: DenseConfig) -> Result<Self> {
        if config.doc_chunk == 0 || config.query_chunk == 0 {
            return Err(ModelError::Invalid(
                "dense retrieval: doc_chunk and query_chunk must be at least 1".into(),
            ));
        }
        let doc_ids: Vec<String> = corpus.iter().map(|d| d.id.clone()).collect();
        let cache = match &config.cache_dir {
            Some(dir) => {
                let key = cache_key(encoder, corpus)?;
                Some((dir.join(format!("{key}.emb")), key))
            }
            None => None,
        };
        let cached = match &cache {
            Some((path, key)) => read_cache(path, key, doc_ids.len()),
            None => Cached::Absent,
        };
        if let (Cached::Invalid(why), Some((path, _))) = (&cached, &cache) {
            eprintln!(
                "warning: embedding cache {}: {why}; embedding the corpus again",
                path.display()
            );
        }
        let (dim, mut embeddings) = match cached {
            Cached::Hit(dim, values) => (dim, values),
            Cached::Absent | Cached::Invalid(_) => {
                let texts: Vec<String> = corpus.iter().map(|d| d.full_text()).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let rows = encoder.embed(&refs)?;
                let dim = rows.first().map_or(encoder.config.hidden_size(), Vec::len);
                let values: Vec<f32> = rows.into_iter().flatten().collect();
                if let Some((path, key)) = &cache {
                    write_cache(path, key, doc_ids.len(), dim, &values)?;
                }
                (dim, values)
            }
        };
        if config.similarity == Similarity::Cosine {
            normalize_rows(&mut embeddings, dim);
        }
        Ok(Self {
            encoder,
            doc_ids,
            dim,
            embeddings,
            config,
        })
    }

    pub fn len(&self) -> usize {
        self.doc_ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.doc_ids.is_empty()
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<f32>> {
        let mut values: Vec<f32> = self.encoder.embed(texts)?.into_iter().flatten().collect();
        if self.config.similarity == Similarity::Cosine {
            normalize_rows(&mut values, self.dim);
        }
        Ok(values)
    }

    /// The exact top `k` documents of every query (ties broken by document position).
    pub fn search(&self, queries: &[(&str, &str)], k: usize) -> Result<Run> {
        let texts: Vec<&str> = queries.iter().map(|(_, t)| *t).collect();
        let query_values = self.embed_queries(&texts)?;
        let device = &self.encoder.device;
        let dim = self.dim;
        let mut run = Run::new();
        for (chunk_index, query_chunk) in query_values
            .chunks(self.config.query_chunk * dim)
            .enumerate()
        {
            let nq = query_chunk.len() / dim;
            let q =
                Tensor::<B, 2>::from_data(TensorData::new(query_chunk.to_vec(), [nq, dim]), device);
            let mut heaps: Vec<BinaryHeap<Candidate>> =
                (0..nq).map(|_| BinaryHeap::with_capacity(k + 1)).collect();
            for (doc_chunk_index, doc_chunk) in self
                .embeddings
                .chunks(self.config.doc_chunk * dim)
                .enumerate()
            {
                let nd = doc_chunk.len() / dim;
                let d = Tensor::<B, 2>::from_data(
                    TensorData::new(doc_chunk.to_vec(), [nd, dim]),
                    device,
                );
                let scores: Vec<f32> = q
                    .clone()
                    .matmul(d.transpose())
                    .into_data()
                    .convert::<f32>()
                    .into_vec()
                    .expect("f32 scores");
                let offset = doc_chunk_index * self.config.doc_chunk;
                for (qi, heap) in heaps.iter_mut().enumerate() {
                    for (di, &score) in scores[qi * nd..(qi + 1) * nd].iter().enumerate() {
                        push_top_k(
                            heap,
                            Candidate {
                                score,
                                doc: offset + di,
                            },
                            k,
                        );
                    }
                }
            }
            for (qi, heap) in heaps.into_iter().enumerate() {
                let query_id = queries[chunk_index * self.config.query_chunk + qi].0;
                let mut docs: Vec<ScoredDoc> = heap
                    .into_sorted_vec()
                    .into_iter()
                    .map(|c| ScoredDoc {
                        doc_id: self.doc_ids[c.doc].clone(),
                        score: c.score as f64,
                    })
                    .collect();
                rankforge_data::sort_trec(&mut docs);
                run.set(query_id, docs);
            }
        }
        Ok(run)
    }
}

/// Min-heap entry: the worst kept candidate sits on top (lower score, then later document).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    score: f32,
    doc: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    /// "Greater" = worse, so the max-heap keeps the worst on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.doc.cmp(&other.doc))
    }
}

fn push_top_k(heap: &mut BinaryHeap<Candidate>, candidate: Candidate, k: usize) {
    if k == 0 {
        return;
    }
    if heap.len() < k {
        heap.push(candidate);
    } else if let Some(worst) = heap.peek() {
        if candidate < *worst {
            heap.pop();
            heap.push(candidate);
        }
    }
}

fn mining_err(e: ModelError) -> MiningError {
    MiningError::Retriever(e.to_string())
}

/// A pairwise scorer's scores as a miner's rescorer returns them (every reranker kind's
/// `Rescorer::score_pairs`).
pub(crate) fn rescores(scores: Result<Vec<f32>>) -> rankforge_mining::Result<Vec<f64>> {
    Ok(scores
        .map_err(mining_err)?
        .into_iter()
        .map(f64::from)
        .collect())
}

impl<B: Backend> CandidateRetriever for DenseIndex<'_, B>
where
    B::Device: Sync,
{
    fn retrieve(&self, queries: &[(&str, &str)], k: usize) -> rankforge_mining::Result<Run> {
        self.search(queries, k).map_err(mining_err)
    }

    fn score_documents(
        &self,
        query: &str,
        doc_ids: &[&str],
    ) -> rankforge_mining::Result<Vec<Option<f64>>> {
        let q = self.embed_queries(&[query]).map_err(mining_err)?;
        Ok(doc_ids
            .iter()
            .map(|id| {
                self.doc_ids.iter().position(|d| d == id).map(|i| {
                    let row = &self.embeddings[i * self.dim..(i + 1) * self.dim];
                    row.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>() as f64
                })
            })
            .collect())
    }

    fn name(&self) -> &str {
        "dense"
    }
}

impl<B: Backend> Rescorer for CrossEncoder<B>
where
    B::Device: Sync,
{
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> rankforge_mining::Result<Vec<f64>> {
        rescores(self.score(pairs))
    }

    fn name(&self) -> &str {
        "cross-encoder"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_heap_keeps_the_best_with_stable_ties() {
        let mut heap = BinaryHeap::new();
        for (doc, score) in [(0, 0.5), (1, 0.9), (2, 0.5), (3, 0.1), (4, 0.9)] {
            push_top_k(&mut heap, Candidate { score, doc }, 3);
        }
        let kept: Vec<(usize, f32)> = heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| (c.doc, c.score))
            .collect();
        assert_eq!(kept, vec![(1, 0.9), (4, 0.9), (0, 0.5)]);
    }
}
