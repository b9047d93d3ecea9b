//! `rankforge embed`: embed texts with a bi-encoder (one vector per text, jsonl), or with a
//! ColBERT (`--multi-vector`: every scored token's vector, in the binary layout of
//! `rankforge_model::colbert::vectors_file`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::Args;
use indicatif::ProgressBar;
use rankforge_model::colbert::{write_token_vectors, ColBert, ColBertEncoded};
use rankforge_model::run_options::progress_bar;
use rankforge_model::{Encoded, RunOptions};
use serde_json::json;

use super::common::ModelArgs;
use crate::jsonl;

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Input jsonl: one `{"text": "..."}` per line.
    #[arg(long)]
    pub input: PathBuf,
    /// Output jsonl: one `{"embedding": [...]}` per input line, same order, with the model's
    /// own pooling, normalisation and max_seq_length. With `--multi-vector`, a binary file
    /// instead (see there).
    #[arg(long)]
    pub output: PathBuf,
    /// ColBERT model: write every scored token's unit vector of each text (documents: the
    /// skiplist's tokens left out; queries: all `query_length` of them) to `--output` as one
    /// binary file, all numbers little-endian: magic `RFMV`, u32 version 1, u32 dim, u64 count
    /// (texts), count × u32 lengths (vectors per text), then Σ lengths × dim f32 values, text
    /// after text, row after row.
    #[arg(long)]
    pub multi_vector: bool,
    /// With `--multi-vector`: encode the texts as queries (prefix and `[MASK]` expansion)
    /// rather than as documents.
    #[arg(long, requires = "multi_vector")]
    pub queries: bool,
    /// Embed shard I of N only (0-based, e.g. `$SLURM_ARRAY_TASK_ID/8`): the input lines are
    /// cut into N contiguous ranges and this job embeds range I; `rankforge merge` of the N
    /// outputs, in shard order, is byte-identical to the unsplit output.
    #[arg(long, env = "RANKFORGE_SHARD", value_name = "I/N", value_parser = crate::shard::parse)]
    pub shard: Option<crate::shard::Shard>,
}

pub fn run(args: EmbedArgs) -> Result<()> {
    super::common::check_output(&args.output)?;
    crate::on_device!(args.model.device, embed(&args))
}

fn embed<B: Backend>(device: &B::Device, args: &EmbedArgs) -> Result<()> {
    let all_rows = rankforge_data::read_string_fields(&args.input, &["text"])?;
    let rows = crate::shard::select(args.shard, &all_rows, "texts");
    if rows.is_empty() {
        // An empty shard (more shards than texts): an empty output of the same format, and no
        // model to load for it.
        if args.multi_vector {
            write_token_vectors(&args.output, &[])?;
        } else {
            jsonl::write_lines(&args.output, std::iter::empty())?;
        }
        eprintln!("no texts in this shard → {} (empty)", args.output.display());
        return Ok(());
    }
    if args.multi_vector {
        return embed_multi_vector::<B>(device, args, rows);
    }
    let (encoder, report) = args
        .model
        .bi_encoder::<B>()
        .progress(false)
        .load(device)
        .with_context(|| format!("loading bi-encoder {}", args.model.model.display()))?;
    report.warn();
    let texts: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let sequences = encoder.tokenizer.encode_texts(&texts)?;
    let head = encoder.head();
    let embeddings = by_length(sequences, Encoded::len, !args.model.quiet, |group| {
        encoder.embed_encoded(group, head)
    });
    jsonl::write_lines(
        &args.output,
        embeddings.iter().map(|e| json!({ "embedding": e })),
    )?;
    eprintln!(
        "embedded {} texts → {}",
        embeddings.len(),
        args.output.display()
    );
    Ok(())
}

/// `--multi-vector`: the ColBERT's per-token vectors of every text, in the layout
/// [`rankforge_model::colbert::write_token_vectors`] writes.
fn embed_multi_vector<B: Backend>(
    device: &B::Device,
    args: &EmbedArgs,
    rows: &[Vec<String>],
) -> Result<()> {
    let dir = &args.model.model;
    if ColBert::<B>::recognise(dir).is_none() {
        bail!(
            "{}: --multi-vector needs a ColBERT model (PyLate or Stanford format)",
            dir.display()
        );
    }
    let run = RunOptions {
        batching: args.model.batching(),
        // One bar for all the groups of `by_length`.
        progress: false,
    };
    let (colbert, report) = ColBert::<B>::load_for_inference(
        dir,
        device,
        run,
        args.model.precision,
        args.model.max_length,
    )
    .with_context(|| format!("loading ColBERT {}", dir.display()))?;
    report.warn();
    let texts: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let sequences = if args.queries {
        colbert.tokenizer.encode_queries(&texts)?
    } else {
        colbert.tokenizer.encode_documents(&texts)?
    };
    let vectors = by_length(
        sequences,
        |s: &ColBertEncoded| s.ids.len(),
        !args.model.quiet,
        |group| colbert.encode_scored(group),
    );
    write_token_vectors(&args.output, &vectors)?;
    let total: usize = vectors.iter().map(|v| v.rows()).sum();
    eprintln!(
        "embedded {} texts ({total} vectors of dim {}) → {}",
        vectors.len(),
        colbert.model.dim(),
        args.output.display()
    );
    Ok(())
}

/// The outputs of `encode` for every sequence, in input order, with `encode` called on the
/// sequences of one length at a time (longest first; each call still batched by
/// `--batch-size` / `--max-batch-tokens`). A batch of sequences of one length has no padding,
/// and without padding a sequence's output depends on it alone, not on the sequences that
/// share its batch: a text gets the same bits at any `--batch-size` and in any `--shard`, so
/// merged shards are byte-identical to the unsplit output.
fn by_length<S, T>(
    sequences: Vec<S>,
    length: impl Fn(&S) -> usize,
    progress: bool,
    mut encode: impl FnMut(&[S]) -> Vec<T>,
) -> Vec<T> {
    let count = sequences.len();
    let mut groups: BTreeMap<usize, (Vec<usize>, Vec<S>)> = BTreeMap::new();
    for (index, sequence) in sequences.into_iter().enumerate() {
        let group = groups.entry(length(&sequence)).or_default();
        group.0.push(index);
        group.1.push(sequence);
    }
    let bar = progress_bar(count, progress, "embedding").unwrap_or_else(ProgressBar::hidden);
    let mut outputs: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for (_, (indices, group)) in groups.into_iter().rev() {
        let encoded = encode(&group);
        assert_eq!(encoded.len(), group.len(), "one output per sequence");
        for (index, output) in indices.into_iter().zip(encoded) {
            outputs[index] = Some(output);
        }
        bar.inc(group.len() as u64);
    }
    bar.finish_and_clear();
    outputs
        .into_iter()
        .map(|o| o.expect("every sequence is in a group"))
        .collect()
}
