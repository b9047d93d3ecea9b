//! Range checks of loss parameters, used by each loss's `validate`. Every failure is a
//! [`LossError::InvalidConfig`] naming the loss and the parameter as written in configs.

use crate::error::LossError;

/// The [`LossError::InvalidConfig`] of `parameter` of `loss`, rejected because of `reason`.
pub(crate) fn invalid(
    loss: &'static str,
    parameter: &'static str,
    reason: impl Into<String>,
) -> LossError {
    LossError::InvalidConfig {
        loss,
        parameter,
        reason: reason.into(),
    }
}

/// Fails unless `value` is finite and > 0.
pub(crate) fn check_positive(
    loss: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<(), LossError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(
            loss,
            parameter,
            format!("must be a positive number, got {value}"),
        ))
    }
}

/// Fails unless `value` is finite and >= 0.
pub(crate) fn check_non_negative(
    loss: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<(), LossError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(
            loss,
            parameter,
            format!("must be a non-negative number, got {value}"),
        ))
    }
}

/// Fails unless `value` is finite.
pub(crate) fn check_finite(
    loss: &'static str,
    parameter: &'static str,
    value: f32,
) -> Result<(), LossError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(invalid(
            loss,
            parameter,
            format!("must be finite, got {value}"),
        ))
    }
}
