//! What a loss is computed from: [`LossInput`] carries scores, labels, a padding mask, teacher
//! scores or bi-encoder embeddings; [`InputSpec`] says which of them a loss needs.

use std::fmt;

use burn::tensor::{backend::Backend, Bool, Tensor};

/// One kind of input a loss may read from a [`LossInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// Model scores (logits) `[groups, list]`.
    Scores,
    /// Relevance labels `[groups, list]`: binary, graded, or probabilities in `[0, 1]` for BCE.
    Labels,
    /// Teacher model scores `[groups, list]`, aligned with the student scores.
    TeacherScores,
    /// Padding mask `[groups, list]`, `true` for real entries.
    ValidMask,
    /// Query embeddings `[n, d]` of a bi-encoder batch.
    QueryEmbeddings,
    /// Positive document embeddings `[n, d]`, row `i` is the positive of query `i`.
    PositiveEmbeddings,
    /// Hard-negative document embeddings `[k, d]` (flattened `[n, m, d]`).
    NegativeEmbeddings,
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            InputKind::Scores => "scores",
            InputKind::Labels => "labels",
            InputKind::TeacherScores => "teacher scores",
            InputKind::ValidMask => "a valid-entry mask",
            InputKind::QueryEmbeddings => "query embeddings",
            InputKind::PositiveEmbeddings => "positive embeddings",
            InputKind::NegativeEmbeddings => "negative embeddings",
        };
        f.write_str(name)
    }
}

/// Which inputs a configured loss reads, so a trainer can check its data before training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// Inputs that must be present; [`crate::RankingLoss::compute`] fails without them.
    pub required: Vec<InputKind>,
    /// Inputs that are used when present.
    pub optional: Vec<InputKind>,
    /// `true` when column 0 of every group must hold the positive document and the other
    /// columns its negatives (MarginMSE, and the hard-label term of KL distillation).
    pub positive_first: bool,
}

impl InputSpec {
    pub(crate) fn new(required: &[InputKind], optional: &[InputKind]) -> Self {
        Self {
            required: required.to_vec(),
            optional: optional.to_vec(),
            positive_first: false,
        }
    }

    pub(crate) fn with_positive_first(mut self) -> Self {
        self.positive_first = true;
        self
    }

    /// Whether `kind` is read by the loss (required or optional).
    pub fn uses(&self, kind: InputKind) -> bool {
        self.required.contains(&kind) || self.optional.contains(&kind)
    }
}

/// Embeddings of a bi-encoder batch for in-batch contrastive losses.
#[derive(Debug, Clone)]
pub struct InBatchEmbeddings<B: Backend> {
    /// Query embeddings `[n, d]`.
    pub queries: Tensor<B, 2>,
    /// Positive document embeddings `[n, d]`; row `i` belongs to query `i`.
    pub positives: Tensor<B, 2>,
    /// Hard negatives `[k, d]`, shared by every query of the batch (any `k`, typically `n * m`).
    pub negatives: Option<Tensor<B, 2>>,
}

/// Everything a loss may be computed from. Build it with [`LossInput::from_scores`] or
/// [`LossInput::from_embeddings`] and the `with_*` methods; a loss reads only what
/// [`crate::RankingLoss::inputs`] lists and reports a [`crate::LossError::MissingInput`] for
/// anything missing.
///
/// Any float dtype is accepted (f16, bf16, f32, f64); losses cast to f32 on entry and return an
/// f32 scalar.
#[derive(Debug, Clone)]
pub struct LossInput<B: Backend> {
    /// Model scores (logits) `[groups, list]`. Pointwise data is `[n, 1]`.
    pub scores: Option<Tensor<B, 2>>,
    /// Labels `[groups, list]`, aligned with `scores`.
    pub labels: Option<Tensor<B, 2>>,
    /// `true` for real entries, `false` for padding, `[groups, list]`. Absent: all entries real.
    pub valid: Option<Tensor<B, 2, Bool>>,
    /// Teacher scores `[groups, list]`, aligned with `scores`.
    pub teacher_scores: Option<Tensor<B, 2>>,
    /// Bi-encoder embeddings for in-batch losses.
    pub embeddings: Option<InBatchEmbeddings<B>>,
}

impl<B: Backend> Default for LossInput<B> {
    fn default() -> Self {
        Self {
            scores: None,
            labels: None,
            valid: None,
            teacher_scores: None,
            embeddings: None,
        }
    }
}

impl<B: Backend> LossInput<B> {
    /// Input holding model scores `[groups, list]`.
    pub fn from_scores(scores: Tensor<B, 2>) -> Self {
        Self {
            scores: Some(scores),
            ..Self::default()
        }
    }

    /// Input holding bi-encoder embeddings: queries `[n, d]` and their positives `[n, d]`.
    pub fn from_embeddings(queries: Tensor<B, 2>, positives: Tensor<B, 2>) -> Self {
        Self {
            embeddings: Some(InBatchEmbeddings {
                queries,
                positives,
                negatives: None,
            }),
            ..Self::default()
        }
    }

    /// Adds labels `[groups, list]`.
    pub fn with_labels(mut self, labels: Tensor<B, 2>) -> Self {
        self.labels = Some(labels);
        self
    }

    /// Adds teacher scores `[groups, list]`.
    pub fn with_teacher_scores(mut self, teacher_scores: Tensor<B, 2>) -> Self {
        self.teacher_scores = Some(teacher_scores);
        self
    }

    /// Adds a boolean mask `[groups, list]`: `true` marks a real entry, `false` padding.
    pub fn with_valid_mask(mut self, valid: Tensor<B, 2, Bool>) -> Self {
        self.valid = Some(valid);
        self
    }

    /// Adds a float mask `[groups, list]` (as attention masks are usually stored): any nonzero
    /// value marks a real entry, `0.0` marks padding.
    pub fn with_float_mask(self, mask: Tensor<B, 2>) -> Self {
        self.with_valid_mask(mask.not_equal_elem(0.0))
    }

    /// Adds hard negatives `[n, m, d]` (`m` per query). They are flattened to `[n * m, d]` and
    /// shared by every query, as in-batch losses treat every document of the batch as a
    /// candidate. Does nothing without embeddings.
    pub fn with_negatives_per_query(self, negatives: Tensor<B, 3>) -> Self {
        let [n, m, d] = negatives.dims();
        self.with_flat_negatives(negatives.reshape([n * m, d]))
    }

    /// Adds hard negatives already flattened to `[k, d]`. Does nothing without embeddings.
    pub fn with_flat_negatives(mut self, negatives: Tensor<B, 2>) -> Self {
        if let Some(embeddings) = self.embeddings.as_mut() {
            embeddings.negatives = Some(negatives);
        }
        self
    }

    /// Whether `kind` is present (query and positive embeddings come together).
    pub fn has(&self, kind: InputKind) -> bool {
        match kind {
            InputKind::Scores => self.scores.is_some(),
            InputKind::Labels => self.labels.is_some(),
            InputKind::TeacherScores => self.teacher_scores.is_some(),
            InputKind::ValidMask => self.valid.is_some(),
            InputKind::QueryEmbeddings | InputKind::PositiveEmbeddings => self.embeddings.is_some(),
            InputKind::NegativeEmbeddings => self
                .embeddings
                .as_ref()
                .is_some_and(|e| e.negatives.is_some()),
        }
    }
}
