//! Root-mean-square normalisation with a learned gain and no mean or bias (T5's `T5LayerNorm`).

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// `γ ⊙ x / √(mean(x²) + ε)` over the last axis; γ keeps PyTorch's name `weight` (burn-store's
/// adapter renames the parameters of `LayerNorm`, not of `RmsNorm`).
#[derive(Module, Debug)]
pub struct RmsNorm<B: Backend> {
    pub weight: Param<Tensor<B, 1>>,
    pub epsilon: f64,
}

impl<B: Backend> RmsNorm<B> {
    /// γ = 1 (weights are normally loaded over it).
    pub fn new(width: usize, epsilon: f64, device: &B::Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([width], device)),
            epsilon,
        }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let mean_square = x.clone().powi_scalar(2).mean_dim(D - 1);
        let normed = x * (mean_square + self.epsilon).sqrt().recip();
        normed * self.weight.val().unsqueeze::<D>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    #[test]
    fn rms_norm_divides_by_the_root_mean_square_and_scales() {
        let device = Default::default();
        let mut norm = RmsNorm::<Cpu>::new(2, 0.0, &device);
        norm.weight = Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![1.0f32, 2.0], [2]),
            &device,
        ));
        let x = Tensor::<Cpu, 2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &device);
        let got: Vec<f32> = norm.forward(x).into_data().into_vec().unwrap();
        let rms = (12.5f32).sqrt();
        assert!((got[0] - 3.0 / rms).abs() < 1e-6 && (got[1] - 8.0 / rms).abs() < 1e-6);
    }
}
