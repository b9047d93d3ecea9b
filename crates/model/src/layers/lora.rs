//! LoRA (Hu et al., 2021, "LoRA: Low-Rank Adaptation of Large Language Models") as peft's
//! `lora.Linear` computes it: a frozen [`Linear`] plus a trainable low-rank branch,
//!
//! ```text
//! y = x · W (+ b) + dropout(x) · A · B · s      A: [d_in, r], B: [r, d_out]
//! s = lora_alpha / r        (lora_alpha / √r with use_rslora)
//! ```
//!
//! (burn's layout: peft's `lora_A.weight` is `Aᵀ`, `[r, d_in]`, and `lora_B.weight` is `Bᵀ`,
//! `[d_out, r]`). A fresh branch draws `A` as peft does (`kaiming_uniform_(a = √5)` on `[r,
//! d_in]`, i.e. uniform in `±1/√d_in`) and sets `B` to zeros, so it starts as a no-op. Merging
//! adds `s · A · B` to `W` (peft's `merge_and_unload`).
//!
//! The branch lives beside the layer it adapts ([`Lora::adapt`] takes the base layer), so a
//! model without adapters runs exactly the code it ran before.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{Dropout, Linear};

/// The seven linear projections of a Llama-style decoder layer peft can adapt, by the names
/// `target_modules` uses.
pub const LORA_TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// peft's `LoraConfig` as `adapter_config.json` writes it. Missing fields take peft's defaults
/// (but `target_modules`: all seven projections, and `task_type`: `CAUSAL_LM`); fields rankforge
/// does not model are kept as read ([`Self::other`]) and written back, and
/// [`Self::check`] refuses the ones that change the computation (DoRA, per-module ranks, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoraConfig {
    /// The rank `r`.
    pub r: usize,
    /// `lora_alpha`: the branch is scaled by `alpha / r` (`alpha / √r` with rsLoRA).
    #[serde(rename = "lora_alpha")]
    pub alpha: f64,
    /// `lora_dropout`: dropout on the branch's input while training.
    #[serde(rename = "lora_dropout")]
    pub dropout: f64,
    /// The adapted projections (a list, or peft's `"all-linear"`: all of [`LORA_TARGETS`]).
    #[serde(deserialize_with = "target_modules")]
    pub target_modules: Vec<String>,
    /// rsLoRA's scaling `alpha / √r`.
    pub use_rslora: bool,
    /// Trained biases: only `"none"` is supported.
    pub bias: String,
    pub task_type: Option<String>,
    pub base_model_name_or_path: Option<String>,
    pub peft_type: String,
    pub inference_mode: bool,
    /// The rest of `adapter_config.json`, as read.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            r: 8,
            alpha: 8.0,
            dropout: 0.0,
            target_modules: LORA_TARGETS.iter().map(|t| t.to_string()).collect(),
            use_rslora: false,
            bias: "none".into(),
            task_type: Some("CAUSAL_LM".into()),
            base_model_name_or_path: None,
            peft_type: "LORA".into(),
            inference_mode: true,
            other: Map::new(),
        }
    }
}

fn target_modules<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Targets {
        One(String),
        List(Vec<String>),
    }
    Ok(match Option::<Targets>::deserialize(d)? {
        None => Vec::new(),
        Some(Targets::List(list)) => list,
        // peft's shorthand; any other string is a regular expression rankforge does not run
        // ([`LoraConfig::check`] names it).
        Some(Targets::One(s)) if s == "all-linear" => {
            LORA_TARGETS.iter().map(|t| t.to_string()).collect()
        }
        Some(Targets::One(s)) => vec![s],
    })
}

impl LoraConfig {
    /// rank `r`, `lora_alpha`, every projection, no dropout.
    pub fn new(r: usize, alpha: f64) -> Self {
        Self {
            r,
            alpha,
            ..Default::default()
        }
    }

    /// The branch's factor: `alpha / r`, or `alpha / √r` with rsLoRA (peft's `scaling`).
    pub fn scaling(&self) -> f64 {
        if self.use_rslora {
            self.alpha / (self.r as f64).sqrt()
        } else {
            self.alpha / self.r as f64
        }
    }

    /// Whether `name` (one of [`LORA_TARGETS`]) is adapted.
    pub fn targets(&self, name: &str) -> bool {
        self.target_modules.iter().any(|t| t == name)
    }

    /// `Err` naming what rankforge cannot compute as peft would: another PEFT method, trained
    /// biases, DoRA, per-module ranks or alphas, a layer subset, extra trained modules, a
    /// target outside [`LORA_TARGETS`] (or a regular expression), `fan_in_fan_out`.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.peft_type != "LORA" {
            return Err(format!("peft_type {:?}: only LORA", self.peft_type));
        }
        if self.r == 0 {
            return Err("r = 0".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("lora_dropout {} is not in [0, 1)", self.dropout));
        }
        if self.bias != "none" {
            return Err(format!("bias {:?}: only \"none\"", self.bias));
        }
        if self.target_modules.is_empty() {
            return Err("no target_modules".into());
        }
        for t in &self.target_modules {
            if !LORA_TARGETS.contains(&t.as_str()) {
                return Err(format!(
                    "target module {t:?}: supported are {} (or \"all-linear\")",
                    LORA_TARGETS.join(", ")
                ));
            }
        }
        let set = |key: &str| match self.other.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Object(m)) => !m.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        for key in [
            "use_dora",
            "fan_in_fan_out",
            "rank_pattern",
            "alpha_pattern",
            "layers_to_transform",
            "layers_pattern",
            "modules_to_save",
            "exclude_modules",
            "lora_bias",
            "layer_replication",
            "target_parameters",
            "trainable_token_indices",
            "use_qalora",
            "alora_invocation_tokens",
        ] {
            if set(key) {
                return Err(format!("{key} = {} is not supported", self.other[key]));
            }
        }
        Ok(())
    }
}

/// One LoRA branch: `dropout(x) · A · B · scaling`.
#[derive(Module, Debug)]
pub struct Lora<B: Backend> {
    /// `A`, `[d_in, r]` (peft's `lora_A.weight` transposed).
    pub lora_a: Param<Tensor<B, 2>>,
    /// `B`, `[r, d_out]` (peft's `lora_B.weight` transposed).
    pub lora_b: Param<Tensor<B, 2>>,
    pub dropout: Dropout,
    pub scaling: f64,
}

impl<B: Backend> Lora<B> {
    /// A fresh branch for a `[d_in, d_out]` layer as peft initialises it: `A` uniform in
    /// `±1/√d_in` (kaiming-uniform with `a = √5`) drawn from `rng`, `B` zeros.
    pub fn init(
        d_in: usize,
        d_out: usize,
        config: &LoraConfig,
        rng: &mut StdRng,
        device: &B::Device,
    ) -> Self {
        let r = config.r;
        let bound = 1.0 / (d_in as f64).sqrt();
        let a: Vec<f32> = (0..d_in * r)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        Self::new(
            Tensor::from_data(TensorData::new(a, [d_in, r]), device),
            Tensor::zeros([r, d_out], device),
            config,
        )
    }

    /// A branch of `a: [d_in, r]`, `b: [r, d_out]` with `config`'s scaling and dropout.
    pub fn new(a: Tensor<B, 2>, b: Tensor<B, 2>, config: &LoraConfig) -> Self {
        assert_eq!(a.dims()[1], b.dims()[0], "A and B disagree on the rank");
        Self {
            lora_a: Param::from_tensor(a),
            lora_b: Param::from_tensor(b),
            dropout: Dropout::new(config.dropout),
            scaling: config.scaling(),
        }
    }

    pub fn rank(&self) -> usize {
        self.lora_a.dims()[1]
    }

    /// `[d_in, d_out]`.
    pub fn dims(&self) -> [usize; 2] {
        [self.lora_a.dims()[0], self.lora_b.dims()[1]]
    }

    /// The branch alone, `x: [..., d_in]` → `[..., d_out]`: `(dropout(x) · A) · B · s`, in
    /// peft's order (`lora_B(lora_A(dropout(x))) * scaling`), every leading position as one row.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let dims = x.dims();
        let d_in = dims[D - 1];
        let rows = dims[..D - 1].iter().product();
        let x = self.dropout.forward(x).reshape([rows, d_in]);
        let low = rankforge_kernels::linear(x, self.lora_a.val(), None);
        let out = rankforge_kernels::linear(low, self.lora_b.val(), None) * self.scaling;
        let mut out_dims = dims;
        out_dims[D - 1] = self.dims()[1];
        out.reshape(out_dims)
    }

    /// `base(x) + self.forward(x)`: peft's `lora.Linear` forward.
    pub fn adapt<const D: usize>(&self, base: &Linear<B>, x: Tensor<B, D>) -> Tensor<B, D> {
        base.forward(x.clone()) + self.forward(x)
    }

    /// `s · A · B`, `[d_in, d_out]`: what merging adds to the base weight (peft's
    /// `get_delta_weight`, transposed to burn's layout).
    pub fn delta_weight(&self) -> Tensor<B, 2> {
        self.lora_a.val().matmul(self.lora_b.val()) * self.scaling
    }

    /// The same branch with its two matrices trainable (after a `no_grad` of the model).
    pub fn trainable(self) -> Self {
        Self {
            lora_a: self.lora_a.set_require_grad(true),
            lora_b: self.lora_b.set_require_grad(true),
            ..self
        }
    }
}

/// `base(x)`, plus the branch where there is one.
pub fn adapted<B: Backend, const D: usize>(
    base: &Linear<B>,
    lora: Option<&Lora<B>>,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    match lora {
        Some(lora) => lora.adapt(base, x),
        None => base.forward(x),
    }
}

/// `base` with `s · A · B` added to its weight: a new parameter (so no weight prepared for the
/// int8 / bf16 kernels under the old one's id is reused).
pub fn merged<B: Backend>(base: Linear<B>, lora: &Lora<B>) -> Linear<B> {
    let weight = base.weight.val() + lora.delta_weight();
    Linear {
        weight: Param::from_tensor(weight),
        bias: base.bias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use rand::SeedableRng;

    #[test]
    fn scaling_is_alpha_over_r_or_over_its_root() {
        let mut c = LoraConfig::new(4, 8.0);
        assert_eq!(c.scaling(), 2.0);
        c.use_rslora = true;
        assert_eq!(c.scaling(), 4.0);
    }

    #[test]
    fn peft_config_fields_and_defaults() {
        let c: LoraConfig = serde_json::from_str(
            r#"{"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear",
                "peft_type": "LORA", "use_dora": false, "rank_pattern": {}, "revision": null}"#,
        )
        .unwrap();
        assert_eq!((c.r, c.alpha, c.dropout), (16, 32.0, 0.05));
        assert_eq!(c.target_modules.len(), 7);
        assert_eq!(c.bias, "none");
        c.check().unwrap();
        let written = serde_json::to_value(&c).unwrap();
        assert_eq!(written["lora_alpha"], 32.0);
        assert_eq!(written["revision"], Value::Null);
        for bad in [
            r#"{"use_dora": true}"#,
            r#"{"rank_pattern": {"q_proj": 8}}"#,
            r#"{"target_modules": ["lm_head"]}"#,
            r#"{"target_modules": ".*proj"}"#,
            r#"{"bias": "all"}"#,
        ] {
            let c: LoraConfig = serde_json::from_str(bad).unwrap();
            assert!(c.check().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_fresh_branch_is_a_no_op_and_merging_adds_its_delta() {
        let device = Default::default();
        let config = LoraConfig::new(2, 4.0);
        let mut rng = StdRng::seed_from_u64(0);
        let base = Linear::<Cpu>::new(3, 5, &device);
        let mut lora = Lora::<Cpu>::init(3, 5, &config, &mut rng, &device);
        let a: Vec<f32> = lora.lora_a.val().into_data().into_vec().unwrap();
        assert!(a.iter().all(|v| v.abs() <= 1.0 / 3f32.sqrt()) && a.iter().any(|&v| v != 0.0));
        let x = Tensor::<Cpu, 3>::from_data(
            TensorData::new(
                (0..12).map(|i| i as f32 / 7.0).collect::<Vec<_>>(),
                [2, 2, 3],
            ),
            &device,
        );
        let plain: Vec<f32> = base.forward(x.clone()).into_data().into_vec().unwrap();
        let fresh: Vec<f32> = lora.adapt(&base, x.clone()).into_data().into_vec().unwrap();
        assert_eq!(plain, fresh);
        lora.lora_b = Param::from_tensor(Tensor::from_data(
            TensorData::new((0..10).map(|i| i as f32 - 4.5).collect::<Vec<_>>(), [2, 5]),
            &device,
        ));
        let adapted: Vec<f32> = lora.adapt(&base, x.clone()).into_data().into_vec().unwrap();
        let merged: Vec<f32> = merged(base, &lora)
            .forward(x)
            .into_data()
            .into_vec()
            .unwrap();
        let d = adapted
            .iter()
            .zip(&merged)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-5 && adapted != plain, "{d}");
    }
}
