//! Errors reported when a loss is configured or called with the wrong inputs.

use crate::input::InputKind;

/// What went wrong when building or computing a loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LossError {
    /// The loss needs an input the caller did not provide.
    #[error("loss `{loss}` needs {input} but the input has none")]
    MissingInput {
        /// Name of the loss, as written in configs.
        loss: &'static str,
        /// The missing input.
        input: InputKind,
    },
    /// An input has a shape the loss cannot use.
    #[error("loss `{loss}`: {input} has shape {actual:?}, expected {expected}")]
    ShapeMismatch {
        /// Name of the loss, as written in configs.
        loss: &'static str,
        /// The offending input.
        input: InputKind,
        /// The shape that was given.
        actual: Vec<usize>,
        /// The shape that was expected, in words (e.g. "[groups, list] like the scores").
        expected: String,
    },
    /// A configuration parameter is out of its valid range.
    #[error("loss `{loss}`: invalid parameter `{parameter}`: {reason}")]
    InvalidConfig {
        /// Name of the loss, as written in configs.
        loss: &'static str,
        /// The parameter name, as written in configs.
        parameter: &'static str,
        /// Why the value is rejected.
        reason: String,
    },
}
