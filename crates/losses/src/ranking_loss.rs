//! [`RankingLoss`]: what every loss provides — its name, the inputs it reads, the check of its
//! parameters and its formula — and the input checks every loss runs before its formula.

use burn::tensor::{backend::Backend, Tensor};

use crate::error::LossError;
use crate::input::{InputSpec, LossInput};

/// One ranking loss, implemented by each loss's config struct ([`crate::BceConfig`], ...).
///
/// [`crate::LossConfig::build`] validates a config once and [`crate::Loss::compute`] calls
/// [`RankingLoss::compute`] on it; the trait can also be used on a config directly.
/// Implementations supply [`RankingLoss::evaluate`] (the formula); [`RankingLoss::compute`]
/// wraps it with the checks every loss shares.
pub trait RankingLoss {
    /// Name in configs (`loss = "..."`) and in error messages.
    const NAME: &'static str;

    /// Rejects out-of-range parameters with [`LossError::InvalidConfig`]. Default: nothing to
    /// check.
    fn validate(&self) -> Result<(), LossError> {
        Ok(())
    }

    /// The inputs this loss reads, for checking data before training.
    fn inputs(&self) -> InputSpec;

    /// The formula: the loss of a batch whose required inputs are all present, `[1]` f32.
    /// Shape errors are reported here, as [`LossError::ShapeMismatch`].
    fn evaluate<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError>;

    /// The loss of a batch, `[1]` f32: validates the parameters (so a config used without
    /// [`crate::LossConfig::build`] cannot compute with out-of-range values), fails with
    /// [`LossError::MissingInput`] for the first absent input of [`InputSpec::required`],
    /// then runs [`RankingLoss::evaluate`].
    fn compute<B: Backend>(&self, input: &LossInput<B>) -> Result<Tensor<B, 1>, LossError> {
        self.validate()?;
        let spec = self.inputs();
        if let Some(&missing) = spec.required.iter().find(|&&kind| !input.has(kind)) {
            return Err(LossError::MissingInput {
                loss: Self::NAME,
                input: missing,
            });
        }
        self.evaluate(input)
    }
}
