//! Loading a `T5ForConditionalGeneration` directory's `model.safetensors`: the checkpoint's
//! names (`encoder.block.N.layer.M.SelfAttention.q.weight`, …) onto the module paths of
//! [`super::model`].

use std::io::Read;
use std::path::Path;

use burn::tensor::backend::Backend;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use super::config::T5Config;
use super::model::T5ForConditionalGeneration;
use crate::error::{io_err, ModelError, Result};
use crate::hf;

/// Tensors a T5 checkpoint may hold that the model takes from elsewhere or never uses: the
/// stacks' copies of the shared embedding, and the cross-attention position bias of old
/// checkpoints (transformers ignores it too).
const IGNORED: [&str; 3] = [
    "encoder.embed_tokens.weight",
    "decoder.embed_tokens.weight",
    "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight",
];

/// Checkpoint name → module path.
fn store_for_loading(path: &Path) -> SafetensorsStore {
    SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(r"\.SelfAttention\.", ".attention.")
        .with_key_remapping(r"\.EncDecAttention\.", ".attention.")
        .with_key_remapping(r"\.DenseReluDense\.", ".dense_relu_dense.")
        .with_key_remapping(
            r"^(encoder|decoder)\.block\.(\d+)\.layer\.0\.",
            "$1.block.$2.self_attention.",
        )
        .with_key_remapping(
            r"^encoder\.block\.(\d+)\.layer\.1\.",
            "encoder.block.$1.ff.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.layer\.1\.",
            "decoder.block.$1.cross_attention.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.layer\.2\.",
            "decoder.block.$1.ff.",
        )
        .allow_partial(true)
}

/// Module path → checkpoint name, for saving (every pattern whole, so their order does not
/// matter).
fn store_for_saving(path: &Path) -> SafetensorsStore {
    SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(
            r"^(encoder|decoder)\.block\.(\d+)\.self_attention\.attention\.",
            "$1.block.$2.layer.0.SelfAttention.",
        )
        .with_key_remapping(
            r"^(encoder|decoder)\.block\.(\d+)\.self_attention\.layer_norm\.",
            "$1.block.$2.layer.0.layer_norm.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.cross_attention\.attention\.",
            "decoder.block.$1.layer.1.EncDecAttention.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.cross_attention\.layer_norm\.",
            "decoder.block.$1.layer.1.layer_norm.",
        )
        .with_key_remapping(
            r"^encoder\.block\.(\d+)\.ff\.dense_relu_dense\.",
            "encoder.block.$1.layer.1.DenseReluDense.",
        )
        .with_key_remapping(
            r"^encoder\.block\.(\d+)\.ff\.layer_norm\.",
            "encoder.block.$1.layer.1.layer_norm.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.ff\.dense_relu_dense\.",
            "decoder.block.$1.layer.2.DenseReluDense.",
        )
        .with_key_remapping(
            r"^decoder\.block\.(\d+)\.ff\.layer_norm\.",
            "decoder.block.$1.layer.2.layer_norm.",
        )
        .clear_metadata()
        // transformers refuses safetensors files without format = pt.
        .metadata("format", "pt")
        .overwrite(true)
}

/// Files besides `tokenizer.json` a T5 directory may carry for its tokenizer.
const EXTRA_TOKENIZER_FILES: [&str; 1] = ["spiece.model"];

/// Saves `model` as a `T5ForConditionalGeneration` directory transformers loads unchanged:
/// `model.safetensors` under the checkpoint's own names (`shared.weight`, `lm_head.weight` when
/// the model has its own head; the stacks' `embed_tokens` are tied to `shared` on load, as
/// transformers saves them), and `config.json` and the tokenizer files copied from `source`
/// (the directory the model was loaded from: training does not change them), with
/// `max_length` recorded as `tokenizer_config.json`'s `model_max_length` when given (the
/// prompt length a loader then defaults to).
pub fn save<B: Backend>(
    model: &T5ForConditionalGeneration<B>,
    source: &Path,
    max_length: Option<usize>,
    out: &Path,
) -> Result<()> {
    hf::write_dir_atomically(out, |dir| {
        let weights = dir.join(hf::WEIGHTS_FILE);
        model
            .save_into(&mut store_for_saving(&weights))
            .map_err(|e| ModelError::Weights {
                path: weights.clone(),
                message: e.to_string(),
            })?;
        let config = hf::file_in(source, hf::CONFIG_FILE)?;
        std::fs::copy(&config, dir.join(hf::CONFIG_FILE)).map_err(io_err(&config))?;
        hf::copy_tokenizer_files(source, dir)?;
        for name in EXTRA_TOKENIZER_FILES {
            let src = source.join(name);
            if src.is_file() {
                std::fs::copy(&src, dir.join(name)).map_err(io_err(&src))?;
            }
        }
        match max_length {
            Some(n) => hf::record_model_max_length(dir, n),
            None => Ok(()),
        }
    })
}

/// Module path → checkpoint name (for messages).
pub fn hf_tensor_name(module_path: &str) -> String {
    let mut name = module_path.replace(".dense_relu_dense.", ".DenseReluDense.");
    for (from, to) in [
        (".self_attention.attention.", ".layer.0.SelfAttention."),
        (".self_attention.", ".layer.0."),
    ] {
        name = name.replace(from, to);
    }
    let ff = if name.starts_with("decoder.") {
        ".layer.2."
    } else {
        ".layer.1."
    };
    name.replace(".cross_attention.attention.", ".layer.1.EncDecAttention.")
        .replace(".cross_attention.", ".layer.1.")
        .replace(".ff.", ff)
}

/// The tensor names of a safetensors file, read from its header alone.
pub fn tensor_names(path: &Path) -> Result<Vec<String>> {
    let bad = |message: String| ModelError::Weights {
        path: path.into(),
        message,
    };
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut len = [0u8; 8];
    file.read_exact(&mut len).map_err(io_err(path))?;
    let len = u64::from_le_bytes(len);
    if len > 100 << 20 {
        return Err(bad(format!("a header of {len} bytes")));
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header).map_err(io_err(path))?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    Ok(header
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name != "__metadata__")
        .collect())
}

/// What loading found besides the model.
#[derive(Debug, Clone, Default)]
pub struct T5Load {
    /// Checkpoint tensors the model does not use (HF names), [`IGNORED`] left out.
    pub unused: Vec<String>,
    /// The checkpoint has its own `lm_head.weight` (else the shared embedding is the head).
    pub own_lm_head: bool,
}

/// The model and config of a `T5ForConditionalGeneration` directory. Every tensor the model
/// has must be in `model.safetensors` with its shape.
pub fn load<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(T5ForConditionalGeneration<B>, T5Config, T5Load)> {
    let config = T5Config::from_file(&hf::file_in(dir, hf::CONFIG_FILE)?)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let own_lm_head = tensor_names(&weights)?
        .iter()
        .any(|n| n == "lm_head.weight");
    let mut model = T5ForConditionalGeneration::new(&config, own_lm_head, device);
    let weights_err = |message: String| ModelError::Weights {
        path: weights.clone(),
        message,
    };
    let result = model
        .load_from(&mut store_for_loading(&weights))
        .map_err(|e| weights_err(e.to_string()))?;
    if !result.errors.is_empty() {
        let messages: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(weights_err(messages.join("; ")));
    }
    if !result.missing.is_empty() {
        return Err(ModelError::MissingTensors {
            path: weights,
            names: result
                .missing
                .iter()
                .map(|(name, _)| hf_tensor_name(name))
                .collect(),
        });
    }
    let unused = result
        .unused
        .iter()
        .map(|name| hf_tensor_name(name))
        .filter(|name| !IGNORED.contains(&name.as_str()))
        .collect();
    Ok((
        model,
        config,
        T5Load {
            unused,
            own_lm_head,
        },
    ))
}
