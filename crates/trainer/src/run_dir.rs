//! What a run leaves in its output directory, and when a fresh run may start there.
//!
//! A fresh `rankforge train` into a directory that already holds a run would replace its
//! `best/` model with the untrained one and truncate its `metrics.jsonl` while leaving the old
//! `final/` and `checkpoint/`, so that a later `--resume` mixed two runs. It is refused instead:
//! `--resume` continues the run, `--overwrite` removes the old run's outputs first.

use std::path::{Path, PathBuf};

use crate::checkpoint::CHECKPOINT_DIR;
use crate::error::{io_err, Result, TrainError};
use crate::report::METRICS_FILE;
use crate::train_loop::{
    BEST_DEV_RUN, BEST_DIR, BM25_DEV_RUN, FINAL_DEV_RUN, FINAL_DIR, INITIAL_DEV_RUN,
};

/// The config copy a run writes first.
pub const CONFIG_COPY: &str = "config.toml";
/// The model card written beside the models.
pub const MODEL_CARD: &str = "README.md";

/// Every entry a run writes into its output directory (besides temporaries, which
/// [`crate::checkpoint::remove_stale_temporaries`] handles).
fn run_outputs() -> Vec<String> {
    [
        CONFIG_COPY,
        METRICS_FILE,
        MODEL_CARD,
        BM25_DEV_RUN,
        INITIAL_DEV_RUN,
        BEST_DEV_RUN,
        FINAL_DEV_RUN,
        BEST_DIR,
        FINAL_DIR,
        CHECKPOINT_DIR,
    ]
    .into_iter()
    .map(str::to_string)
    .chain([format!("{CHECKPOINT_DIR}.old")])
    .collect()
}

/// The outputs that show training happened: a fresh run would destroy them. (A start that
/// failed before training leaves only the config copy and the BM25 dev run, which any run
/// rewrites; those do not make a directory "hold a run".)
fn training_outputs() -> Vec<String> {
    [METRICS_FILE, BEST_DIR, FINAL_DIR, CHECKPOINT_DIR]
        .into_iter()
        .map(str::to_string)
        .chain([format!("{CHECKPOINT_DIR}.old")])
        .collect()
}

/// The training outputs of an earlier run in `output_dir` (empty when it holds none).
pub fn existing_run(output_dir: &Path) -> Vec<PathBuf> {
    present(output_dir, training_outputs())
}

fn present(output_dir: &Path, names: Vec<String>) -> Vec<PathBuf> {
    names
        .into_iter()
        .map(|name| output_dir.join(name))
        .filter(|p| p.exists())
        .collect()
}

/// Lets a fresh (not resumed) run start in `output_dir`: refuses when it holds an earlier run,
/// unless `overwrite`, which removes that run's outputs (and nothing else in the directory).
/// Returns the entries removed.
pub fn prepare_fresh_run(output_dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>> {
    let found = existing_run(output_dir);
    if found.is_empty() {
        return Ok(found);
    }
    if !overwrite {
        let names: Vec<String> = found
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let resumable = crate::checkpoint::find_checkpoint(output_dir).is_some();
        return Err(TrainError::Other(format!(
            "{} already holds a run ({}): {}`--overwrite` deletes it and starts again, or set \
             run.output_dir to a new directory",
            output_dir.display(),
            names.join(", "),
            if resumable {
                "`--resume` continues it, "
            } else {
                "it has no checkpoint to resume from; "
            }
        )));
    }
    let all = present(output_dir, run_outputs());
    for path in &all {
        if path.is_dir() {
            std::fs::remove_dir_all(path).map_err(io_err(path))?;
        } else {
            std::fs::remove_file(path).map_err(io_err(path))?;
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_run_is_refused_over_an_old_one_and_overwrite_removes_only_its_outputs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(prepare_fresh_run(dir.path(), false).unwrap().is_empty());
        std::fs::write(dir.path().join(BM25_DEV_RUN), "").unwrap();
        assert!(
            prepare_fresh_run(dir.path(), false).is_ok(),
            "a start that failed before training holds no run"
        );
        std::fs::create_dir_all(dir.path().join("best")).unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoint")).unwrap();
        std::fs::write(dir.path().join(METRICS_FILE), "{}\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        std::fs::write(dir.path().join(CONFIG_COPY), "").unwrap();
        let err = prepare_fresh_run(dir.path(), false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--overwrite") && err.contains("best") && err.contains("no checkpoint"),
            "{err}"
        );
        assert!(dir.path().join("best").exists(), "refusing deletes nothing");
        let removed = prepare_fresh_run(dir.path(), true).unwrap();
        assert_eq!(removed.len(), 5, "{removed:?}");
        assert!(existing_run(dir.path()).is_empty());
        assert!(!dir.path().join(CONFIG_COPY).exists());
        assert!(
            dir.path().join("notes.txt").exists(),
            "only the run's own outputs go"
        );
    }
}
