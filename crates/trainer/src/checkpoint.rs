//! Resumable checkpoints, written atomically.
//!
//! `<output_dir>/checkpoint/` holds:
//! - `model/`: the model being trained as an HF directory (the model crate's save functions;
//!   f32 safetensors, so restoring is bit-exact),
//! - `optimizer.safetensors`: AdamW moments keyed by parameter path, step count in metadata,
//! - `state.json`: [`TrainerState`]: optimizer step, data position, RNG scheme and seed,
//!   best metric so far, early-stopping counter, the config it was written under.
//!
//! Everything is first written into `checkpoint.tmp-<pid>/`, every file fsynced, then swapped
//! in by renames (`checkpoint` → `checkpoint.old`, tmp → `checkpoint`, remove old). A crash at
//! any point leaves either the previous or the new checkpoint complete; [`find_checkpoint`]
//! also picks up `checkpoint.old` if the crash came between the two renames, and never a
//! `checkpoint.tmp-*` directory: those are partial by definition, and
//! [`remove_stale_temporaries`] deletes the ones a killed run left behind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::DataPosition;
use crate::error::{io_err, Result, TrainError};

pub const CHECKPOINT_DIR: &str = "checkpoint";
pub const MODEL_DIR: &str = "model";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub const STATE_FILE: &str = "state.json";

/// How every random draw of a run is derived. No generator state is carried between steps:
/// each stream ([`crate::data::Stream`]: dropout masks per step, the epoch order, each group's
/// negatives) is seeded by `stream_seed(seed, stream, position)`. The RNG state of a checkpoint is
/// therefore (seed, step, position), recorded here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub scheme: String,
    pub seed: u64,
    pub next_step: usize,
}

/// Everything besides weights and optimizer moments that a resumed run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps completed.
    pub step: usize,
    /// Next example to draw.
    pub position: DataPosition,
    pub rng: RngState,
    /// Best value of the selection metric so far and the step it was reached at.
    pub best: Option<(f64, usize)>,
    /// Evaluations since the best one (early stopping).
    pub evals_without_improvement: usize,
    /// Dev metrics of the model before training.
    pub initial_metrics: Vec<(String, f64)>,
    /// Total steps of the schedule.
    pub total_steps: usize,
    /// Training pairs processed (for throughput reports).
    pub pairs_seen: u64,
    /// The run config as TOML; a resume with a different config is refused.
    pub config_toml: String,
    /// Examples (BEIR-mined) or records (training file) per epoch when the run started: a
    /// resume over data of another size (a training file rewritten under the same name) is
    /// refused, since the recorded position would point at other rows. Absent in checkpoints
    /// of earlier versions (not checked then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_rows: Option<usize>,
}

/// Writes a checkpoint atomically: `write` fills a temporary directory that then replaces
/// `<output_dir>/checkpoint`.
pub fn write_checkpoint(
    output_dir: &Path,
    state: &TrainerState,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<PathBuf> {
    let target = output_dir.join(CHECKPOINT_DIR);
    let tmp = output_dir.join(format!("{CHECKPOINT_DIR}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    write(&tmp)?;
    let state_json = serde_json::to_string_pretty(state).expect("state serialises");
    let state_path = tmp.join(STATE_FILE);
    std::fs::write(&state_path, state_json).map_err(io_err(&state_path))?;
    rankforge_data::atomic::sync_tree(&tmp).map_err(io_err(&tmp))?;
    let old = output_dir.join(format!("{CHECKPOINT_DIR}.old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    if target.exists() {
        std::fs::rename(&target, &old).map_err(io_err(&target))?;
    }
    std::fs::rename(&tmp, &target).map_err(io_err(&target))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(target)
}

/// Deletes the partial checkpoint and model directories (`checkpoint.tmp-<pid>`,
/// `.best.tmp-<pid>`, `.final.tmp-<pid>`, `.<name>.old-<pid>`) that runs killed while writing
/// left in `output_dir`, skipping those of a process that is still alive (Linux: `/proc/<pid>`).
/// Returns what was removed.
pub fn remove_stale_temporaries(output_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(output_dir) else {
        return Ok(removed);
    };
    for entry in entries {
        let entry = entry.map_err(io_err(output_dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temporary_owner(&name) else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) && entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path()).map_err(io_err(&entry.path()))?;
            removed.push(entry.path());
        }
    }
    removed.sort();
    Ok(removed)
}

/// The pid in the name of a temporary directory this crate or the model savers create.
fn temporary_owner(name: &str) -> Option<u32> {
    let pid = if let Some(rest) = name.strip_prefix(&format!("{CHECKPOINT_DIR}.tmp-")) {
        rest
    } else if name.starts_with('.') {
        name.rsplit_once(".tmp-")
            .or_else(|| name.rsplit_once(".old-"))?
            .1
    } else {
        return None;
    };
    pid.parse().ok()
}

fn process_alive(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new("/proc").join(pid.to_string()).exists()
}

/// The complete checkpoint of `output_dir`, if any (`checkpoint/`, else `checkpoint.old/`
/// left by a crash between renames).
pub fn find_checkpoint(output_dir: &Path) -> Option<PathBuf> {
    [CHECKPOINT_DIR.to_string(), format!("{CHECKPOINT_DIR}.old")]
        .into_iter()
        .map(|name| output_dir.join(name))
        .find(|dir| dir.join(STATE_FILE).is_file())
}

/// Reads `state.json` of a checkpoint.
pub fn read_state(checkpoint: &Path) -> Result<TrainerState> {
    let path = checkpoint.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Resume {
        path,
        message: e.to_string(),
    })
}
