//! Training data: BEIR splits → BM25-mined negative pools → seeded groups and batches, or
//! the records of a training file streamed in bounded memory ([`crate::stream`]); both give
//! the tasks the same [`Group`]s ([`TrainData`]).
//!
//! An *example* is one judged (query, positive document) pair of the training split. Each
//! epoch visits the examples in a seeded shuffled order; a *group* is the example's positive
//! followed by `negatives` documents sampled (seeded by run seed, epoch and example) from the
//! query's negative pool: its top BM25 candidates minus every document judged relevant.
//! Everything is a pure function of (seed, epoch, position), so a resumed run needs only the
//! position to see exactly the data an uninterrupted run would.

use std::collections::HashMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rankforge_data::{
    Corpus, Qrels, QrelsCheck, Queries, ReadMode, Run, TableFormat, TableOptions,
};
use rankforge_kernels::seed::mix_seed;
use rankforge_mining::{Bm25Config, Bm25Index};
use serde::{Deserialize, Serialize};

use crate::config::DataSection;
use crate::error::{Result, TrainError};
use crate::stream::{RecordStream, StreamCache};

/// The independent random streams of a training run. Each draws from a seed derived from the
/// run's seed, its position in the run and its tag ([`stream_seed`]); the tags are fixed
/// numbers so that seeded runs (and checkpoints' resume state) stay reproducible across
/// versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The order of the training examples in an epoch (position: epoch).
    EpochOrder = 1,
    /// The negatives sampled for one example's group (position: epoch, example).
    Negatives = 2,
    /// The backend RNG reseeded before each optimizer step: dropout masks (position: step).
    Dropout = 3,
    /// The order of a training file's blocks in an epoch (position: epoch).
    BlockOrder = 4,
    /// The order of the rows of one shuffle window of a training file (position: epoch,
    /// window).
    WindowOrder = 5,
}

/// The seed of `stream` at `position` in a run seeded `seed`:
/// `mix_seed([seed, position…, tag])`.
pub fn stream_seed(seed: u64, stream: Stream, position: &[u64]) -> u64 {
    let mut parts = Vec::with_capacity(position.len() + 2);
    parts.push(seed);
    parts.extend_from_slice(position);
    parts.push(stream as u64);
    mix_seed(&parts)
}

/// The corpus, queries and both splits' judgments.
#[derive(Debug)]
pub struct Collection {
    pub corpus: Corpus,
    pub queries: Queries,
    pub train_qrels: Qrels,
    pub dev_qrels: Qrels,
}

impl Collection {
    /// Reads a BEIR directory; qrels ids are checked against corpus and queries. Without
    /// `train_split` (a run on a training file) only the dev judgments are read.
    pub fn load(dir: &Path, train_split: Option<&str>, dev_split: &str) -> Result<Self> {
        let options = TableOptions {
            format: TableFormat::Jsonl,
            header: true,
            mode: ReadMode::Strict,
        };
        let corpus = Corpus::read(dir.join("corpus.jsonl"), &options, &Default::default())?.data;
        let queries = Queries::read(dir.join("queries.jsonl"), &options, &Default::default())?.data;
        let check = QrelsCheck {
            queries: Some(&queries),
            corpus: Some(&corpus),
        };
        let read = |split: &str| {
            Qrels::read_checked(
                dir.join("qrels").join(format!("{split}.tsv")),
                ReadMode::Strict,
                &check,
            )
            .map(|l| l.data)
        };
        let train_qrels = match train_split {
            Some(split) => read(split)?,
            None => Qrels::new(),
        };
        let dev_qrels = read(dev_split)?;
        Ok(Self {
            corpus,
            queries,
            train_qrels,
            dev_qrels,
        })
    }

    /// Queries judged in `qrels`, in queries-file order, at most `limit`.
    pub fn judged_queries(&self, qrels: &Qrels, limit: Option<usize>) -> Queries {
        let mut kept = 0;
        self.queries.filtered(|q| {
            let keep = qrels.get(&q.id).is_some_and(|j| j.values().any(|&g| g > 0))
                && limit.is_none_or(|l| kept < l);
            kept += usize::from(keep);
            keep
        })
    }
}

/// One judged (query, positive) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Index into [`TrainingSet::queries`].
    pub query: usize,
    pub positive: String,
    /// The positive's relevance grade.
    pub grade: f32,
}

/// A training query and where its negatives come from.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainQuery {
    pub id: String,
    pub text: String,
    /// BM25 candidates minus judged-relevant documents, best first.
    pub negative_pool: Vec<String>,
}

/// Teacher logits by (training query index, document id): what a `[distill] teacher` gives
/// a BEIR-mined set.
pub type TeacherScores = HashMap<(usize, String), f32>;

/// Examples plus negative pools.
#[derive(Debug, Clone)]
pub struct TrainingSet {
    pub queries: Vec<TrainQuery>,
    pub examples: Vec<Example>,
    /// Negatives per group.
    pub negatives: usize,
    /// Document id → text (title + text) of the corpus.
    pub texts: HashMap<String, String>,
    /// The teacher's scores of every (query, positive) and (query, pool document) pair, when
    /// the run distils (`[distill] teacher`); groups then carry them.
    pub teacher: Option<TeacherScores>,
}

/// Where in the data stream a run is: the epoch and the next example of its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DataPosition {
    pub epoch: usize,
    pub offset: usize,
}

/// The texts of every entry of a batch of groups, row by row, with their labels and valid
/// flags: what a model that scores (query, document) pairs jointly puts through its forward.
pub struct GroupPairs<'a> {
    /// `(query, document)`; a padded entry's document is empty.
    pub pairs: Vec<(&'a str, &'a str)>,
    pub labels: Vec<f32>,
    pub valid: Vec<bool>,
}

/// [`GroupPairs`] of `groups`.
pub fn group_pairs(groups: &[Group]) -> GroupPairs<'_> {
    let entries = groups.iter().map(|g| g.docs.len()).sum();
    let mut out = GroupPairs {
        pairs: Vec::with_capacity(entries),
        labels: Vec::with_capacity(entries),
        valid: Vec::with_capacity(entries),
    };
    for group in groups {
        for ((doc, &label), &ok) in group.docs.iter().zip(&group.labels).zip(&group.valid) {
            out.pairs
                .push((group.query.as_str(), if ok { doc.as_str() } else { "" }));
            out.labels.push(label);
            out.valid.push(ok);
        }
    }
    out
}

/// The teacher scores of every entry of `groups`, row by row (`[groups × list]`, 0 at padded
/// entries), or an error naming the first group without them.
pub fn teacher_values(groups: &[Group], loss: &str) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(groups.iter().map(|g| g.docs.len()).sum());
    for group in groups {
        let scores = group.teacher.as_ref().ok_or_else(|| {
            TrainError::Other(format!(
                "loss `{loss}` needs teacher scores and the group of query `{}`{} has none",
                group.query,
                group.row.map(|r| format!(" (row {r})")).unwrap_or_default()
            ))
        })?;
        out.extend(
            scores
                .iter()
                .zip(&group.valid)
                .map(|(&s, &ok)| if ok { s } else { 0.0 }),
        );
    }
    Ok(out)
}

/// The real (not padded) entries of `groups`: the (query, document) pairs a model that scores
/// only those puts through it.
pub fn real_entries(groups: &[Group]) -> usize {
    groups
        .iter()
        .map(|g| g.valid.iter().filter(|&&v| v).count())
        .sum()
}

/// One group: a query, its positive first then its negatives, labels, a valid mask and, when
/// the run has them, the teacher's scores. Texts travel with the group, so a task needs
/// nothing else to train on it, whichever source it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The query text.
    pub query: String,
    /// Document texts, positive first; a padded entry's is empty.
    pub docs: Vec<String>,
    pub labels: Vec<f32>,
    pub valid: Vec<bool>,
    /// One teacher score per entry (0 at padded entries): a training file's own scores, or a
    /// `[distill] teacher`'s on a BEIR-mined set.
    pub teacher: Option<Vec<f32>>,
    /// The training file's row the group came from (1-based, as errors name it); `None` for
    /// BEIR-mined groups.
    pub row: Option<usize>,
}

impl TrainingSet {
    /// Mines negative pools with BM25 over `collection.corpus` for the judged training
    /// queries.
    pub fn mine(collection: &Collection, index: &Bm25Index, config: &DataSection) -> Result<Self> {
        let train_queries =
            collection.judged_queries(&collection.train_qrels, config.max_train_queries);
        if train_queries.is_empty() {
            return Err(TrainError::NoData(format!(
                "no query of {} has a relevant document in split `{}`",
                config.dir.as_deref().unwrap_or(Path::new("")).display(),
                config.train_split
            )));
        }
        let depth = config.negative_pool + config.skip_top;
        let pairs = train_queries.pairs();
        let max_judged = pairs
            .iter()
            .map(|(id, _)| collection.train_qrels.get(id).map_or(0, |j| j.len()))
            .max()
            .unwrap_or(0);
        let run = index.search_run(&pairs, depth + max_judged, false);
        let mut queries = Vec::new();
        let mut examples = Vec::new();
        for (query_index, query) in train_queries.iter().enumerate() {
            let judged = collection
                .train_qrels
                .get(&query.id)
                .expect("judged queries have qrels");
            let pool: Vec<String> = run
                .get(&query.id)
                .unwrap_or_default()
                .iter()
                .filter(|d| judged.get(&d.doc_id).is_none_or(|&g| g <= 0))
                .skip(config.skip_top)
                .take(config.negative_pool)
                .map(|d| d.doc_id.clone())
                .collect();
            let mut positives: Vec<(&String, &i32)> =
                judged.iter().filter(|(_, &g)| g > 0).collect();
            positives.sort();
            for (doc, &grade) in positives {
                examples.push(Example {
                    query: query_index,
                    positive: doc.clone(),
                    grade: grade as f32,
                });
            }
            queries.push(TrainQuery {
                id: query.id.clone(),
                text: query.text.clone(),
                negative_pool: pool,
            });
        }
        Ok(Self {
            queries,
            examples,
            negatives: config.negatives,
            texts: document_texts(&collection.corpus),
            teacher: None,
        })
    }

    /// The example order of `epoch` (a seeded shuffle).
    pub fn epoch_order(&self, seed: u64, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.examples.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(stream_seed(
            seed,
            Stream::EpochOrder,
            &[epoch as u64],
        )));
        order
    }

    /// Micro-batches per epoch for `batch_size` groups each.
    pub fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.examples.len().div_ceil(batch_size)
    }

    /// The group of example `example` in `epoch`: positive first, then negatives sampled
    /// without replacement from the pool (padded with invalid entries when the pool is short).
    pub fn group(&self, seed: u64, epoch: usize, example: usize) -> Group {
        let ex = &self.examples[example];
        let pool = &self.queries[ex.query].negative_pool;
        let position = [epoch as u64, example as u64];
        let mut rng = StdRng::seed_from_u64(stream_seed(seed, Stream::Negatives, &position));
        let take = self.negatives.min(pool.len());
        let chosen = rand::seq::index::sample(&mut rng, pool.len(), take);
        let mut ids: Vec<&str> = vec![ex.positive.as_str()];
        let mut labels = vec![ex.grade];
        let mut valid = vec![true];
        for i in chosen.iter() {
            ids.push(pool[i].as_str());
            labels.push(0.0);
            valid.push(true);
        }
        while ids.len() < self.negatives + 1 {
            ids.push("");
            labels.push(0.0);
            valid.push(false);
        }
        let docs = ids
            .iter()
            .zip(&valid)
            .map(|(id, &ok)| {
                let text = if ok { self.texts.get(*id) } else { None };
                text.cloned().unwrap_or_default()
            })
            .collect();
        let teacher = self.teacher.as_ref().map(|scores| {
            ids.iter()
                .zip(&valid)
                .map(|(id, &ok)| {
                    let key = (ex.query, id.to_string());
                    if ok {
                        scores.get(&key).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    }
                })
                .collect()
        });
        Group {
            query: self.queries[ex.query].text.clone(),
            docs,
            labels,
            valid,
            teacher,
            row: None,
        }
    }

    /// The next micro-batch of up to `batch_size` groups from `position`, which moves on.
    /// A batch never spans two epochs (the last one of an epoch may be smaller).
    pub fn next_batch(
        &self,
        seed: u64,
        position: &mut DataPosition,
        batch_size: usize,
        order_cache: &mut Option<(usize, Vec<usize>)>,
    ) -> Vec<Group> {
        if position.offset >= self.examples.len() {
            position.epoch += 1;
            position.offset = 0;
        }
        if order_cache
            .as_ref()
            .is_none_or(|(e, _)| *e != position.epoch)
        {
            *order_cache = Some((position.epoch, self.epoch_order(seed, position.epoch)));
        }
        let order = &order_cache.as_ref().expect("just filled").1;
        let end = (position.offset + batch_size).min(order.len());
        let groups = order[position.offset..end]
            .iter()
            .map(|&example| self.group(seed, position.epoch, example))
            .collect();
        position.offset = end;
        groups
    }
}

/// BM25 index over the corpus with default (Lucene, bm25s-compatible) settings.
pub fn build_bm25(corpus: &Corpus, progress: bool) -> Result<Bm25Index> {
    Ok(Bm25Index::build(
        corpus.documents(),
        &Bm25Config::default(),
        progress,
    )?)
}

/// BM25 top-`k` run of the dev queries: the candidates every dev evaluation reranks.
pub fn dev_candidates(index: &Bm25Index, queries: &Queries, k: usize) -> Run {
    index.search_run(&queries.pairs(), k, false)
}

/// Document texts by id (title + text), looked up once.
pub fn document_texts(corpus: &Corpus) -> HashMap<String, String> {
    corpus
        .iter()
        .map(|d| (d.id.clone(), d.full_text()))
        .collect()
}

/// Where a run's groups come from: BEIR-mined examples or a streamed training file.
#[derive(Debug)]
pub enum TrainData {
    Mined(TrainingSet),
    File(RecordStream),
}

/// What [`TrainData::next_batch`] keeps between calls: the epoch order of a mined set, the
/// block order and the one shuffle window of a file.
#[derive(Debug, Default)]
pub struct DataCache {
    order: Option<(usize, Vec<usize>)>,
    stream: StreamCache,
}

impl DataCache {
    /// Records of a training file held in memory now.
    pub fn resident_rows(&self) -> usize {
        self.stream.resident_rows()
    }
}

impl TrainData {
    /// Examples (mined) or records (file) per epoch.
    pub fn examples(&self) -> usize {
        match self {
            TrainData::Mined(set) => set.examples.len(),
            TrainData::File(stream) => stream.rows(),
        }
    }

    /// Micro-batches per epoch for `batch_size` groups each.
    pub fn batches_per_epoch(&self, batch_size: usize) -> usize {
        match self {
            TrainData::Mined(set) => set.batches_per_epoch(batch_size),
            TrainData::File(stream) => stream.batches_per_epoch(batch_size),
        }
    }

    /// The next micro-batch of up to `batch_size` groups from `position`, which moves on; a
    /// batch never spans two epochs.
    pub fn next_batch(
        &self,
        seed: u64,
        position: &mut DataPosition,
        batch_size: usize,
        cache: &mut DataCache,
    ) -> Result<Vec<Group>> {
        match self {
            TrainData::Mined(set) => {
                Ok(set.next_batch(seed, position, batch_size, &mut cache.order))
            }
            TrainData::File(stream) => {
                stream.next_batch(seed, position, batch_size, &mut cache.stream)
            }
        }
    }
}
