//! Loading a `Qwen3ForCausalLM` directory's `model.safetensors` onto [`Qwen3ForCausalLM`]: the
//! checkpoint's names are the module paths but for the attention projections, which sit one
//! level down (`self_attn.q_proj` → `self_attn.attention.q_proj`). Gemma's norm gains are
//! stored as `γ − 1`: they are shifted to `γ` here, so one RMSNorm serves both.

use std::path::Path;

use burn::module::Param;
use burn::tensor::backend::Backend;
use burn_store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use super::config::Qwen3Config;
use super::model::Qwen3ForCausalLM;
use crate::error::{ModelError, Result};
use crate::hf;
use crate::layers::RmsNorm;
use crate::t5::io::tensor_names;

fn store_for_loading(path: &Path) -> SafetensorsStore {
    SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(
            r"\.self_attn\.(q|k|v|o)_proj\.",
            ".self_attn.attention.${1}_proj.",
        )
        .allow_partial(true)
}

/// Module path → checkpoint name (for messages).
pub fn hf_tensor_name(module_path: &str) -> String {
    module_path.replace(".self_attn.attention.", ".self_attn.")
}

/// What loading found besides the model.
#[derive(Debug, Clone, Default)]
pub struct Qwen3Load {
    /// Checkpoint tensors the model does not use (HF names).
    pub unused: Vec<String>,
    /// The checkpoint has its own `lm_head.weight` (else the embedding is the head).
    pub own_lm_head: bool,
}

/// The model and config of a `Qwen3ForCausalLM` or `GemmaForCausalLM` directory (`config.json`,
/// `model.safetensors`). Every tensor the model has must be in the checkpoint with its shape.
pub fn load<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(Qwen3ForCausalLM<B>, Qwen3Config, Qwen3Load)> {
    let config = Qwen3Config::from_file(&hf::file_in(dir, hf::CONFIG_FILE)?)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let own_lm_head = tensor_names(&weights)?
        .iter()
        .any(|n| n == "lm_head.weight");
    let mut model = Qwen3ForCausalLM::new(&config, own_lm_head, device);
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
    let unused = result.unused.iter().map(|n| hf_tensor_name(n)).collect();
    if config.is_gemma() {
        let shift = |norm: &mut RmsNorm<B>| {
            norm.weight = Param::from_tensor(norm.weight.val() + 1.0);
        };
        for layer in &mut model.model.layers {
            shift(&mut layer.input_layernorm);
            shift(&mut layer.post_attention_layernorm);
        }
        shift(&mut model.model.norm);
    }
    Ok((
        model,
        config,
        Qwen3Load {
            unused,
            own_lm_head,
        },
    ))
}
