//! Which aligned tensor a loss treats as its target.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::input::{InputKind, LossInput};

/// The target of a loss that can learn from labels or from a teacher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreTarget {
    /// The relevance labels.
    Labels,
    /// The teacher's scores.
    TeacherScores,
}

impl ScoreTarget {
    /// The input this target is read from.
    pub fn input_kind(self) -> InputKind {
        match self {
            ScoreTarget::Labels => InputKind::Labels,
            ScoreTarget::TeacherScores => InputKind::TeacherScores,
        }
    }

    pub(crate) fn select<B: Backend>(self, input: &LossInput<B>) -> Option<&Tensor<B, 2>> {
        match self {
            ScoreTarget::Labels => input.labels.as_ref(),
            ScoreTarget::TeacherScores => input.teacher_scores.as_ref(),
        }
    }
}
