"""Helpers of scripts/gpu/run_all.sh (run on the GPU machine, with PyTorch and transformers).

  check.py make-fixture-ce MINILM FIXTURE OUT_DIR     the parity fixture's cross-encoder
      (all-MiniLM-L6-v2 + the fixture's seeded head) saved with transformers
  check.py fixture-inputs FIXTURE PAIRS.jsonl TEXTS.jsonl
  check.py parity FIXTURE LOGITS.jsonl EMBEDDINGS.jsonl   max abs differences as JSON
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
        ours = json.load(open(path))
        length, batch = path[:-5].split("-")[-2:]
        row = {"len": int(length), "batch": int(batch), "rankforge_f32": ours["pairs_per_second"]}
        tokens = ours["tokens"] / ours["pairs"]
        row["tflops_f32"] = row["rankforge_f32"] * flops_per_pair(tokens) / 1e12
        for dtype in ("fp32", "fp16", "bf16"):
            peer = os.path.join(out, f"predict-pytorch-{dtype}-{length}-{batch}.json")
            if os.path.exists(peer):
                row[dtype] = json.load(open(peer))["pairs_per_second"]
        rows.append(row)
    if rows:
        lines += ["## Inference (pairs/s, median of 5)", "",
                  "| max len | batch | rankforge f32 | PyTorch fp32 | ratio | PyTorch fp16 | PyTorch bf16 | rankforge TFLOP/s (% of fp32 peak) |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(rows, key=lambda r: (r["len"], r["batch"])):
            peak = f" ({100 * r['tflops_f32'] / PEAK_TFLOPS[gpu]['fp32']:.0f}%)" if gpu else ""
            ratio = r["rankforge_f32"] / r["fp32"] if r.get("fp32") else float("nan")
            lines.append(f"| {r['len']} | {r['batch']} | {r['rankforge_f32']:.0f} | {r.get('fp32', float('nan')):.0f} | {ratio:.2f}x | "
                         f"{r.get('fp16', float('nan')):.0f} | {r.get('bf16', float('nan')):.0f} | {r['tflops_f32']:.1f}{peak} |")
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
    elif cmd == "summary":
        print(summary(*args))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
