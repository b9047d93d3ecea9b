//! A decoder-only yes/no reranker written as a one-logit sequence classifier
//! ([`export_classifier`]): a `Qwen3ForSequenceClassification` (or
//! `GemmaForSequenceClassification`) directory with the same body weights and `score.weight`
//! `= W[true] − W[false]` (the LM head's two scored rows; `W[true]` alone without a false
//! token), vLLM's `from_2_way_softmax` conversion. The classifier's logit at the last token is
//! then the reranker's raw score, `logit(true) − logit(false)`, so engines that only serve
//! sequence classification serve the reranker. The prompt is not part of a classifier: the
//! tokenizer files and chat template are copied, and the rule is recorded in `config.json`
//! (`rankforge_reranker`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::{json, Value};
use tokenizers::Tokenizer;

use super::config::Qwen3Config;
use super::reranker::{CausalLmFormat, CausalLmSettings};
use crate::error::{io_err, ModelError, Result};
use crate::hf;

/// What [`export_classifier`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierExport {
    pub output: PathBuf,
    /// `Qwen3ForSequenceClassification` or `GemmaForSequenceClassification`.
    pub architecture: String,
    pub true_token_id: u32,
    pub false_token_id: Option<u32>,
    /// The LM head the rows came from: `lm_head.weight` or the tied `model.embed_tokens.weight`.
    pub head: String,
}

/// Files copied beside the weights when present (tokenizer and prompt).
const COPIED: [&str; 5] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
];

fn to_f32(dtype: Dtype, data: &[u8]) -> Result<Vec<f32>> {
    match dtype {
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Dtype::BF16 => Ok(data
            .chunks_exact(2)
            .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
            .collect()),
        other => Err(ModelError::Invalid(format!(
            "export: LM head of dtype {other:?}; f32 and bf16 are supported"
        ))),
    }
}

fn from_f32(dtype: Dtype, values: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::BF16 => values
            .iter()
            .flat_map(|v| {
                // Round to nearest even, as torch casts.
                let bits = v.to_bits();
                let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
                ((rounded >> 16) as u16).to_le_bytes()
            })
            .collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The scored token ids of the reranker in `dir`, as [`super::CausalLmReranker::load`] picks
/// them: `settings`' tokens, else the `LogitScore` module's, else `yes` / `no`.
fn scored_tokens(
    format: &CausalLmFormat,
    tokenizer: &Tokenizer,
    settings: &CausalLmSettings,
) -> Result<(u32, Option<u32>)> {
    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| ModelError::Tokenizer(format!("no token {token:?} to score with")))
    };
    Ok(match (&settings.true_token, format) {
        (Some(t), _) => (id(t)?, settings.false_token.as_deref().map(id).transpose()?),
        (
            None,
            CausalLmFormat::SentenceTransformers {
                true_token_id,
                false_token_id,
                ..
            },
        ) => (*true_token_id, *false_token_id),
        (None, CausalLmFormat::Plain) => (id("yes")?, Some(id("no")?)),
    })
}

/// Writes the decoder-only reranker in `dir` (a sentence-transformers `LogitScore` or a
/// `*ForCausalLM` directory; score tokens from `settings` over what the directory says) to
/// `output` as a one-logit `*ForSequenceClassification` directory (`config.json`,
/// `model.safetensors` in the checkpoint's dtype, tokenizer files).
pub fn export_classifier(
    dir: &Path,
    settings: Option<&CausalLmSettings>,
    output: &Path,
) -> Result<ClassifierExport> {
    let format = CausalLmFormat::recognise(dir).ok_or_else(|| ModelError::Unsupported {
        path: dir.to_path_buf(),
        message: "not a decoder-only reranker (no sentence-transformers LogitScore module, no \
                  *ForCausalLM architecture)"
            .into(),
    })?;
    let model_dir = match &format {
        CausalLmFormat::SentenceTransformers { transformer, .. } => transformer.clone(),
        CausalLmFormat::Plain => dir.to_path_buf(),
    };
    let config_path = hf::file_in(&model_dir, hf::CONFIG_FILE)?;
    let config = Qwen3Config::from_file(&config_path)?;
    let tokenizer_path = hf::file_in(&model_dir, hf::TOKENIZER_FILE)?;
    let tokenizer = Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| ModelError::Tokenizer(format!("{}: {e}", tokenizer_path.display())))?;
    let (true_id, false_id) =
        scored_tokens(&format, &tokenizer, &settings.cloned().unwrap_or_default())?;

    let weights_path = hf::file_in(&model_dir, hf::WEIGHTS_FILE)?;
    let bytes = std::fs::read(&weights_path).map_err(io_err(&weights_path))?;
    let weights_err = |message: String| ModelError::Weights {
        path: weights_path.clone(),
        message,
    };
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| weights_err(e.to_string()))?;
    let names = tensors.names();
    let head = if names.contains(&"lm_head.weight") {
        "lm_head.weight"
    } else {
        "model.embed_tokens.weight"
    };
    let view = tensors
        .tensor(head)
        .map_err(|e| weights_err(format!("{head}: {e}")))?;
    let shape = view.shape().to_vec();
    let hidden = config.hidden_size;
    if shape.len() != 2 || shape[1] != hidden {
        return Err(weights_err(format!(
            "{head} has shape {shape:?}, not [vocab, {hidden}]"
        )));
    }
    let row_bytes = hidden * view.dtype().bitsize() / 8;
    let row = |id: u32| -> Result<Vec<f32>> {
        let id = id as usize;
        if id >= shape[0] {
            return Err(weights_err(format!(
                "token id {id} is past {head}'s {} rows",
                shape[0]
            )));
        }
        to_f32(
            view.dtype(),
            &view.data()[id * row_bytes..(id + 1) * row_bytes],
        )
    };
    let mut score = row(true_id)?;
    if let Some(f) = false_id {
        for (s, f) in score.iter_mut().zip(row(f)?) {
            *s -= f;
        }
    }
    let score_bytes = from_f32(view.dtype(), &score);

    std::fs::create_dir_all(output).map_err(io_err(output))?;
    let mut views: Vec<(String, TensorView<'_>)> = Vec::with_capacity(names.len() + 1);
    for name in names {
        if name == "lm_head.weight" {
            continue;
        }
        let t = tensors
            .tensor(name)
            .map_err(|e| weights_err(format!("{name}: {e}")))?;
        views.push((name.to_string(), t));
    }
    views.push((
        "score.weight".into(),
        TensorView::new(view.dtype(), vec![1, hidden], &score_bytes)
            .map_err(|e| weights_err(e.to_string()))?,
    ));
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let out_weights = output.join(hf::WEIGHTS_FILE);
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(views, Some(metadata), &out_weights)
        .map_err(|e| ModelError::Invalid(format!("{}: {e}", out_weights.display())))?;

    // config.json: the causal LM's, as a one-label classifier.
    let text = std::fs::read_to_string(&config_path).map_err(io_err(&config_path))?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: config_path.clone(),
        field: "(json)".into(),
        message: e.to_string(),
    })?;
    let architecture = format!(
        "{}ForSequenceClassification",
        if config.is_gemma() { "Gemma" } else { "Qwen3" }
    );
    let object = value.as_object_mut().ok_or_else(|| ModelError::Config {
        path: config_path.clone(),
        field: "(json)".into(),
        message: "not a JSON object".into(),
    })?;
    let token = |id: u32| tokenizer.id_to_token(id);
    object.insert("architectures".into(), json!([architecture]));
    object.insert("num_labels".into(), json!(1));
    object.insert("id2label".into(), json!({"0": "LABEL_0"}));
    object.insert("label2id".into(), json!({"LABEL_0": 0}));
    object.insert("tie_word_embeddings".into(), json!(false));
    object.insert(
        "rankforge_reranker".into(),
        json!({
            "score": "logit(true) - logit(false) at the last token (the raw score; sigmoid for the probability)",
            "true_token_id": true_id,
            "true_token": token(true_id),
            "false_token_id": false_id,
            "false_token": false_id.and_then(token),
            "head": head,
            "source": dir.display().to_string(),
        }),
    );
    let out_config = output.join(hf::CONFIG_FILE);
    std::fs::write(
        &out_config,
        serde_json::to_string_pretty(&value).expect("JSON") + "\n",
    )
    .map_err(io_err(&out_config))?;
    for name in COPIED {
        let from = model_dir.join(name);
        if from.is_file() {
            let to = output.join(name);
            std::fs::copy(&from, &to).map_err(io_err(&to))?;
        }
    }
    Ok(ClassifierExport {
        output: output.to_path_buf(),
        architecture,
        true_token_id: true_id,
        false_token_id: false_id,
        head: head.to_string(),
    })
}
