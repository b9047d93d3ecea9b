//! The ModernBERT encoder (Warner et al. 2024; transformers' `modeling_modernbert.py`) built from
//! [`crate::layers`], with the checkpoint's field names (`Wqkv`, `Wo`, `Wi` are `wqkv`, `wo`,
//! `wi` here; loading and saving rename them):
//!
//! - embeddings: `tok_embeddings` → `norm` → `drop` (no position or token-type embeddings);
//! - N pre-norm layers: `x + attn(attn_norm(x))` (layer 0 has no `attn_norm`: the embeddings end
//!   in a norm), then `x + mlp(mlp_norm(x))`; `attn` is a fused `Wqkv` projection, rotary
//!   positions on queries and keys, attention over all tokens (global layers, `layer_id % n ==
//!   0` for `global_attn_every_n_layers` n, or `layer_types` `full_attention`) or over the tokens
//!   at most `local_attention / 2` away (local layers), and `Wo`; `mlp` is GeGLU (`Wi` to
//!   2 × intermediate, `act(input) ⊙ gate`, `Wo`). Global and local layers have their own
//!   rotary base (`global_rope_theta`, `local_rope_theta`);
//! - `final_norm`;
//! - [`ModernBertForSequenceClassification`]: `classifier_pooling` (`cls` or the mean of the
//!   non-padding tokens) → `head.dense` → `classifier_activation` → `head.norm` → `drop` →
//!   `classifier`.
//!
//! Biases follow `norm_bias`, `attention_bias`, `mlp_bias`, `classifier_bias` (all false in the
//! released checkpoints; the classifier always has one). Padded batches run as transformers'
//! eager/SDPA path does (padding keys masked), not the unpadded flash-attention path, which
//! gives the same outputs for the real tokens.
//!
//! Loading and saving ([`load_cross_encoder`], [`load_bi_encoder`], [`save_cross_encoder`],
//! [`save_bi_encoder`]) use the checkpoint's tensor names, so transformers and
//! sentence-transformers read a saved directory as `ModernBertForSequenceClassification` /
//! `ModernBertModel`.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use serde_json::{json, Value};

use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::bert::{cls_vectors, BertInput};
use crate::cross_encoder_model::{linear_from_pytorch, set_output_projection};
use crate::error::{ModelError, Result};
use crate::hf::{self, LoadReport, SentenceTransformerSettings};
use crate::layers::{
    pre_norm_residual, Activation, AttentionMasks, Dropout, FusedQkvAttention, GatedFeedForward,
    LayerNorm, Linear, Rotary,
};
use crate::modernbert_config::ModernBertConfig;
use crate::pooling::{l2_normalize, EmbeddingHead, Pooling};

fn activation(name: &str) -> Activation {
    Activation::from_hidden_act(name).expect("a validated config names a supported activation")
}

/// `tok_embeddings` → `norm` → `drop`.
#[derive(Module, Debug)]
pub struct ModernBertEmbeddings<B: Backend> {
    pub tok_embeddings: Embedding<B>,
    pub norm: LayerNorm<B>,
    pub drop: Dropout,
}

/// One pre-norm layer (transformers' `ModernBertEncoderLayer`).
#[derive(Module, Debug)]
pub struct ModernBertLayer<B: Backend> {
    /// `None` in layer 0 (transformers' `nn.Identity`).
    pub attn_norm: Option<LayerNorm<B>>,
    pub attn: FusedQkvAttention<B>,
    pub mlp_norm: LayerNorm<B>,
    pub mlp: GatedFeedForward<B>,
    /// Global (all tokens) or local (the sliding window) attention.
    #[module(skip)]
    global: bool,
}

impl<B: Backend> ModernBertLayer<B> {
    pub fn is_global(&self) -> bool {
        self.global
    }

    fn forward(&self, x: Tensor<B, 3>, context: &LayerContext<B>) -> Tensor<B, 3> {
        let (rotary, tables, masks) = if self.global {
            (
                &context.global_rotary,
                &context.global_tables,
                &context.global_masks,
            )
        } else {
            (
                &context.local_rotary,
                &context.local_tables,
                &context.local_masks,
            )
        };
        let x = pre_norm_residual(x, self.attn_norm.as_ref(), |h| {
            let (q, k, v) = self.attn.project(h);
            let (q, k) = (rotary.apply(q, tables), rotary.apply(k, tables));
            self.attn.attend((q, k, v), masks)
        });
        pre_norm_residual(x, Some(&self.mlp_norm), |h| self.mlp.forward(h))
    }
}

/// What every layer of one batch shares: the masks and rotary tables of both layer kinds.
struct LayerContext<B: Backend> {
    global_masks: AttentionMasks<B>,
    local_masks: AttentionMasks<B>,
    global_rotary: Rotary,
    local_rotary: Rotary,
    global_tables: (Tensor<B, 2>, Tensor<B, 2>),
    local_tables: (Tensor<B, 2>, Tensor<B, 2>),
}

/// transformers' `ModernBertModel`.
#[derive(Module, Debug)]
pub struct ModernBertModel<B: Backend> {
    pub embeddings: ModernBertEmbeddings<B>,
    pub layers: Vec<ModernBertLayer<B>>,
    pub final_norm: LayerNorm<B>,
    #[module(skip)]
    global_rotary: Rotary,
    #[module(skip)]
    local_rotary: Rotary,
    #[module(skip)]
    half_window: usize,
}

impl<B: Backend> ModernBertModel<B> {
    /// A randomly initialised encoder (weights are normally loaded over it); `config` has been
    /// validated.
    pub fn new(config: &ModernBertConfig, device: &B::Device) -> Self {
        let h = config.hidden_size;
        let norm = |device: &B::Device| {
            LayerNorm::new_with_bias(h, config.norm_eps, config.norm_bias, device)
        };
        let types = config
            .layer_types()
            .expect("a validated config has valid layer types");
        let head_dim = config.head_dim();
        Self {
            embeddings: ModernBertEmbeddings {
                tok_embeddings: EmbeddingConfig::new(config.vocab_size, h).init(device),
                norm: norm(device),
                drop: Dropout::new(config.embedding_dropout),
            },
            layers: types
                .into_iter()
                .enumerate()
                .map(|(i, global)| ModernBertLayer {
                    attn_norm: (i > 0).then(|| norm(device)),
                    attn: FusedQkvAttention::new(
                        h,
                        config.num_attention_heads,
                        config.attention_bias,
                        config.attention_dropout,
                        device,
                    ),
                    mlp_norm: norm(device),
                    mlp: GatedFeedForward::new(
                        h,
                        config.intermediate_size,
                        config.mlp_bias,
                        activation(&config.hidden_activation),
                        config.mlp_dropout,
                        device,
                    ),
                    global,
                })
                .collect(),
            final_norm: norm(device),
            global_rotary: Rotary::new(config.rope_theta(true), head_dim),
            local_rotary: Rotary::new(config.rope_theta(false), head_dim),
            half_window: config.half_window(),
        }
    }

    /// The half window of the local layers (`local_attention / 2`).
    pub fn half_window(&self) -> usize {
        self.half_window
    }

    /// Sets the half window of the local layers (tests: a window as wide as the sequence makes
    /// every layer global).
    pub fn set_half_window(&mut self, half_window: usize) {
        self.half_window = half_window;
    }

    /// The rotary bases of global and local layers.
    pub fn rope_thetas(&self) -> (f64, f64) {
        (self.global_rotary.theta, self.local_rotary.theta)
    }

    /// Sets the rotary bases of global and local layers (tests).
    pub fn set_rope_thetas(&mut self, global: f64, local: f64) {
        self.global_rotary.theta = global;
        self.local_rotary.theta = local;
    }

    /// Last hidden states `[batch, seq, hidden]` (after `final_norm`).
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 3> {
        self.forward_visiting(input, |_| {})
    }

    /// The embeddings' output, every layer's output, and the output of `final_norm`
    /// (`num_layers + 2` states; transformers' `hidden_states` are the same but for the last
    /// layer's, which it replaces by the normed one).
    pub fn hidden_states(&self, input: BertInput<B>) -> Vec<Tensor<B, 3>> {
        let mut states = Vec::with_capacity(self.layers.len() + 2);
        let last = self.forward_visiting(input, |x| states.push(x.clone()));
        states.push(last);
        states
    }

    fn forward_visiting(
        &self,
        input: BertInput<B>,
        mut visit: impl FnMut(&Tensor<B, 3>),
    ) -> Tensor<B, 3> {
        let [_, seq] = input.input_ids.dims();
        let device = input.input_ids.device();
        let context = LayerContext {
            global_masks: AttentionMasks::new(input.padding_mask.clone()),
            local_masks: AttentionMasks::windowed(input.padding_mask, self.half_window),
            global_tables: self.global_rotary.tables(seq, &device),
            local_tables: self.local_rotary.tables(seq, &device),
            global_rotary: self.global_rotary.clone(),
            local_rotary: self.local_rotary.clone(),
        };
        let embeddings = &self.embeddings;
        let mut x = embeddings.drop.forward(
            embeddings
                .norm
                .forward(embeddings.tok_embeddings.forward(input.input_ids)),
        );
        visit(&x);
        for layer in &self.layers {
            x = layer.forward(x, &context);
            visit(&x);
        }
        self.final_norm.forward(x)
    }
}

/// `head.dense` → act → `head.norm` (transformers' `ModernBertPredictionHead`).
#[derive(Module, Debug)]
pub struct ModernBertPredictionHead<B: Backend> {
    pub dense: Linear<B>,
    pub norm: LayerNorm<B>,
    #[module(skip)]
    activation: Activation,
}

/// transformers' `ModernBertForSequenceClassification`.
#[derive(Module, Debug)]
pub struct ModernBertForSequenceClassification<B: Backend> {
    pub model: ModernBertModel<B>,
    pub head: ModernBertPredictionHead<B>,
    pub drop: Dropout,
    pub classifier: Linear<B>,
    #[module(skip)]
    pooling: Pooling,
}

impl<B: Backend> ModernBertForSequenceClassification<B> {
    pub fn new(config: &ModernBertConfig, num_labels: usize, device: &B::Device) -> Self {
        let h = config.hidden_size;
        Self {
            model: ModernBertModel::new(config, device),
            head: ModernBertPredictionHead {
                dense: Linear::new_with_bias(h, h, config.classifier_bias, device),
                norm: LayerNorm::new_with_bias(h, config.norm_eps, config.norm_bias, device),
                activation: activation(&config.classifier_activation),
            },
            drop: Dropout::new(config.classifier_dropout),
            classifier: Linear::new(h, num_labels, device),
            pooling: config
                .pooling()
                .expect("a validated config has a supported pooling"),
        }
    }

    pub fn num_labels(&self) -> usize {
        self.classifier.d_out()
    }

    /// `cls` or `mean`.
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }

    pub fn set_pooling(&mut self, pooling: Pooling) {
        assert!(
            matches!(pooling, Pooling::Cls | Pooling::Mean),
            "ModernBERT's classifier pools by cls or mean"
        );
        self.pooling = pooling;
    }

    /// A new head (`head.dense` and `classifier`) for a checkpoint that has none: weights from
    /// N(0, `std`²) with a seeded generator independent of the backend, `head.dense` drawn
    /// first, biases zero, `head.norm` the identity (γ = 1, β = 0).
    pub fn reset_head(mut self, seed: u64, std: f64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let normal = Normal::new(0.0f32, std as f32).expect("std is finite and positive");
        let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| normal.sample(&mut rng)).collect() };
        let device = self.classifier.weight.device();
        let [d_in, d_out] = self.head.dense.weight.dims();
        let dense = linear_from_pytorch(
            &draw(d_in * d_out),
            &vec![0.0; d_out],
            [d_out, d_in],
            &device,
        );
        let had_bias = self.head.dense.bias.is_some();
        self.head.dense = Linear {
            bias: if had_bias { dense.bias } else { None },
            weight: dense.weight,
        };
        let h = self.head.norm.gamma.dims()[0];
        self.head.norm = LayerNorm::new_with_bias(
            h,
            self.head.norm.epsilon,
            self.head.norm.beta.is_some(),
            &device,
        );
        let [hidden, labels] = self.classifier.weight.dims();
        let weights = draw(hidden * labels);
        self.classifier = set_output_projection(&self.classifier, &weights, &vec![0.0; labels]);
        self
    }

    /// Logits `[batch, num_labels]`.
    pub fn forward(&self, input: BertInput<B>) -> Tensor<B, 2> {
        let mask = input.padding_mask.clone();
        let hidden = self.model.forward(input);
        let pooled = match self.pooling {
            Pooling::Cls => cls_vectors(hidden),
            _ => Pooling::Mean.apply(hidden, mask),
        };
        let head = &self.head;
        let features = head
            .norm
            .forward(head.activation.forward(head.dense.forward(pooled)));
        self.classifier.forward(self.drop.forward(features))
    }
}

/// Sentence embeddings `[batch, dim]`: the encoder's last hidden states pooled and optionally
/// normalised as `head` says (sentence-transformers' Transformer → Pooling → Normalize).
pub fn embed<B: Backend>(
    model: &ModernBertModel<B>,
    head: EmbeddingHead,
    input: BertInput<B>,
) -> Tensor<B, 2> {
    let mask = input.padding_mask.clone();
    let pooled = head.pooling.apply(model.forward(input), mask);
    if head.normalize {
        l2_normalize(pooled)
    } else {
        pooled
    }
}

/// What a checkpoint is loaded into: the classifier (the encoder under `model.`) or the bare
/// encoder (no prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Classifier,
    Encoder,
}

/// Checkpoint name → module path: the fused projections' capitals, and the encoder's prefix
/// (`model.` in a classifier, none in a bare `ModernBertModel`) moved to where `target` keeps
/// it, so that either kind of checkpoint loads into either model.
fn store_for_loading(path: &Path, target: Target) -> SafetensorsStore {
    let store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .with_key_remapping(r"\.Wqkv\.", ".wqkv.")
        .with_key_remapping(r"\.Wo\.", ".wo.")
        .with_key_remapping(r"\.Wi\.", ".wi.")
        .allow_partial(true);
    match target {
        Target::Classifier => {
            store.with_key_remapping(r"^(embeddings|layers|final_norm)\.", "model.$1.")
        }
        Target::Encoder => store.with_key_remapping(r"^model\.", ""),
    }
}

fn store_for_saving(path: &Path) -> SafetensorsStore {
    SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"\.wqkv\.", ".Wqkv.")
        .with_key_remapping(r"\.wo\.", ".Wo.")
        .with_key_remapping(r"\.wi\.", ".Wi.")
        .clear_metadata()
        // transformers refuses safetensors files without format = pt.
        .metadata("format", "pt")
        .overwrite(true)
}

/// Checkpoint name of a module path.
pub fn hf_tensor_name(module_path: &str) -> String {
    module_path
        .replace(".wqkv.", ".Wqkv.")
        .replace(".wo.", ".Wo.")
        .replace(".wi.", ".Wi.")
}

/// Loads `path` into `module`; every tensor of the module must be there with its shape. Returns
/// the checkpoint's tensors the module does not use.
fn load_weights<B: Backend, M: ModuleSnapshot<B>>(
    module: &mut M,
    path: &Path,
    target: Target,
    may_be_missing: &[&str],
) -> Result<Vec<String>> {
    let weights_err = |message: String| ModelError::Weights {
        path: path.into(),
        message,
    };
    let mut store = store_for_loading(path, target);
    let result = module
        .load_from(&mut store)
        .map_err(|e| weights_err(e.to_string()))?;
    if !result.errors.is_empty() {
        let messages: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        return Err(weights_err(messages.join("; ")));
    }
    let missing: Vec<String> = result
        .missing
        .iter()
        .map(|(name, _)| name)
        .filter(|name| !may_be_missing.iter().any(|prefix| name.starts_with(prefix)))
        .map(|name| hf_tensor_name(name))
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::MissingTensors {
            path: path.into(),
            names: missing,
        });
    }
    // LayerNorm weight/bias are applied as gamma/beta and listed as unused too; they are not.
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
        .filter(|name| !applied_alias(name))
        .map(|name| hf_tensor_name(name))
        .collect())
}

fn classifier_rows(path: &Path) -> Result<Option<usize>> {
    let bytes = std::fs::read(path).map_err(crate::error::io_err(path))?;
    let (_, metadata) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })?;
    Ok(metadata
        .tensors()
        .get("classifier.weight")
        .map(|info| info.shape[0]))
}

/// A `ModernBertForSequenceClassification` directory: its model and config. A checkpoint
/// without a classifier (a bare `ModernBertModel`, e.g. a bi-encoder) gets a new one-label head
/// seeded with `head_seed` ([`ModernBertForSequenceClassification::reset_head`]); a head that
/// is there must be whole.
pub fn load_cross_encoder<B: Backend>(
    dir: &Path,
    head_seed: u64,
    device: &B::Device,
) -> Result<(
    ModernBertForSequenceClassification<B>,
    ModernBertConfig,
    LoadReport,
)> {
    let config = ModernBertConfig::from_file(&hf::file_in(dir, hf::CONFIG_FILE)?)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let rows = classifier_rows(&weights)?;
    let mut model = ModernBertForSequenceClassification::new(&config, rows.unwrap_or(1), device);
    let may_be_missing: &[&str] = if rows.is_some() {
        &[]
    } else {
        &["head.", "classifier."]
    };
    let unused = load_weights(&mut model, &weights, Target::Classifier, may_be_missing)?;
    if rows.is_none() {
        model = model.reset_head(head_seed, config.initializer_range);
    }
    let report = LoadReport {
        unused,
        new_head: rows.is_none(),
        head_seed,
        source: dir.to_path_buf(),
        ..Default::default()
    };
    Ok((model, config, report))
}

/// A `ModernBertModel` directory (a sentence-transformers bi-encoder or a bare encoder): the
/// encoder, its config and its sentence-transformers settings (`max_seq_length` from
/// `sentence_bert_config.json`, else the tokenizer's `model_max_length`).
pub fn load_bi_encoder<B: Backend>(
    dir: &Path,
    device: &B::Device,
) -> Result<(
    ModernBertModel<B>,
    ModernBertConfig,
    SentenceTransformerSettings,
    LoadReport,
)> {
    let config = ModernBertConfig::from_file(&hf::file_in(dir, hf::CONFIG_FILE)?)?;
    let weights = hf::file_in(dir, hf::WEIGHTS_FILE)?;
    let mut model = ModernBertModel::new(&config, device);
    let unused = load_weights(&mut model, &weights, Target::Encoder, &[])?;
    let mut settings = hf::read_sentence_transformer_settings(dir)?;
    // sentence-transformers 5+ saves the length as the tokenizer's `model_max_length` only.
    if settings.max_seq_length.is_none() {
        settings.max_seq_length = hf::saved_max_length(dir)?
            .filter(|(_, from)| *from == hf::SavedLengthSource::TokenizerConfig)
            .map(|(n, _)| n);
    }
    let report = LoadReport {
        unused,
        source: dir.to_path_buf(),
        ..Default::default()
    };
    Ok((model, config, settings, report))
}

fn save_weights<B: Backend, M: ModuleSnapshot<B>>(module: &M, path: &Path) -> Result<()> {
    module
        .save_into(&mut store_for_saving(path))
        .map_err(|e| ModelError::Weights {
            path: path.into(),
            message: e.to_string(),
        })
}

/// Saves a cross-encoder as a `ModernBertForSequenceClassification` directory that transformers
/// and `sentence_transformers.CrossEncoder` load unchanged; `tokenizer_dir` supplies the
/// tokenizer files, `max_length` is recorded as `model_max_length`.
pub fn save_cross_encoder<B: Backend>(
    model: &ModernBertForSequenceClassification<B>,
    config: &ModernBertConfig,
    tokenizer_dir: &Path,
    max_length: usize,
    out: &Path,
) -> Result<()> {
    let num_labels = model.num_labels();
    let mut json_config = config.to_json();
    json_config.insert(
        "architectures".into(),
        json!([ModernBertConfig::SEQUENCE_CLASSIFIER]),
    );
    json_config.insert("classifier_pooling".into(), json!(model.pooling().as_str()));
    if config.num_labels() != Some(num_labels) {
        let id2label: serde_json::Map<String, Value> = (0..num_labels)
            .map(|i| (i.to_string(), json!(format!("LABEL_{i}"))))
            .collect();
        let label2id: serde_json::Map<String, Value> = (0..num_labels)
            .map(|i| (format!("LABEL_{i}"), json!(i)))
            .collect();
        json_config.insert("id2label".into(), Value::Object(id2label));
        json_config.insert("label2id".into(), Value::Object(label2id));
    }
    hf::write_dir_atomically(out, |dir| {
        save_weights(model, &dir.join(hf::WEIGHTS_FILE))?;
        hf::write_json(&dir.join(hf::CONFIG_FILE), &Value::Object(json_config))?;
        let activation = if num_labels == 1 {
            "torch.nn.modules.activation.Sigmoid"
        } else {
            "torch.nn.modules.linear.Identity"
        };
        hf::write_json(
            &dir.join("config_sentence_transformers.json"),
            &json!({ "__version__": hf::versions(), "activation_fn": activation, "model_type": "CrossEncoder", "max_length": max_length }),
        )?;
        hf::copy_tokenizer_files(tokenizer_dir, dir)?;
        hf::record_model_max_length(dir, max_length)
    })
}

/// Saves a bi-encoder as a sentence-transformers directory (`ModernBertModel` → Pooling →
/// Normalize).
pub fn save_bi_encoder<B: Backend>(
    model: &ModernBertModel<B>,
    config: &ModernBertConfig,
    settings: &SentenceTransformerSettings,
    tokenizer_dir: &Path,
    out: &Path,
) -> Result<()> {
    let mut json_config = config.to_json();
    json_config.insert(
        "architectures".into(),
        json!([ModernBertConfig::BASE_MODEL]),
    );
    let max_seq_length = settings
        .max_seq_length
        .unwrap_or(config.max_positions().min(512));
    hf::write_dir_atomically(out, |dir| {
        save_weights(model, &dir.join(hf::WEIGHTS_FILE))?;
        hf::write_json(&dir.join(hf::CONFIG_FILE), &Value::Object(json_config))?;
        hf::write_sentence_transformer_files(dir, config.hidden_size, settings, max_seq_length)?;
        hf::copy_tokenizer_files(tokenizer_dir, dir)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Cpu, CpuAutodiff};
    use crate::inference::collate;
    use crate::Encoded;

    fn config(dropout: f64, biases: bool) -> ModernBertConfig {
        let raw = json!({
            "norm_bias": biases, "attention_bias": biases, "mlp_bias": biases,
            "model_type": "modernbert", "vocab_size": 20, "hidden_size": 16,
            "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 2,
            "local_attention": 4, "global_attn_every_n_layers": 3,
            "attention_dropout": dropout, "mlp_dropout": dropout, "embedding_dropout": dropout
        });
        let Value::Object(raw) = raw else {
            unreachable!()
        };
        ModernBertConfig::from_json(raw, Path::new("config.json")).unwrap()
    }

    fn input() -> Encoded {
        Encoded {
            ids: vec![1, 5, 9, 2, 7, 3, 2, 4, 4, 6],
            type_ids: vec![0; 10],
        }
    }

    /// In training the global layer (layer 0 of 3) takes the fused attention kernel and the
    /// local layers run burn's composition with the window mask; in inference every layer takes
    /// the fused kernel (the local ones with their window). In training,
    /// with biases every linear layer and norm takes its kernel; without (the released
    /// checkpoints), they run burn's composition (`rankforge_kernels::linear` / `layer_norm`
    /// fuse the bias and its gradient). Inference takes the host GEMM either way.
    #[test]
    fn attention_takes_the_fused_kernels_where_they_apply() {
        let device = Default::default();
        for biases in [true, false] {
            let config = config(0.1, biases);
            let layers = config.num_hidden_layers;
            let _rng = crate::backend::seeded_rng_section();
            let model = ModernBertModel::<CpuAutodiff>::new(&config, &device);
            assert_eq!(
                model
                    .layers
                    .iter()
                    .map(|l| l.is_global())
                    .collect::<Vec<_>>(),
                [true, false, false]
            );
            rankforge_kernels::trace::taken();
            let _ = model.forward(collate::<CpuAutodiff>(&[&input()], &device));
            let taken = rankforge_kernels::trace::taken();
            let count = |kernel: &str| taken.iter().filter(|&&k| k == kernel).count();
            let with_bias = |n: usize| if biases { n } else { 0 };
            assert_eq!(count("attention_training"), 1, "{taken:?}");
            assert_eq!(count("gelu"), layers, "{taken:?}");
            assert_eq!(count("linear"), with_bias(4 * layers), "{taken:?}");
            // embeddings, attn_norm (not in layer 0), mlp_norm, final_norm
            assert_eq!(
                count("layer_norm"),
                with_bias(1 + (layers - 1) + layers + 1),
                "{taken:?}"
            );
            let inference = burn::module::AutodiffModule::valid(&model);
            let _ = inference.forward(collate::<Cpu>(&[&input()], &device));
            let taken = rankforge_kernels::trace::taken();
            let count = |kernel: &str| taken.iter().filter(|&&k| k == kernel).count();
            assert_eq!(count("attention_inference"), layers, "{taken:?}");
            // Inference takes the host GEMM with or without a bias.
            assert_eq!(count("linear_inference"), 4 * layers, "{taken:?}");
        }
    }
}
