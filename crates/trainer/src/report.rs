//! What a run leaves behind besides models: `metrics.jsonl`, PNG plots of loss, learning
//! rate and dev metrics, and a model card.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rankforge_eval::LinePlot;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{io_err, Result};
use crate::eval::Metrics;

pub const METRICS_FILE: &str = "metrics.jsonl";

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MetricsRecord {
    /// Training progress at an optimizer step (mean loss of the steps since the last record).
    Train {
        step: usize,
        epoch: usize,
        loss: f64,
        lr: f64,
        grad_norm: f64,
        pairs_per_s: f64,
    },
    /// Dev metrics after `step` optimizer steps (step 0: before training).
    Eval {
        step: usize,
        metrics: BTreeMap<String, f64>,
    },
}

impl MetricsRecord {
    pub fn step(&self) -> usize {
        match self {
            MetricsRecord::Train { step, .. } | MetricsRecord::Eval { step, .. } => *step,
        }
    }
}

/// Appends records to `metrics.jsonl` (flushed per line, so a killed run keeps its log).
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    records: Vec<MetricsRecord>,
}

impl MetricsLog {
    /// A new log; with `resume_step`, the existing file is kept up to that step (records
    /// written after the checkpoint are dropped: the resumed run writes them again).
    pub fn open(output_dir: &Path, resume_step: Option<usize>) -> Result<Self> {
        let path = output_dir.join(METRICS_FILE);
        let mut records = Vec::new();
        if let Some(step) = resume_step {
            if let Ok(text) = std::fs::read_to_string(&path) {
                records = text
                    .lines()
                    .filter_map(|l| serde_json::from_str::<MetricsRecord>(l).ok())
                    .filter(|r| r.step() <= step)
                    .collect();
            }
        }
        let log = Self { path, records };
        log.rewrite()?;
        Ok(log)
    }

    fn rewrite(&self) -> Result<()> {
        let mut text = String::new();
        for record in &self.records {
            text.push_str(&serde_json::to_string(record).expect("records serialise"));
            text.push('\n');
        }
        rankforge_data::write_atomic(&self.path, text).map_err(io_err(&self.path))
    }

    pub fn push(&mut self, record: MetricsRecord) -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        let line = serde_json::to_string(&record).expect("records serialise");
        writeln!(file, "{line}").map_err(io_err(&self.path))?;
        self.records.push(record);
        Ok(())
    }

    pub fn records(&self) -> &[MetricsRecord] {
        &self.records
    }

    /// `loss.png`, `learning_rate.png` and (when there were evaluations) `dev_metrics.png`.
    pub fn write_plots(&self, output_dir: &Path) -> Result<Vec<PathBuf>> {
        let mut loss = Vec::new();
        let mut lr = Vec::new();
        let mut dev: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for record in &self.records {
            match record {
                MetricsRecord::Train {
                    step,
                    loss: l,
                    lr: r,
                    ..
                } => {
                    loss.push((*step as f64, *l));
                    lr.push((*step as f64, *r));
                }
                MetricsRecord::Eval { step, metrics } => {
                    for (name, value) in metrics {
                        dev.entry(name.clone())
                            .or_default()
                            .push((*step as f64, *value));
                    }
                }
            }
        }
        let mut written = Vec::new();
        let mut plot = |file: &str, plot: LinePlot| -> Result<()> {
            let path = output_dir.join(file);
            plot.write_png(&path)?;
            written.push(path);
            Ok(())
        };
        if !loss.is_empty() {
            plot(
                "loss.png",
                LinePlot::new("Training loss", "step", "loss").with_series("loss", loss),
            )?;
            plot(
                "learning_rate.png",
                LinePlot::new("Learning rate", "step", "lr").with_series("lr", lr),
            )?;
        }
        if !dev.is_empty() {
            let mut chart = LinePlot::new("Dev metrics", "step", "value");
            for (name, points) in dev {
                chart = chart.with_series(name, points);
            }
            plot("dev_metrics.png", chart)?;
        }
        Ok(written)
    }
}

/// Facts the model card reports.
#[derive(Debug, Clone)]
pub struct CardFacts<'a> {
    pub config: &'a TrainConfig,
    pub kind: &'a str,
    pub steps: usize,
    pub train_examples: usize,
    pub bm25: &'a Metrics,
    pub before: &'a Metrics,
    pub after: &'a Metrics,
    pub best: Option<(f64, usize)>,
    pub pairs_per_s: f64,
    /// Tokens per sequence at most in training and evaluation (the saved model's length).
    pub max_length: usize,
}

/// The bases a rankforge-trained `base` descends from, nearest first: each model card
/// rankforge wrote (tag `rankforge` in its front matter) names its own `base_model`, which is
/// followed while it is a directory with such a card and has not been seen (a cycle ends it). Empty for a checkpoint rankforge did
/// not train (e.g. the original all-MiniLM-L6-v2). A card that cannot be read ends the chain;
/// the card being written is informative, not load-bearing, so that is not an error.
pub fn rankforge_lineage(base: &Path) -> Vec<String> {
    const MAX_DEPTH: usize = 16;
    let mut chain = Vec::new();
    let mut current = base.to_path_buf();
    while chain.len() < MAX_DEPTH {
        let Ok(text) = std::fs::read_to_string(current.join("README.md")) else {
            break;
        };
        let Some(front) = text
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .map(|(front, _)| front)
        else {
            break;
        };
        if !front.lines().any(|line| line.trim() == "- rankforge") {
            break;
        }
        let Some(parent) = front
            .lines()
            .find_map(|line| line.strip_prefix("base_model:"))
            .map(|value| value.trim().to_string())
        else {
            break;
        };
        let seen = Path::new(&parent) == base || chain.contains(&parent);
        if parent.is_empty() || seen {
            break;
        }
        current = PathBuf::from(&parent);
        chain.push(parent);
    }
    chain
}

/// Writes `README.md`: base model (and, for a base rankforge trained, its lineage), data,
/// loss, hyperparameters, dev metrics before/after.
pub fn write_model_card(path: &Path, facts: &CardFacts<'_>) -> Result<()> {
    let c = facts.config;
    let t = &c.train;
    let mut card = String::new();
    card.push_str(&format!(
        "---\nlibrary_name: {}\ntags:\n- rankforge\n- {}\nbase_model: {}\n---\n\n",
        match facts.kind {
            "colbert" => "PyLate",
            "generative" => "transformers",
            _ => "sentence-transformers",
        },
        facts.kind.replace('_', "-"),
        c.model.base.display()
    ));
    card.push_str(&format!(
        "# {} fine-tuned with rankforge\n\n",
        facts.kind.replace('_', "-")
    ));
    card.push_str(&format!("- **Base model:** `{}`\n", c.model.base.display()));
    let lineage = rankforge_lineage(&c.model.base);
    if !lineage.is_empty() {
        let chain: Vec<String> = lineage.iter().map(|b| format!("`{b}`")).collect();
        card.push_str(&format!(
            "- **Lineage:** `{}` was itself trained with rankforge, from {}\n",
            c.model.base.display(),
            chain.join(", which was trained from ")
        ));
    }
    let data = match &c.data.train_file {
        Some(file) => format!(
            "- **Data:** `{}` ({} records, shuffled within windows of {} rows; {})\n\
             - **Negatives:** {} per group, from each record's own (seeded sample when it has \
             more, padded when fewer)\n",
            file.display(),
            facts.train_examples,
            c.data.shuffle_buffer(),
            match &c.data.dir {
                Some(dir) => format!("dev: `{}` split `{}`", dir.display(), c.data.dev_split),
                None => "no dev evaluation".into(),
            },
            c.data.negatives,
        ),
        None => format!(
            "- **Data:** `{}` (train split `{}`, {} judged pairs; dev split `{}`)\n\
             - **Negatives:** {} per group, sampled from BM25 top-{} minus judged documents\n",
            c.data.dir.as_deref().unwrap_or(Path::new("")).display(),
            c.data.train_split,
            facts.train_examples,
            c.data.dev_split,
            c.data.negatives,
            c.data.negative_pool,
        ),
    };
    card.push_str(&data);
    card.push_str(&format!(
        "- **Loss:** `{}` ({})\n- **Steps:** {} (batch {} × accumulation {}), {:.1} training pairs/s\n\n",
        c.loss.name(),
        serde_json::to_string(&c.loss).unwrap_or_default(),
        facts.steps,
        t.batch_size,
        t.grad_accum_steps,
        facts.pairs_per_s,
    ));
    if let Some(g) = c
        .generative
        .clone()
        .or_else(|| (facts.kind == "generative").then(Default::default))
    {
        let objective = match g.objective {
            crate::config::GenerativeObjective::Lm => {
                "monoT5: cross-entropy over the vocabulary of the first decoder token (the true \
                 word for positives, the false word for negatives); the loss above is not read"
            }
            crate::config::GenerativeObjective::Score => "the loss above on the raw score",
        };
        card.push_str(&format!(
            "- **Generative reranker:** {}; objective: {objective}\n\n",
            g.settings().describe()
        ));
    }
    card.push_str("## Hyperparameters\n\n| setting | value |\n|---|---|\n");
    for (k, v) in [
        ("seed", c.run.seed.to_string()),
        ("max_length", facts.max_length.to_string()),
        ("learning_rate", format!("{:e}", t.learning_rate)),
        ("head_lr_multiplier", format!("{}", t.head_lr_multiplier)),
        (
            "schedule",
            format!(
                "{:?} (warmup ratio {}, steps {:?})",
                t.schedule, t.warmup_ratio, t.warmup_steps
            ),
        ),
        (
            "weight_decay",
            format!("{} (not on biases / LayerNorm)", t.weight_decay),
        ),
        ("max_grad_norm", t.max_grad_norm.to_string()),
        (
            "adam betas / eps",
            format!("{}, {} / {:e}", t.adam_beta1, t.adam_beta2, t.adam_epsilon),
        ),
        (
            "epochs / max_steps",
            format!("{} / {:?}", t.epochs, t.max_steps),
        ),
    ] {
        card.push_str(&format!("| {k} | {v} |\n"));
    }
    let measured = match c.eval.mode {
        crate::config::EvalMode::Rerank => format!("rerank BM25 top-{}", c.eval.top_k),
        crate::config::EvalMode::Retrieve => format!(
            "first stage: dense top-{} over the whole corpus; BM25: its own top-{}",
            c.eval.top_k, c.eval.top_k
        ),
    };
    if facts.after.is_empty() {
        card.push_str("\n## Dev metrics\n\nNone: the run had no dev set (`data.dir` unset).\n");
    } else {
        card.push_str(&format!(
            "\n## Dev metrics ({measured})\n\n| metric | BM25 | before | after |\n|---|---|---|---|\n"
        ));
    }
    for (name, after) in facts.after {
        let find = |m: &Metrics| {
            m.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| format!("{v:.4}"))
                .unwrap_or_else(|| "-".into())
        };
        card.push_str(&format!(
            "| {name} | {} | {} | {after:.4} |\n",
            find(facts.bm25),
            find(facts.before)
        ));
    }
    if let Some((value, step)) = facts.best {
        card.push_str(&format!(
            "\nBest `{}` = {value:.4} at step {step} (saved in `best/`).\n",
            c.eval.select
        ));
    }
    card.push_str(&format!("\n## Config\n\n```toml\n{}```\n", c.to_toml()));
    rankforge_data::write_atomic(path, card).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `dir/README.md` exactly as a run does, for a model trained from `base`.
    fn write_card_trained_from(dir: &Path, base: &Path) -> String {
        let text = format!(
            "[run]\noutput_dir = \"runs/x\"\n[model]\nkind = \"cross_encoder\"\nbase = {:?}\n\
             [data]\ndir = \"d\"\n[loss]\nloss = \"listnet\"\n",
            base.display().to_string()
        );
        let config = TrainConfig::from_toml(&text, Path::new("configs/x.toml")).unwrap();
        let metrics: Metrics = vec![("ndcg@10".into(), 0.5)];
        let facts = CardFacts {
            config: &config,
            kind: "cross_encoder",
            steps: 1,
            train_examples: 1,
            bm25: &metrics,
            before: &metrics,
            after: &metrics,
            best: None,
            pairs_per_s: 1.0,
            max_length: 256,
        };
        std::fs::create_dir_all(dir).unwrap();
        write_model_card(&dir.join("README.md"), &facts).unwrap();
        std::fs::read_to_string(dir.join("README.md")).unwrap()
    }

    #[test]
    fn lineage_follows_rankforge_cards_to_the_original_checkpoint() {
        let root = tempfile::tempdir().unwrap();
        let original = root.path().join("all-MiniLM-L6-v2");
        let epoch1 = root.path().join("ce/final");
        let epoch2 = root.path().join("ce2/final");
        // The original checkpoint's card is not rankforge's: the chain ends there.
        std::fs::create_dir_all(&original).unwrap();
        std::fs::write(
            original.join("README.md"),
            "---\nlibrary_name: sentence-transformers\ntags:\n- sentence-transformers\n---\n",
        )
        .unwrap();

        let card1 = write_card_trained_from(&epoch1, &original);
        assert!(!card1.contains("Lineage"), "{card1}");
        let card2 = write_card_trained_from(&epoch2, &epoch1);
        let expected = format!(
            "- **Lineage:** `{}` was itself trained with rankforge, from `{}`\n",
            epoch1.display(),
            original.display()
        );
        assert!(card2.contains(&expected), "{card2}");
        assert!(
            card2.find("**Base model:**") < card2.find("**Lineage:**"),
            "{card2}"
        );

        let name = |p: &Path| p.display().to_string();
        assert_eq!(
            rankforge_lineage(&epoch2),
            vec![name(&epoch1), name(&original)]
        );
        assert_eq!(rankforge_lineage(&epoch1), vec![name(&original)]);
        assert!(rankforge_lineage(&original).is_empty());
        assert!(rankforge_lineage(&root.path().join("missing")).is_empty());
    }

    #[test]
    fn lineage_stops_at_a_cycle() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("a");
        let b = root.path().join("b");
        write_card_trained_from(&a, &b);
        write_card_trained_from(&b, &a);
        let name = |p: &Path| p.display().to_string();
        // `a` is not its own ancestor: the chain stops before coming back to it.
        assert_eq!(rankforge_lineage(&a), vec![name(&b)]);
        assert_eq!(rankforge_lineage(&b), vec![name(&a)]);
    }
}
