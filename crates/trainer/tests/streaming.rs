//! Training records streamed from a source (`[data] train_file`): the window shuffle's order
//! (every row once per epoch, seeded, bounded residency), resuming at the recorded row, and
//! runs on file records (labels, teacher scores) through every task.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use rankforge_data::{InMemoryTraining, SourcedRecord, TrainingRecord, TrainingSource};
use rankforge_trainer::checkpoint::{find_checkpoint, read_state};
use rankforge_trainer::data::DataPosition;
use rankforge_trainer::report::{MetricsRecord, METRICS_FILE};
use rankforge_trainer::stream::{RecordStream, StreamCache};
use rankforge_trainer::{train_from, TrainConfig, TrainOptions};

/// Training tests share burn's process-wide RNG: one at a time (see tests/training.rs).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..Default::default()
    }
}

/// A source that records which blocks were read, in order.
#[derive(Clone)]
struct Counting {
    inner: Arc<InMemoryTraining>,
    reads: Arc<Mutex<Vec<usize>>>,
}

impl Counting {
    fn new(records: Vec<TrainingRecord>, block_rows: usize) -> Self {
        Self {
            inner: Arc::new(InMemoryTraining::new(records, block_rows)),
            reads: Arc::default(),
        }
    }

    fn take_reads(&self) -> Vec<usize> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }
}

impl TrainingSource for Counting {
    fn block_rows(&self) -> usize {
        self.inner.block_rows()
    }
    fn rows(&self) -> usize {
        self.inner.rows()
    }
    fn blocks(&self) -> usize {
        self.inner.blocks()
    }
    fn read_block(&self, index: usize) -> rankforge_data::Result<Vec<SourcedRecord>> {
        self.reads.lock().unwrap().push(index);
        self.inner.read_block(index)
    }
}

/// `n` records: query `q{i}`, `1 + i % 3` positives, `i % 7` negatives, teacher scores.
fn synthetic(n: usize) -> Vec<TrainingRecord> {
    (0..n)
        .map(|i| {
            let positives = 1 + i % 3;
            let negatives = i % 7;
            let documents: Vec<String> = (0..positives)
                .map(|p| format!("q{i} pos{p}"))
                .chain((0..negatives).map(|k| format!("q{i} neg{k}")))
                .collect();
            let labels = (0..positives + negatives)
                .map(|d| if d < positives { 1.0 } else { 0.0 })
                .collect();
            let teacher_scores = Some(
                (0..positives + negatives)
                    .map(|d| 10.0 - d as f32)
                    .collect(),
            );
            TrainingRecord {
                query: format!("q{i}"),
                documents,
                labels,
                teacher_scores,
                positives,
            }
        })
        .collect()
}

/// The rows (1-based) `epochs` epochs serve, batch by batch, with the largest residency seen.
fn served_rows(
    stream: &RecordStream,
    seed: u64,
    epochs: usize,
    batch: usize,
) -> (Vec<Vec<usize>>, usize) {
    let mut cache = StreamCache::default();
    let mut position = DataPosition::default();
    let mut out = vec![Vec::new(); epochs];
    let mut resident = 0;
    while position.epoch < epochs {
        if position.offset >= stream.rows() && position.epoch + 1 == epochs {
            break;
        }
        let groups = stream
            .next_batch(seed, &mut position, batch, &mut cache)
            .unwrap();
        resident = resident.max(cache.resident_rows());
        for g in groups {
            out[position.epoch].push(g.row.unwrap());
        }
    }
    (out, resident)
}

#[test]
fn the_window_shuffle_visits_every_row_once_per_epoch_seeded_and_bounded() {
    let (rows, block_rows, buffer) = (1037, 50, 230);
    let source = Counting::new(synthetic(rows), block_rows);
    let stream = RecordStream::new(Box::new(source.clone()), "mem", 4, buffer).unwrap();
    assert_eq!(stream.window_rows(), 200, "whole blocks: 4 × 50 ≤ 230");
    let (epochs, resident) = served_rows(&stream, 7, 3, 7);
    let blocks = rows.div_ceil(block_rows);
    // Every block read exactly once per epoch: windows are read once, in turn.
    let mut reads = source.take_reads();
    assert_eq!(reads.len(), 3 * blocks);
    for epoch in reads.chunks_mut(blocks) {
        epoch.sort();
        assert_eq!(epoch.to_vec(), (0..blocks).collect::<Vec<_>>());
    }
    assert!(
        resident <= buffer && resident == 200,
        "{resident} rows resident"
    );
    for served in &epochs {
        let mut sorted = served.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=rows).collect::<Vec<_>>(), "each row once");
        // Rows are mixed within a window: consecutive rows are rarely neighbours in the file.
        let neighbours = served
            .windows(2)
            .filter(|w| w[0].abs_diff(w[1]) == 1)
            .count();
        assert!(neighbours < rows / 20, "{neighbours} neighbours");
        // The first rows served come from the 4 blocks of one window (187 or 200 rows).
        let mut first: Vec<usize> = served[..150].iter().map(|r| (r - 1) / 50).collect();
        first.sort();
        first.dedup();
        assert_eq!(first.len(), 4, "{first:?}");
    }
    assert_ne!(epochs[0], epochs[1], "each epoch has its own order");
    assert_ne!(epochs[1], epochs[2]);
    let (again, _) = served_rows(&stream, 7, 3, 7);
    assert_eq!(again, epochs, "seeded");
    let (other_seed, _) = served_rows(&stream, 8, 1, 7);
    assert_ne!(other_seed[0], epochs[0]);
    // The batch size does not change the order.
    let (by_one, _) = served_rows(&stream, 7, 1, 1);
    assert_eq!(by_one[0], epochs[0]);

    // Resuming: a fresh stream at a recorded position continues at that very row, reading
    // only the window that holds it.
    source.take_reads();
    for (epoch, offset) in [(0, 0), (0, 433), (1, 999), (2, 1036)] {
        let mut position = DataPosition { epoch, offset };
        let mut cache = StreamCache::default();
        let groups = stream.next_batch(7, &mut position, 3, &mut cache).unwrap();
        let expected = &epochs[epoch][offset..(offset + 3).min(rows)];
        let got: Vec<usize> = groups.iter().map(|g| g.row.unwrap()).collect();
        assert_eq!(got, expected, "epoch {epoch} offset {offset}");
        let reads = source.take_reads();
        assert!(reads.len() <= 4, "{reads:?}");
        assert!(reads.contains(&((expected[0] - 1) / block_rows)));
    }
}

#[test]
fn groups_take_one_positive_and_a_seeded_sample_of_negatives_padded_when_short() {
    let records = synthetic(21);
    let stream = RecordStream::new(
        Box::new(InMemoryTraining::new(records.clone(), 5)),
        "mem",
        4,
        10,
    )
    .unwrap();
    let mut heads = std::collections::HashSet::new();
    for epoch in 0..20 {
        for (index, record) in records.iter().enumerate() {
            let sourced = SourcedRecord {
                row: index + 1,
                record: record.clone(),
            };
            let group = stream.group(7, epoch, index, &sourced).unwrap();
            assert_eq!(group.docs.len(), 5);
            assert_eq!(group.query, record.query);
            assert!(group.docs[0].contains("pos"), "{:?}", group.docs);
            assert_eq!(group.labels[0], 1.0);
            heads.insert((index, group.docs[0].clone()));
            let real = group.valid.iter().filter(|&&v| v).count();
            let negatives = record.documents.len() - record.positives;
            assert_eq!(real, 1 + negatives.min(4));
            let teacher = group.teacher.as_ref().unwrap();
            for (j, doc) in group.docs.iter().enumerate() {
                if group.valid[j] {
                    assert!(j == 0 || doc.contains("neg"), "{doc}");
                    let at = record.documents.iter().position(|d| d == doc).unwrap();
                    assert_eq!(teacher[j], 10.0 - at as f32, "scores follow documents");
                    assert_eq!(group.labels[j], record.labels[at]);
                } else {
                    assert_eq!((doc.as_str(), group.labels[j], teacher[j]), ("", 0.0, 0.0));
                }
            }
            // Same (seed, epoch, record): the same group.
            assert_eq!(stream.group(7, epoch, index, &sourced).unwrap(), group);
        }
    }
    // Records with three positives lead with each of them over the epochs.
    let record_2: Vec<_> = heads.iter().filter(|(i, _)| *i == 2).collect();
    assert_eq!(record_2.len(), 3, "{record_2:?}");
}

/// The world's training split as file records: the query, its positive, the other topics'
/// first documents as negatives, teacher scores (positive high).
fn world_records(world: &World) -> Vec<TrainingRecord> {
    let beir =
        rankforge_data::BeirDataset::load(&world.data, "train", rankforge_data::ReadMode::Strict)
            .unwrap()
            .into_data();
    let mut records = Vec::new();
    for query in beir.queries.iter() {
        let Some(judged) = beir.qrels.get(&query.id) else {
            continue;
        };
        let positive = judged.keys().next().unwrap();
        let mut documents = vec![beir.corpus.get(positive).unwrap().full_text()];
        for doc in beir.corpus.iter() {
            if doc.id.ends_with("_0") && !doc.id.starts_with(&positive[..4]) {
                documents.push(doc.full_text());
            }
        }
        let n = documents.len();
        records.push(TrainingRecord {
            query: query.text.clone(),
            labels: (0..n).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect(),
            teacher_scores: Some((0..n).map(|i| 4.0 - i as f32 * 0.5).collect()),
            documents,
            positives: 1,
        });
    }
    records.sort_by(|a, b| a.query.cmp(&b.query));
    records
}

/// A config over the world training on a "file" (the records come from the source given to
/// `train_from`; the path only names them).
fn file_config(world: &World, name: &str, kind: &str, loss: &str, extra: &str) -> TrainConfig {
    let text = world
        .config_text(name, loss, "")
        .replace("kind = \"cross_encoder\"", &format!("kind = \"{kind}\""))
        .replace(
            "negative_pool = 6",
            "train_file = \"records.jsonl\"\nblock_rows = 2\nshuffle_buffer = 6",
        )
        + extra;
    let text = if kind == "colbert" {
        text.replace("max_length = 32\n", "")
    } else {
        text
    };
    TrainConfig::from_toml(&text, Path::new("stream.toml")).unwrap()
}

fn losses(dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(dir.join(METRICS_FILE))
        .unwrap()
        .lines()
        .filter_map(|l| match serde_json::from_str(l).unwrap() {
            MetricsRecord::Train { loss, .. } => Some(loss),
            _ => None,
        })
        .collect()
}

/// A run on file records stopped mid-epoch and resumed ends with the uninterrupted run's
/// weights, byte for byte; the resumed run reads first the window holding the recorded row.
#[test]
fn a_resumed_file_run_ends_as_an_uninterrupted_one() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let records = world_records(&world);
    assert_eq!(records.len(), 18);
    let extra = "";
    let full = file_config(&world, "full", "cross_encoder", "loss = \"listnet\"", extra);
    let source = Counting::new(records.clone(), 2);
    let summary =
        train_from::<CpuAutodiff>(&full, &quiet(), Some(Box::new(source)), &device).unwrap();
    // 18 records, batch 3: 6 steps an epoch, 2 epochs.
    assert_eq!(summary.steps, 12);
    assert_eq!(summary.train_examples, 18);
    assert!(summary
        .final_metrics
        .as_ref()
        .is_some_and(|m| !m.is_empty()));

    let config = file_config(
        &world,
        "resumed",
        "cross_encoder",
        "loss = \"listnet\"",
        extra,
    );
    let source = Counting::new(records.clone(), 2);
    let stop = TrainOptions {
        stop_after_steps: Some(9),
        quiet: true,
        ..Default::default()
    };
    train_from::<CpuAutodiff>(&config, &stop, Some(Box::new(source)), &device).unwrap();
    let state = read_state(&find_checkpoint(&config.run.output_dir).unwrap()).unwrap();
    // Checkpoints every 2 steps: step 8 is the second epoch's 2nd step, at row offset 6.
    assert_eq!(state.step, 8);
    assert_eq!(
        state.position,
        DataPosition {
            epoch: 1,
            offset: 6
        }
    );

    let source = Counting::new(records.clone(), 2);
    let resume = TrainOptions {
        resume: true,
        quiet: true,
        ..Default::default()
    };
    let resumed =
        train_from::<CpuAutodiff>(&config, &resume, Some(Box::new(source.clone())), &device)
            .unwrap();
    assert_eq!(resumed.steps, summary.steps);
    assert_eq!(
        std::fs::read(full.run.output_dir.join("final/model.safetensors")).unwrap(),
        std::fs::read(config.run.output_dir.join("final/model.safetensors")).unwrap(),
        "weights differ after resuming"
    );
    assert_eq!(
        losses(&full.run.output_dir),
        losses(&config.run.output_dir),
        "the logged losses of every step"
    );
    // The row the resumed run starts at is the recorded one: the one an uninterrupted pass
    // serves at (epoch 1, offset 6), and the resumed run's first reads are its window.
    let stream = RecordStream::new(
        Box::new(InMemoryTraining::new(records.clone(), 2)),
        "records.jsonl",
        3,
        6,
    )
    .unwrap();
    let (epochs, _) = served_rows(&stream, 7, 2, 3);
    let first_row = epochs[1][6];
    let reads = source.take_reads();
    assert!(
        reads[..3].contains(&((first_row - 1) / 2)),
        "row {first_row}: {reads:?}"
    );
    let mut cache = StreamCache::default();
    let mut position = state.position;
    let batch = stream.next_batch(7, &mut position, 3, &mut cache).unwrap();
    assert_eq!(batch[0].row, Some(first_row));

    // A file that changed size under the same config is refused on resume: the recorded row
    // would be another one.
    assert_eq!(state.data_rows, Some(18));
    let error = train_from::<CpuAutodiff>(
        &config,
        &resume,
        Some(Box::new(Counting::new(records[..17].to_vec(), 2))),
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("18 training examples") && error.contains("holds 17"),
        "{error}"
    );
}

/// Teacher scores from the file feed the distillation losses of bi-encoders and ColBERT
/// (MarginMSE, KL) without a `[distill] teacher`; losses are finite and the weights move. A
/// file without teacher scores is refused before training, naming the loss and the row.
#[test]
fn file_teacher_scores_distil_bi_encoders_and_colbert_and_their_absence_is_refused_at_start() {
    let _serial = serial();
    let world = World::new();
    std::fs::remove_dir_all(&world.base).unwrap();
    write_base_model_with(&world.base, &["[unused0]", "[unused1]"]);
    let device = Default::default();
    let records = world_records(&world);
    let colbert = "\n[colbert]\ndim = 8\nquery_length = 12\ndocument_length = 16\n\
                   query_prefix = \"[unused0]\"\ndocument_prefix = \"[unused1]\"\n";
    for (name, kind, loss, extra) in [
        ("margin", "bi_encoder", "loss = \"margin_mse\"", ""),
        ("kl", "bi_encoder", "loss = \"distill_kl\"", ""),
        (
            "colbert_kl",
            "colbert",
            "loss = \"colbert_distillation\"",
            colbert,
        ),
    ] {
        let mut config = file_config(&world, name, kind, loss, extra);
        config.train.max_steps = Some(4);
        let source = InMemoryTraining::new(records.clone(), 2);
        let summary = train_from::<CpuAutodiff>(&config, &quiet(), Some(Box::new(source)), &device)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.steps, 4);
        let losses = losses(&config.run.output_dir);
        assert!(
            losses.len() == 4 && losses.iter().all(|l| l.is_finite()),
            "{name}: {losses:?}"
        );

        let without: Vec<TrainingRecord> = records
            .iter()
            .cloned()
            .map(|r| TrainingRecord {
                teacher_scores: None,
                ..r
            })
            .collect();
        let mut config = config.clone();
        config.run.output_dir = world.tmp.path().join(format!("{name}-none"));
        let source = InMemoryTraining::new(without, 2);
        let error = train_from::<CpuAutodiff>(&config, &quiet(), Some(Box::new(source)), &device)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("needs teacher scores") && error.contains("row 1"),
            "{name}: {error}"
        );
        assert!(
            !config.run.output_dir.join("metrics.jsonl").exists()
                || losses_or_empty(&config.run.output_dir).is_empty(),
            "refused before any step"
        );
    }
}

fn losses_or_empty(dir: &Path) -> Vec<f64> {
    if dir.join(METRICS_FILE).is_file() {
        losses(dir)
    } else {
        Vec::new()
    }
}

/// Without `data.dir` a file run has no dev evaluation: it trains, saves `final/`, and
/// reports no metrics; pointwise labelled pairs (groups of one) train with `bce`.
#[test]
fn a_file_run_without_a_dev_set_trains_pointwise_pairs() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let records: Vec<TrainingRecord> = world_records(&world)
        .into_iter()
        .flat_map(|r| {
            (0..2).map(move |i| TrainingRecord {
                query: r.query.clone(),
                documents: vec![r.documents[i].clone()],
                labels: vec![r.labels[i]],
                teacher_scores: None,
                positives: usize::from(i == 0),
            })
        })
        .collect();
    let text = file_config(&world, "pointwise", "cross_encoder", "loss = \"bce\"", "")
        .to_toml()
        .replace("negatives = 3", "negatives = 0");
    let text = text
        .lines()
        .filter(|l| !l.starts_with("dir = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = TrainConfig::from_toml(&text, Path::new("p.toml")).unwrap();
    assert!(config.data.dir.is_none());
    let source = InMemoryTraining::new(records, 2);
    let summary =
        train_from::<CpuAutodiff>(&config, &quiet(), Some(Box::new(source)), &device).unwrap();
    assert_eq!(summary.train_examples, 36);
    assert_eq!(summary.steps, 24);
    assert!(summary.bm25_metrics.is_empty());
    assert_eq!(summary.final_metrics, Some(Vec::new()));
    let out = &config.run.output_dir;
    assert!(out.join("final/model.safetensors").is_file());
    assert!(!out.join("best").exists() && !out.join("final-dev.trec").exists());
    let card = std::fs::read_to_string(out.join("README.md")).unwrap();
    assert!(card.contains("no dev set"), "{card}");
    let losses = losses(out);
    assert!(
        losses.iter().all(|l| l.is_finite() && *l > 0.0),
        "{losses:?}"
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/parquet")
        .join(name)
}

/// The f32 tensors of a safetensors file by name, the cross-encoder's `bert.` prefix dropped.
fn tensors(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let name = name.strip_prefix("bert.").unwrap_or(&name).to_string();
            (name, view.data().to_vec())
        })
        .collect()
}

/// Training files as users download them (the data crate's fixtures: sentence-transformers
/// triplets, n-tuples, labelled pairs, labelled lists, MarginMSE margins, FlagEmbedding with
/// teacher scores, which also distil a cross-encoder; parquet and Arrow IPC) train every kind
/// (cross-encoder, bi-encoder, ColBERT, T5) a few steps through `train` (`[data] train_file`), without a dev set: every logged loss
/// is finite and most of the base's tensors moved.
#[test]
fn training_files_in_the_st_and_flag_layouts_train_end_to_end() {
    let _serial = serial();
    let world = World::new();
    let device = Default::default();
    let t5 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/t5-tiny-relu");
    for (name, file, kind, loss, negatives) in [
        (
            "triplets_ce",
            "st_triplets.parquet",
            "cross_encoder",
            "listnet",
            1,
        ),
        (
            "triplets_ipc",
            "st_triplets.arrow",
            "cross_encoder",
            "ranknet",
            1,
        ),
        (
            "ntuples_bi",
            "st_ntuples.parquet",
            "bi_encoder",
            "infonce",
            3,
        ),
        (
            "pairs_bce",
            "st_labeled_pairs.parquet",
            "cross_encoder",
            "bce",
            0,
        ),
        (
            "lists_lambda",
            "st_lists.parquet",
            "cross_encoder",
            "lambda_loss",
            3,
        ),
        ("flag_margin", "flag.parquet", "bi_encoder", "margin_mse", 3),
        (
            "flag_ce_kl",
            "flag.parquet",
            "cross_encoder",
            "distill_kl",
            3,
        ),
        (
            "flag_colbert",
            "flag.parquet",
            "colbert",
            "colbert_distillation",
            3,
        ),
        ("triplets_t5", "st_triplets.parquet", "generative", "bce", 1),
        ("flag_kl", "flag.parquet", "bi_encoder", "distill_kl", 3),
        (
            "margins",
            "st_margin_mse.parquet",
            "bi_encoder",
            "margin_mse",
            1,
        ),
    ] {
        let (base_dir, length, extra) = match kind {
            "generative" => (t5.clone(), "max_length = 48", ""),
            "colbert" => (
                world.base.clone(),
                "",
                "[colbert]\ndim = 8\nquery_length = 12\ndocument_length = 16\n",
            ),
            _ => (world.base.clone(), "max_length = 32", ""),
        };
        let base = tensors(&base_dir.join("model.safetensors"));
        let text = format!(
            "[run]\noutput_dir = \"{out}\"\nseed = 5\n\
             [model]\nkind = \"{kind}\"\nbase = \"{base}\"\n{length}\n\
             [data]\ntrain_file = \"{file}\"\nnegatives = {negatives}\nblock_rows = 2\n\
             shuffle_buffer = 4\n\
             [train]\nmax_steps = 4\nbatch_size = 2\nlearning_rate = 1e-3\nlog_every_steps = 1\n\
             [loss]\nloss = \"{loss}\"\n{extra}",
            out = world.tmp.path().join(name).display(),
            base = base_dir.display(),
            file = fixture(file).display(),
        );
        let config = TrainConfig::from_toml(&text, Path::new(name)).unwrap();
        let summary = rankforge_trainer::train::<CpuAutodiff>(&config, &quiet(), &device)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.steps, 4, "{name}");
        let losses = losses(&config.run.output_dir);
        assert!(
            losses.len() == 4 && losses.iter().all(|l| l.is_finite()),
            "{name}: {losses:?}"
        );
        let trained = tensors(&config.run.output_dir.join("final/model.safetensors"));
        let moved = base
            .iter()
            .filter(|(n, v)| trained.get(*n).is_some_and(|t| t != *v))
            .count();
        assert!(
            moved > base.len() / 2,
            "{name}: {moved} of {} tensors moved",
            base.len()
        );
    }
}

/// `configs/train-from-parquet.toml` runs (its base model and output swapped for the tiny
/// ones, two steps): the shipped training file and the sample collection's dev split.
#[test]
fn the_shipped_parquet_config_trains() {
    let _serial = serial();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let world = World::new();
    let text = std::fs::read_to_string(root.join("configs/train-from-parquet.toml")).unwrap();
    let mut config = TrainConfig::from_toml(&text, Path::new("train-from-parquet.toml")).unwrap();
    let rebase = |p: &Path| root.join(p);
    config.data.train_file = config.data.train_file.as_deref().map(rebase);
    config.data.dir = config.data.dir.as_deref().map(rebase);
    config.data.max_dev_queries = Some(5);
    config.model.base = world.base.clone();
    config.model.max_length = Some(32);
    config.run.output_dir = world.tmp.path().join("shipped");
    config.train.max_steps = Some(2);
    config.eval.top_k = 5;
    let summary =
        rankforge_trainer::train::<CpuAutodiff>(&config, &quiet(), &Default::default()).unwrap();
    assert_eq!(summary.steps, 2);
    assert!(summary
        .final_metrics
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(_, v)| v.is_finite())));
}
