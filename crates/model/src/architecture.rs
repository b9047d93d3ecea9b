//! The encoder families rankforge runs, chosen from `config.json`'s `model_type`, and what each
//! changes in the shared post-norm encoder ([`crate::bert`]) and the score head
//! ([`crate::cross_encoder_model`]). All three are the same stack of layers (embeddings →
//! LayerNorm → N × (self-attention, feed-forward), post-norm, from [`crate::layers`]); they
//! differ only where this table says, each difference checked against transformers'
//! `modeling_bert.py`, `modeling_xlm_roberta.py` and `modeling_electra.py`:
//!
//! | | BERT (`bert`) | XLM-RoBERTa (`xlm-roberta`) | ELECTRA (`electra`) |
//! |---|---|---|---|
//! | weights under | `bert.` | `roberta.` | `electra.` |
//! | position ids | `0, 1, …` | `padding_idx + 1 + cumsum(non-padding)`; padding gets `padding_idx` | `0, 1, …` |
//! | usable length | `max_position_embeddings` | `max_position_embeddings − padding_idx − 1` (514 → 512, 8194 → 8192) | `max_position_embeddings` |
//! | token type ids | from the tokenizer | ignored: all 0 (its tokenizer returns none; `type_vocab_size` 1) | from the tokenizer |
//! | embedding width | hidden | hidden | `embedding_size`, then `embeddings_project` (Linear → hidden) when it differs |
//! | LayerNorm ε | `layer_norm_eps` (1e-12) | `layer_norm_eps` (1e-5 in its checkpoints) | `layer_norm_eps` (1e-12) |
//! | score head | pooler `tanh(dense(h₀))` → dropout → `classifier` | dropout → `classifier.dense` → tanh → dropout → `classifier.out_proj` | as XLM-R, with GELU instead of tanh |
//! | pooler | in `BertModel` and `BertForSequenceClassification` | only in `XLMRobertaModel` (a bi-encoder's, unused for embeddings) | none |
//!
//! The tokenizer needs nothing per family: `tokenizer.json` carries the model (WordPiece,
//! SentencePiece Unigram) and the pair template (`[CLS] q [SEP] d [SEP]`,
//! `<s> q </s></s> d </s>`).
//!
//! ModernBERT (`modernbert`) is not a variant here: its body differs (pre-norm, rotary
//! positions, global / local attention, GeGLU, no token types or position table), so it is a
//! file of its own, [`crate::modernbert`], with its config reader [`crate::modernbert_config`];
//! [`crate::EncoderConfig`] chooses between the two bodies, and the cross-encoder and
//! bi-encoder models are enums over them.

use serde::{Deserialize, Serialize};

use crate::layers::Activation;

/// An encoder family rankforge implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Architecture {
    #[default]
    Bert,
    XlmRoberta,
    Electra,
}

/// How the score head turns the encoder output into logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadKind {
    /// BERT: the encoder's pooler (`tanh(dense(h₀))`), dropout, `classifier`.
    Pooler,
    /// RoBERTa / ELECTRA: dropout, `classifier.dense`, the activation, dropout,
    /// `classifier.out_proj`, all over the first token.
    Dense(Activation),
}

/// Where position ids start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionScheme {
    /// `0, 1, 2, …` for every sequence (BERT, ELECTRA).
    FromZero,
    /// fairseq's: non-padding tokens count from `padding_idx + 1`, padding (and the padding
    /// token itself) sits at `padding_idx` (RoBERTa, XLM-RoBERTa).
    AfterPadding { padding_idx: usize },
}

impl PositionScheme {
    /// Rows of the position table that no token can use.
    pub fn reserved(self) -> usize {
        match self {
            PositionScheme::FromZero => 0,
            PositionScheme::AfterPadding { padding_idx } => padding_idx + 1,
        }
    }
}

impl Architecture {
    /// Every family, in the order errors list them.
    pub const ALL: [Architecture; 3] = [
        Architecture::Bert,
        Architecture::XlmRoberta,
        Architecture::Electra,
    ];

    /// The family of a `config.json` `model_type`.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|arch| arch.model_type() == model_type)
    }

    /// `config.json`'s `model_type`.
    pub fn model_type(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::XlmRoberta => "xlm-roberta",
            Architecture::Electra => "electra",
        }
    }

    /// The supported model types, for error messages.
    pub fn supported() -> String {
        Self::ALL
            .iter()
            .map(|arch| format!("{} ({})", arch.model_type(), arch.sequence_classifier()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What transformers' class names of this family start with (`architectures`).
    pub fn class_prefix(self) -> &'static str {
        match self {
            Architecture::Bert => "Bert",
            Architecture::XlmRoberta => "XLMRoberta",
            Architecture::Electra => "Electra",
        }
    }

    /// The sequence-classification class (what a saved cross-encoder declares).
    pub fn sequence_classifier(self) -> &'static str {
        match self {
            Architecture::Bert => "BertForSequenceClassification",
            Architecture::XlmRoberta => "XLMRobertaForSequenceClassification",
            Architecture::Electra => "ElectraForSequenceClassification",
        }
    }

    /// The bare encoder class (what a saved bi-encoder declares).
    pub fn base_model(self) -> &'static str {
        match self {
            Architecture::Bert => "BertModel",
            Architecture::XlmRoberta => "XLMRobertaModel",
            Architecture::Electra => "ElectraModel",
        }
    }

    /// The prefix of the encoder's tensors inside a task model (`bert.`, `roberta.`,
    /// `electra.`); a bare encoder's tensors have none.
    pub fn weight_prefix(self) -> &'static str {
        match self {
            Architecture::Bert => "bert",
            Architecture::XlmRoberta => "roberta",
            Architecture::Electra => "electra",
        }
    }

    pub fn head(self) -> HeadKind {
        match self {
            Architecture::Bert => HeadKind::Pooler,
            Architecture::XlmRoberta => HeadKind::Dense(Activation::Tanh),
            Architecture::Electra => HeadKind::Dense(Activation::Gelu),
        }
    }

    /// Whether the model reads the tokenizer's token type ids (XLM-R's tokenizer returns none,
    /// so transformers runs it with all zeros).
    pub fn reads_token_types(self) -> bool {
        !matches!(self, Architecture::XlmRoberta)
    }
}
