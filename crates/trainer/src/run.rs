//! One training run from a config: load data, mine negatives, build the task, run the loop,
//! write plots and the model card, and summarise before vs after.

use std::path::PathBuf;

use burn::tensor::backend::AutodiffBackend;

use crate::config::{ModelKind, TrainConfig};
use crate::cross_encoder::{BaseModel, CrossEncoderTask, TaskInputs};
use crate::data::{build_bm25, document_texts, Collection, TrainingSet};
use crate::error::{io_err, Result, TrainError};
use crate::eval::{DevSet, Metrics};
use crate::report::{write_model_card, CardFacts};
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
    let config_copy = output_dir.join(crate::run_dir::CONFIG_COPY);
    rankforge_data::write_atomic(&config_copy, config.to_toml()).map_err(io_err(&config_copy))?;

    say(format!("loading {}", config.data.dir.display()));
    let collection = Collection::load(
        &config.data.dir,
        &config.data.train_split,
        &config.data.dev_split,
    )?;
    let index = build_bm25(&collection.corpus, !options.quiet)?;
    let data = TrainingSet::mine(&collection, &index, &config.data)?;
    let dev = DevSet::new(
        &collection,
        &index,
        &config.eval,
        config.data.max_dev_queries,
    )?;
    let texts = document_texts(&collection.corpus);
    let bm25_metrics = dev.bm25_metrics()?;
    write_dev_run(&dev.candidates, &output_dir.join(BM25_DEV_RUN), "bm25")?;
    say(format!(
        "{} training queries, {} (query, positive) examples, {} dev queries; BM25 alone: {}",
        data.queries.len(),
        data.examples.len(),
        dev.queries.len(),
        format_metrics(&bm25_metrics)
    ));

    // Each kind prepares its task and starting model; what loading made up is said, then the
    // one loop trains it.
    macro_rules! train_task {
        ($prepared:expr) => {{
            let (task, model, report) = $prepared?;
            for notice in report.notices() {
                say(notice);
            }
            run_loop(config, options, &task, &data, model, device)?
        }};
    }
    let corpus = &collection.corpus;
    let outcome = match config.model.kind {
        ModelKind::CrossEncoder => {
            let inputs = TaskInputs {
                data: &data,
                texts: &texts,
                corpus,
                dev: &dev,
            };
            train_task!(CrossEncoderTask::<B>::load_base(
                &BaseModel::of(config),
                inputs,
                device
            ))
        }
        ModelKind::BiEncoder => train_task!(crate::bi_encoder::BiEncoderTask::<B>::prepare(
            config,
            &data,
            &texts,
            corpus,
            &dev,
            device,
            options.quiet,
        )),
        ModelKind::Colbert => train_task!(crate::colbert::ColBertTask::<B>::prepare(
            config,
            &data,
            &texts,
            corpus,
            &dev,
            device,
            options.quiet,
        )),
        ModelKind::Generative => train_task!(crate::generative::GenerativeTask::<B>::prepare(
            config, &data, &texts, corpus, &dev, device,
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
        train_examples: data.examples.len(),
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
