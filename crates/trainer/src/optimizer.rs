//! AdamW with transformers' conventions, written for rankforge rather than taken from
//! burn-optim.
//!
//! burn-optim 0.21's `AdamW` applies one weight decay to every parameter and clips each
//! gradient tensor on its own; its state is keyed by `ParamId`s, which are random per
//! process unless the model is restored from a burn record. transformers' recipe needs
//! (1) no weight decay on biases and LayerNorm weights, (2) clipping of the *global* gradient
//! norm, and a checkpoint must (3) restore the moments onto a model loaded from an HF
//! directory. So this optimizer walks the module with a [`ModuleMapper`], keys its state by
//! parameter path (`bert.encoder.layers.0.attention.self_attn.query.weight`), and keeps the
//! moments flattened on the device.
//!
//! Update (Loshchilov & Hutter, bias-corrected, as `torch.optim.AdamW`):
//! `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `w ← w·(1 − lr·λ) − lr·m̂/(√v̂ + ε)`.
//! On CPU (burn-flex, f32) each parameter's update is one parallel pass (`rankforge_kernels::adamw_update`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{AutodiffModule, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

use crate::error::{io_err, Result, TrainError};
use rankforge_kernels::ParamUpdate;

/// AdamW hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWSettings {
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
    /// Global L2 norm the gradients are clipped to (0 = off).
    pub max_grad_norm: f64,
    /// Learning-rate factor of the classification head (pooler and classifier, see
    /// [`is_classification_head`]); 1 = the same rate as the encoder.
    pub head_lr_multiplier: f64,
}

/// Whether a parameter belongs to a model's task head: a cross-encoder's classification head
/// (`bert.pooler.*`, `classifier.*`, the dense head's `head_dense.*` in XLM-RoBERTa / ELECTRA,
/// ModernBERT's `head.*`) or a ColBERT's `projection.*`: the part a plain encoder checkpoint
/// initialises anew, which `train.head_lr_multiplier` speeds up.
pub fn is_classification_head(path: &str) -> bool {
    path.starts_with("classifier.")
        || path.starts_with("projection.")
        || path.starts_with("head_dense.")
        || path.starts_with("head.")
        || path.starts_with("bert.pooler.")
}

/// Whether a parameter is exempt from weight decay: biases and LayerNorm weights, as in
/// transformers' `Trainer` (`no_decay = ["bias", "LayerNorm.weight"]`).
pub fn excluded_from_weight_decay(path: &str) -> bool {
    path.ends_with("bias")
        || path
            .split('.')
            .any(|part| part.to_ascii_lowercase().contains("norm"))
}

/// First and second moments of one parameter, flattened.
#[derive(Debug, Clone)]
struct Moments<B: Backend> {
    exp_avg: Tensor<B, 1>,
    exp_avg_sq: Tensor<B, 1>,
}

/// The optimizer and its state (step count and per-parameter moments).
#[derive(Debug)]
pub struct AdamW<B: AutodiffBackend> {
    pub settings: AdamWSettings,
    /// Optimizer steps taken (the bias-correction exponent).
    pub steps: u64,
    moments: HashMap<String, Moments<B::InnerBackend>>,
}

/// What one step did, for logging.
#[derive(Debug, Clone, Copy)]
pub struct StepReport {
    /// Global gradient L2 norm before clipping.
    pub grad_norm: f64,
}

impl<B: AutodiffBackend> AdamW<B> {
    pub fn new(settings: AdamWSettings) -> Self {
        Self {
            settings,
            steps: 0,
            moments: HashMap::new(),
        }
    }

    /// Global L2 norm of the gradients of `module`'s parameters.
    pub fn grad_norm<M: AutodiffModule<B>>(module: &M, grads: &GradientsParams) -> f64 {
        let mut visitor = SquaredNorm::<B> { grads, total: None };
        module.visit(&mut visitor);
        visitor
            .total
            .map(|t| f64::from(t.into_scalar().elem::<f32>()).sqrt())
            .unwrap_or(0.0)
    }

    /// One update of every parameter that has a gradient. Fails (leaving the caller's
    /// checkpoint untouched) when the gradient norm is not finite.
    pub fn step<M: AutodiffModule<B>>(
        &mut self,
        lr: f64,
        module: M,
        mut grads: GradientsParams,
        step_index: usize,
    ) -> Result<(M, StepReport)> {
        let grad_norm = Self::grad_norm(&module, &grads);
        if !grad_norm.is_finite() {
            return Err(TrainError::NonFinite {
                what: "gradient norm",
                value: grad_norm,
                step: step_index,
                last_checkpoint: None,
            });
        }
        let clip = self.settings.max_grad_norm;
        let grad_scale = if clip > 0.0 && grad_norm > clip {
            clip / (grad_norm + 1e-6)
        } else {
            1.0
        };
        self.steps += 1;
        let t = self.steps as i32;
        let mut mapper = UpdateMapper::<B> {
            settings: self.settings,
            lr,
            grad_scale,
            bias_correction1: 1.0 - self.settings.beta1.powi(t),
            bias_correction2: 1.0 - self.settings.beta2.powi(t),
            grads: &mut grads,
            moments: &mut self.moments,
            path: Vec::new(),
        };
        let module = module.map(&mut mapper);
        Ok((module, StepReport { grad_norm }))
    }

    /// Writes the moments (safetensors, `<path>.exp_avg` / `<path>.exp_avg_sq`, f32) and the
    /// step count (metadata).
    pub fn save(&self, file: &Path) -> Result<()> {
        let mut buffers: BTreeMap<String, (Vec<u8>, usize)> = BTreeMap::new();
        for (path, moments) in &self.moments {
            for (suffix, tensor) in [
                ("exp_avg", &moments.exp_avg),
                ("exp_avg_sq", &moments.exp_avg_sq),
            ] {
                let values = tensor
                    .clone()
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .map_err(|e| TrainError::Other(format!("optimizer state: {e:?}")))?;
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                buffers.insert(format!("{path}.{suffix}"), (bytes, values.len()));
            }
        }
        let views: Vec<(String, TensorView<'_>)> = buffers
            .iter()
            .map(|(name, (bytes, len))| {
                let view = TensorView::new(Dtype::F32, vec![*len], bytes)
                    .expect("a flat f32 buffer is a valid view");
                (name.clone(), view)
            })
            .collect();
        let metadata = HashMap::from([("steps".to_string(), self.steps.to_string())]);
        safetensors::tensor::serialize_to_file(views, Some(metadata), file)
            .map_err(|e| TrainError::Other(format!("{}: {e}", file.display())))
    }

    /// Restores what [`AdamW::save`] wrote.
    pub fn load(&mut self, file: &Path, device: &B::Device) -> Result<()> {
        let bytes = std::fs::read(file).map_err(io_err(file))?;
        let bad = |message: String| TrainError::Resume {
            path: file.into(),
            message,
        };
        let (_, metadata) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        self.steps = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get("steps"))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no `steps` in the metadata".into()))?;
        let tensors =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(e.to_string()))?;
        let mut first: HashMap<String, Tensor<B::InnerBackend, 1>> = HashMap::new();
        let mut second: HashMap<String, Tensor<B::InnerBackend, 1>> = HashMap::new();
        for (name, view) in tensors.tensors() {
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let len = values.len();
            let tensor = Tensor::from_data(TensorData::new(values, [len]), device);
            if let Some(path) = name.strip_suffix(".exp_avg_sq") {
                second.insert(path.to_string(), tensor);
            } else if let Some(path) = name.strip_suffix(".exp_avg") {
                first.insert(path.to_string(), tensor);
            } else {
                return Err(bad(format!("unexpected tensor `{name}`")));
            }
        }
        self.moments.clear();
        for (path, exp_avg) in first {
            let exp_avg_sq = second
                .remove(&path)
                .ok_or_else(|| bad(format!("`{path}` has no second moment")))?;
            self.moments.insert(
                path,
                Moments {
                    exp_avg,
                    exp_avg_sq,
                },
            );
        }
        Ok(())
    }

    /// Number of parameters with state (for checks).
    pub fn num_states(&self) -> usize {
        self.moments.len()
    }
}

/// Sums the squared gradients of every parameter.
struct SquaredNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    total: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let squared = grad.square().sum();
            self.total = Some(match self.total.take() {
                None => squared,
                Some(total) => total + squared,
            });
        }
    }
}

/// Applies the AdamW update parameter by parameter, tracking the module path.
struct UpdateMapper<'a, B: AutodiffBackend> {
    settings: AdamWSettings,
    lr: f64,
    grad_scale: f64,
    bias_correction1: f64,
    bias_correction2: f64,
    grads: &'a mut GradientsParams,
    moments: &'a mut HashMap<String, Moments<B::InnerBackend>>,
    path: Vec<String>,
}

impl<B: AutodiffBackend> ModuleMapper<B> for UpdateMapper<'_, B> {
    // An enum's variant (the model's family: `Bert`, `ModernBert`) is not part of a path, so
    // the state of a BERT-family model keeps the names it has always had.
    fn enter_module(&mut self, name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        if !container_type.starts_with("Enum:") {
            self.path.pop();
        }
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<B::InnerBackend, D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let path = self.path.join(".");
        let s = self.settings;
        let lr = if is_classification_head(&path) {
            self.lr * s.head_lr_multiplier
        } else {
            self.lr
        };
        let require_grad = tensor.is_require_grad();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let update = ParamUpdate {
            grad_scale: self.grad_scale,
            beta1: s.beta1,
            beta2: s.beta2,
            epsilon: s.epsilon,
            bias_correction2: self.bias_correction2,
            decay: (s.weight_decay > 0.0 && !excluded_from_weight_decay(&path))
                .then_some(1.0 - lr * s.weight_decay),
            step_size: lr / self.bias_correction1,
        };
        let moments = self
            .moments
            .remove(&path)
            .map(|m| (m.exp_avg, m.exp_avg_sq));
        let (weights, exp_avg, exp_avg_sq) = rankforge_kernels::adamw_update(
            tensor.inner().reshape([n]),
            grad.reshape([n]),
            moments,
            &update,
        );
        self.moments.insert(
            path,
            Moments {
                exp_avg,
                exp_avg_sq,
            },
        );
        let weights = weights.reshape(shape);
        let mut tensor = Tensor::from_inner(weights);
        if require_grad {
            tensor = tensor.require_grad();
        }
        Param::from_mapped_value(id, tensor, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn biases_and_layer_norms_are_not_decayed() {
        assert!(excluded_from_weight_decay("classifier.bias"));
        assert!(excluded_from_weight_decay(
            "bert.embeddings.layer_norm.gamma"
        ));
        assert!(excluded_from_weight_decay(
            "bert.encoder.layers.0.output.layer_norm.beta"
        ));
        assert!(!excluded_from_weight_decay(
            "bert.encoder.layers.0.attention.self_attn.query.weight"
        ));
        assert!(!excluded_from_weight_decay("classifier.weight"));
    }

    /// One AdamW step from the same model and gradients with head factor 1 and 10: the head's
    /// change is 10× larger, the encoder's identical.
    #[test]
    fn head_lr_multiplier_scales_only_the_head_update() {
        use rankforge_model::backend::CpuAutodiff as B;
        use rankforge_model::inference::collate;
        use rankforge_model::{BertConfig, CrossEncoderModel, Encoded, EncoderConfig};

        let device = Default::default();
        let _rng = rankforge_model::backend::seeded_rng_section();
        <B as burn::tensor::backend::Backend>::seed(&device, 7);
        let model =
            CrossEncoderModel::<B>::new(&EncoderConfig::Bert(BertConfig::tiny(50)), 1, &device);
        let input = Encoded {
            ids: vec![1, 5, 9, 2, 7, 3],
            type_ids: vec![0, 0, 0, 1, 1, 1],
        };
        let flat = |m: &CrossEncoderModel<B>, head: bool| -> Vec<f32> {
            let record = if head {
                m.as_bert().unwrap().classifier.weight.val().inner()
            } else {
                m.as_bert().unwrap().bert.encoder.layer[0]
                    .output
                    .dense
                    .weight
                    .val()
                    .inner()
            };
            record.into_data().to_vec::<f32>().unwrap()
        };
        let mut changes = Vec::new();
        for multiplier in [1.0, 10.0] {
            let model = model.clone();
            // The same dropout masks in both passes.
            <B as burn::tensor::backend::Backend>::seed(&device, 11);
            let loss = model.forward(collate::<B>(&[&input], &device)).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            let before = (flat(&model, true), flat(&model, false));
            let mut optimizer = AdamW::<B>::new(AdamWSettings {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-12,
                weight_decay: 0.0,
                max_grad_norm: 0.0,
                head_lr_multiplier: multiplier,
            });
            let (after, _) = optimizer.step(1e-3, model, grads, 0).unwrap();
            let delta = |a: &[f32], b: &[f32]| -> f64 {
                a.iter().zip(b).map(|(x, y)| f64::from((x - y).abs())).sum()
            };
            changes.push((
                delta(&before.0, &flat(&after, true)),
                delta(&before.1, &flat(&after, false)),
            ));
        }
        let (head1, encoder1) = changes[0];
        let (head10, encoder10) = changes[1];
        assert!(head1 > 0.0 && encoder1 > 0.0, "{changes:?}");
        assert!((head10 / head1 - 10.0).abs() < 1e-3, "{changes:?}");
        assert!(
            (encoder10 - encoder1).abs() < 1e-9 * encoder1.max(1.0),
            "{changes:?}"
        );
    }

    #[test]
    fn the_head_is_the_pooler_and_the_classifier() {
        assert!(is_classification_head("classifier.weight"));
        assert!(is_classification_head("bert.pooler.dense.bias"));
        assert!(is_classification_head("head_dense.weight"));
        assert!(!is_classification_head(
            "bert.encoder.layers.0.output.dense.weight"
        ));
        assert!(!is_classification_head(
            "bert.embeddings.word_embeddings.weight"
        ));
    }
}
