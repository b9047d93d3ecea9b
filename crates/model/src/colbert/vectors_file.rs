//! The multi-vector file `rankforge embed --multi-vector` writes: every text's per-token
//! vectors, with how many each text has, in one binary file that a reader can map without
//! parsing text.
//!
//! Layout (version 1), every number little-endian:
//!
//! | offset | type | what |
//! |---|---|---|
//! | 0 | 4 bytes | magic `RFMV` |
//! | 4 | u32 | version (1) |
//! | 8 | u32 | `dim`, the width of every vector |
//! | 12 | u64 | `count`, the number of texts |
//! | 20 | `count` × u32 | `lengths[i]`, the vectors of text `i` |
//! | 20 + 4·count | `Σ lengths` × `dim` × f32 | the vectors: text 0's rows, then text 1's, … |
//!
//! Text `i`'s vectors start at float `dim · Σ_{j<i} lengths[j]` of the data. The file holds
//! `20 + 4·count + 4·dim·Σ lengths` bytes exactly; a reader refuses any other size.

use std::path::Path;

use super::score::TokenVectors;
use crate::error::{io_err, ModelError, Result};

/// The file's first four bytes.
pub const MULTI_VECTOR_MAGIC: &[u8; 4] = b"RFMV";
/// The layout version this crate writes and reads.
pub const MULTI_VECTOR_VERSION: u32 = 1;
const HEADER: usize = 20;

/// Writes `texts` (all of one width) in the layout above, atomically.
pub fn write_token_vectors(path: &Path, texts: &[TokenVectors]) -> Result<()> {
    let dim = texts.first().map_or(0, |t| t.dim);
    if let Some(other) = texts.iter().find(|t| t.dim != dim) {
        return Err(ModelError::Invalid(format!(
            "multi-vector file: vectors of width {dim} and {} cannot share a file",
            other.dim
        )));
    }
    let values: usize = texts.iter().map(|t| t.data.len()).sum();
    let mut bytes = Vec::with_capacity(HEADER + 4 * texts.len() + 4 * values);
    bytes.extend_from_slice(MULTI_VECTOR_MAGIC);
    bytes.extend_from_slice(&MULTI_VECTOR_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(dim as u32).to_le_bytes());
    bytes.extend_from_slice(&(texts.len() as u64).to_le_bytes());
    for text in texts {
        let rows = u32::try_from(text.rows()).map_err(|_| {
            ModelError::Invalid("multi-vector file: a text has over 2^32 vectors".into())
        })?;
        bytes.extend_from_slice(&rows.to_le_bytes());
    }
    for value in texts.iter().flat_map(|t| &t.data) {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    rankforge_data::write_atomic(path, bytes).map_err(io_err(path))
}

/// Reads a file [`write_token_vectors`] wrote: one [`TokenVectors`] per text, in order.
pub fn read_token_vectors(path: &Path) -> Result<Vec<TokenVectors>> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let invalid = |message: String| ModelError::Weights {
        path: path.into(),
        message: format!("not a rankforge multi-vector file: {message}"),
    };
    if bytes.len() < HEADER || &bytes[..4] != MULTI_VECTOR_MAGIC {
        return Err(invalid("no RFMV header".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let version = u32_at(4);
    if version != MULTI_VECTOR_VERSION {
        return Err(invalid(format!("version {version}, expected 1")));
    }
    let dim = u32_at(8) as usize;
    let count = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")) as usize;
    let data_start = count
        .checked_mul(4)
        .and_then(|n| n.checked_add(HEADER))
        .filter(|&n| n <= bytes.len())
        .ok_or_else(|| invalid(format!("{count} lengths do not fit in the file")))?;
    let lengths: Vec<usize> = (0..count)
        .map(|i| u32_at(HEADER + 4 * i) as usize)
        .collect();
    let rows: usize = lengths.iter().sum();
    let expected = data_start + 4 * rows * dim;
    if bytes.len() != expected || (dim == 0 && rows > 0) {
        return Err(invalid(format!(
            "{} bytes, expected {expected} for {rows} vectors of width {dim}",
            bytes.len()
        )));
    }
    let mut at = data_start;
    Ok(lengths
        .iter()
        .map(|&length| {
            let data = bytes[at..at + 4 * length * dim]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect();
            at += 4 * length * dim;
            TokenVectors::new(dim.max(1), data)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.bin");
        let texts = vec![
            TokenVectors::new(3, vec![1.0, 2.0, 3.0, -4.0, 5.5, 6.0]),
            TokenVectors::new(3, vec![]),
            TokenVectors::new(3, vec![0.25, f32::MIN_POSITIVE, 9.0]),
        ];
        write_token_vectors(&path, &texts).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 20 + 4 * 3 + 4 * 3 * 3);
        assert_eq!(&bytes[..4], b"RFMV");
        assert_eq!(bytes[8], 3, "dim");
        assert_eq!(bytes[12], 3, "count");
        assert_eq!(&bytes[20..32], &[2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(read_token_vectors(&path).unwrap(), texts);
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        let err = read_token_vectors(&path).unwrap_err().to_string();
        assert!(err.contains("expected"), "{err}");
        let mixed = [TokenVectors::new(2, vec![0.0; 2]), texts[0].clone()];
        assert!(write_token_vectors(&path, &mixed).is_err());
    }
}
