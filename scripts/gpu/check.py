"""Helpers of scripts/gpu/run_all.sh (run on the GPU machine, with PyTorch and transformers).

  check.py make-fixture-ce MINILM FIXTURE OUT_DIR     the parity fixture's cross-encoder
      (all-MiniLM-L6-v2 + the fixture's seeded head) saved with transformers
  check.py fixture-inputs FIXTURE PAIRS.jsonl TEXTS.jsonl
  check.py parity FIXTURE LOGITS.jsonl EMBEDDINGS.jsonl   max abs differences as JSON
  check.py run-pairs BEIR_DIR RUN.trec OUT.jsonl          a run's (query, document) pairs
  check.py summary OUT                                     summary.md from OUT's JSON files
"""
import glob
import json
import os
import statistics
import sys

# Dense matmul peaks (no sparsity) from NVIDIA's datasheets, in TFLOP/s.
PEAK_TFLOPS = {
    "H100": {"fp32": 67.0, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4},
    "H200": {"fp32": 67.0, "tf32": 494.7, "fp16": 989.4, "bf16": 989.4},
}


def read_jsonl(path, field):
    with open(path) as f:
        return [json.loads(line)[field] for line in f if line.strip()]


def make_fixture_ce(minilm, fixture, out):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    fx = json.load(open(fixture))
    model = AutoModelForSequenceClassification.from_pretrained(minilm, num_labels=1)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.tensor(fx["head"]["weight"]).view(1, -1))
        model.classifier.bias.copy_(torch.tensor(fx["head"]["bias"]).view(1))
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(minilm).save_pretrained(out)


def fixture_inputs(fixture, pairs_out, texts_out):
    fx = json.load(open(fixture))
    with open(pairs_out, "w") as f:
        for q, d in fx["pairs"]:
            f.write(json.dumps({"query": q, "document": d}) + "\n")
    with open(texts_out, "w") as f:
        for t in fx["texts"]:
            f.write(json.dumps({"text": t}) + "\n")


def parity(fixture, logits_path, embeddings_path):
    fx = json.load(open(fixture))
    logits = read_jsonl(logits_path, "score")
    embeddings = read_jsonl(embeddings_path, "embedding")
    logit_diff = max(abs(a - b) for a, b in zip(logits, fx["logits"]))
    emb_diff = max(abs(a - b) for u, v in zip(embeddings, fx["embeddings"]) for a, b in zip(u, v))
    result = {
        "logits_max_abs_diff": logit_diff,
        "embeddings_max_abs_diff": emb_diff,
        "tolerance": 1e-4,
        "pass": logit_diff <= 1e-4 and emb_diff <= 1e-4 and len(logits) == len(fx["logits"]),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["pass"] else 1


def run_pairs(beir, run, out):
    corpus = {}
    for line in open(os.path.join(beir, "corpus.jsonl")):
        d = json.loads(line)
        corpus[d["_id"]] = (d.get("title", "") + " " + d["text"]).strip() if d.get("title") else d["text"]
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(os.path.join(beir, "queries.jsonl"))}
    with open(out, "w") as f:
        for line in open(run):
            qid, _, did, _rank, _score, _tag = line.split()
            f.write(json.dumps({"qid": qid, "docid": did, "query": queries[qid], "document": corpus[did]}) + "\n")


def half_precision_agreement(out, pairs_path):
    """bf16/f16 vs f32 scores of the same pairs: max |diff| / max |f32 logit| and the mean
    per-query Kendall tau."""
    qids = read_jsonl(pairs_path, "qid")
    base = read_jsonl(os.path.join(out, "dev-top100-f32.jsonl"), "score")
    scale = max(abs(x) for x in base)
    lines = []
    for precision in ("bf16", "f16"):
        path = os.path.join(out, f"dev-top100-{precision}.jsonl")
        if not os.path.exists(path):
            continue
        half = read_jsonl(path, "score")
        rel = max(abs(a - b) for a, b in zip(half, base)) / scale
        by_query = {}
        for q, a, b in zip(qids, half, base):
            by_query.setdefault(q, ([], []))
            by_query[q][0].append(a)
            by_query[q][1].append(b)
        taus = [kendall_tau(a, b) for a, b in by_query.values() if len(a) > 1]
        lines.append(f"rankforge {precision} vs f32, SciFact dev BM25 top-100 ({len(base)} pairs, "
                     f"{len(taus)} queries): max error / max |logit| {rel:.2e}, "
                     f"mean Kendall tau {statistics.mean(taus):.4f}, min {min(taus):.4f}")
    return lines


def kendall_tau(a, b):
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def flops_per_pair(tokens, hidden=384, layers=6, intermediate=1536):
    # Matmul FLOPs of one BERT forward over `tokens` tokens: projections, FFN, attention.
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * intermediate)
    attention = 2 * 2 * tokens * tokens * hidden
    return layers * (per_token * tokens + attention)


def summary(out):
    lines = ["# GPU run summary", ""]
    device = open(os.path.join(out, "device.txt")).read().strip() if os.path.exists(os.path.join(out, "device.txt")) else "?"
    lines += ["Device: " + device.replace("\n", "; "), ""]
    gpu = next((k for k in PEAK_TFLOPS if k in device), None)
    if os.path.exists(os.path.join(out, "parity.json")):
        p = json.load(open(os.path.join(out, "parity.json")))
        lines += [f"Parity (f32, GPU vs PyTorch fixture): logits {p['logits_max_abs_diff']:.2e}, "
                  f"embeddings {p['embeddings_max_abs_diff']:.2e}, pass={p['pass']}", ""]
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "predict-rankforge-f32-*.json"))):
        length, batch = path[:-5].split("-")[-2:]
        ours = json.load(open(path))
        tokens = ours["tokens"] / ours["pairs"]
        row = {"len": int(length), "batch": int(batch), "flops": flops_per_pair(tokens)}
        for ours_name, peer_name in (("f32", "fp32"), ("bf16", "bf16"), ("f16", "fp16")):
            mine = os.path.join(out, f"predict-rankforge-{ours_name}-{length}-{batch}.json")
            peer = os.path.join(out, f"predict-pytorch-{peer_name}-{length}-{batch}.json")
            row[ours_name] = json.load(open(mine))["pairs_per_second"] if os.path.exists(mine) else float("nan")
            row["pt_" + ours_name] = json.load(open(peer))["pairs_per_second"] if os.path.exists(peer) else float("nan")
        rows.append(row)
    if rows:
        lines += ["## Inference (pairs/s, median of 5; ratio = rankforge / PyTorch at the same precision)", "",
                  "| max len | batch | f32 | PyTorch fp32 | ratio | bf16 | PyTorch bf16 | ratio | f16 | PyTorch fp16 | ratio | TFLOP/s f32 / bf16 (% of peak) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (r["len"], r["batch"])):
            cells = []
            for p in ("f32", "bf16", "f16"):
                cells += [f"{r[p]:.0f}", f"{r['pt_' + p]:.0f}", f"{r[p] / r['pt_' + p]:.2f}x"]
            t32, t16 = r["f32"] * r["flops"] / 1e12, r["bf16"] * r["flops"] / 1e12
            peak = (f" ({100 * t32 / PEAK_TFLOPS[gpu]['fp32']:.0f}% / {100 * t16 / PEAK_TFLOPS[gpu]['bf16']:.0f}%)"
                    if gpu else "")
            lines.append(f"| {r['len']} | {r['batch']} | " + " | ".join(cells) + f" | {t32:.1f} / {t16:.1f}{peak} |")
        lines.append("")
    ours_scores = os.path.join(out, "predict-rankforge-scores-256.jsonl")
    if os.path.exists(ours_scores):
        ours = read_jsonl(ours_scores, "score")
        for dtype in ("fp32", "fp16", "bf16"):
            peer = os.path.join(out, f"predict-pytorch-{dtype}-256-32.json")
            if os.path.exists(peer):
                theirs = json.load(open(peer))["scores"]
                rel = max(abs(a - b) / max(abs(b), 1e-6) for a, b in zip(ours, theirs))
                lines.append(f"rankforge f32 vs PyTorch {dtype} scores (4096 pairs, len 256): "
                             f"Kendall tau {kendall_tau(ours, theirs):.4f}, max relative difference {rel:.2e}")
        lines.append("")
    if os.path.exists(os.path.join(out, "dev-top100-f32.jsonl")):
        lines += half_precision_agreement(out, os.path.join("gpu-carry", "data", "dev-top100-pairs.jsonl")) + [""]
    ours = [json.load(open(p))["pairs_per_s"] for p in sorted(glob.glob(os.path.join(out, "train-rankforge-*.json")))]
    peer = [json.load(open(p))["pairs_per_s"] for p in sorted(glob.glob(os.path.join(out, "train-pytorch-*.json")))]
    if ours and peer:
        a, b = statistics.median(ours), statistics.median(peer)
        lines += ["## Training (pairs/s, batch 16 pairs, max length 256, median of runs)", "",
                  f"rankforge {a:.1f} {ours}; PyTorch {b:.1f} {peer}; ratio {a / b:.2f}x", ""]
    metrics = os.path.join(out, "scifact-ce", "metrics.jsonl")
    if os.path.exists(metrics):
        evals = [json.loads(l) for l in open(metrics) if '"eval"' in l]
        if evals:
            lines += ["## configs/scifact-ce.toml on the GPU", "", f"last dev evaluation: {evals[-1]}", ""]
    return "\n".join(lines)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make-fixture-ce":
        make_fixture_ce(*args)
    elif cmd == "fixture-inputs":
        fixture_inputs(*args)
    elif cmd == "parity":
        sys.exit(parity(*args))
    elif cmd == "run-pairs":
        run_pairs(*args)
    elif cmd == "summary":
        print(summary(*args))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
