//! LoRA adapters on a decoder-only body ([`Qwen3ForCausalLM`], Qwen3 or Gemma), in peft's
//! format: attach fresh branches to the target projections of every layer
//! ([`Qwen3ForCausalLM::attach_lora`]), load and save a peft adapter directory
//! ([`Qwen3ForCausalLM::load_adapter`], [`Qwen3ForCausalLM::save_adapter`]), freeze the base for
//! training ([`Qwen3ForCausalLM::freeze_base`]), and merge (`W += s · B · A`, peft's
//! `merge_and_unload`) in memory ([`Qwen3ForCausalLM::merge_lora`]) or into a full directory
//! transformers loads ([`Qwen3ForCausalLM::save_merged`]).
//!
//! A peft adapter directory holds `adapter_config.json` ([`LoraConfig`]) and
//! `adapter_model.safetensors` with, per layer `i` and adapted projection,
//!
//! ```text
//! base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_A.weight   [r, d_in]
//! base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_B.weight    [d_out, r]
//! ```
//!
//! (PyTorch's layout; the branches keep burn's, `A: [d_in, r]`, `B: [r, d_out]`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand::SeedableRng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::model::{Qwen3DecoderLayer, Qwen3ForCausalLM};
use super::reranker::{CausalLmFormat, CausalLmReranker};
use crate::error::{io_err, ModelError, Result};
use crate::hf;
use crate::layers::{merged, Linear, Lora, LoraConfig, LORA_TARGETS};

/// `adapter_config.json`.
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// `adapter_model.safetensors`.
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// What peft puts before the base model's own parameter names.
const PEFT_PREFIX: &str = "base_model.model.";

/// The LoRA branches of one decoder layer, one per adapted projection.
#[derive(Module, Debug)]
pub struct Qwen3LayerLora<B: Backend> {
    pub q_proj: Option<Lora<B>>,
    pub k_proj: Option<Lora<B>>,
    pub v_proj: Option<Lora<B>>,
    pub o_proj: Option<Lora<B>>,
    pub gate_proj: Option<Lora<B>>,
    pub up_proj: Option<Lora<B>>,
    pub down_proj: Option<Lora<B>>,
}

impl<B: Backend> Qwen3LayerLora<B> {
    fn empty() -> Self {
        Self {
            q_proj: None,
            k_proj: None,
            v_proj: None,
            o_proj: None,
            gate_proj: None,
            up_proj: None,
            down_proj: None,
        }
    }

    /// The branch of projection `name` (one of [`LORA_TARGETS`]).
    pub fn get(&self, name: &str) -> Option<&Lora<B>> {
        self.slot(name).as_ref()
    }

    fn slot(&self, name: &str) -> &Option<Lora<B>> {
        match name {
            "q_proj" => &self.q_proj,
            "k_proj" => &self.k_proj,
            "v_proj" => &self.v_proj,
            "o_proj" => &self.o_proj,
            "gate_proj" => &self.gate_proj,
            "up_proj" => &self.up_proj,
            "down_proj" => &self.down_proj,
            other => panic!("no projection {other:?}"),
        }
    }

    fn slot_mut(&mut self, name: &str) -> &mut Option<Lora<B>> {
        match name {
            "q_proj" => &mut self.q_proj,
            "k_proj" => &mut self.k_proj,
            "v_proj" => &mut self.v_proj,
            "o_proj" => &mut self.o_proj,
            "gate_proj" => &mut self.gate_proj,
            "up_proj" => &mut self.up_proj,
            "down_proj" => &mut self.down_proj,
            other => panic!("no projection {other:?}"),
        }
    }
}

/// `self_attn` or `mlp`: where projection `name` sits in the checkpoint.
fn group(name: &str) -> &'static str {
    match name {
        "q_proj" | "k_proj" | "v_proj" | "o_proj" => "self_attn",
        _ => "mlp",
    }
}

/// The base model's name of layer `layer`'s projection `name`, e.g.
/// `model.layers.0.self_attn.q_proj` (its weight is this + `.weight`).
pub fn projection_name(layer: usize, name: &str) -> String {
    format!("model.layers.{layer}.{}.{name}", group(name))
}

/// peft's tensor name of a branch matrix: `base_model.model.model.layers.{layer}.…{name}.lora_A.weight`
/// (`b`: `lora_B`).
pub fn peft_tensor_name(layer: usize, name: &str, b: bool) -> String {
    format!(
        "{PEFT_PREFIX}{}.lora_{}.weight",
        projection_name(layer, name),
        if b { "B" } else { "A" }
    )
}

/// The base projection `name` of `layer`.
fn base_linear<'a, B: Backend>(layer: &'a Qwen3DecoderLayer<B>, name: &str) -> &'a Linear<B> {
    let a = &layer.self_attn.attention;
    let m = &layer.mlp;
    match name {
        "q_proj" => &a.q_proj,
        "k_proj" => &a.k_proj,
        "v_proj" => &a.v_proj,
        "o_proj" => &a.o_proj,
        "gate_proj" => &m.gate_proj,
        "up_proj" => &m.up_proj,
        "down_proj" => &m.down_proj,
        other => panic!("no projection {other:?}"),
    }
}

fn base_linear_mut<'a, B: Backend>(
    layer: &'a mut Qwen3DecoderLayer<B>,
    name: &str,
) -> &'a mut Linear<B> {
    let a = &mut layer.self_attn.attention;
    let m = &mut layer.mlp;
    match name {
        "q_proj" => &mut a.q_proj,
        "k_proj" => &mut a.k_proj,
        "v_proj" => &mut a.v_proj,
        "o_proj" => &mut a.o_proj,
        "gate_proj" => &mut m.gate_proj,
        "up_proj" => &mut m.up_proj,
        "down_proj" => &mut m.down_proj,
        other => panic!("no projection {other:?}"),
    }
}

/// A safetensors tensor's values as f32 (F32, BF16, F16).
pub(crate) fn values_f32(dtype: Dtype, data: &[u8]) -> std::result::Result<Vec<f32>, String> {
    match dtype {
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Dtype::BF16 => Ok(data
            .chunks_exact(2)
            .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
            .collect()),
        Dtype::F16 => Ok(data
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect()),
        other => Err(format!("dtype {other:?}; F32, BF16 and F16 are supported")),
    }
}

/// f32 values as `dtype`'s bytes (F32, BF16 or F16, rounded to nearest even as torch casts).
pub(crate) fn bytes_of(dtype: Dtype, values: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::BF16 => values
            .iter()
            .flat_map(|v| {
                let bits = v.to_bits();
                let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
                ((rounded >> 16) as u16).to_le_bytes()
            })
            .collect(),
        Dtype::F16 => values
            .iter()
            .flat_map(|&v| f32_to_f16(v).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: f · 2^-24.
            let v = f as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    if v.is_nan() {
        return sign | 0x7e00;
    }
    let a = v.abs();
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    if a < 6.103_515_6e-5 {
        // Subnormal (or zero): round a / 2^-24 to nearest even.
        return sign | (a * 16_777_216.0).round_ties_even() as u16;
    }
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mant = bits & 0x7f_ffff;
    let mut h = ((exp as u32) << 10) | (mant >> 13);
    let rest = mant & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) {
        h += 1;
    }
    sign | h as u16
}

fn read_config(dir: &Path) -> Result<LoraConfig> {
    let path = dir.join(ADAPTER_CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    let config: LoraConfig = serde_json::from_str(&text).map_err(|e| ModelError::Config {
        path: path.clone(),
        field: "(json)".into(),
        message: e.to_string(),
    })?;
    config.check().map_err(|message| ModelError::Unsupported {
        path: path.clone(),
        message: format!("LoRA adapter: {message}"),
    })?;
    Ok(config)
}

impl<B: Backend> Qwen3ForCausalLM<B> {
    /// The settings of the adapter the layers carry, if any.
    pub fn lora_config(&self) -> Option<&LoraConfig> {
        self.lora_config.as_ref()
    }

    /// Attaches fresh LoRA branches (peft's initialisation: `A` kaiming-uniform drawn from a
    /// generator seeded with `seed`, layer by layer in [`LORA_TARGETS`] order; `B` zeros, so the
    /// model scores as before) to `config`'s target projections of every layer, replacing any.
    pub fn attach_lora(&mut self, config: LoraConfig, seed: u64) -> Result<()> {
        config
            .check()
            .map_err(|m| ModelError::Invalid(format!("LoRA: {m}")))?;
        let mut rng = StdRng::seed_from_u64(seed);
        for layer in &mut self.model.layers {
            let mut lora = Qwen3LayerLora::empty();
            for name in LORA_TARGETS {
                if config.targets(name) {
                    let base = base_linear(layer, name);
                    let [d_in, d_out] = base.weight.dims();
                    let device = base.weight.device();
                    *lora.slot_mut(name) =
                        Some(Lora::init(d_in, d_out, &config, &mut rng, &device));
                }
            }
            layer.lora = Some(lora);
        }
        self.lora_config = Some(config);
        Ok(())
    }

    /// Loads a peft LoRA adapter directory (`adapter_config.json`, `adapter_model.safetensors`)
    /// onto the layers, replacing any adapter. Every adapted projection of every layer must be
    /// in the file with its shape, and nothing else (an embedding adapter, `modules_to_save`,
    /// a layer past the model's: an error naming it). Returns its settings.
    pub fn load_adapter(&mut self, dir: impl AsRef<Path>) -> Result<LoraConfig> {
        let dir = dir.as_ref();
        let config = read_config(dir)?;
        let path = dir.join(ADAPTER_WEIGHTS_FILE);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        let bad = |message: String| ModelError::Weights {
            path: path.clone(),
            message,
        };
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        // Names without peft's prefix (some tools save the base model's names alone).
        let mut by_name: HashMap<String, String> = tensors
            .names()
            .into_iter()
            .map(|n| {
                (
                    n.strip_prefix(PEFT_PREFIX).unwrap_or(n).to_string(),
                    n.to_string(),
                )
            })
            .collect();
        let r = config.r;
        let mut missing = Vec::new();
        let mut layers = Vec::with_capacity(self.model.layers.len());
        for (i, layer) in self.model.layers.iter().enumerate() {
            let mut lora = Qwen3LayerLora::empty();
            for name in LORA_TARGETS.into_iter().filter(|n| config.targets(n)) {
                let base = base_linear(layer, name);
                let [d_in, d_out] = base.weight.dims();
                let device = base.weight.device();
                let mut matrix = |b: bool, shape: [usize; 2]| -> Result<Option<Tensor<B, 2>>> {
                    let full = peft_tensor_name(i, name, b);
                    let Some(stored) = by_name.remove(&full[PEFT_PREFIX.len()..]) else {
                        missing.push(full);
                        return Ok(None);
                    };
                    let view = tensors
                        .tensor(&stored)
                        .map_err(|e| bad(format!("{stored}: {e}")))?;
                    if view.shape() != shape {
                        return Err(bad(format!(
                            "{stored} has shape {:?}, not {shape:?} (r = {r})",
                            view.shape()
                        )));
                    }
                    let values = values_f32(view.dtype(), view.data())
                        .map_err(|m| bad(format!("{stored}: {m}")))?;
                    // PyTorch's [out, in] → burn's [in, out].
                    Ok(Some(
                        Tensor::<B, 2>::from_data(TensorData::new(values, shape), &device)
                            .transpose(),
                    ))
                };
                let a = matrix(false, [r, d_in])?;
                let b = matrix(true, [d_out, r])?;
                if let (Some(a), Some(b)) = (a, b) {
                    *lora.slot_mut(name) = Some(Lora::new(a, b, &config));
                }
            }
            layers.push(lora);
        }
        if !missing.is_empty() {
            return Err(ModelError::MissingTensors {
                path,
                names: missing,
            });
        }
        if !by_name.is_empty() {
            let mut names: Vec<String> = by_name.into_values().collect();
            names.sort();
            return Err(bad(format!(
                "tensors that are not LoRA matrices of this model's {} layers' {} (peft LoRA \
                 on q/k/v/o/gate/up/down only): {}",
                self.model.layers.len(),
                config.target_modules.join(", "),
                names.join(", ")
            )));
        }
        for (layer, lora) in self.model.layers.iter_mut().zip(layers) {
            layer.lora = Some(lora);
        }
        self.lora_config = Some(config.clone());
        Ok(config)
    }

    /// Writes the adapter as a peft adapter directory: `adapter_config.json` (the settings,
    /// `base_model_name_or_path` = `base_model` when given) and `adapter_model.safetensors`
    /// (f32, peft's names and layout). `peft.PeftModel.from_pretrained(base, dir)` loads it.
    pub fn save_adapter(&self, dir: impl AsRef<Path>, base_model: Option<&str>) -> Result<()> {
        let dir = dir.as_ref();
        let mut config = self
            .lora_config
            .clone()
            .ok_or_else(|| ModelError::Invalid("save_adapter: the model has no adapter".into()))?;
        if let Some(base) = base_model {
            config.base_model_name_or_path = Some(base.to_string());
        }
        config.inference_mode = true;
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (i, layer) in self.model.layers.iter().enumerate() {
            let Some(lora) = &layer.lora else { continue };
            for name in LORA_TARGETS {
                let Some(branch) = lora.get(name) else {
                    continue;
                };
                for (b, param) in [(false, &branch.lora_a), (true, &branch.lora_b)] {
                    // burn's [in, out] → PyTorch's [out, in].
                    let t = param.val().transpose();
                    let shape = t.dims().to_vec();
                    let values: Vec<f32> = t
                        .into_data()
                        .convert::<f32>()
                        .into_vec()
                        .map_err(|e| ModelError::Invalid(format!("{e:?}")))?;
                    tensors.push((
                        peft_tensor_name(i, name, b),
                        shape,
                        bytes_of(Dtype::F32, &values),
                    ));
                }
            }
        }
        let path = dir.join(ADAPTER_WEIGHTS_FILE);
        write_safetensors(&path, &tensors)?;
        let config_path = dir.join(ADAPTER_CONFIG_FILE);
        std::fs::write(
            &config_path,
            serde_json::to_string_pretty(&config).expect("JSON") + "\n",
        )
        .map_err(io_err(&config_path))
    }

    /// Freezes every parameter but the LoRA matrices (`require_grad` off: on an autodiff
    /// backend they get no gradient, so an optimizer keeps no state for them).
    pub fn freeze_base(mut self) -> Self {
        let loras: Vec<_> = self
            .model
            .layers
            .iter_mut()
            .map(|l| l.lora.take())
            .collect();
        let mut model = self.no_grad();
        for (layer, lora) in model.model.layers.iter_mut().zip(loras) {
            layer.lora = lora.map(|l| Qwen3LayerLora {
                q_proj: l.q_proj.map(Lora::trainable),
                k_proj: l.k_proj.map(Lora::trainable),
                v_proj: l.v_proj.map(Lora::trainable),
                o_proj: l.o_proj.map(Lora::trainable),
                gate_proj: l.gate_proj.map(Lora::trainable),
                up_proj: l.up_proj.map(Lora::trainable),
                down_proj: l.down_proj.map(Lora::trainable),
            });
        }
        model
    }

    /// The model with each branch folded into its projection (`W += s · A · B`, as peft's
    /// `merge_and_unload`) and no adapter left: inference at the plain model's speed.
    pub fn merge_lora(&mut self) {
        for layer in &mut self.model.layers {
            let Some(lora) = layer.lora.take() else {
                continue;
            };
            for name in LORA_TARGETS {
                if let Some(branch) = lora.get(name) {
                    let slot = base_linear_mut(layer, name);
                    *slot = merged(slot.clone(), branch);
                }
            }
        }
        self.lora_config = None;
    }

    /// Writes the base model directory `base_dir` (the one the adapter was attached to or
    /// loaded onto: a `*ForCausalLM` directory or a sentence-transformers reranker) with this
    /// adapter merged to `output`: every file copied, and the model's `model.safetensors`
    /// rewritten with each adapted projection's weight `W + s · B · A` (computed in f32, stored
    /// in the checkpoint's dtype), every other tensor unchanged. transformers loads it as a plain
    /// `*ForCausalLM` (and rankforge as the same reranker). Returns the weights file written.
    pub fn save_merged(
        &self,
        base_dir: impl AsRef<Path>,
        output: impl AsRef<Path>,
    ) -> Result<PathBuf> {
        let (base_dir, output) = (base_dir.as_ref(), output.as_ref());
        if self.lora_config.is_none() {
            return Err(ModelError::Invalid(
                "save_merged: the model has no adapter".into(),
            ));
        }
        let model_dir = match CausalLmFormat::recognise(base_dir) {
            Some(CausalLmFormat::SentenceTransformers { transformer, .. }) => transformer,
            Some(CausalLmFormat::Plain) => base_dir.to_path_buf(),
            None => {
                return Err(ModelError::Unsupported {
                    path: base_dir.to_path_buf(),
                    message: "not a decoder-only model directory".into(),
                })
            }
        };
        let weights = hf::file_in(&model_dir, hf::WEIGHTS_FILE)?;
        let relative = weights
            .strip_prefix(base_dir)
            .map_err(|_| {
                ModelError::Invalid(format!(
                    "{} is outside {}",
                    weights.display(),
                    base_dir.display()
                ))
            })?
            .to_path_buf();
        if output.exists()
            && output.canonicalize().map_err(io_err(output))?
                == base_dir.canonicalize().map_err(io_err(base_dir))?
        {
            return Err(ModelError::Invalid(
                "save_merged: the output is the base directory".into(),
            ));
        }
        copy_tree(base_dir, output, &relative)?;

        let bytes = std::fs::read(&weights).map_err(io_err(&weights))?;
        let bad = |message: String| ModelError::Weights {
            path: weights.clone(),
            message,
        };
        let tensors = SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let mut deltas: HashMap<String, Tensor<B, 2>> = HashMap::new();
        for (i, layer) in self.model.layers.iter().enumerate() {
            let Some(lora) = &layer.lora else { continue };
            for name in LORA_TARGETS {
                if let Some(branch) = lora.get(name) {
                    deltas.insert(
                        format!("{}.weight", projection_name(i, name)),
                        branch.delta_weight().transpose(),
                    );
                }
            }
        }
        let mut out: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut views: Vec<(String, TensorView<'_>)> = Vec::new();
        for name in tensors.names() {
            let view = tensors
                .tensor(name)
                .map_err(|e| bad(format!("{name}: {e}")))?;
            match deltas.remove(name) {
                None => views.push((name.to_string(), view)),
                Some(delta) => {
                    if view.shape() != delta.dims() {
                        return Err(bad(format!(
                            "{name} has shape {:?}, the adapter's delta {:?}",
                            view.shape(),
                            delta.dims()
                        )));
                    }
                    let base = values_f32(view.dtype(), view.data())
                        .map_err(|m| bad(format!("{name}: {m}")))?;
                    let delta: Vec<f32> = delta
                        .into_data()
                        .convert::<f32>()
                        .into_vec()
                        .map_err(|e| ModelError::Invalid(format!("{e:?}")))?;
                    let sum: Vec<f32> = base.iter().zip(&delta).map(|(w, d)| w + d).collect();
                    out.push((
                        name.to_string(),
                        view.dtype(),
                        view.shape().to_vec(),
                        bytes_of(view.dtype(), &sum),
                    ));
                }
            }
        }
        if !deltas.is_empty() {
            let mut names: Vec<String> = deltas.into_keys().collect();
            names.sort();
            return Err(bad(format!("no tensors {}", names.join(", "))));
        }
        for (name, dtype, shape, data) in &out {
            views.push((
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data)
                    .map_err(|e| bad(format!("{name}: {e}")))?,
            ));
        }
        views.sort_by(|a, b| a.0.cmp(&b.0));
        let target = output.join(&relative);
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::tensor::serialize_to_file(views, Some(metadata), &target)
            .map_err(|e| ModelError::Invalid(format!("{}: {e}", target.display())))?;
        Ok(target)
    }
}

/// Writes `(name, shape, f32 bytes)` tensors as one safetensors file (`format: pt`).
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<u8>)]) -> Result<()> {
    let views = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| ModelError::Invalid(format!("{name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(views, Some(metadata), path)
        .map_err(|e| ModelError::Invalid(format!("{}: {e}", path.display())))
}

/// Copies every file under `from` to `to` but `skip` (a path relative to `from`).
fn copy_tree(from: &Path, to: &Path, skip: &Path) -> Result<()> {
    fn walk(root: &Path, dir: &Path, to: &Path, skip: &Path) -> Result<()> {
        let rel = dir.strip_prefix(root).expect("under the root");
        let target = to.join(rel);
        std::fs::create_dir_all(&target).map_err(io_err(&target))?;
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, to, skip)?;
            } else if path.strip_prefix(root).expect("under the root") != skip {
                let dest = target.join(entry.file_name());
                std::fs::copy(&path, &dest).map_err(io_err(&dest))?;
            }
        }
        Ok(())
    }
    walk(from, from, to, skip)
}

impl<B: Backend> CausalLmReranker<B> {
    /// Loads a peft LoRA adapter directory onto the reranker's model
    /// ([`Qwen3ForCausalLM::load_adapter`]), merged into the projections when `merge` (the
    /// plain model's speed; unmerged, each adapted projection runs its branch too). The LM head
    /// rows are not adapted (peft LoRA on the seven projections leaves them as they are). The
    /// branches and merged weights run in f32: for `--precision int8` / `bf16`, merge into a
    /// directory ([`Qwen3ForCausalLM::save_merged`]) and load that.
    pub fn load_adapter(&mut self, dir: impl AsRef<Path>, merge: bool) -> Result<LoraConfig> {
        let config = self.model.load_adapter(dir)?;
        if merge {
            self.model.merge_lora();
        }
        Ok(config)
    }
}
