//! Atomic outputs: every file rankforge writes is written to a temporary file in the target's
//! directory, flushed and fsynced, then renamed over the target (and the directory fsynced), so
//! a failed or interrupted write (disk full, `ulimit -f`, kill -9) leaves the previous file
//! intact and never a file cut mid-line. [`check_writable`] lets a command find an output it
//! cannot create before it spends minutes of inference.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file being written: a temporary sibling of `path` until [`AtomicFile::commit`] renames it
/// into place. Dropped without `commit`, the temporary file is removed and `path` untouched.
pub struct AtomicFile {
    path: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path` (its parent directories are created).
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let dir = parent_dir(&path);
        std::fs::create_dir_all(&dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.tmp-",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ))
            .tempfile_in(&dir)?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 16, tmp),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, fsyncs and renames the temporary file over the final path, then fsyncs the
    /// directory so the rename itself survives a crash.
    pub fn commit(self) -> std::io::Result<()> {
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        sync_dir(&parent_dir(&self.path));
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write_atomic(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes.as_ref())?;
    file.commit()
}

/// For writers that need a path rather than a stream (an image encoder picks its format from
/// the extension): `write` fills a temporary sibling of `path` with the same extension, which is
/// then fsynced and renamed over `path`; on failure the temporary file is removed and `path`
/// is untouched. `io_error` turns the renaming's I/O errors into the writer's error type.
pub fn write_via_temp_path<T, E>(
    path: &Path,
    io_error: impl Fn(std::io::Error) -> E,
    write: impl FnOnce(&Path) -> Result<T, E>,
) -> Result<T, E> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(&dir).map_err(&io_error)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .suffix(&suffix)
        .tempfile_in(&dir)
        .map_err(&io_error)?
        .into_temp_path();
    let value = write(&tmp)?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(&io_error)?;
    tmp.persist(path).map_err(|e| io_error(e.error))?;
    sync_dir(&dir);
    Ok(value)
}

/// Renames a fully written directory (or file) `from` to `to` after fsyncing every file in it,
/// replacing an existing `to` (a directory is moved aside first and removed after the rename,
/// so either the old or the new one is always complete at `to`).
pub fn replace_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    sync_tree(from)?;
    if to.is_dir() {
        let aside = to.with_file_name(format!(
            ".{}.old-{}",
            to.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&aside);
        std::fs::rename(to, &aside)?;
        std::fs::rename(from, to)?;
        std::fs::remove_dir_all(&aside)?;
    } else {
        std::fs::rename(from, to)?;
    }
    sync_dir(&parent_dir(to));
    Ok(())
}

/// Fails now if `path` could not be written later: its directory is created and a temporary
/// file made in it, and an existing `path` must be a writable file. Commands call this on
/// their outputs before they load a model or read their inputs.
pub fn check_writable(path: impl AsRef<Path>) -> std::io::Result<()> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(std::io::Error::other("is a directory, not a file"));
    }
    if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path)?;
    }
    let dir = parent_dir(path);
    std::fs::create_dir_all(&dir)?;
    tempfile::Builder::new()
        .prefix(".rankforge-write-check-")
        .tempfile_in(&dir)
        .map(drop)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsyncs every file under `path` (or `path` itself when it is a file) and the directories,
/// so that a rename that publishes it never exposes data still in the page cache only.
pub fn sync_tree(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            sync_tree(&entry?.path())?;
        }
        sync_dir(path);
        Ok(())
    } else {
        File::open(path)?.sync_all()
    }
}

/// fsync of a directory; best effort (not every filesystem allows opening one).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.trec");
        std::fs::write(&path, "old\n").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"new, half writ").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomic(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn replace_dir_swaps_a_whole_directory() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("final");
        std::fs::create_dir(&to).unwrap();
        std::fs::write(to.join("old.bin"), "old").unwrap();
        let from = dir.path().join("final.tmp");
        std::fs::create_dir(&from).unwrap();
        std::fs::write(from.join("new.bin"), "new").unwrap();
        replace_dir(&from, &to).unwrap();
        assert!(to.join("new.bin").exists() && !to.join("old.bin").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn check_writable_refuses_a_directory_and_a_place_no_file_can_be_made() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_writable(dir.path()).is_err());
        assert!(check_writable(dir.path().join("a/b/out.jsonl")).is_ok());
        assert!(check_writable("/proc/rankforge-cannot-write-here").is_err());
    }
}
