//! One training run from a config: load data, mine negatives, build the task, run the loop,
//! write plots and the model card, and summarise before vs after.

use std::path::{Path, PathBuf};

use burn::tensor::backend::AutodiffBackend;
use rankforge_data::TrainingSource;

use crate::bi_encoder::score_with_teacher;
use crate::config::DataSection;
use crate::config::{ModelKind, TrainConfig};
use crate::cross_encoder::{BaseModel, CrossEncoderTask, TaskInputs};
use crate::data::{build_bm25, Collection, TrainData, TrainingSet};
use crate::error::{io_err, Result, TrainError};
use crate::eval::{DevSet, Metrics};
use crate::report::{write_model_card, CardFacts};
use crate::stream::RecordStream;
use crate::train_loop::{
    format_metrics, run_loop, write_dev_run, TrainOptions, BEST_DIR, BM25_DEV_RUN, FINAL_DIR,
};

/// What a finished (or deliberately stopped) run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    pub output_dir: PathBuf,
    pub steps: usize,
    pub total_steps: usize,
    /// BM25 candidates alone on the dev set.
    pub bm25_metrics: Metrics,
    /// The model before training.
    pub initial_metrics: Metrics,
    /// The final model (None when stopped by `stop_after_steps`).
    pub final_metrics: Option<Metrics>,
    /// Best selection-metric value and its step.
    pub best: Option<(f64, usize)>,
    pub pairs_per_s: f64,
    pub stopped_early: bool,
    pub train_examples: usize,
    /// Tokens per sequence at most: what the run trained and evaluated at, and what its saved
    /// models record (so `predict`, `rerank`, `serve` on them run at it too).
    pub max_length: usize,
}

impl TrainSummary {
    /// A before/after table for the terminal, and the length the dev queries were scored at
    /// (the saved model's, so the commands that load it reproduce the "after" column).
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<10} {:>8} {:>8} {:>8}\n",
            "metric", "BM25", "before", "after"
        );
        let names: Vec<&String> = self.bm25_metrics.iter().map(|(n, _)| n).collect();
        for name in names {
            let find = |m: &Metrics| {
                m.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| format!("{v:.4}"))
                    .unwrap_or_else(|| "-".into())
            };
            let after = self
                .final_metrics
                .as_ref()
                .map(find)
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "{name:<10} {:>8} {:>8} {after:>8}\n",
                find(&self.bm25_metrics),
                find(&self.initial_metrics)
            ));
        }
        out.push_str(&format!(
            "(dev scored at max length {} tokens, the length the saved model records)\n",
            self.max_length
        ));
        out
    }
}

/// Trains the model the config describes on backend `B`.
pub fn train<B: AutodiffBackend>(
    config: &TrainConfig,
    options: &TrainOptions,
    device: &B::Device,
) -> Result<TrainSummary> {
    train_from::<B>(config, options, None, device)
}

/// [`train`] with the training records of `source` instead of those of `data.train_file`
/// (tests: an in-memory source). Without `source` the records come from `data.train_file`
/// when it is set, else from BEIR mining of `data.dir`.
pub fn train_from<B: AutodiffBackend>(
    config: &TrainConfig,
    options: &TrainOptions,
    source: Option<Box<dyn TrainingSource>>,
    device: &B::Device,
) -> Result<TrainSummary> {
    let say = |message: String| {
        if !options.quiet {
            eprintln!("{message}");
        }
    };
    let output_dir = &config.run.output_dir;
    for stale in crate::checkpoint::remove_stale_temporaries(output_dir)? {
        say(format!(
            "removed {}, left by a run killed while writing",
            stale.display()
        ));
    }
    if options.resume && options.overwrite {
        return Err(TrainError::Other(
            "--resume continues the run in run.output_dir and --overwrite deletes it: give one"
                .into(),
        ));
    }
    if options.resume && crate::checkpoint::find_checkpoint(output_dir).is_none() {
        // Refused before anything is written, so the directory stays as it was.
        return Err(TrainError::Resume {
            path: output_dir.clone(),
            message: "no checkpoint here (was the run started with this output_dir?)".into(),
        });
    }
    if !options.resume {
        for old in crate::run_dir::prepare_fresh_run(output_dir, options.overwrite)? {
            say(format!("--overwrite: removed {}", old.display()));
        }
    }
    std::fs::create_dir_all(output_dir).map_err(io_err(output_dir))?;
    let source = match (source, &config.data.train_file) {
        (Some(source), _) => Some(source),
        (None, Some(path)) => Some(open_training_file(path, &config.data, options.quiet)?),
        (None, None) => None,
    };
    let config_copy = output_dir.join(crate::run_dir::CONFIG_COPY);
    rankforge_data::write_atomic(&config_copy, config.to_toml()).map_err(io_err(&config_copy))?;

    let collection = match &config.data.dir {
        Some(dir) => {
            say(format!("loading {}", dir.display()));
            let train_split = source.is_none().then_some(config.data.train_split.as_str());
            Some(Collection::load(dir, train_split, &config.data.dev_split)?)
        }
        None => None,
    };
    let index = match &collection {
        Some(collection) => Some(build_bm25(&collection.corpus, !options.quiet)?),
        None => None,
    };
    let data = match source {
        Some(source) => {
            let name = config.data.train_file.as_ref().map_or_else(
                || "training records".to_string(),
                |p| p.display().to_string(),
            );
            let stream = RecordStream::new(
                source,
                name,
                config.data.negatives,
                config.data.shuffle_buffer(),
            )?;
            check_teacher_scores(config, &stream)?;
            TrainData::File(stream)
        }
        None => {
            let (collection, index) = (
                collection
                    .as_ref()
                    .expect("validated: dir without train_file"),
                index.as_ref().expect("built with the collection"),
            );
            let mut set = TrainingSet::mine(collection, index, &config.data)?;
            if let Some(teacher) = config.distill.as_ref().and_then(|d| d.teacher.as_ref()) {
                // ColBERT's teacher scores at its own saved length, a bi-encoder's at the
                // run's.
                let max_length = match config.model.kind {
                    ModelKind::Colbert => None,
                    _ => config.model.max_length,
                };
                set.teacher = Some(score_with_teacher::<B>(
                    teacher,
                    max_length,
                    &set,
                    config.eval.batch_size,
                    device,
                    options.quiet,
                )?);
            }
            TrainData::Mined(set)
        }
    };
    let (dev, bm25_metrics) = match (&collection, &index) {
        (Some(collection), Some(index)) => {
            let dev = DevSet::new(collection, index, &config.eval, config.data.max_dev_queries)?;
            let bm25_metrics = dev.bm25_metrics()?;
            write_dev_run(&dev.candidates, &output_dir.join(BM25_DEV_RUN), "bm25")?;
            (Some(dev), bm25_metrics)
        }
        _ => (None, Metrics::new()),
    };
    let dev_line = match &dev {
        Some(dev) => format!(
            "{} dev queries; BM25 alone: {}",
            dev.queries.len(),
            format_metrics(&bm25_metrics)
        ),
        None => "no dev evaluation (data.dir is not set)".into(),
    };
    match &data {
        TrainData::Mined(set) => say(format!(
            "{} training queries, {} (query, positive) examples, {dev_line}",
            set.queries.len(),
            set.examples.len(),
        )),
        TrainData::File(stream) => say(format!(
            "{} training records in {} (shuffled within windows of {} rows), {dev_line}",
            stream.rows(),
            stream.name(),
            stream.window_rows(),
        )),
    }
    let has_dev = dev.is_some();
    let dev = dev.unwrap_or_else(DevSet::empty);
    let empty_corpus = rankforge_data::Corpus::new();
    let corpus = collection.as_ref().map_or(&empty_corpus, |c| &c.corpus);

    // Each kind prepares its task and starting model; what loading made up is said, then the
    // one loop trains it.
    macro_rules! train_task {
        ($prepared:expr) => {{
            let (task, model, report) = $prepared?;
            for notice in report.notices() {
                say(notice);
            }
            run_loop(config, options, &task, &data, has_dev, model, device)?
        }};
    }
    let outcome = match config.model.kind {
        ModelKind::CrossEncoder => {
            let inputs = TaskInputs { corpus, dev: &dev };
            train_task!(CrossEncoderTask::<B>::load_base(
                &BaseModel::of(config),
                inputs,
                device
            ))
        }
        ModelKind::BiEncoder => train_task!(crate::bi_encoder::BiEncoderTask::<B>::prepare(
            config, corpus, &dev, device,
        )),
        ModelKind::Colbert => train_task!(crate::colbert::ColBertTask::<B>::prepare(
            config, corpus, &dev, device,
        )),
        ModelKind::Generative => train_task!(crate::generative::GenerativeTask::<B>::prepare(
            config, corpus, &dev, device,
        )),
    };

    let summary = TrainSummary {
        output_dir: output_dir.clone(),
        steps: outcome.state.step,
        total_steps: outcome.state.total_steps,
        bm25_metrics,
        initial_metrics: outcome.state.initial_metrics.clone(),
        final_metrics: outcome.final_metrics.clone(),
        best: outcome.state.best,
        pairs_per_s: outcome.pairs_per_s,
        stopped_early: outcome.stopped_early,
        train_examples: data.examples(),
        max_length: outcome.max_length,
    };
    if let Some(after) = &summary.final_metrics {
        let log = crate::report::MetricsLog::open(output_dir, Some(usize::MAX))?;
        log.write_plots(output_dir)?;
        let kind = match config.model.kind {
            ModelKind::CrossEncoder => "cross_encoder",
            ModelKind::BiEncoder => "bi_encoder",
            ModelKind::Colbert => "colbert",
            ModelKind::Generative => "generative",
        };
        let facts = CardFacts {
            config,
            kind,
            steps: summary.steps,
            train_examples: summary.train_examples,
            bm25: &summary.bm25_metrics,
            before: &summary.initial_metrics,
            after,
            best: summary.best,
            pairs_per_s: summary.pairs_per_s,
            max_length: summary.max_length,
        };
        for dir in [
            output_dir.clone(),
            output_dir.join(FINAL_DIR),
            output_dir.join(BEST_DIR),
        ] {
            if dir.is_dir() {
                write_model_card(&dir.join(crate::run_dir::MODEL_CARD), &facts)?;
            }
        }
    }
    Ok(summary)
}

/// Opens `data.train_file` for streaming: the reader indexes the file (block offsets, row
/// count) without holding its records; a spinner shows while it does.
fn open_training_file(
    path: &Path,
    data: &DataSection,
    quiet: bool,
) -> Result<Box<dyn TrainingSource>> {
    let spinner = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(format!("indexing {}", path.display()));
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
        spinner
    };
    let opened = open_file_source(path, data);
    spinner.finish_and_clear();
    opened
}

fn open_file_source(path: &Path, data: &DataSection) -> Result<Box<dyn TrainingSource>> {
    let options = rankforge_data::TableOptions {
        format: data.format.unwrap_or_default(),
        header: true,
        mode: rankforge_data::ReadMode::Strict,
    };
    let columns = data.columns.clone().unwrap_or_default();
    let file = rankforge_data::TrainingFile::open(path, &columns, &options, data.block_rows())?;
    Ok(Box::new(file))
}

/// A run whose loss needs teacher scores on a training file: the file must carry them (its
/// first block is read to check, so a file without them stops the run before training).
fn check_teacher_scores(config: &TrainConfig, stream: &RecordStream) -> Result<()> {
    let inputs = config.loss.inputs();
    if !inputs
        .required
        .contains(&rankforge_losses::InputKind::TeacherScores)
    {
        return Ok(());
    }
    if let Some(missing) = stream
        .first_block()?
        .iter()
        .find(|r| r.record.teacher_scores.is_none())
    {
        return Err(TrainError::Other(format!(
            "loss `{}` needs teacher scores and {} has none (row {}): map the file's score \
             columns in [data.columns] (e.g. FlagEmbedding's pos_scores / neg_scores), or pick \
             a loss that trains on labels",
            config.loss.name(),
            stream.name(),
            missing.row
        )));
    }
    Ok(())
}
