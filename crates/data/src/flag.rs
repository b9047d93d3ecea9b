//! FlagEmbedding fine-tuning data: one JSON object per line,
//! `{"query", "pos": [..], "neg": [..], "pos_scores": [..], "neg_scores": [..], "prompt", "type"}`.
//! Scores (teacher scores for distillation), `prompt` and `type` are optional.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::mode::{Issues, Loaded, ReadMode};
use crate::table::{read_rows, TableFormat, TableOptions};
use crate::write::write_jsonl;

/// One training example in FlagEmbedding's format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagExample {
    pub query: String,
    /// Relevant passages (at least one).
    pub pos: Vec<String>,
    /// Hard negatives (may be empty).
    #[serde(default)]
    pub neg: Vec<String>,
    /// Teacher scores, one per `pos` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_scores: Option<Vec<f64>>,
    /// Teacher scores, one per `neg` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_scores: Option<Vec<f64>>,
    /// Instruction prepended to the query by FlagEmbedding's embedder trainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Task type tag of FlagEmbedding's embedder data (`"normal"`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Reads FlagEmbedding jsonl. `query` and a non-empty `pos` are required; a score list whose
/// length differs from its passage list is an error at that line and field. A file without a
/// single example is an error.
pub fn read_flag_jsonl(path: impl AsRef<Path>, mode: ReadMode) -> Result<Loaded<Vec<FlagExample>>> {
    let path = path.as_ref();
    let options = TableOptions {
        format: TableFormat::Jsonl,
        header: false,
        mode,
    };
    let mut issues = Issues::new(mode);
    let mut examples = Vec::new();
    read_rows(path, &options, &[], &[], &mut issues, |row| {
        let query = row.text("query")?;
        let pos = row
            .optional_text_list("pos")?
            .ok_or_else(|| row.error("pos", "missing"))?;
        if pos.is_empty() {
            return Err(row.error("pos", "no positive passages"));
        }
        let neg = row.optional_text_list("neg")?.unwrap_or_default();
        let pos_scores = row.optional_number_list("pos_scores")?;
        let neg_scores = row.optional_number_list("neg_scores")?;
        for (field, scores, passages) in [
            ("pos_scores", &pos_scores, pos.len()),
            ("neg_scores", &neg_scores, neg.len()),
        ] {
            if let Some(scores) = scores {
                if scores.len() != passages {
                    return Err(row.error(
                        field,
                        format!("{} scores for {passages} passages", scores.len()),
                    ));
                }
            }
        }
        let prompt = row.optional_text("prompt")?;
        let kind = row.optional_text("type")?;
        examples.push(FlagExample {
            query,
            pos,
            neg,
            pos_scores,
            neg_scores,
            prompt,
            kind,
        });
        Ok(())
    })?;
    let empty = examples.is_empty();
    issues.finish_nonempty(path, examples, empty)
}

/// Writes FlagEmbedding jsonl.
pub fn write_flag_jsonl(path: impl AsRef<Path>, examples: &[FlagExample]) -> Result<()> {
    write_jsonl(path, examples)
}
