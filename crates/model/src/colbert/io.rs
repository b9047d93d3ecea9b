//! ColBERT directories in and out.
//!
//! - **PyLate** (a sentence-transformers directory): `modules.json` = Transformer (the encoder's
//!   `config.json` / `model.safetensors` / tokenizer at the root, bare tensor names; a
//!   BERT-family body or ModernBERT, as `model_type` says) + a
//!   `pylate.models.Dense.Dense` in `1_Dense/` (`config.json`: in/out features, no bias,
//!   identity activation, no residual; `model.safetensors`: `linear.weight [dim, hidden]`);
//!   `config_sentence_transformers.json` holds the [`ColBertSettings`].
//! - **Stanford ColBERT** (colbert-ai's `HF_ColBERT.save_pretrained`): `config.json` with
//!   `architectures: ["HF_ColBERT"]`, one `model.safetensors` with the encoder under its
//!   transformers prefix (`bert.` …) and the projection as `linear.weight`, the tokenizer, and
//!   `artifact.metadata` (the flat `ColBERTConfig`); BERT-family bodies only.
//!
//! Weights go through burn-store with the PyTorch adapters and the same key renames as the
//! crate's other loaders (`hf`, `modernbert`): the encoder lands under `bert.` (the body's enum
//! variant is skipped in paths), the projection under `projection.`. Saving writes PyLate's
//! format with the body's own tensor names.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use serde_json::{json, Value};

use super::resize::resize_token_embeddings;
use super::settings::ColBertSettings;
use super::tokenize::ColBertTokenizer;
use super::{ColBert, ColBertModel};
use crate::config::read_config_json;
use crate::encoder_config::EncoderConfig;
use crate::error::{io_err, ModelError, Result};
use crate::hf::{self, LoadReport};
use crate::modernbert_config::ModernBertConfig;
use crate::run_options::RunOptions;

/// Which tool's layout a ColBERT directory has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColBertFormat {
    PyLate,
    Stanford,
}

const STANFORD_METADATA: &str = "artifact.metadata";
const STANFORD_ARCHITECTURE: &str = "HF_ColBERT";
const PYLATE_DENSE: &str = "pylate.models.Dense.Dense";
const IDENTITY: &str = "torch.nn.modules.linear.Identity";

fn architectures(config: &serde_json::Map<String, Value>) -> Vec<String> {
    config
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

impl ColBertFormat {
    /// Whether `dir` holds a ColBERT model at all, for commands that take either a
    /// cross-encoder or a ColBERT directory (`rerank`, `predict`, `evaluate`, `serve`): PyLate's
    /// `config_sentence_transformers.json` with `similarity_fn_name: "MaxSim"` (or
    /// `model_type: "ColBERT"`), a `pylate.*` module in `modules.json`, Stanford's
    /// `artifact.metadata`, or a `config.json` naming `HF_ColBERT`. Stricter than
    /// [`Self::detect`], which takes any sentence-transformers directory with a Dense module as
    /// PyLate's: a bi-encoder with a Dense layer after its pooling is not a ColBERT. `None`
    /// when nothing marks the directory as ColBERT; otherwise the format [`Self::detect`] reads.
    pub fn recognise(dir: &Path) -> Option<Self> {
        let json = |name: &str| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).ok()?).ok()
        };
        let pylate_settings = json("config_sentence_transformers.json").is_some_and(|c| {
            c.get("similarity_fn_name").and_then(Value::as_str) == Some("MaxSim")
                || c.get("model_type").and_then(Value::as_str) == Some("ColBERT")
        });
        let pylate_module = json("modules.json").is_some_and(|m| {
            m.as_array().is_some_and(|modules| {
                modules.iter().any(|m| {
                    m.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.starts_with("pylate."))
                })
            })
        });
        let stanford = dir.join(STANFORD_METADATA).is_file()
            || json(hf::CONFIG_FILE)
                .and_then(|c| c.as_object().map(architectures))
                .is_some_and(|a| a.iter().any(|a| a == STANFORD_ARCHITECTURE));
        if pylate_settings || pylate_module || stanford {
            Self::detect(dir).ok()
        } else {
            None
        }
    }

    /// As PyLate decides: PyLate when `modules.json` lists a Dense module (even beside
    /// Stanford files, which converted models sometimes keep); otherwise Stanford when the
    /// directory has `artifact.metadata` or its `config.json` names `HF_ColBERT`; otherwise
    /// PyLate if `modules.json` exists (loading then says what it lacks); else not a ColBERT
    /// directory.
    pub fn detect(dir: &Path) -> Result<Self> {
        let config = hf::file_in(dir, hf::CONFIG_FILE)?;
        let modules = dir.join("modules.json");
        if modules.is_file() {
            let listed = hf::read_json(&modules)?;
            let has_dense = listed.as_array().is_some_and(|modules| {
                modules.iter().any(|m| {
                    m.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.ends_with(".Dense"))
                })
            });
            if has_dense {
                return Ok(Self::PyLate);
            }
        }
        if dir.join(STANFORD_METADATA).is_file()
            || architectures(&read_config_json(&config)?)
                .iter()
                .any(|a| a == STANFORD_ARCHITECTURE)
        {
            return Ok(Self::Stanford);
        }
        if modules.is_file() {
            return Ok(Self::PyLate);
        }
        Err(ModelError::Unsupported {
            path: dir.into(),
            message: "not a ColBERT directory: neither PyLate's modules.json (Transformer + \
                      Dense) nor Stanford ColBERT's artifact.metadata / HF_ColBERT config"
                .into(),
        })
    }
}

/// The store that reads a checkpoint's encoder into `bert.` (the body's variant is not part of
/// the paths): a BERT-family encoder as every BERT-family load maps it (from the family's
/// prefix or bare names); a ModernBERT one from bare names (`ModernBertModel`) or from a
/// classifier's `model.`, with its fused projections' capitals (`Wqkv`, `Wo`, `Wi`) lowered.
fn body_store(path: &Path, config: &EncoderConfig) -> SafetensorsStore {
    let store = match config {
        EncoderConfig::Bert(c) => hf::weights_store_for_loading(path, c.architecture),
        EncoderConfig::ModernBert(_) => SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"\.Wqkv\.", ".wqkv.")
            .with_key_remapping(r"\.Wo\.", ".wo.")
            .with_key_remapping(r"\.Wi\.", ".wi.")
            .with_key_remapping(r"^model\.", "bert.")
            .with_key_remapping(r"^(embeddings|layers|final_norm)\.", "bert.$1.")
            .allow_partial(true),
    };
    store.skip_enum_variants(true)
}

/// Loads tensors of `path` into `model`: the encoder's under `bert.` ([`body_store`]),
/// `linear.*` as `projection.*`. Returns the module paths left missing and the file's tensors
/// the model does not use.
fn load_file<B: Backend>(
    model: &mut ColBertModel<B>,
    path: &Path,
    config: &EncoderConfig,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut store = body_store(path, config).with_key_remapping(r"^linear\.", "projection.");
    let result = model
        .load_from(&mut store)
        .map_err(|e| ModelError::Weights {
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
    // burn-store lists tensors applied through the adapter's alias (LayerNorm weight/bias ↔
    // gamma/beta) as unused too; they are not.
    let applied_alias = |name: &str| {
        let alias = name
            .strip_suffix(".weight")
            .map(|p| format!("{p}.gamma"))
            .or_else(|| name.strip_suffix(".bias").map(|p| format!("{p}.beta")));
        alias.is_some_and(|a| result.applied.contains(&a))
    };
    let unused = result
        .unused
        .iter()
        .filter(|n| !applied_alias(n) && !n.ends_with("embeddings.position_ids"))
        .cloned()
        .collect();
    let missing = result.missing.iter().map(|(n, _)| n.clone()).collect();
    Ok((missing, unused))
}

fn has_pooler(weights: &Path) -> Result<bool> {
    Ok(hf::safetensors_names(weights)?
        .iter()
        .any(|n| n.contains("pooler.")))
}

/// `[rows, cols]` of tensor `name` in a safetensors file.
fn tensor_shape(path: &Path, name: &str) -> Result<Vec<usize>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let (_, metadata) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })?;
    metadata
        .tensors()
        .get(name)
        .map(|info| info.shape.clone())
        .ok_or_else(|| ModelError::MissingTensors {
            path: path.into(),
            names: vec![name.into()],
        })
}

fn projection_dim(path: &Path, hidden: usize) -> Result<usize> {
    match tensor_shape(path, "linear.weight")?.as_slice() {
        [dim, h] if *h == hidden => Ok(*dim),
        shape => Err(ModelError::Weights {
            path: path.into(),
            message: format!("linear.weight has shape {shape:?}, expected [dim, {hidden}]"),
        }),
    }
}

fn missing_error(path: &Path, names: Vec<String>) -> ModelError {
    ModelError::MissingTensors {
        path: path.into(),
        names,
    }
}

/// The `1_Dense` module of a PyLate directory: its folder, after checking that it is the one
/// projection rankforge runs (no bias, identity activation, no residual).
fn pylate_dense_dir(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("modules.json");
    let modules = hf::read_json(&path)?;
    let modules = modules.as_array().cloned().unwrap_or_default();
    let dense: Vec<&Value> = modules
        .iter()
        .filter(|m| {
            m.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(".Dense"))
        })
        .collect();
    let unsupported = |message: String| ModelError::Unsupported {
        path: path.clone(),
        message,
    };
    let others: Vec<&str> = modules
        .iter()
        .filter_map(|m| m.get("type").and_then(Value::as_str))
        .filter(|t| !t.ends_with(".Dense") && !t.ends_with(".Transformer"))
        .collect();
    if dense.len() != 1 || !others.is_empty() {
        return Err(unsupported(format!(
            "a ColBERT of one Transformer and one Dense module is supported; this one has {} \
             Dense module(s){}",
            dense.len(),
            if others.is_empty() {
                String::new()
            } else {
                format!(" and {}", others.join(", "))
            }
        )));
    }
    let dense_dir = dir.join(
        dense[0]
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("1_Dense"),
    );
    let config_path = dense_dir.join(hf::CONFIG_FILE);
    let config = hf::read_json(&config_path)?;
    let bias = config.get("bias").and_then(Value::as_bool).unwrap_or(true);
    let activation = config
        .get("activation_function")
        .and_then(Value::as_str)
        .unwrap_or(IDENTITY);
    let residual = config
        .get("use_residual")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if bias || activation != IDENTITY || residual {
        return Err(ModelError::Unsupported {
            path: config_path,
            message: format!(
                "a projection without bias, identity activation and no residual is supported \
                 (bias {bias}, activation {activation}, use_residual {residual})"
            ),
        });
    }
    Ok(dense_dir)
}

pub(super) fn load<B: Backend>(dir: &Path, device: &B::Device) -> Result<(ColBert<B>, LoadReport)> {
    let format = ColBertFormat::detect(dir)?;
    let config_path = hf::file_in(dir, hf::CONFIG_FILE)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let mut raw = read_config_json(&config_path)?;
    let (model, settings, unused) = match format {
        ColBertFormat::Stanford => {
            // `HF_ColBERT` is not a transformers class: read the body's config without it.
            if architectures(&raw)
                .iter()
                .any(|a| a == STANFORD_ARCHITECTURE)
            {
                raw.remove("architectures");
            }
            let config: EncoderConfig = match EncoderConfig::from_json(raw, &config_path)? {
                EncoderConfig::Bert(c) => c.into(),
                other => {
                    return Err(other.unsupported(
                        &config_path,
                        "Stanford ColBERT (HF_ColBERT) directories are read",
                    ))
                }
            };
            let metadata_path = dir.join(STANFORD_METADATA);
            let settings = if metadata_path.is_file() {
                ColBertSettings::from_stanford(&hf::read_json(&metadata_path)?, &metadata_path)?
            } else {
                ColBertSettings::from_stanford(&json!({}), &metadata_path)?
            };
            let dim = projection_dim(&weights, config.hidden_size())?;
            let mut model = ColBertModel::new(&config, dim, has_pooler(&weights)?, device);
            let (missing, unused) = load_file(&mut model, &weights, &config)?;
            if !missing.is_empty() {
                return Err(missing_error(&weights, missing));
            }
            (model, (config, settings), unused)
        }
        ColBertFormat::PyLate => {
            let config = EncoderConfig::from_json(raw, &config_path)?;
            let settings_path = dir.join("config_sentence_transformers.json");
            let settings = if settings_path.is_file() {
                ColBertSettings::from_pylate(&hf::read_json(&settings_path)?, &settings_path)?
            } else {
                ColBertSettings::default()
            };
            let dense_dir = pylate_dense_dir(dir)?;
            let dense_weights = hf::file_in(&dense_dir, hf::WEIGHTS_FILE)?;
            let dim = projection_dim(&dense_weights, config.hidden_size())?;
            let mut model = ColBertModel::new(&config, dim, has_pooler(&weights)?, device);
            let (missing, mut unused) = load_file(&mut model, &weights, &config)?;
            let missing: Vec<String> = missing
                .into_iter()
                .filter(|n| !n.starts_with("projection."))
                .collect();
            if !missing.is_empty() {
                return Err(missing_error(&weights, missing));
            }
            let (missing, dense_unused) = load_file(&mut model, &dense_weights, &config)?;
            if missing.iter().any(|n| n.starts_with("projection.")) {
                return Err(missing_error(&dense_weights, vec!["linear.weight".into()]));
            }
            unused.extend(dense_unused);
            (model, (config, settings), unused)
        }
    };
    let (config, settings) = settings;
    let tokenizer = ColBertTokenizer::from_dir(dir, &settings)?;
    let probe = crate::tokenize::TextTokenizer::from_file(&dir.join(hf::TOKENIZER_FILE), 8)?;
    crate::run_options::check_vocab_fits(
        &probe,
        &dir.join(hf::TOKENIZER_FILE),
        &config,
        &config_path,
    )?;
    let report = LoadReport {
        unused,
        source: dir.to_path_buf(),
        ..Default::default()
    };
    Ok((
        ColBert {
            model,
            config,
            tokenizer,
            device: device.clone(),
            run: RunOptions::default(),
            source_dir: dir.to_path_buf(),
            format,
            encoded_documents: Default::default(),
        },
        report,
    ))
}

/// The tokenizer files of a new ColBERT whose tokenizer gained PyLate's prefix tokens: the
/// tokenizer as `tokenizer.json`, and the source's `tokenizer_config.json` /
/// `added_tokens.json` with the added tokens listed where those files list them (transformers
/// 4's `added_tokens_decoder`; transformers 5 reads `tokenizer.json` alone).
fn tokenizer_files(
    tokenizer: &tokenizers::Tokenizer,
    dir: &Path,
    added: &[(String, u32)],
) -> Result<Vec<(&'static str, String)>> {
    let json = tokenizer
        .to_string(true)
        .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
    let mut files = vec![(hf::TOKENIZER_FILE, json)];
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("JSON values serialise") + "\n";
    let config_path = dir.join("tokenizer_config.json");
    if config_path.is_file() {
        let mut config = hf::read_json(&config_path)?;
        if let Some(Value::Object(decoder)) = config.get_mut("added_tokens_decoder") {
            for (id, token) in tokenizer.get_added_tokens_decoder() {
                decoder.entry(id.to_string()).or_insert_with(|| {
                    json!({"content": token.content, "lstrip": token.lstrip,
                           "normalized": token.normalized, "rstrip": token.rstrip,
                           "single_word": token.single_word, "special": token.special})
                });
            }
            files.push(("tokenizer_config.json", pretty(&config)));
        }
    }
    let added_path = dir.join("added_tokens.json");
    if added_path.is_file() && !added.is_empty() {
        let mut listed = hf::read_json(&added_path)?;
        if let Value::Object(map) = &mut listed {
            for (token, id) in added {
                map.insert(token.clone(), json!(id));
            }
            files.push(("added_tokens.json", pretty(&listed)));
        }
    }
    Ok(files)
}

/// [`ColBert::from_encoder`].
pub(super) fn from_encoder<B: Backend>(
    dir: &Path,
    dim: usize,
    seed: u64,
    settings: &ColBertSettings,
    device: &B::Device,
) -> Result<(ColBert<B>, LoadReport)> {
    use rand::{rngs::StdRng, Rng, SeedableRng};

    let config_path = hf::file_in(dir, hf::CONFIG_FILE)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let mut config = EncoderConfig::from_file(&config_path)?;
    if dim == 0 {
        return Err(ModelError::Invalid("ColBERT dim must be at least 1".into()));
    }
    let tokenizer_path = hf::file_in(dir, hf::TOKENIZER_FILE)?;
    let mut inner = tokenizers::Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
    let mut model = ColBertModel::new(&config, dim, has_pooler(&weights)?, device);
    let (missing, unused) = load_file(&mut model, &weights, &config)?;
    let missing: Vec<String> = missing
        .into_iter()
        .filter(|n| !n.starts_with("projection."))
        .collect();
    if !missing.is_empty() {
        return Err(missing_error(&weights, missing));
    }
    let hidden = config.hidden_size();
    let bound = 1.0 / (hidden as f32).sqrt();
    let mut rng = StdRng::seed_from_u64(seed);
    let values: Vec<f32> = (0..hidden * dim)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    model.projection.weight = burn::module::Param::from_tensor(burn::tensor::Tensor::from_data(
        burn::tensor::TensorData::new(values, [hidden, dim]),
        device,
    ));
    // PyLate's prefix tokens: `resize_token_embeddings(len(tokenizer))`, `add_tokens(prefixes)`
    // (plain added tokens: not special, normalized), `resize_token_embeddings(len(tokenizer))`.
    let prefixes: Vec<&str> = [&settings.query_prefix, &settings.document_prefix]
        .into_iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty())
        .collect();
    let mut added: Vec<(String, u32)> = Vec::new();
    let mut files = Vec::new();
    if !prefixes.is_empty() {
        let new: Vec<&str> = prefixes
            .iter()
            .copied()
            .filter(|p| inner.token_to_id(p).is_none())
            .collect();
        let mut table = model.word_embeddings();
        table = resize_token_embeddings(table, inner.get_vocab_size(true), &mut rng);
        let tokens: Vec<tokenizers::AddedToken> = prefixes
            .iter()
            .map(|p| tokenizers::AddedToken::from(p.to_string(), false))
            .collect();
        inner.add_tokens(&tokens);
        for token in new {
            if !added.iter().any(|(t, _)| t == token) {
                let id = inner.token_to_id(token).expect("an added token has an id");
                added.push((token.to_string(), id));
            }
        }
        let rows = inner.get_vocab_size(true);
        table = resize_token_embeddings(table, rows, &mut rng);
        model.set_word_embeddings(table);
        match &mut config {
            EncoderConfig::Bert(c) => c.vocab_size = rows,
            EncoderConfig::ModernBert(c) => c.vocab_size = rows,
        }
        files = tokenizer_files(&inner, dir, &added)?;
    }
    let tokenizer =
        ColBertTokenizer::from_tokenizer(inner, dir, settings)?.with_added_tokens(added, files);
    let report = LoadReport {
        unused,
        source: dir.to_path_buf(),
        new_head: true,
        head_seed: seed,
        ..Default::default()
    };
    Ok((
        ColBert {
            model,
            config,
            tokenizer,
            device: device.clone(),
            run: RunOptions::default(),
            source_dir: dir.to_path_buf(),
            format: ColBertFormat::PyLate,
            encoded_documents: Default::default(),
        },
        report,
    ))
}

/// Writes `model`'s tensors that `keep` selects (module paths) with `rename` applied, in
/// PyTorch's layout.
fn save_tensors<B: Backend>(
    model: &ColBertModel<B>,
    path: &Path,
    keep: &str,
    rename: (&str, &str),
) -> Result<()> {
    // BERT's renames and ModernBERT's (no name of either body matches the other's).
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .with_regex(keep)
        .with_key_remapping(r"\.attention\.self_attn\.", ".attention.self.")
        .with_key_remapping(r"\.layer_norm\.", ".LayerNorm.")
        .with_key_remapping(r"\.wqkv\.", ".Wqkv.")
        .with_key_remapping(r"\.wo\.", ".Wo.")
        .with_key_remapping(r"\.wi\.", ".Wi.")
        .with_key_remapping(rename.0, rename.1)
        .clear_metadata()
        // transformers refuses safetensors files without format = pt.
        .metadata("format", "pt")
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })
}

/// PyLate's directory: the encoder as a sentence-transformers Transformer at the root (bare
/// tensor names, `architectures` the family's base model), the projection in `1_Dense/`, the
/// settings in `config_sentence_transformers.json`, the tokenizer files of `tokenizer_dir`
/// with `tokenizer_files` (name, contents) written over them.
pub(super) fn save_pylate<B: Backend>(
    model: &ColBertModel<B>,
    config: &EncoderConfig,
    settings: &ColBertSettings,
    tokenizer_dir: &Path,
    tokenizer_files: &[(&str, String)],
    out: &Path,
) -> Result<()> {
    let mut json_config = config.to_json();
    let base_model = match config {
        EncoderConfig::Bert(c) => c.architecture.base_model(),
        EncoderConfig::ModernBert(_) => ModernBertConfig::BASE_MODEL,
    };
    json_config.insert("architectures".into(), json!([base_model]));
    let mut st_config = json!({
        "model_type": "ColBERT",
        "__version__": hf::versions(),
        "prompts": {"query": "", "document": ""},
        "default_prompt_name": null,
        "similarity_fn_name": "MaxSim",
    });
    if let (Value::Object(target), Value::Object(keys)) =
        (&mut st_config, settings.to_pylate_json())
    {
        target.extend(keys);
    }
    let hidden = config.hidden_size();
    let dim = model.dim();
    hf::write_dir_atomically(out, |dir| {
        save_tensors(
            model,
            &dir.join(hf::WEIGHTS_FILE),
            r"^bert\.",
            (r"^bert\.", ""),
        )?;
        hf::write_json(&dir.join(hf::CONFIG_FILE), &Value::Object(json_config))?;
        let dense = dir.join("1_Dense");
        std::fs::create_dir_all(&dense).map_err(io_err(&dense))?;
        save_tensors(
            model,
            &dense.join(hf::WEIGHTS_FILE),
            r"^projection\.",
            (r"^projection\.", "linear."),
        )?;
        hf::write_json(
            &dense.join(hf::CONFIG_FILE),
            &json!({"in_features": hidden, "out_features": dim, "bias": false,
                    "activation_function": IDENTITY, "use_residual": false}),
        )?;
        hf::write_json(
            &dir.join("modules.json"),
            &json!([
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Dense", "type": PYLATE_DENSE},
            ]),
        )?;
        hf::write_json(
            &dir.join("sentence_bert_config.json"),
            &json!({"max_seq_length": config.max_positions().min(512), "do_lower_case": false}),
        )?;
        hf::write_json(&dir.join("config_sentence_transformers.json"), &st_config)?;
        hf::copy_tokenizer_files(tokenizer_dir, dir)?;
        for (name, contents) in tokenizer_files {
            let path = dir.join(name);
            std::fs::write(&path, contents).map_err(io_err(&path))?;
        }
        Ok(())
    })
}
