//! A BEIR dataset directory: `corpus.jsonl`, `queries.jsonl`, `qrels/<split>.tsv`.

use std::path::Path;

use crate::corpus::Corpus;
use crate::error::Result;
use crate::mode::{Issues, Loaded, ReadMode};
use crate::qrels::{Qrels, QrelsCheck};
use crate::queries::Queries;
use crate::table::{TableFormat, TableOptions};

/// Corpus, queries and one split's judgments, with every judged id checked against the corpus
/// and the queries.
#[derive(Debug, Clone)]
pub struct BeirDataset {
    pub corpus: Corpus,
    /// All queries of the dataset (every split's).
    pub queries: Queries,
    pub qrels: Qrels,
}

impl BeirDataset {
    /// Loads `dir/corpus.jsonl`, `dir/queries.jsonl` and `dir/qrels/{split}.tsv`. In
    /// [`ReadMode::Skip`] the skipped records of all three files are returned together.
    pub fn load(dir: impl AsRef<Path>, split: &str, mode: ReadMode) -> Result<Loaded<BeirDataset>> {
        let dir = dir.as_ref();
        let options = TableOptions {
            format: TableFormat::Jsonl,
            header: true,
            mode,
        };
        let corpus = Corpus::read(dir.join("corpus.jsonl"), &options, &Default::default())?;
        let queries = Queries::read(dir.join("queries.jsonl"), &options, &Default::default())?;
        let check = QrelsCheck {
            queries: Some(&queries.data),
            corpus: Some(&corpus.data),
        };
        let qrels =
            Qrels::read_checked(dir.join("qrels").join(format!("{split}.tsv")), mode, &check)?;
        let mut skipped = corpus.skipped;
        skipped.extend(queries.skipped);
        skipped.extend(qrels.skipped);
        let mut issues = Issues::new(mode);
        for error in skipped {
            issues.report(error)?;
        }
        Ok(issues.finish(BeirDataset {
            corpus: corpus.data,
            queries: queries.data,
            qrels: qrels.data,
        }))
    }

    /// The queries judged in this split, in file order.
    pub fn judged_queries(&self) -> Queries {
        self.queries.filtered(|q| self.qrels.get(&q.id).is_some())
    }
}
