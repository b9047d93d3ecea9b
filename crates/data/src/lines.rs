//! Line-by-line reading that knows its 1-based line number and reports non-UTF-8 input as a
//! parse error at that line instead of an opaque I/O error.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// Reads a text file one line at a time. Line endings (`\n`, `\r\n`) are removed, and so is a
/// UTF-8 byte-order mark at the start of the file.
pub(crate) struct LineReader {
    path: PathBuf,
    reader: BufReader<File>,
    buffer: Vec<u8>,
    line_no: usize,
}

impl LineReader {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            buffer: Vec::new(),
            line_no: 0,
        })
    }

    /// The next line and its 1-based number, `None` at the end of the file. A line that is not
    /// valid UTF-8 yields a parse error naming the byte where the bad sequence starts.
    pub(crate) fn next_line(&mut self) -> Option<(usize, Result<&str>)> {
        self.buffer.clear();
        match self.reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some((self.line_no + 1, Err(DataError::io(&self.path, e)))),
        }
        self.line_no += 1;
        let mut bytes = self.buffer.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest;
        }
        if let Some(rest) = bytes.strip_suffix(b"\r") {
            bytes = rest;
        }
        if self.line_no == 1 {
            if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                bytes = rest;
            }
        }
        let line_no = self.line_no;
        let text = std::str::from_utf8(bytes).map_err(|e| {
            DataError::parse(
                &self.path,
                line_no,
                None,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to() + 1),
            )
        });
        Some((line_no, text))
    }
}
