//! A fully connected layer with the parameters of `torch.nn.Linear` (burn's layout: `W` is
//! `[d_in, d_out]`).

use burn::module::{Module, Param};
use burn::nn::LinearConfig;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `y = x · W + b` over the last axis. The struct is named `Linear` with burn's field names, so
/// burn-store's PyTorch adapter transposes its weight on load and save as it does burn's own.
#[derive(Module, Debug)]
pub struct Linear<B: Backend> {
    /// `[d_in, d_out]`.
    pub weight: Param<Tensor<B, 2>>,
    /// `[d_out]`.
    pub bias: Option<Param<Tensor<B, 1>>>,
}

impl<B: Backend> Linear<B> {
    /// A layer initialised as burn's `LinearConfig::new(d_in, d_out).init` does (the same
    /// draws), with a bias.
    pub fn new(d_in: usize, d_out: usize, device: &B::Device) -> Self {
        let burn::nn::Linear { weight, bias } = LinearConfig::new(d_in, d_out).init(device);
        Self { weight, bias }
    }

    /// As [`Self::new`], without a bias when `bias` is false (ModernBERT's `attention_bias`,
    /// `mlp_bias`, `classifier_bias`).
    pub fn new_with_bias(d_in: usize, d_out: usize, bias: bool, device: &B::Device) -> Self {
        let burn::nn::Linear { weight, bias } =
            LinearConfig::new(d_in, d_out).with_bias(bias).init(device);
        Self { weight, bias }
    }

    /// The output width.
    pub fn d_out(&self) -> usize {
        self.weight.dims()[1]
    }

    /// `x: [..., d_in]` → `[..., d_out]`: every leading position as one row of a single
    /// `[rows, d_in] · [d_in, d_out]` product (so the weight gradient is one product over all
    /// rows, as PyTorch computes it, rather than one per sequence).
    ///
    /// A weight prepared for the CPU int8 or bf16 kernels at load
    /// (`rankforge_kernels::precision::cast_module`) runs them; everything else is f32 (or the
    /// module's half type) as before.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.forward_activated(x, false)
    }

    /// `gelu(self.forward(x))` (the erf form), GELU fused into the int8 / bf16 kernels'
    /// epilogue where the weight is prepared for them.
    pub fn forward_gelu<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.forward_activated(x, true)
    }

    fn forward_activated<const D: usize>(&self, x: Tensor<B, D>, gelu: bool) -> Tensor<B, D> {
        let dims = x.dims();
        let d_in = dims[D - 1];
        let rows = dims[..D - 1].iter().product();
        let out = rankforge_kernels::linear_param(
            &self.weight.id,
            x.reshape([rows, d_in]),
            self.weight.val(),
            self.bias.as_ref().map(|b| b.val()),
            gelu,
        );
        let mut out_dims = dims;
        out_dims[D - 1] = self.d_out();
        out.reshape(out_dims)
    }
}
