//! Strict or lenient reading: what to do with a bad record, and what was skipped.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// What a reader does with a record it cannot use (malformed line, missing field, wrong type,
/// duplicate id, unknown id).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadMode {
    /// Stop at the first bad record and return its error (the default).
    #[default]
    Strict,
    /// Skip bad records and return them, with their reasons, in [`Loaded::skipped`].
    Skip,
}

/// What a reader returns: the data, and every record it skipped in [`ReadMode::Skip`]
/// (always empty in [`ReadMode::Strict`]). Nothing is dropped without an entry here.
#[derive(Debug)]
pub struct Loaded<T> {
    pub data: T,
    /// One parse error per skipped record: file, 1-based line, field and reason.
    pub skipped: Vec<DataError>,
}

impl<T> Loaded<T> {
    /// The data, discarding the skip report. Use only after the report has been shown.
    pub fn into_data(self) -> T {
        self.data
    }

    /// True when nothing was skipped.
    pub fn is_clean(&self) -> bool {
        self.skipped.is_empty()
    }

    /// A printable report of the skipped records (empty string when none were).
    pub fn skip_report(&self) -> SkipReport<'_> {
        SkipReport(&self.skipped)
    }
}

/// Display adapter listing skipped records, one per line, for the CLI to print.
pub struct SkipReport<'a>(pub &'a [DataError]);

impl fmt::Display for SkipReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        writeln!(f, "skipped {} record(s):", self.0.len())?;
        for error in self.0 {
            writeln!(f, "  {error}")?;
        }
        Ok(())
    }
}

/// Routes record-level errors according to the [`ReadMode`].
#[derive(Debug)]
pub(crate) struct Issues {
    mode: ReadMode,
    skipped: Vec<DataError>,
}

impl Issues {
    pub(crate) fn new(mode: ReadMode) -> Self {
        Self {
            mode,
            skipped: Vec::new(),
        }
    }

    /// In strict mode returns the error; in skip mode records it and returns `Ok`. I/O errors
    /// are never skipped.
    pub(crate) fn report(&mut self, error: DataError) -> Result<()> {
        match (&error, self.mode) {
            (DataError::Parse { .. }, ReadMode::Skip) => {
                self.skipped.push(error);
                Ok(())
            }
            _ => Err(error),
        }
    }

    /// Like [`Issues::finish`], but data without a single record (`is_empty`) is an error
    /// naming `path` ([`DataError::no_records`]), in either mode.
    pub(crate) fn finish_nonempty<T>(
        self,
        path: &Path,
        data: T,
        is_empty: bool,
    ) -> Result<Loaded<T>> {
        if is_empty {
            return Err(DataError::no_records(path, &self.skipped));
        }
        Ok(self.finish(data))
    }

    pub(crate) fn finish<T>(self, data: T) -> Loaded<T> {
        Loaded {
            data,
            skipped: self.skipped,
        }
    }
}
