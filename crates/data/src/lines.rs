//! Opening text input: every reader of this crate opens its file through [`open_text_at`], which
//! drops a UTF-8 byte-order mark at the start of the file, so a BOM written by an editor or
//! a spreadsheet never becomes part of the first id, column name or JSON value. Line-by-line
//! reading ([`LineReader`]) also knows its 1-based line number and byte offset, and reports
//! non-UTF-8 input as a parse error at that line instead of an opaque I/O error. Byte offsets
//! are counted after the byte-order mark; [`LineReader::open_at`] and [`open_text_at`] start
//! reading at such an offset (a training file's block).

use std::fs::File;
use std::io::{BufRead, BufReader, Chain, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// The UTF-8 encoding of U+FEFF, the byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file's bytes after an optional leading byte-order mark.
pub(crate) type TextReader = BufReader<Chain<Cursor<Vec<u8>>, File>>;

/// Opens `path` for reading from byte `offset` of the text after the UTF-8 byte-order mark
/// (the start of the file for 0; else an offset found by an earlier read), without the mark if
/// the file has one. The first bytes are read until three are in hand (or the input ends), so
/// a BOM is recognised even when it arrives split across reads (a pipe).
pub(crate) fn open_text_at(path: &Path, offset: u64) -> Result<TextReader> {
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
    let bom = head == UTF8_BOM;
    let mut kept = if bom { &[][..] } else { head };
    if offset > 0 {
        let skip = if bom { UTF8_BOM.len() as u64 } else { 0 };
        file.seek(SeekFrom::Start(offset + skip))
            .map_err(|e| DataError::io(path, e))?;
        kept = &[];
    }
    Ok(BufReader::with_capacity(
        1 << 16,
        Cursor::new(kept.to_vec()).chain(file),
    ))
}

/// The length of `path`'s text after a byte-order mark, and whether it ends with a line
/// break.
pub(crate) fn text_end(path: &Path) -> Result<(u64, bool)> {
    let io = |e| DataError::io(path, e);
    let mut file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 3];
    let bom = len >= 3 && file.read_exact(&mut head).is_ok() && head == UTF8_BOM;
    let text_len = len - if bom { UTF8_BOM.len() as u64 } else { 0 };
    let mut last = [0u8; 1];
    let ends_with_newline = text_len > 0
        && file.seek(SeekFrom::Start(len - 1)).is_ok()
        && file.read_exact(&mut last).is_ok()
        && last[0] == b'\n';
    Ok((text_len, ends_with_newline))
}

/// Reads a text file one line at a time. Line endings (`\n`, `\r\n`) are removed, and so is a
/// UTF-8 byte-order mark at the start of the file ([`open_text_at`]).
pub(crate) struct LineReader {
    path: PathBuf,
    reader: TextReader,
    buffer: Vec<u8>,
    line_no: usize,
    /// Byte offset (after the byte-order mark) of the next line.
    position: u64,
}

impl LineReader {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Self::open_at(path, 0, 0)
    }

    /// Reads from byte `offset` (after the byte-order mark; the start of a line found by an
    /// earlier read), numbering lines from `lines_before + 1`.
    pub(crate) fn open_at(path: &Path, offset: u64, lines_before: usize) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            reader: open_text_at(path, offset)?,
            buffer: Vec::new(),
            line_no: lines_before,
            position: offset,
        })
    }

    /// Byte offset (after the byte-order mark) where the next line starts.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// The next line and its 1-based number, `None` at the end of the file. A line that is not
    /// valid UTF-8 yields a parse error naming the byte where the bad sequence starts.
    pub(crate) fn next_line(&mut self) -> Option<(usize, Result<&str>)> {
        self.buffer.clear();
        match self.reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => return None,
            Ok(n) => self.position += n as u64,
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
