//! A tiny world for training tests: a word-level tokenizer, a synthetic BEIR collection where
//! queries share words with their relevant documents, and a 2-layer, 32-wide BERT saved as a
//! sentence-transformers directory (so cross-encoder training starts with a new head).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rankforge_model::hf::{self, SentenceTransformerSettings};
use rankforge_model::{
    BertBiEncoderModel, BertConfig, BertModel, BiEncoderModel, EmbeddingHead, EncoderConfig,
    Pooling,
};
use rankforge_trainer::TrainConfig;
use serde_json::json;

pub type Cpu = rankforge_model::backend::Cpu;
pub type CpuAutodiff = rankforge_model::backend::CpuAutodiff;

const TOPICS: usize = 6;
const DOCS_PER_TOPIC: usize = 4;

fn topic_word(topic: usize, i: usize) -> String {
    format!("t{topic}w{i}")
}

fn doc_words(topic: usize, doc: usize) -> Vec<String> {
    // Every document: 3 words of its topic, 2 of its own, 2 common ones.
    let mut words: Vec<String> = (0..3).map(|i| topic_word(topic, (i + doc) % 5)).collect();
    words.push(format!("d{topic}x{doc}"));
    words.push(format!("d{topic}y{doc}"));
    words.push("common".into());
    words.push(format!("filler{}", (topic + doc) % 3));
    words
}

/// Writes `tokenizer.json` (WordLevel over the collection's words, BERT post-processing).
pub fn write_tokenizer(dir: &Path) -> usize {
    write_tokenizer_with(dir, &[])
}

/// [`write_tokenizer`] with `extra` words appended to the vocabulary (e.g. ColBERT's
/// `[unused0]` / `[unused1]` markers).
pub fn write_tokenizer_with(dir: &Path, extra: &[&str]) -> usize {
    let mut vocab: BTreeMap<String, u32> = BTreeMap::new();
    for (i, special) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .enumerate()
    {
        vocab.insert(special.to_string(), i as u32);
    }
    let mut words: Vec<String> = vec!["common".into(), "what".into(), "about".into()];
    for t in 0..TOPICS {
        for i in 0..5 {
            words.push(topic_word(t, i));
        }
        for d in 0..DOCS_PER_TOPIC {
            words.push(format!("d{t}x{d}"));
            words.push(format!("d{t}y{d}"));
        }
    }
    for f in 0..3 {
        words.push(format!("filler{f}"));
    }
    words.extend(extra.iter().map(|w| w.to_string()));
    for word in words {
        let next = vocab.len() as u32;
        vocab.entry(word).or_insert(next);
    }
    let added: Vec<_> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}))
        .collect();
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    vocab.len()
}

/// A BEIR directory: corpus, queries, qrels/train.tsv and qrels/dev.tsv.
pub fn write_collection(dir: &Path) {
    std::fs::create_dir_all(dir.join("qrels")).unwrap();
    let mut corpus = String::new();
    let mut queries = String::new();
    let mut train = String::from("query-id\tcorpus-id\tscore\n");
    let mut dev = String::from("query-id\tcorpus-id\tscore\n");
    for t in 0..TOPICS {
        for d in 0..DOCS_PER_TOPIC {
            let words = doc_words(t, d).join(" ");
            corpus.push_str(
                &json!({"_id": format!("doc{t}_{d}"), "title": "", "text": words}).to_string(),
            );
            corpus.push('\n');
            let qid = format!("q{t}_{d}");
            let text = format!("what about {} d{t}x{d}", topic_word(t, d % 5));
            queries.push_str(&json!({"_id": qid, "text": text}).to_string());
            queries.push('\n');
            let line = format!("{qid}\tdoc{t}_{d}\t1\n");
            if d == DOCS_PER_TOPIC - 1 {
                dev.push_str(&line);
            } else {
                train.push_str(&line);
            }
        }
    }
    std::fs::write(dir.join("corpus.jsonl"), corpus).unwrap();
    std::fs::write(dir.join("queries.jsonl"), queries).unwrap();
    std::fs::write(dir.join("qrels/train.tsv"), train).unwrap();
    std::fs::write(dir.join("qrels/dev.tsv"), dev).unwrap();
}

/// A tiny random BERT saved as a sentence-transformers directory (no classifier).
pub fn write_base_model(dir: &Path) {
    write_base_model_with(dir, &[]);
}

/// [`write_base_model`] with `extra` words in the vocabulary.
pub fn write_base_model_with(dir: &Path, extra: &[&str]) {
    let tokenizer_dir = dir.with_extension("tokenizer");
    let vocab = write_tokenizer_with(&tokenizer_dir, extra);
    let config = BertConfig::tiny(vocab);
    let device = Default::default();
    let model = BiEncoderModel::<Cpu>::Bert(BertBiEncoderModel {
        bert: BertModel::new(&config, true, &device),
    });
    let settings = SentenceTransformerSettings {
        head: EmbeddingHead {
            pooling: Pooling::Mean,
            normalize: true,
        },
        max_seq_length: Some(32),
    };
    hf::save_bi_encoder(
        &model,
        &EncoderConfig::Bert(config),
        &settings,
        &tokenizer_dir,
        dir,
    )
    .unwrap();
}

/// A test world in a temporary directory.
pub struct World {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub base: PathBuf,
}

impl World {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let base = tmp.path().join("base");
        write_collection(&data);
        write_base_model(&base);
        Self { tmp, data, base }
    }

    /// A cross-encoder config over this world, writing to `<tmp>/<name>`, with `extra` TOML
    /// appended to the `[train]` table.
    pub fn config_text(&self, name: &str, loss: &str, train_extra: &str) -> String {
        format!(
            r#"
[run]
output_dir = "{out}"
seed = 7

[model]
kind = "cross_encoder"
base = "{base}"
max_length = 32

[data]
dir = "{data}"
negatives = 3
negative_pool = 6

[train]
epochs = 2
batch_size = 3
learning_rate = 1e-3
warmup_ratio = 0.2
log_every_steps = 1
{train_extra}

[eval]
every_steps = 4
top_k = 10

[checkpoint]
every_steps = 2

[loss]
{loss}
"#,
            out = self.tmp.path().join(name).display(),
            base = self.base.display(),
            data = self.data.display(),
        )
    }

    pub fn config(&self, name: &str, loss: &str, train_extra: &str) -> TrainConfig {
        let text = self.config_text(name, loss, train_extra);
        TrainConfig::from_toml(&text, Path::new("test.toml")).unwrap()
    }
}
