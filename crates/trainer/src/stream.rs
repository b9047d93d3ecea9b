//! Training records streamed from a file ([`TrainingSource`]): shuffled within a bounded
//! window, seeded, resumable at any row, never held whole in memory.
//!
//! # Order
//! An epoch visits every record of the source exactly once:
//! 1. its blocks (the source's fixed runs of `block_rows` rows) in a seeded permutation
//!    ([`Stream::BlockOrder`], position: epoch);
//! 2. cut into *windows* of `shuffle_buffer / block_rows` consecutive blocks of that order;
//! 3. each window's rows shuffled ([`Stream::WindowOrder`], position: epoch, window) and
//!    served in that order, then the next window is read.
//!
//! Only one window is in memory at a time: at most `shuffle_buffer` rows (the window is
//! dropped before the next one is read), plus the micro-batch being trained on.
//!
//! # Resuming
//! The order is a pure function of (seed, epoch) and the source's row count, so the position
//! [`DataPosition`] `{ epoch, offset }` a checkpoint records is enough: a resumed run finds
//! the window holding `offset` from the block sizes alone, reads only that window's blocks,
//! reshuffles them identically and continues at that very row.
//!
//! # Groups
//! A record becomes a [`Group`] of `1 + negatives` entries: one positive (the only one, or, for
//! a record with several, one drawn per epoch, seeded by (seed, epoch, record)), then
//! `negatives` of the record's negatives (all of them in a seeded order when it has no more,
//! padded with invalid entries when it has fewer; a seeded sample without replacement when it
//! has more). A record without a positive (a pointwise `(query, document, label = 0)` row)
//! leads with its first document. Labels and teacher scores follow their documents.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rankforge_data::{SourcedRecord, TrainingSource};

use crate::data::{stream_seed, DataPosition, Group, Stream};
use crate::error::{Result, TrainError};

/// Records of a [`TrainingSource`] served as seeded, window-shuffled groups.
pub struct RecordStream {
    source: Box<dyn TrainingSource>,
    /// What errors name (the file).
    name: String,
    negatives: usize,
    rows: usize,
    block_rows: usize,
    blocks: usize,
    /// Blocks per shuffle window.
    window_blocks: usize,
}

impl std::fmt::Debug for RecordStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("name", &self.name)
            .field("rows", &self.rows)
            .field("block_rows", &self.block_rows)
            .field("window_blocks", &self.window_blocks)
            .finish()
    }
}

/// The one window in memory and the epoch's block order (see [`RecordStream::next_batch`]).
#[derive(Debug, Default)]
pub struct StreamCache {
    order: Option<(usize, Vec<usize>)>,
    window: Option<Window>,
}

impl StreamCache {
    /// Records held in memory now (at most the stream's `shuffle_buffer`).
    pub fn resident_rows(&self) -> usize {
        self.window.as_ref().map_or(0, |w| w.records.len())
    }
}

#[derive(Debug)]
struct Window {
    epoch: usize,
    /// The epoch offset of its first row.
    start: usize,
    /// (record index in the source, record), in serving order.
    records: Vec<(usize, SourcedRecord)>,
}

impl RecordStream {
    /// Serves `source` in groups of `1 + negatives`, shuffling within windows of
    /// `shuffle_buffer` rows at most (at least one block). `name` is what errors name.
    pub fn new(
        source: Box<dyn TrainingSource>,
        name: impl Into<String>,
        negatives: usize,
        shuffle_buffer: usize,
    ) -> Result<Self> {
        let name = name.into();
        let (rows, block_rows, blocks) = (source.rows(), source.block_rows(), source.blocks());
        if rows == 0 {
            return Err(TrainError::NoData(format!(
                "{name} holds no training record"
            )));
        }
        if block_rows == 0 || blocks != rows.div_ceil(block_rows) {
            return Err(TrainError::Other(format!(
                "{name}: the reader reports {rows} rows in {blocks} blocks of {block_rows}; the \
                 stream needs full blocks but the last"
            )));
        }
        Ok(Self {
            source,
            name,
            negatives,
            rows,
            block_rows,
            blocks,
            window_blocks: (shuffle_buffer / block_rows).max(1),
        })
    }

    /// Records per epoch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Records a window holds at most (what is resident while training).
    pub fn window_rows(&self) -> usize {
        (self.window_blocks * self.block_rows).min(self.rows)
    }

    /// What errors name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Micro-batches per epoch for `batch_size` groups each (a batch never spans epochs).
    pub fn batches_per_epoch(&self, batch_size: usize) -> usize {
        self.rows.div_ceil(batch_size)
    }

    /// The records of the source's first block (start-time checks of what the file carries).
    pub fn first_block(&self) -> Result<Vec<SourcedRecord>> {
        Ok(self.source.read_block(0)?)
    }

    fn block_len(&self, block: usize) -> usize {
        if block + 1 < self.blocks {
            self.block_rows
        } else {
            self.rows - (self.blocks - 1) * self.block_rows
        }
    }

    /// The block order of `epoch` (a seeded permutation).
    pub fn block_order(&self, seed: u64, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.blocks).collect();
        order.shuffle(&mut StdRng::seed_from_u64(stream_seed(
            seed,
            Stream::BlockOrder,
            &[epoch as u64],
        )));
        order
    }

    /// The window holding epoch offset `offset` under block `order`: (window index, the
    /// offset of its first row).
    fn locate(&self, order: &[usize], offset: usize) -> (usize, usize) {
        let mut start = 0;
        for (index, blocks) in order.chunks(self.window_blocks).enumerate() {
            let len: usize = blocks.iter().map(|&b| self.block_len(b)).sum();
            if offset < start + len {
                return (index, start);
            }
            start += len;
        }
        unreachable!("offset {offset} lies within the epoch's {} rows", self.rows)
    }

    fn load_window(
        &self,
        seed: u64,
        epoch: usize,
        order: &[usize],
        offset: usize,
    ) -> Result<Window> {
        let (index, start) = self.locate(order, offset);
        let blocks = order
            .chunks(self.window_blocks)
            .nth(index)
            .expect("located");
        let mut records = Vec::with_capacity(self.window_rows());
        for &block in blocks {
            let read = self.source.read_block(block)?;
            if read.len() != self.block_len(block) {
                return Err(TrainError::Other(format!(
                    "{}: block {block} holds {} records, the index said {}",
                    self.name,
                    read.len(),
                    self.block_len(block)
                )));
            }
            let first = block * self.block_rows;
            records.extend(read.into_iter().enumerate().map(|(i, r)| (first + i, r)));
        }
        records.shuffle(&mut StdRng::seed_from_u64(stream_seed(
            seed,
            Stream::WindowOrder,
            &[epoch as u64, index as u64],
        )));
        Ok(Window {
            epoch,
            start,
            records,
        })
    }

    /// The next micro-batch of up to `batch_size` groups from `position`, which moves on. A
    /// batch never spans two epochs (the last one of an epoch may be smaller); it may span
    /// two windows (the first is dropped before the second is read).
    pub fn next_batch(
        &self,
        seed: u64,
        position: &mut DataPosition,
        batch_size: usize,
        cache: &mut StreamCache,
    ) -> Result<Vec<Group>> {
        if position.offset >= self.rows {
            position.epoch += 1;
            position.offset = 0;
        }
        let epoch = position.epoch;
        if cache.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            cache.order = Some((epoch, self.block_order(seed, epoch)));
        }
        let end = (position.offset + batch_size).min(self.rows);
        let mut groups = Vec::with_capacity(end - position.offset);
        while position.offset < end {
            let offset = position.offset;
            let held = cache.window.as_ref().is_some_and(|w| {
                w.epoch == epoch && (w.start..w.start + w.records.len()).contains(&offset)
            });
            if !held {
                cache.window = None;
                let order = &cache.order.as_ref().expect("just filled").1;
                cache.window = Some(self.load_window(seed, epoch, order, offset)?);
            }
            let window = cache.window.as_ref().expect("just filled");
            let (index, record) = &window.records[offset - window.start];
            groups.push(self.group(seed, epoch, *index, record)?);
            position.offset += 1;
        }
        Ok(groups)
    }

    /// The group of the record at `index` (0-based in the source) in `epoch`.
    pub fn group(
        &self,
        seed: u64,
        epoch: usize,
        index: usize,
        sourced: &SourcedRecord,
    ) -> Result<Group> {
        let record = &sourced.record;
        let n = record.documents.len();
        let bad =
            |what: String| TrainError::Other(format!("{}: row {}: {what}", self.name, sourced.row));
        if n == 0 {
            return Err(bad("the record has no document".into()));
        }
        if record.labels.len() != n || record.positives > n {
            return Err(bad(format!(
                "{n} documents, {} labels, {} positives",
                record.labels.len(),
                record.positives
            )));
        }
        if let Some(scores) = &record.teacher_scores {
            if scores.len() != n {
                return Err(bad(format!(
                    "{n} documents but {} teacher scores",
                    scores.len()
                )));
            }
        }
        let mut rng = StdRng::seed_from_u64(stream_seed(
            seed,
            Stream::Negatives,
            &[epoch as u64, index as u64],
        ));
        let head = if record.positives > 1 {
            rng.random_range(0..record.positives)
        } else {
            0
        };
        let rest = record.positives.max(1);
        let pool = n - rest;
        let chosen = rand::seq::index::sample(&mut rng, pool, self.negatives.min(pool));
        let entries: Vec<usize> = std::iter::once(head)
            .chain(chosen.iter().map(|i| rest + i))
            .collect();
        let list = self.negatives + 1;
        let mut group = Group {
            query: record.query.clone(),
            docs: Vec::with_capacity(list),
            labels: Vec::with_capacity(list),
            valid: Vec::with_capacity(list),
            teacher: record
                .teacher_scores
                .as_ref()
                .map(|_| Vec::with_capacity(list)),
            row: Some(sourced.row),
        };
        for &e in &entries {
            group.docs.push(record.documents[e].clone());
            group.labels.push(record.labels[e]);
            group.valid.push(true);
            if let (Some(out), Some(scores)) = (&mut group.teacher, &record.teacher_scores) {
                out.push(scores[e]);
            }
        }
        while group.docs.len() < list {
            group.docs.push(String::new());
            group.labels.push(0.0);
            group.valid.push(false);
            if let Some(out) = &mut group.teacher {
                out.push(0.0);
            }
        }
        Ok(group)
    }
}
