//! Hugging Face directories in and out: `config.json`, `model.safetensors`, tokenizer files and
//! the sentence-transformers metadata. Weights go through burn-store's safetensors store with
//! PyTorch adapters (Linear transposes, LayerNorm weight/bias ↔ gamma/beta) and key remapping.
//!
//! Names per family ([`Architecture`]): the encoder is `bert.` in rankforge and `bert.`,
//! `roberta.` or `electra.` in a task checkpoint (nothing in a bare encoder's); a dense score
//! head's `classifier.dense` / `classifier.out_proj` are rankforge's `head_dense` /
//! `classifier`. Loading maps the checkpoint's names onto rankforge's, saving maps them back, so
//! transformers loads a saved directory as the family's own class. ModernBERT's names and files
//! are [`crate::modernbert`]'s; the functions here choose by `config.json`'s `model_type`
//! ([`EncoderConfig`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn_store::{
    BurnToPyTorchAdapter, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore,
};
use serde_json::{json, Map, Value};

use crate::architecture::{Architecture, HeadKind};
use crate::config::BertConfig;
use crate::cross_encoder_model::{BertCrossEncoderModel, CrossEncoderModel};
use crate::encoder_config::EncoderConfig;
use crate::error::{io_err, ModelError, Result};
use crate::modernbert;
use crate::pooling::{EmbeddingHead, Pooling};

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Tokenizer files copied along when a model is saved (those that exist).
const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
];

/// Files that carry no tensor of ours and are ignored without a word.
const IGNORED_TENSORS: &[&str] = &["bert.embeddings.position_ids"];

/// What loading found beyond the plain case.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The checkpoint had no classifier; a new head was initialised (seeded).
    pub new_head: bool,
    /// The checkpoint had no pooler; a new one was initialised.
    pub new_pooler: bool,
    /// Tensors in the file that the model does not use (HF names).
    pub unused: Vec<String>,
    /// The directory loaded (set by the builders, for messages).
    pub source: std::path::PathBuf,
    /// Seed of the new head, when one was made (set by the builders).
    pub head_seed: u64,
    /// The max length the model runs at, and where it came from (set by the builders).
    pub max_length: Option<(usize, String)>,
    /// Further notes on how the model runs (e.g. a generative reranker's score rule), one
    /// `note:` line each.
    pub notes: Vec<String>,
    /// What `new_head` stands for when the new part is not a classification head (e.g. a new
    /// ColBERT's projection), for the notice.
    pub new_head_kind: Option<String>,
}

/// HF tensor name → rankforge module path. Both model kinds keep the encoder under `bert.`.
pub(crate) fn weights_store_for_loading(path: &Path, arch: Architecture) -> SafetensorsStore {
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(
            r"^(embeddings|embeddings_project|encoder|pooler)\.",
            "bert.$1.",
        )
        .with_key_remapping(r"\.attention\.self\.", ".attention.self_attn.")
        .with_key_remapping(r"LayerNorm\.gamma$", "LayerNorm.weight")
        .with_key_remapping(r"LayerNorm\.beta$", "LayerNorm.bias")
        .with_key_remapping(r"\.LayerNorm\.", ".layer_norm.");
    if arch != Architecture::Bert {
        store = store.with_key_remapping(format!(r"^{}\.", arch.weight_prefix()), "bert.");
    }
    if matches!(arch.head(), HeadKind::Dense(_)) {
        store = store
            .with_key_remapping(r"^classifier\.dense\.", "head_dense.")
            .with_key_remapping(r"^classifier\.out_proj\.", "classifier.");
    }
    store.allow_partial(true)
}

/// rankforge module path → HF tensor name: the encoder under the family's prefix (`bert.`,
/// `roberta.`, `electra.`) in a task model (`keep_prefix`), under none in a bare encoder; a dense
/// head's `head_dense` / `classifier` as `classifier.dense` / `classifier.out_proj`.
pub fn hf_tensor_name(module_path: &str, arch: Architecture, keep_prefix: bool) -> String {
    let name = module_path
        .replace(".attention.self_attn.", ".attention.self.")
        .replace(".layer_norm.", ".LayerNorm.");
    if let Some(rest) = name.strip_prefix("bert.") {
        return if keep_prefix {
            format!("{}.{rest}", arch.weight_prefix())
        } else {
            rest.to_string()
        };
    }
    if matches!(arch.head(), HeadKind::Dense(_)) {
        if let Some(rest) = name.strip_prefix("head_dense.") {
            return format!("classifier.dense.{rest}");
        }
        if let Some(rest) = name.strip_prefix("classifier.") {
            return format!("classifier.out_proj.{rest}");
        }
    }
    name
}

fn weights_store_for_saving(
    path: &Path,
    arch: Architecture,
    keep_prefix: bool,
) -> SafetensorsStore {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"\.attention\.self_attn\.", ".attention.self.")
        .with_key_remapping(r"\.layer_norm\.", ".LayerNorm.")
        .clear_metadata()
        // transformers refuses safetensors files without format = pt.
        .metadata("format", "pt")
        .overwrite(true);
    if matches!(arch.head(), HeadKind::Dense(_)) {
        // In this order: the second replacement's output starts with `classifier.` too.
        store = store
            .with_key_remapping(r"^classifier\.", "classifier.out_proj.")
            .with_key_remapping(r"^head_dense\.", "classifier.dense.");
    }
    let prefix = if keep_prefix {
        format!("{}.", arch.weight_prefix())
    } else {
        String::new()
    };
    if prefix == "bert." {
        store
    } else {
        store.with_key_remapping(r"^bert\.", &prefix)
    }
}

/// Tensor names present in a checkpoint (in rankforge's module-path form) and their shapes.
fn checkpoint_tensors(
    store: &mut SafetensorsStore,
    path: &Path,
) -> Result<Vec<(String, Vec<usize>)>> {
    let err = |e: burn_store::SafetensorsStoreError| ModelError::Weights {
        path: path.into(),
        message: e.to_string(),
    };
    let snapshots = store.get_all_snapshots().map_err(err)?;
    Ok(snapshots
        .iter()
        .map(|(name, snap)| (name.clone(), snap.shape.to_vec()))
        .collect())
}

/// Loads checkpoint weights into `module`, which must already have the checkpoint's shapes.
/// Tensors named in `may_be_missing` (module paths, prefix match) may be absent; any other
/// missing tensor, a shape mismatch or a dtype problem is an error naming the tensor.
fn apply_weights<B: Backend, M: ModuleSnapshot<B>>(
    module: &mut M,
    store: &mut SafetensorsStore,
    path: &Path,
    may_be_missing: &[&str],
    arch: Architecture,
    keep_prefix: bool,
) -> Result<Vec<String>> {
    let result = module.load_from(store).map_err(|e| ModelError::Weights {
        path: path.into(),
        message: e.to_string(),
    })?;
    if !result.errors.is_empty() {
        let messages: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(ModelError::Weights {
            path: path.into(),
            message: messages.join("; "),
        });
    }
    let missing: Vec<String> = result
        .missing
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !may_be_missing.iter().any(|prefix| name.starts_with(prefix)))
        .map(|name| hf_tensor_name(name, arch, keep_prefix))
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::MissingTensors {
            path: path.into(),
            names: missing,
        });
    }
    // burn-store lists tensors it applied through the adapter's alias (LayerNorm weight/bias →
    // gamma/beta) as unused too; they are not.
    let applied_alias = |name: &str| {
        let alias = name
            .strip_suffix(".weight")
            .map(|p| format!("{p}.gamma"))
            .or_else(|| name.strip_suffix(".bias").map(|p| format!("{p}.beta")));
        alias.is_some_and(|a| result.applied.contains(&a))
    };
    Ok(result
        .unused
        .iter()
        .filter(|name| !IGNORED_TENSORS.contains(&name.as_str()) && !applied_alias(name))
        .map(|name| hf_tensor_name(name, arch, true))
        .collect())
}

pub(crate) fn file_in(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::Io {
            path,
            cause: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not found (is this a Hugging Face model directory?)",
            ),
        })
    }
}

/// A cross-encoder's weights and config from an HF directory of any supported family. A
/// checkpoint without a classifier (a plain encoder or a bi-encoder) gets a new one-label head
/// seeded with `head_seed`.
pub fn load_cross_encoder<B: Backend>(
    dir: &Path,
    head_seed: u64,
    device: &B::Device,
) -> Result<(CrossEncoderModel<B>, EncoderConfig, LoadReport)> {
    match EncoderConfig::from_file(&file_in(dir, CONFIG_FILE)?)? {
        EncoderConfig::Bert(config) => {
            let (model, report) = load_bert_cross_encoder(dir, &config, head_seed, device)?;
            Ok((model.into(), config.into(), report))
        }
        EncoderConfig::ModernBert(_) => {
            let (model, config, report) = modernbert::load_cross_encoder(dir, head_seed, device)?;
            Ok((model.into(), config.into(), report))
        }
    }
}

fn load_bert_cross_encoder<B: Backend>(
    dir: &Path,
    config: &BertConfig,
    head_seed: u64,
    device: &B::Device,
) -> Result<(BertCrossEncoderModel<B>, LoadReport)> {
    let arch = config.architecture;
    let weights = file_in(dir, WEIGHTS_FILE)?;
    let mut store = weights_store_for_loading(&weights, arch);
    let tensors = checkpoint_tensors(&mut store, &weights)?;
    let head_shape = tensors
        .iter()
        .find(|(n, _)| n == "classifier.weight")
        .map(|(_, s)| s.clone());
    let has = |name: &str| tensors.iter().any(|(n, _)| n == name);
    let has_pooler = tensors.iter().any(|(n, _)| n.starts_with("bert.pooler."));
    let num_labels = match &head_shape {
        Some(shape) if shape.len() == 2 => shape[0],
        Some(shape) => {
            return Err(ModelError::Weights {
                path: weights,
                message: format!(
                    "{} has shape {shape:?}, expected [num_labels, hidden]",
                    hf_tensor_name("classifier.weight", arch, true)
                ),
            })
        }
        None => 1,
    };
    let mut model = BertCrossEncoderModel::new(config, num_labels, device);
    let unused = apply_weights(
        &mut model,
        &mut store,
        &weights,
        &["classifier.", "head_dense.", "bert.pooler."],
        arch,
        true,
    )?;
    let pooler_head = model.head() == HeadKind::Pooler;
    if head_shape.is_some() {
        // A head must come whole: a weight without its bias (or, in a dense head, without its
        // dense layer) is a broken checkpoint.
        let mut parts = vec!["classifier.bias"];
        if !pooler_head {
            parts.extend(["head_dense.weight", "head_dense.bias"]);
        }
        let missing: Vec<String> = parts
            .into_iter()
            .filter(|name| !has(name))
            .map(|name| hf_tensor_name(name, arch, true))
            .collect();
        if !missing.is_empty() {
            return Err(ModelError::MissingTensors {
                path: weights,
                names: missing,
            });
        }
    } else {
        model = model.reset_head(head_seed, config.initializer_range);
    }
    if pooler_head && !has_pooler && config.is_sequence_classifier() {
        return Err(ModelError::MissingTensors {
            path: weights,
            names: vec!["bert.pooler.dense.weight".into()],
        });
    }
    let report = LoadReport {
        new_head: head_shape.is_none(),
        new_pooler: pooler_head && !has_pooler,
        unused,
        ..Default::default()
    };
    Ok((model, report))
}

/// Sentence-transformers settings of a directory: pooling, normalisation, max_seq_length.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceTransformerSettings {
    pub head: EmbeddingHead,
    pub max_seq_length: Option<usize>,
}

pub(crate) fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: path.into(),
        field: "(document)".into(),
        message: e.to_string(),
    })
}

/// Reads `modules.json`, the pooling config and `sentence_bert_config.json`. A plain HF model
/// (no `modules.json`) gets sentence-transformers' defaults: mean pooling, no normalisation.
pub fn read_sentence_transformer_settings(dir: &Path) -> Result<SentenceTransformerSettings> {
    let mut head = EmbeddingHead {
        pooling: Pooling::Mean,
        normalize: false,
    };
    let modules_path = dir.join("modules.json");
    if modules_path.is_file() {
        let modules = read_json(&modules_path)?;
        let modules = modules.as_array().ok_or_else(|| ModelError::Config {
            path: modules_path.clone(),
            field: "(document)".into(),
            message: "expected a JSON array of modules".into(),
        })?;
        for (index, module) in modules.iter().enumerate() {
            let kind = module
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let sub = module
                .get("path")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.ends_with("Pooling") {
                head.pooling = read_pooling(&dir.join(sub).join("config.json"))?;
            } else if kind.ends_with("Normalize") {
                // The Normalize module has no files; its folder may be absent.
                head.normalize = true;
            } else if !kind.ends_with("Transformer") {
                return Err(ModelError::Unsupported {
                    path: modules_path.clone(),
                    message: format!("module {index} of type `{kind}`"),
                });
            }
        }
    }
    let st_config = dir.join("sentence_bert_config.json");
    let max_seq_length = if st_config.is_file() {
        read_json(&st_config)?
            .get("max_seq_length")
            .and_then(Value::as_u64)
            .map(|n| n as usize)
    } else {
        None
    };
    Ok(SentenceTransformerSettings {
        head,
        max_seq_length,
    })
}

fn read_pooling(path: &Path) -> Result<Pooling> {
    let config = read_json(path)?;
    let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    if let Some(mode) = config.get("pooling_mode").and_then(Value::as_str) {
        return mode.parse().map_err(|message| ModelError::Unsupported {
            path: path.into(),
            message,
        });
    }
    let modes: Vec<Pooling> = [
        ("pooling_mode_mean_tokens", Pooling::Mean),
        ("pooling_mode_cls_token", Pooling::Cls),
        ("pooling_mode_max_tokens", Pooling::Max),
    ]
    .into_iter()
    .filter(|(key, _)| flag(key))
    .map(|(_, mode)| mode)
    .collect();
    let unsupported = [
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    ];
    if let Some(key) = unsupported.iter().find(|k| flag(k)) {
        return Err(ModelError::Unsupported {
            path: path.into(),
            message: key.to_string(),
        });
    }
    match modes.as_slice() {
        [one] => Ok(*one),
        [] => Err(ModelError::Config {
            path: path.into(),
            field: "pooling_mode_*".into(),
            message: "no pooling mode is enabled".into(),
        }),
        _ => Err(ModelError::Unsupported {
            path: path.into(),
            message: "several pooling modes at once (concatenated pooling)".into(),
        }),
    }
}

/// A bi-encoder's encoder weights and config, of any supported family. A BERT pooler in the
/// checkpoint is loaded (and saved back) but not used for embeddings.
pub fn load_bi_encoder<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(crate::BiEncoderModel<B>, EncoderConfig, LoadReport)> {
    match EncoderConfig::from_file(&file_in(dir, CONFIG_FILE)?)? {
        EncoderConfig::Bert(config) => {
            let (model, report) = load_bert_bi_encoder(dir, &config, device)?;
            Ok((crate::BiEncoderModel::Bert(model), config.into(), report))
        }
        EncoderConfig::ModernBert(_) => {
            let (model, config, _, report) = modernbert::load_bi_encoder(dir, device)?;
            Ok((
                crate::BiEncoderModel::ModernBert(model),
                config.into(),
                report,
            ))
        }
    }
}

fn load_bert_bi_encoder<B: Backend>(
    dir: &Path,
    config: &BertConfig,
    device: &B::Device,
) -> Result<(crate::BertBiEncoderModel<B>, LoadReport)> {
    let arch = config.architecture;
    let weights = file_in(dir, WEIGHTS_FILE)?;
    let mut store = weights_store_for_loading(&weights, arch);
    let tensors = checkpoint_tensors(&mut store, &weights)?;
    let has_pooler = tensors.iter().any(|(n, _)| n.starts_with("bert.pooler."));
    let mut model = crate::BertBiEncoderModel {
        bert: crate::bert::BertModel::new(config, has_pooler, device),
    };
    let unused = apply_weights(&mut model, &mut store, &weights, &[], arch, false)?;
    Ok((
        model,
        LoadReport {
            unused,
            ..Default::default()
        },
    ))
}

/// Writes into a sibling temporary directory, fsyncs it and swaps it in
/// ([`rankforge_data::atomic::replace_dir`]), so a crash never leaves a half-written model
/// where a good one was.
pub(crate) fn write_dir_atomically(
    out: &Path,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    write(&tmp)?;
    rankforge_data::atomic::replace_dir(&tmp, out).map_err(io_err(out))
}

/// Lengths at or above this are transformers' "no limit set" sentinels (`VERY_LARGE_INTEGER`
/// is 1e30; some tokenizers carry 1e18 or 2^31 − 1).
const UNSET_LENGTH: f64 = 1e9;

/// Where a saved max length was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedLengthSource {
    /// `model_max_length` in `tokenizer_config.json` (what transformers' tokenizers and
    /// sentence-transformers' CrossEncoder read).
    TokenizerConfig,
    /// `max_length` in `config_sentence_transformers.json` (rankforge before it wrote the
    /// former; no other tool reads it).
    LegacySentenceTransformersConfig,
}

impl std::fmt::Display for SavedLengthSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SavedLengthSource::TokenizerConfig => "tokenizer_config.json `model_max_length`",
            SavedLengthSource::LegacySentenceTransformersConfig => {
                "config_sentence_transformers.json `max_length` (a model saved by an earlier rankforge)"
            }
        })
    }
}

/// The max length a cross-encoder directory was saved with: `tokenizer_config.json`'s
/// `model_max_length` unless it is missing or an "unset" sentinel, else the legacy key rankforge
/// wrote before. `None` when neither holds a length.
pub fn saved_max_length(dir: &Path) -> Result<Option<(usize, SavedLengthSource)>> {
    let read_length = |file: &str, key: &str| -> Result<Option<usize>> {
        let path = dir.join(file);
        if !path.is_file() {
            return Ok(None);
        }
        let value = read_json(&path)?;
        Ok(value
            .get(key)
            .and_then(Value::as_f64)
            .filter(|n| (1.0..UNSET_LENGTH).contains(n))
            .map(|n| n as usize))
    };
    if let Some(n) = read_length("tokenizer_config.json", "model_max_length")? {
        return Ok(Some((n, SavedLengthSource::TokenizerConfig)));
    }
    Ok(
        read_length("config_sentence_transformers.json", "max_length")?
            .map(|n| (n, SavedLengthSource::LegacySentenceTransformersConfig)),
    )
}

/// Writes `max_length` as `model_max_length` into `dir/tokenizer_config.json` (created if the
/// tokenizer had none), where sentence-transformers' CrossEncoder and transformers' tokenizers
/// read a model's length.
pub(crate) fn record_model_max_length(dir: &Path, max_length: usize) -> Result<()> {
    let path = dir.join("tokenizer_config.json");
    let mut config = if path.is_file() {
        match read_json(&path)? {
            Value::Object(map) => map,
            _ => {
                return Err(ModelError::Config {
                    path,
                    field: "(document)".into(),
                    message: "expected a JSON object".into(),
                })
            }
        }
    } else {
        Map::new()
    };
    config.insert("model_max_length".into(), json!(max_length));
    write_json(&path, &Value::Object(config))
}

pub(crate) fn copy_tokenizer_files(tokenizer_dir: &Path, out: &Path) -> Result<()> {
    let mut copied = 0;
    for name in TOKENIZER_FILES {
        let src = tokenizer_dir.join(name);
        if src.is_file() {
            std::fs::copy(&src, out.join(name)).map_err(io_err(&src))?;
            copied += 1;
        }
    }
    if copied == 0 {
        return Err(ModelError::Io {
            path: tokenizer_dir.join(TOKENIZER_FILE),
            cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no tokenizer files to copy"),
        });
    }
    Ok(())
}

pub(crate) fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    std::fs::write(path, text + "\n").map_err(io_err(path))
}

fn save_weights<B: Backend, M: ModuleSnapshot<B>>(
    module: &M,
    path: &Path,
    arch: Architecture,
    keep_prefix: bool,
) -> Result<()> {
    let mut store = weights_store_for_saving(path, arch, keep_prefix);
    module
        .save_into(&mut store)
        .map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })
}

pub(crate) fn versions() -> Value {
    json!({ "rankforge": env!("CARGO_PKG_VERSION") })
}

/// Saves a cross-encoder as a directory of the family's `*ForSequenceClassification` (e.g.
/// `BertForSequenceClassification`) that transformers and `sentence_transformers.CrossEncoder`
/// load unchanged. `tokenizer_dir` supplies the tokenizer
/// files (usually the directory the model was loaded from).
pub fn save_cross_encoder<B: Backend>(
    model: &CrossEncoderModel<B>,
    config: &EncoderConfig,
    tokenizer_dir: &Path,
    max_length: usize,
    out: &Path,
) -> Result<()> {
    match (model, config) {
        (CrossEncoderModel::Bert(model), EncoderConfig::Bert(config)) => {
            save_bert_cross_encoder(model, config, tokenizer_dir, max_length, out)
        }
        (CrossEncoderModel::ModernBert(model), EncoderConfig::ModernBert(config)) => {
            modernbert::save_cross_encoder(model, config, tokenizer_dir, max_length, out)
        }
        _ => Err(config.unsupported(out, "saving a model of another family's body")),
    }
}

fn save_bert_cross_encoder<B: Backend>(
    model: &BertCrossEncoderModel<B>,
    config: &BertConfig,
    tokenizer_dir: &Path,
    max_length: usize,
    out: &Path,
) -> Result<()> {
    let num_labels = model.num_labels();
    let mut json_config: Map<String, Value> = config.to_json();
    let arch = config.architecture;
    json_config.insert("architectures".into(), json!([arch.sequence_classifier()]));
    let keep_labels =
        config.num_labels() == Some(num_labels) && json_config.contains_key("id2label");
    if !keep_labels {
        let id2label: Map<String, Value> = (0..num_labels)
            .map(|i| (i.to_string(), json!(format!("LABEL_{i}"))))
            .collect();
        let label2id: Map<String, Value> = (0..num_labels)
            .map(|i| (format!("LABEL_{i}"), json!(i)))
            .collect();
        json_config.insert("id2label".into(), Value::Object(id2label));
        json_config.insert("label2id".into(), Value::Object(label2id));
    }
    write_dir_atomically(out, |dir| {
        save_weights(model, &dir.join(WEIGHTS_FILE), arch, true)?;
        write_json(&dir.join(CONFIG_FILE), &Value::Object(json_config))?;
        let activation = if num_labels == 1 {
            "torch.nn.modules.activation.Sigmoid"
        } else {
            "torch.nn.modules.linear.Identity"
        };
        write_json(
            &dir.join("config_sentence_transformers.json"),
            &json!({ "__version__": versions(), "activation_fn": activation, "model_type": "CrossEncoder", "max_length": max_length }),
        )?;
        copy_tokenizer_files(tokenizer_dir, dir)?;
        record_model_max_length(dir, max_length)
    })
}

/// Saves a bi-encoder as a sentence-transformers directory (Transformer → Pooling → Normalize).
pub fn save_bi_encoder<B: Backend>(
    model: &crate::BiEncoderModel<B>,
    config: &EncoderConfig,
    settings: &SentenceTransformerSettings,
    tokenizer_dir: &Path,
    out: &Path,
) -> Result<()> {
    match (model, config) {
        (crate::BiEncoderModel::Bert(model), EncoderConfig::Bert(config)) => {
            save_bert_bi_encoder(model, config, settings, tokenizer_dir, out)
        }
        (crate::BiEncoderModel::ModernBert(model), EncoderConfig::ModernBert(config)) => {
            modernbert::save_bi_encoder(model, config, settings, tokenizer_dir, out)
        }
        _ => Err(config.unsupported(out, "saving a model of another family's body")),
    }
}

fn save_bert_bi_encoder<B: Backend>(
    model: &crate::BertBiEncoderModel<B>,
    config: &BertConfig,
    settings: &SentenceTransformerSettings,
    tokenizer_dir: &Path,
    out: &Path,
) -> Result<()> {
    let mut json_config = config.to_json();
    let arch = config.architecture;
    json_config.insert("architectures".into(), json!([arch.base_model()]));
    let max_seq_length = settings
        .max_seq_length
        .unwrap_or(config.max_positions().min(512));
    write_dir_atomically(out, |dir| {
        save_weights(model, &dir.join(WEIGHTS_FILE), arch, false)?;
        write_json(&dir.join(CONFIG_FILE), &Value::Object(json_config))?;
        write_sentence_transformer_files(dir, config.hidden_size, settings, max_seq_length)?;
        copy_tokenizer_files(tokenizer_dir, dir)
    })
}

/// The sentence-transformers files of a bi-encoder directory (Transformer → Pooling →
/// optional Normalize): `modules.json`, `1_Pooling/config.json`, `2_Normalize/`,
/// `sentence_bert_config.json`, `config_sentence_transformers.json`.
pub(crate) fn write_sentence_transformer_files(
    dir: &Path,
    hidden_size: usize,
    settings: &SentenceTransformerSettings,
    max_seq_length: usize,
) -> Result<()> {
    let mut modules = vec![
        json!({"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}),
        json!({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}),
    ];
    if settings.head.normalize {
        modules.push(json!({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}));
    }
    let pooling = settings.head.pooling;
    let pooling_config = json!({
        "word_embedding_dimension": hidden_size,
        "pooling_mode_cls_token": pooling == Pooling::Cls,
        "pooling_mode_mean_tokens": pooling == Pooling::Mean,
        "pooling_mode_max_tokens": pooling == Pooling::Max,
        "pooling_mode_mean_sqrt_len_tokens": false,
    });
    write_json(&dir.join("modules.json"), &Value::Array(modules))?;

    let pooling_dir = dir.join("1_Pooling");
    std::fs::create_dir_all(&pooling_dir).map_err(io_err(&pooling_dir))?;
    write_json(&pooling_dir.join("config.json"), &pooling_config)?;
    if settings.head.normalize {
        let normalize_dir = dir.join("2_Normalize");
        std::fs::create_dir_all(&normalize_dir).map_err(io_err(&normalize_dir))?;
    }
    write_json(
        &dir.join("sentence_bert_config.json"),
        &json!({"max_seq_length": max_seq_length, "do_lower_case": false}),
    )?;
    write_json(
        &dir.join("config_sentence_transformers.json"),
        &json!({"__version__": versions(), "prompts": {}, "default_prompt_name": null, "similarity_fn_name": "cosine"}),
    )?;
    Ok(())
}

/// Names of the tensors of a saved file (HF names), for checks and tests.
pub fn safetensors_names(path: &Path) -> Result<BTreeSet<String>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let (_, metadata) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })?;
    Ok(metadata.tensors().keys().cloned().collect())
}
