//! Saving an index to disk and loading it back.
//!
//! Format version 1, all integers little-endian:
//! ```text
//! magic    8 bytes  "RFBM25IX"
//! version  u32      1
//! header   u32 length + JSON {config, num_docs, num_terms, num_postings}
//! doc ids  per document: u32 length + UTF-8 bytes        (internal order)
//! lengths  num_docs × u32
//! terms    per term: u32 length + UTF-8 bytes             (term-id order)
//! offsets  (num_terms + 1) × u64
//! docs     num_postings × u32
//! tfs      num_postings × u16
//! checksum u64      FNV-1a of every byte before it
//! ```
//! Loading checks the magic, the version, the checksum and the structure (offsets ascending,
//! document numbers in range and ascending within a term), so a truncated or corrupted file is
//! an error, never a wrong index. Derived arrays (idf, length factors) are recomputed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};

use rankforge_data::AtomicFile;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analyzer::Analyzer;
use crate::bm25::config::Bm25Config;
use crate::bm25::index::{Bm25Index, DocIds};
use crate::error::{MiningError, Result};

const MAGIC: &[u8; 8] = b"RFBM25IX";
/// Version of the on-disk format written by this build.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    config: Bm25Config,
    num_docs: u64,
    num_terms: u64,
    num_postings: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ b as u64).wrapping_mul(FNV_PRIME);
    }
    hash
}

struct HashingWriter<W: Write> {
    inner: W,
    hash: u64,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash = fnv(self.hash, bytes);
        self.inner.write_all(bytes)
    }
    fn put_u32(&mut self, v: u32) -> std::io::Result<()> {
        self.put(&v.to_le_bytes())
    }
    fn put_str(&mut self, s: &str) -> std::io::Result<()> {
        self.put_u32(s.len() as u32)?;
        self.put(s.as_bytes())
    }
    fn put_array<const N: usize, T: Copy>(
        &mut self,
        items: &[T],
        to_bytes: fn(T) -> [u8; N],
    ) -> std::io::Result<()> {
        let mut buffer = Vec::with_capacity(1 << 16);
        for chunk in items.chunks((1 << 16) / N) {
            buffer.clear();
            for &item in chunk {
                buffer.extend_from_slice(&to_bytes(item));
            }
            self.put(&buffer)?;
        }
        Ok(())
    }
}

struct HashingReader<'p, R: Read> {
    inner: R,
    hash: u64,
    path: &'p Path,
}

impl<R: Read> HashingReader<'_, R> {
    fn corrupt(&self, what: &str) -> MiningError {
        MiningError::Index {
            path: self.path.to_path_buf(),
            message: format!("not a valid BM25 index (version {FORMAT_VERSION}): {what}"),
        }
    }
    fn take(&mut self, buffer: &mut [u8], what: &str) -> Result<()> {
        self.inner.read_exact(buffer).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.corrupt(&format!("file ends inside {what}"))
            } else {
                MiningError::io(self.path, e)
            }
        })?;
        self.hash = fnv(self.hash, buffer);
        Ok(())
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        let mut b = [0u8; 4];
        self.take(&mut b, what)?;
        Ok(u32::from_le_bytes(b))
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u32(what)? as usize;
        if len > 1 << 24 {
            return Err(self.corrupt(&format!("implausible {what} length {len}")));
        }
        let mut bytes = vec![0u8; len];
        self.take(&mut bytes, what)?;
        String::from_utf8(bytes).map_err(|_| self.corrupt(&format!("{what} is not UTF-8")))
    }
    fn array<const N: usize, T>(
        &mut self,
        count: usize,
        what: &str,
        from_bytes: fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(count.min(1 << 28));
        let mut buffer = vec![0u8; (1 << 16) / N * N];
        let mut left = count;
        while left > 0 {
            let n = left.min(buffer.len() / N);
            let bytes = &mut buffer[..n * N];
            self.take(bytes, what)?;
            out.extend(
                bytes
                    .chunks_exact(N)
                    .map(|c| from_bytes(c.try_into().unwrap())),
            );
            left -= n;
        }
        Ok(out)
    }
}

impl Bm25Index {
    /// Writes the index to `path` (format above), atomically: a failed write leaves the
    /// previous index in place.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = AtomicFile::create(path).map_err(|e| MiningError::io(path, e))?;
        let out = HashingWriter {
            inner: file,
            hash: FNV_OFFSET,
        };
        let header = serde_json::to_vec(&Header {
            config: self.config.clone(),
            num_docs: self.num_docs() as u64,
            num_terms: self.num_terms() as u64,
            num_postings: self.num_postings() as u64,
        })
        .map_err(|e| MiningError::io(path, e.into()))?;
        let mut terms: Vec<&str> = vec![""; self.num_terms()];
        for (term, &id) in &self.terms {
            terms[id as usize] = term;
        }
        let write = |mut out: HashingWriter<AtomicFile>| -> std::io::Result<()> {
            out.put(MAGIC)?;
            out.put_u32(FORMAT_VERSION)?;
            out.put_u32(header.len() as u32)?;
            out.put(&header)?;
            for id in self.doc_ids.iter() {
                out.put_str(id)?;
            }
            out.put_array(&self.doc_lengths, u32::to_le_bytes)?;
            for term in &terms {
                out.put_str(term)?;
            }
            out.put_array(&self.offsets, u64::to_le_bytes)?;
            out.put_array(&self.posting_docs, u32::to_le_bytes)?;
            out.put_array(&self.posting_tfs, u16::to_le_bytes)?;
            let checksum = out.hash;
            out.inner.write_all(&checksum.to_le_bytes())?;
            out.inner.commit()
        };
        write(out).map_err(|e| MiningError::io(path, e))
    }

    /// Reads an index written by [`Bm25Index::save`], checking it thoroughly.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| MiningError::io(path, e))?;
        let mut input = HashingReader {
            inner: BufReader::with_capacity(1 << 20, file),
            hash: FNV_OFFSET,
            path,
        };
        let mut magic = [0u8; 8];
        input.take(&mut magic, "the magic bytes")?;
        if &magic != MAGIC {
            return Err(input.corrupt("wrong magic bytes"));
        }
        let version = input.u32("the version")?;
        if version != FORMAT_VERSION {
            return Err(MiningError::Index {
                path: path.to_path_buf(),
                message: format!(
                    "index format version {version}; this build reads version {FORMAT_VERSION}: rebuild the index"
                ),
            });
        }
        let header_len = input.u32("the header")? as usize;
        if header_len > 1 << 20 {
            return Err(input.corrupt("implausible header length"));
        }
        let mut header = vec![0u8; header_len];
        input.take(&mut header, "the header")?;
        let header: Header = serde_json::from_slice(&header)
            .map_err(|e| input.corrupt(&format!("bad header: {e}")))?;
        header.config.validate()?;
        let (num_docs, num_terms, num_postings) = (
            header.num_docs as usize,
            header.num_terms as usize,
            header.num_postings as usize,
        );
        if header.num_docs >= u32::MAX as u64 {
            return Err(input.corrupt("too many documents"));
        }
        let mut doc_ids = DocIds::with_capacity(num_docs.min(1 << 26));
        for _ in 0..num_docs {
            doc_ids.push(&input.string("a document id")?);
        }
        let doc_lengths = input.array(num_docs, "document lengths", u32::from_le_bytes)?;
        let mut terms = HashMap::with_capacity(num_terms.min(1 << 26));
        for id in 0..num_terms {
            let term = input.string("a term")?;
            if terms.insert(term.into_boxed_str(), id as u32).is_some() {
                return Err(input.corrupt("a term is listed twice"));
            }
        }
        let offsets: Vec<u64> =
            input.array(num_terms + 1, "posting offsets", u64::from_le_bytes)?;
        let posting_docs: Vec<u32> = input.array(num_postings, "postings", u32::from_le_bytes)?;
        let posting_tfs: Vec<u16> =
            input.array(num_postings, "term frequencies", u16::from_le_bytes)?;
        let expected = input.hash;
        let mut stored = [0u8; 8];
        input
            .inner
            .read_exact(&mut stored)
            .map_err(|_| input.corrupt("file ends before the checksum"))?;
        if u64::from_le_bytes(stored) != expected {
            return Err(input.corrupt("checksum mismatch (file corrupted)"));
        }
        if input
            .inner
            .read(&mut [0u8; 1])
            .map_err(|e| MiningError::io(path, e))?
            != 0
        {
            return Err(input.corrupt("trailing bytes after the checksum"));
        }
        if offsets.first() != Some(&0)
            || offsets.last() != Some(&(num_postings as u64))
            || offsets.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(input.corrupt("posting offsets out of order"));
        }
        for w in offsets.windows(2) {
            let docs = &posting_docs[w[0] as usize..w[1] as usize];
            if docs.iter().any(|&d| d as usize >= num_docs) || docs.windows(2).any(|p| p[0] >= p[1])
            {
                return Err(input.corrupt("postings out of range or out of order"));
            }
        }
        if posting_tfs.contains(&0) {
            return Err(input.corrupt("zero term frequency"));
        }
        let analyzer = Analyzer::new(header.config.analyzer.clone())?;
        let mut index = Bm25Index {
            config: header.config,
            analyzer,
            doc_ids,
            doc_lengths,
            terms,
            offsets,
            posting_docs,
            posting_tfs,
            idf: Vec::new(),
            length_factor: Vec::new(),
        };
        index.derive();
        Ok(index)
    }
}
