//! `rankforge merge`: puts the outputs of a job split with `--shard I/N` back together.
//!
//! - TREC runs (`retrieve`, `rerank`): the queries of all shards in one run, each query's list
//!   sorted as [`rankforge_data::Run::write`] sorts it (score descending, then document id
//!   descending), ranks renumbered from 1, each line's tag kept; `--top-k` keeps each query's
//!   best k. A query in two inputs is an error naming both: shards split by query never share
//!   one.
//! - jsonl (`embed`'s embeddings, `mine`'s records): the lines of the inputs concatenated in
//!   input order, each checked to be JSON.
//! - multi-vector files (`embed --multi-vector`): one file with the texts of the inputs in
//!   input order (the header's count and the lengths table rewritten).
//!
//! Given the shards in shard order, the merged file is byte-identical to the unsplit job's
//! output.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rankforge_data::AtomicFile;
use rankforge_model::colbert::vectors_file::MULTI_VECTOR_MAGIC;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MergeFormat {
    /// Whatever the inputs are (a multi-vector file by its `RFMV` magic, jsonl by a first line
    /// starting with `{`, a TREC run otherwise).
    Auto,
    /// TREC runs (`retrieve`, `rerank`).
    Run,
    /// JSON lines (`embed`, `mine`): concatenated.
    Jsonl,
    /// `embed --multi-vector` files: concatenated, header rewritten.
    MultiVector,
}

impl MergeFormat {
    fn name(self) -> &'static str {
        match self {
            MergeFormat::Auto => "auto",
            MergeFormat::Run => "a TREC run",
            MergeFormat::Jsonl => "a jsonl file",
            MergeFormat::MultiVector => "a multi-vector file",
        }
    }
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard outputs, in shard order (0, 1, ..., N−1; jsonl and multi-vector files are
    /// concatenated in this order).
    #[arg(long, num_args = 1.., required = true, value_name = "SHARD")]
    pub inputs: Vec<PathBuf>,
    /// The merged file.
    #[arg(long)]
    pub output: PathBuf,
    /// Runs: documents kept per query, the best by score [default: all].
    #[arg(long)]
    pub top_k: Option<usize>,
    /// What the inputs hold.
    #[arg(long, value_enum, default_value_t = MergeFormat::Auto)]
    pub format: MergeFormat,
}

pub fn run(args: MergeArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    let mut seen = HashSet::new();
    for path in &args.inputs {
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if !seen.insert(key) {
            bail!("{}: given twice in --inputs", path.display());
        }
    }
    let mut format = args.format;
    let mut first: Option<(&Path, MergeFormat)> = None;
    for path in &args.inputs {
        let Some(found) = detect(path)? else { continue };
        if let Some((other, other_format)) = first {
            if found != other_format {
                bail!(
                    "{} is {} but {} is {}: merge takes the shards of one job",
                    path.display(),
                    found.name(),
                    other.display(),
                    other_format.name()
                );
            }
        } else {
            first = Some((path, found));
        }
        if format != MergeFormat::Auto && found != format {
            bail!(
                "{}: --format {:?} given, but the file is {}",
                path.display(),
                format,
                found.name()
            );
        }
    }
    if format == MergeFormat::Auto {
        // All inputs empty: empty shards of a run or jsonl job merge into an empty file.
        let empty = if args.top_k.is_some() {
            MergeFormat::Run
        } else {
            MergeFormat::Jsonl
        };
        format = first.map_or(empty, |(_, f)| f);
    }
    if args.top_k.is_some() && format != MergeFormat::Run {
        bail!("--top-k applies to runs; the inputs are {}", format.name());
    }
    let summary = match format {
        MergeFormat::Run => merge_runs(&args.inputs, &args.output, args.top_k)?,
        MergeFormat::Jsonl => merge_jsonl(&args.inputs, &args.output)?,
        MergeFormat::MultiVector => merge_multi_vector(&args.inputs, &args.output)?,
        MergeFormat::Auto => unreachable!("resolved above"),
    };
    eprintln!(
        "merged {} inputs ({summary}) → {}",
        args.inputs.len(),
        args.output.display()
    );
    Ok(())
}

fn open(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// The format of a file by its first bytes; `None` for a file with nothing but white space.
fn detect(path: &Path) -> Result<Option<MergeFormat>> {
    let mut reader = BufReader::new(open(path)?);
    let mut start = Vec::new();
    loop {
        let buf = reader
            .fill_buf()
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len();
        start.extend_from_slice(buf);
        reader.consume(n);
        if start.len() >= MULTI_VECTOR_MAGIC.len()
            && start
                .iter()
                .any(|b| !b.is_ascii_whitespace() && !BOM.contains(b))
        {
            break;
        }
    }
    if start.starts_with(MULTI_VECTOR_MAGIC) {
        return Ok(Some(MergeFormat::MultiVector));
    }
    let text = start.strip_prefix(BOM).unwrap_or(&start);
    Ok(match text.iter().find(|b| !b.is_ascii_whitespace()) {
        None => None,
        Some(b'{') => Some(MergeFormat::Jsonl),
        Some(_) => Some(MergeFormat::Run),
    })
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The lines of a text file, numbered from 1, as bytes without the line break (a BOM at the
/// start dropped), with whether each ended in a line break.
fn for_each_line(
    path: &Path,
    mut each: impl FnMut(usize, &[u8], bool) -> Result<()>,
) -> Result<()> {
    let mut reader = BufReader::new(open(path)?);
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let ended = line.last() == Some(&b'\n');
        let mut body: &[u8] = if ended { &line[..n - 1] } else { &line };
        if number == 1 {
            body = body.strip_prefix(BOM).unwrap_or(body);
        }
        each(number, body, ended)?;
    }
}

/// One document of a query's merged list.
struct Entry {
    doc_id: String,
    score: f64,
    /// Index into the tags seen, `None` for a line without a tag column.
    tag: Option<usize>,
    /// Its line in its input.
    line: usize,
}

/// [`rankforge_data::sort_trec`]'s order: score descending, then document id descending.
fn trec_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    b.score
        .total_cmp(&a.score)
        .then_with(|| b.doc_id.cmp(&a.doc_id))
}

fn merge_runs(inputs: &[PathBuf], output: &Path, top_k: Option<usize>) -> Result<String> {
    // query → (the input it came from, its documents)
    let mut queries: BTreeMap<String, (usize, Vec<Entry>)> = BTreeMap::new();
    let mut tags: Vec<String> = Vec::new();
    let mut tag_index: HashMap<String, usize> = HashMap::new();
    let mut lines = 0usize;
    for (input, path) in inputs.iter().enumerate() {
        for_each_line(path, |number, line, _| {
            let at = || format!("{}:{number}", path.display());
            let line = std::str::from_utf8(line)
                .map_err(|_| anyhow::anyhow!("{}: invalid UTF-8", at()))?;
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.is_empty() {
                return Ok(());
            }
            if cols.len() < 5 || cols.len() > 6 {
                bail!(
                    "{}: expected `qid Q0 docid rank score [tag]`, found {} columns",
                    at(),
                    cols.len()
                );
            }
            if cols[3].parse::<i64>().is_err() {
                bail!("{}: field `rank`: `{}` is not an integer", at(), cols[3]);
            }
            let score: f64 = cols[4].parse().map_err(|_| {
                anyhow::anyhow!("{}: field `score`: `{}` is not a number", at(), cols[4])
            })?;
            if !score.is_finite() {
                bail!("{}: field `score`: score is not finite", at());
            }
            let (qid, doc_id) = (cols[0], cols[2]);
            let (from, docs) = queries
                .entry(qid.to_string())
                .or_insert_with(|| (input, Vec::new()));
            if *from != input {
                bail!(
                    "{}: query `{qid}` is also in {}: the shards of one job never share a query \
                     (inputs of two different jobs, or one shard given twice?)",
                    at(),
                    inputs[*from].display()
                );
            }
            let tag = cols.get(5).map(|&tag| {
                *tag_index.entry(tag.to_string()).or_insert_with(|| {
                    tags.push(tag.to_string());
                    tags.len() - 1
                })
            });
            docs.push(Entry {
                doc_id: doc_id.to_string(),
                score,
                tag,
                line: number,
            });
            lines += 1;
            Ok(())
        })?;
    }
    let failed = || format!("{}: write failed", output.display());
    let mut out = AtomicFile::create(output)
        .with_context(|| format!("{}: cannot create", output.display()))?;
    let mut written = 0usize;
    for (qid, (input, mut docs)) in std::mem::take(&mut queries) {
        docs.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
        if let Some(pair) = docs.windows(2).find(|p| p[0].doc_id == p[1].doc_id) {
            let (first, second) = (
                pair[0].line.min(pair[1].line),
                pair[0].line.max(pair[1].line),
            );
            bail!(
                "{}:{second}: field `docid`: document `{}` listed twice for query `{qid}` (also line {first})",
                inputs[input].display(),
                pair[0].doc_id
            );
        }
        docs.sort_by(trec_order);
        if let Some(k) = top_k {
            docs.truncate(k);
        }
        for (rank, doc) in docs.iter().enumerate() {
            match doc.tag {
                Some(tag) => writeln!(
                    out,
                    "{qid} Q0 {} {} {} {}",
                    doc.doc_id,
                    rank + 1,
                    doc.score,
                    tags[tag]
                ),
                None => writeln!(out, "{qid} Q0 {} {} {}", doc.doc_id, rank + 1, doc.score),
            }
            .with_context(failed)?;
            written += 1;
        }
    }
    out.commit().with_context(failed)?;
    Ok(format!("runs: {lines} lines read, {written} written"))
}

fn merge_jsonl(inputs: &[PathBuf], output: &Path) -> Result<String> {
    let failed = || format!("{}: write failed", output.display());
    let mut out = AtomicFile::create(output)
        .with_context(|| format!("{}: cannot create", output.display()))?;
    let mut records = 0usize;
    for path in inputs {
        for_each_line(path, |number, line, ended| {
            if line.iter().all(u8::is_ascii_whitespace) {
                return Ok(());
            }
            serde_json::from_slice::<serde::de::IgnoredAny>(line).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{number}: not a JSON record ({e}){}",
                    path.display(),
                    if ended {
                        ""
                    } else {
                        " — the file's last line has no line break: was it cut short?"
                    }
                )
            })?;
            out.write_all(line).with_context(failed)?;
            out.write_all(b"\n").with_context(failed)?;
            records += 1;
            Ok(())
        })?;
    }
    out.commit().with_context(failed)?;
    Ok(format!("jsonl: {records} records"))
}

/// A multi-vector file's header: `RFMV`, u32 version, u32 dim, u64 count, then count u32
/// lengths (see `rankforge embed --help`).
struct VectorsHeader {
    dim: u32,
    /// The lengths table, as stored (count × u32 little-endian).
    lengths: Vec<u8>,
    /// Bytes of f32 values after the table.
    data_bytes: u64,
}

const VECTORS_VERSION: u32 = 1;
const VECTORS_HEADER: usize = 20;

fn read_vectors_header(path: &Path, file: &mut File) -> Result<VectorsHeader> {
    let invalid = |message: String| {
        anyhow::anyhow!(
            "{}: not a complete rankforge multi-vector file: {message}",
            path.display()
        )
    };
    let size = file
        .metadata()
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    let mut header = [0u8; VECTORS_HEADER];
    file.read_exact(&mut header)
        .map_err(|_| invalid(format!("{size} bytes, shorter than the header")))?;
    if &header[..4] != MULTI_VECTOR_MAGIC {
        return Err(invalid("no RFMV header".into()));
    }
    let version = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if version != VECTORS_VERSION {
        return Err(invalid(format!("version {version}, expected 1")));
    }
    let dim = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
    let count = u64::from_le_bytes(header[12..20].try_into().expect("8 bytes"));
    let table = count
        .checked_mul(4)
        .filter(|&n| n + VECTORS_HEADER as u64 <= size)
        .ok_or_else(|| invalid(format!("{count} lengths do not fit in its {size} bytes")))?;
    let mut lengths = vec![0u8; table as usize];
    file.read_exact(&mut lengths)
        .map_err(|e| invalid(format!("reading the lengths: {e}")))?;
    let rows: u64 = lengths
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64)
        .sum();
    let data_bytes = rows * dim as u64 * 4;
    let expected = VECTORS_HEADER as u64 + table + data_bytes;
    if size != expected || (dim == 0 && rows > 0) {
        return Err(invalid(format!(
            "{size} bytes, expected {expected} for {count} texts, {rows} vectors of width {dim}"
        )));
    }
    Ok(VectorsHeader {
        dim,
        lengths,
        data_bytes,
    })
}

fn merge_multi_vector(inputs: &[PathBuf], output: &Path) -> Result<String> {
    let mut headers = Vec::with_capacity(inputs.len());
    let mut dim: Option<(u32, &Path)> = None;
    for path in inputs {
        let header = read_vectors_header(path, &mut open(path)?)?;
        // An empty shard's file says width 0: only files with texts must agree.
        if !header.lengths.is_empty() {
            match dim {
                Some((d, other)) if d != header.dim => bail!(
                    "{} holds vectors of width {}, but {} of width {d}",
                    path.display(),
                    header.dim,
                    other.display()
                ),
                Some(_) => {}
                None => dim = Some((header.dim, path)),
            }
        }
        headers.push(header);
    }
    let count: u64 = headers.iter().map(|h| h.lengths.len() as u64 / 4).sum();
    let dim = dim.map_or(0, |(d, _)| d);
    let failed = || format!("{}: write failed", output.display());
    let mut out = AtomicFile::create(output)
        .with_context(|| format!("{}: cannot create", output.display()))?;
    out.write_all(MULTI_VECTOR_MAGIC).with_context(failed)?;
    out.write_all(&VECTORS_VERSION.to_le_bytes())
        .with_context(failed)?;
    out.write_all(&dim.to_le_bytes()).with_context(failed)?;
    out.write_all(&count.to_le_bytes()).with_context(failed)?;
    for header in &headers {
        out.write_all(&header.lengths).with_context(failed)?;
    }
    for (path, header) in inputs.iter().zip(&headers) {
        let mut file = open(path)?;
        file.seek(SeekFrom::Start(
            VECTORS_HEADER as u64 + header.lengths.len() as u64,
        ))
        .with_context(|| format!("{}: cannot read", path.display()))?;
        let copied = std::io::copy(&mut file.take(header.data_bytes), &mut out)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if copied != header.data_bytes {
            bail!("{}: changed while it was being merged", path.display());
        }
    }
    out.commit().with_context(failed)?;
    Ok(format!("multi-vector: {count} texts of width {dim}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rankforge_data::{sort_trec, ScoredDoc};

    #[test]
    fn trec_order_is_sort_trecs() {
        let raw = [
            ("d1", 0.5),
            ("d3", 0.5),
            ("d2", 1.0),
            ("d10", 0.5),
            ("d0", -0.0),
            ("d9", 0.0),
            ("d5", 2.0),
        ];
        let mut a: Vec<ScoredDoc> = raw
            .iter()
            .map(|&(d, s)| ScoredDoc {
                doc_id: d.into(),
                score: s,
            })
            .collect();
        let mut b: Vec<Entry> = raw
            .iter()
            .map(|&(d, s)| Entry {
                doc_id: d.into(),
                score: s,
                tag: None,
                line: 0,
            })
            .collect();
        sort_trec(&mut a);
        b.sort_by(trec_order);
        let a: Vec<&str> = a.iter().map(|d| d.doc_id.as_str()).collect();
        let b: Vec<&str> = b.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(a, b);
    }
}
