//! MarginMSE: match the student's positive–negative score margins to the teacher's.
//!
//! **Formula.** With the positive in column 0 of each group and negatives in the other
//! columns: `ℓ_j = ((s_0 − s_j) − (t_0 − t_j))²` for every real negative `j`.
//! Only differences are matched, so the teacher may score on another scale or offset.
//!
//! **Inputs.** `scores` `[groups, 1 + m]` (positive first), `teacher_scores` `[groups, 1 + m]`
//! aligned with them, optional valid mask (pad missing negatives; a padded positive drops the
//! group).
//!
//! **Data shape.** (query, positive, negative) triplets scored by a teacher cross-encoder, or
//! query + positive + several negatives (each positive–negative margin is a term).
//!
//! **Reduction.** Mean over the real negatives of each group, then mean over the groups with
//! at least one. Equals sentence-transformers' `MarginMSELoss` without padding.
//!
//! **Related.** [`crate::mse`] matches absolute scores; [`crate::distill_kl`] matches the
//! teacher's softmax distribution over the group.
//!
//! **Reference.** Hofstätter et al., "Improving Efficient Neural Ranking Models with
//! Cross-Architecture Knowledge Distillation" (2020), arXiv:2010.02666.

use burn::tensor::{backend::Backend, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::LossError;
use crate::groups::{mask_to_f32, mean_over_groups, GroupLoss, Groups, LossResult};
use crate::input::InputKind;
use crate::target::ScoreTarget;

/// Name in configs: `loss = "margin_mse"`.
pub const NAME: &str = "margin_mse";

/// Margin MSE distillation. No parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarginMseConfig {}

impl GroupLoss for MarginMseConfig {
    const NAME: &'static str = NAME;

    fn target(&self) -> ScoreTarget {
        ScoreTarget::TeacherScores
    }

    fn positive_first(&self) -> bool {
        true
    }

    fn group_loss<B: Backend>(&self, groups: Groups<B>, teacher: Tensor<B, 2>) -> LossResult<B> {
        let [group_count, list] = groups.dims();
        if list < 2 {
            return Err(LossError::ShapeMismatch {
                loss: NAME,
                input: InputKind::Scores,
                actual: vec![group_count, list],
                expected: "[groups, 1 + m] with a positive and at least one negative".into(),
            });
        }
        let margins = |x: Tensor<B, 2>| x.clone().narrow(1, 0, 1) - x.narrow(1, 1, list - 1);
        let squared_error = (margins(groups.scores) - margins(teacher)).square();

        let positive_valid = groups
            .valid
            .clone()
            .narrow(1, 0, 1)
            .expand([group_count, list - 1]);
        let terms = groups.valid.narrow(1, 1, list - 1).bool_and(positive_valid);
        let term_weight = mask_to_f32(terms.clone());
        let term_count = term_weight.clone().sum_dim(1).reshape([group_count]);
        let per_group = (squared_error * term_weight)
            .sum_dim(1)
            .reshape([group_count])
            / term_count.clone().clamp_min(1.0);
        Ok(mean_over_groups(per_group, term_count.greater_elem(0.0)))
    }
}
