//! Opening text input: every reader of this crate opens its file through [`open_text`], which
//! drops a UTF-8 byte-order mark at the start of the file, so a BOM written by an editor or
//! a spreadsheet never becomes part of the first id, column name or JSON value. Line-by-line
//! reading ([`LineReader`]) also knows its 1-based line number and reports non-UTF-8 input as a
//! parse error at that line instead of an opaque I/O error.

use std::fs::File;
use std::io::{BufRead, BufReader, Chain, Cursor, Read};
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// The UTF-8 encoding of U+FEFF, the byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file's bytes after an optional leading byte-order mark.
pub(crate) type TextReader = BufReader<Chain<Cursor<Vec<u8>>, File>>;

/// Opens `path` for reading, without the UTF-8 byte-order mark at its start if it has one.
/// The first bytes are read until three are in hand (or the input ends), so a BOM is
/// recognised even when it arrives split across reads (a pipe).
pub(crate) fn open_text(path: &Path) -> Result<TextReader> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut head = [0u8; 3];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::io(path, e)),
        }
    }
    let head = &head[..filled];
    let kept = if head == UTF8_BOM { &[][..] } else { head };
    Ok(BufReader::with_capacity(
        1 << 16,
        Cursor::new(kept.to_vec()).chain(file),
    ))
}

/// Reads a text file one line at a time. Line endings (`\n`, `\r\n`) are removed, and so is a
/// UTF-8 byte-order mark at the start of the file ([`open_text`]).
pub(crate) struct LineReader {
    path: PathBuf,
    reader: TextReader,
    buffer: Vec<u8>,
    line_no: usize,
}

impl LineReader {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            reader: open_text(path)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input.txt");
        std::fs::write(&path, bytes).unwrap();
        let mut reader = LineReader::open(&path).unwrap();
        let mut out = Vec::new();
        while let Some((_, line)) = reader.next_line() {
            out.push(line.unwrap().to_string());
        }
        out
    }

    #[test]
    fn a_leading_bom_is_dropped_and_nothing_else() {
        assert_eq!(lines(b"\xEF\xBB\xBFa b\r\nc\n"), ["a b", "c"]);
        assert_eq!(lines(b"\xEF\xBB\xBF"), Vec::<String>::new());
        // Only at the very start of the file: a BOM later on is data.
        assert_eq!(lines(b"a\n\xEF\xBB\xBFb\n"), ["a", "\u{feff}b"]);
        // Files shorter than a mark are kept as they are.
        assert_eq!(lines(b"ab"), ["ab"]);
        assert_eq!(lines(b"\n"), [""]);
    }
}
