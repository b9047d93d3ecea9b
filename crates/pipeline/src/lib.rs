//! The two-stage evaluation pipeline behind `rankforge evaluate --config configs/eval-*.toml`.
//! A BEIR dataset's
//! judged queries go through the first stage (BM25), then each configured reranker (a
//! cross-encoder, or a ColBERT when its directory is one: `rankforge_model::Reranker`)
//! reranks the top k through the shared inference path; every system is evaluated with
//! trec_eval metrics and compared with the first stage (deltas, paired tests), with wall time
//! per query. Writes `report.json`, `report.png` and one TREC run per system.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use rankforge_data::{BeirDataset, ReadMode, Run};
use rankforge_eval::{compare, parse_metrics, CompareOptions};
use rankforge_mining::{Bm25Config, Bm25Index};
use rankforge_model::t5::{GenerativeSettings, PromptTemplate};
use rankforge_model::{BatchingConfig, GenerativeOptions, Reranker, RerankerOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `configs/eval-*.toml`. Relative paths are relative to the working directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateConfig {
    /// BEIR directory (corpus.jsonl, queries.jsonl, qrels/<split>.tsv).
    pub dataset: PathBuf,
    /// Qrels split to evaluate on (default "dev").
    #[serde(default = "default_split")]
    pub split: String,
    /// Where report.json, report.png and the runs go.
    pub output_dir: PathBuf,
    #[serde(default)]
    pub first_stage: FirstStage,
    /// Second stages, each reranking the first stage's top k.
    #[serde(default)]
    pub rerankers: Vec<RerankerConfig>,
    /// Metrics (default ndcg@10, mrr@10, recall@100, p@1).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
}

fn default_split() -> String {
    "dev".into()
}
fn default_metrics() -> Vec<String> {
    ["ndcg@10", "mrr@10", "recall@100", "p@1"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirstStage {
    /// Candidates per query (default 100), also the depth the rerankers see.
    pub top_k: usize,
    /// BM25 settings (default: Lucene, k1 0.9, b 0.4, English analyzer).
    pub bm25: Bm25Config,
}

impl Default for FirstStage {
    fn default() -> Self {
        Self {
            top_k: 100,
            bm25: Bm25Config::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RerankerConfig {
    /// Name in the report.
    pub name: String,
    /// Cross-encoder or ColBERT directory (a PyLate or Stanford ColBERT is recognised and
    /// scores by MaxSim).
    pub model: PathBuf,
    /// Tokens per pair (default: the length the model was saved with, as the loader reads it);
    /// for a ColBERT, the document length.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Rerank this many first-stage candidates (default: first_stage.top_k).
    #[serde(default)]
    pub top_k: Option<usize>,
    #[serde(default)]
    pub batching: BatchingConfig,
    /// Precision of the forward pass: f32 (default), bf16, f16 or int8.
    #[serde(default)]
    pub precision: rankforge_model::Precision,
    /// Generative rerankers (a T5 directory): `"mono"` (default) or `"rank"` (RankT5), as
    /// `--generative-template`.
    #[serde(default)]
    pub generative_template: Option<PromptTemplate>,
    /// Generative rerankers: the token whose logit scores relevance, as `--true-token`.
    #[serde(default)]
    pub true_token: Option<String>,
    /// Generative rerankers: the token whose logit is subtracted (`"none"`: none), as
    /// `--false-token`.
    #[serde(default)]
    pub false_token: Option<String>,
    /// Decoder-only rerankers (Qwen3, Gemma): the prompt, a Jinja template with
    /// `{{ query }}` and `{{ document }}` or a file holding one, as `--prompt-template`.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// Decoder-only rerankers: the system message before each pair, as `--instruction`.
    #[serde(default)]
    pub instruction: Option<String>,
}

impl RerankerConfig {
    /// This entry's generative keys, for either generative kind ([`GenerativeOptions::split`]).
    pub fn generative_options(&self) -> GenerativeOptions {
        GenerativeOptions {
            template: self.generative_template,
            prompt_template: self.prompt_template.clone(),
            true_token: self.true_token.clone(),
            false_token: self.false_token.clone(),
            instruction: self.instruction.clone(),
        }
    }

    /// The T5 generative settings of this entry's keys (none given: none).
    pub fn generative(&self) -> Option<GenerativeSettings> {
        GenerativeSettings::from_parts(
            self.generative_template,
            self.true_token.as_deref(),
            self.false_token.as_deref(),
        )
    }
}

pub fn load_config(path: &Path) -> Result<EvaluateConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Runs the report `config` describes on `device`: prints the comparison table and wall times,
/// writes the TREC runs, `report.json` and `report.png` to `config.output_dir`.
pub fn evaluate<B: Backend>(
    device: &B::Device,
    config: &EvaluateConfig,
    quiet: bool,
) -> Result<()> {
    let metrics = parse_metrics(&config.metrics.join(","))?;
    let dataset = BeirDataset::load(&config.dataset, &config.split, ReadMode::Strict)?.into_data();
    let queries = dataset.judged_queries();
    if queries.is_empty() {
        bail!(
            "{}: no judged query of split `{}` has text",
            config.dataset.display(),
            config.split
        );
    }
    // Before any model runs: an output directory that cannot be written fails now.
    rankforge_data::check_writable(config.output_dir.join("report.json")).with_context(|| {
        format!(
            "{}: cannot write the report here",
            config.output_dir.display()
        )
    })?;
    let per_query = |seconds: f64| seconds * 1000.0 / queries.len() as f64;

    let started = Instant::now();
    let index = Bm25Index::build(dataset.corpus.documents(), &config.first_stage.bm25, !quiet)?;
    let search_started = Instant::now();
    let first = index.search_run(&queries.pairs(), config.first_stage.top_k, false);
    let mut timings = vec![(
        "bm25".to_string(),
        per_query(search_started.elapsed().as_secs_f64()),
    )];
    eprintln!(
        "bm25: index {:.1}s, top {} for {} queries",
        search_started.duration_since(started).as_secs_f64(),
        config.first_stage.top_k,
        queries.len()
    );
    let mut runs: Vec<(String, Run)> = vec![("bm25".into(), first)];

    for reranker in &config.rerankers {
        if runs.iter().any(|(n, _)| *n == reranker.name) {
            bail!("two systems are named `{}`", reranker.name);
        }
        let (t5, causal_lm) = reranker
            .generative_options()
            .split(
                &reranker.model,
                [
                    "generative_template",
                    "prompt_template",
                    "true_token",
                    "false_token",
                    "instruction",
                ],
            )
            .with_context(|| format!("reranker `{}`", reranker.name))?;
        let options = RerankerOptions {
            max_length: reranker.max_length,
            batching: reranker.batching.clone(),
            precision: reranker.precision,
            progress: !quiet,
            generative: t5,
            ..Default::default()
        };
        let (scorer, report) =
            Reranker::<B>::load_with(&reranker.model, &options, causal_lm, device).with_context(
                || {
                    format!(
                        "loading reranker `{}` from {}",
                        reranker.name,
                        reranker.model.display()
                    )
                },
            )?;
        report.warn();
        let top_k = reranker.top_k.unwrap_or(config.first_stage.top_k);
        let started = Instant::now();
        let reranked =
            rankforge_model::rerank_run(&scorer, &dataset.corpus, &queries, &runs[0].1, top_k)?;
        let seconds = started.elapsed().as_secs_f64();
        let name = format!("bm25+{}", reranker.name);
        timings.push((name.clone(), timings[0].1 + per_query(seconds)));
        eprintln!("{name}: reranked top {top_k} in {seconds:.1}s");
        runs.push((name, reranked));
    }

    let comparison = compare(&dataset.qrels, &runs, &metrics, &CompareOptions::default())?;
    println!("{}", comparison.to_table());
    println!("wall time per query (first stage search + reranking):");
    for (name, ms) in &timings {
        println!("  {name:<24} {ms:10.2} ms");
    }
    for (name, run) in &runs {
        run.write(
            config
                .output_dir
                .join(format!("{}.trec", name.replace('+', "_"))),
            name,
        )?;
    }
    let comparison_json: serde_json::Value = serde_json::from_str(&comparison.to_json())?;
    let report = json!({
        "dataset": config.dataset,
        "split": config.split,
        "queries": queries.len(),
        "first_stage_top_k": config.first_stage.top_k,
        "precision": config.rerankers.iter().map(|r| (format!("bm25+{}", r.name), json!(r.precision.name()))).collect::<serde_json::Map<_, _>>(),
        "wall_ms_per_query": timings.iter().map(|(n, ms)| (n.clone(), json!(ms))).collect::<serde_json::Map<_, _>>(),
        "comparison": comparison_json,
    });
    let json_path = config.output_dir.join("report.json");
    rankforge_data::write_atomic(&json_path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("{}: cannot write", json_path.display()))?;
    let png_path = config.output_dir.join("report.png");
    let title = format!(
        "{} ({}, {} queries)",
        config
            .dataset
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        config.split,
        queries.len()
    );
    comparison.bar_chart(title).write_png(&png_path)?;
    eprintln!("wrote {} and {}", json_path.display(), png_path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reranker_entries_take_the_generative_keys() {
        let config: EvaluateConfig = toml::from_str(
            r#"
            dataset = "d"
            output_dir = "o"
            [[rerankers]]
            name = "rankt5"
            model = "m"
            generative_template = "rank"
            [[rerankers]]
            name = "mt5"
            model = "m"
            true_token = "▁yes"
            false_token = "▁no"
            [[rerankers]]
            name = "ce"
            model = "m"
            "#,
        )
        .unwrap();
        let [rank, yes_no, plain] = &config.rerankers[..] else {
            panic!("three entries")
        };
        assert_eq!(rank.generative(), Some(GenerativeSettings::rank_t5()));
        let yes_no = yes_no.generative().unwrap();
        assert_eq!(yes_no.template, PromptTemplate::Mono);
        assert_eq!(
            (yes_no.true_token.as_str(), yes_no.false_token.as_deref()),
            ("▁yes", Some("▁no"))
        );
        assert_eq!(plain.generative(), None);
        assert!(plain.generative_options().is_empty());
    }

    #[test]
    fn reranker_entries_take_the_decoder_only_keys() {
        let config: EvaluateConfig = toml::from_str(
            r#"
            dataset = "d"
            output_dir = "o"
            [[rerankers]]
            name = "qwen3"
            model = "m"
            prompt_template = "Q: {{ query }} D: {{ document }}"
            true_token = "yes"
            false_token = "no"
            instruction = "judge"
            "#,
        )
        .unwrap();
        let options = config.rerankers[0].generative_options();
        assert_eq!(
            options.prompt_template.as_deref(),
            Some("Q: {{ query }} D: {{ document }}")
        );
        assert_eq!(options.instruction.as_deref(), Some("judge"));
        assert_eq!(options.true_token.as_deref(), Some("yes"));
    }
}
