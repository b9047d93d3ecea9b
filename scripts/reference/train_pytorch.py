"""Plain PyTorch cross-encoder training loop, the reference for rankforge's training speed.

transformers AutoModelForSequenceClassification (num_labels=1, new head) from
all-MiniLM-L6-v2, AdamW (weight decay 0.01, none on biases/LayerNorm), linear warmup/decay,
grad clipping 1.0, ListNet over groups of 1 positive + N BM25-style negatives, batches of
`--batch-pairs` (query, document) pairs padded to the batch's longest, truncated at
`--max-length`; `--threads` CPU threads. Training data: jsonl groups ({"query": ..., "docs": [...], "labels": [...]}) from `--groups`
(the file `rankforge bench train --groups` reads), or, without it, built from the BEIR dir of
`--data` by pairing each judged train query with its positive and random documents (seeded);
`--write-groups FILE` saves those groups for the rankforge side of the comparison.
scripts/bench_train.sh runs both sides on one groups file.

  HF_HUB_OFFLINE=1 .cache/venv-ref/bin/python scripts/reference/train_pytorch.py \
      --model .cache/models/all-MiniLM-L6-v2 --data ../shared/data/scifact \
      --batch-pairs 16 --max-length 256 --steps 12 --threads 2

Prints JSON: pairs/s over the timed steps (the first `--warmup-steps` are not timed).
"""
import argparse
import json
import random
import time


def load_groups(data_dir, group_size, seed):
    import csv
    import os

    corpus = {}
    with open(os.path.join(data_dir, "corpus.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            corpus[d["_id"]] = (d.get("title", "") + " " + d["text"]).strip()
    queries = {}
    with open(os.path.join(data_dir, "queries.jsonl")) as f:
        for line in f:
            q = json.loads(line)
            queries[q["_id"]] = q["text"]
    rng = random.Random(seed)
    doc_ids = sorted(corpus)
    groups = []
    with open(os.path.join(data_dir, "qrels", "train.tsv")) as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for qid, did, grade in reader:
            if int(grade) <= 0:
                continue
            negs = [d for d in rng.sample(doc_ids, group_size) if d != did][: group_size - 1]
            docs = [corpus[did]] + [corpus[d] for d in negs]
            groups.append({"query": queries[qid], "docs": docs, "labels": [float(grade)] + [0.0] * len(negs)})
    rng.shuffle(groups)
    return groups


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", help="HF model directory (required unless --write-groups)")
    p.add_argument("--data", help="BEIR directory (groups built from qrels/train.tsv)")
    p.add_argument("--groups", help="jsonl groups to train on instead of --data")
    p.add_argument("--write-groups", help="write the groups built from --data here and exit")
    p.add_argument("--batch-pairs", type=int, default=16)
    p.add_argument("--group-size", type=int, default=8)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup-steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    if args.groups:
        with open(args.groups) as f:
            groups = [json.loads(line) for line in f if line.strip()]
        args.group_size = len(groups[0]["docs"])
    elif args.data:
        groups = load_groups(args.data, args.group_size, args.seed)
    else:
        p.error("one of --groups / --data is required")
    if args.write_groups:
        with open(args.write_groups, "w") as f:
            for g in groups:
                f.write(json.dumps(g) + "\n")
        return
    if not args.model:
        p.error("--model is required")

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=1).to(args.device)
    model.train()
    no_decay = ["bias", "LayerNorm.weight"]
    params = [
        {"params": [p for n, p in model.named_parameters() if not any(x in n for x in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(x in n for x in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(params, lr=args.lr, eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, max(1, args.steps // 10), args.steps)

    groups_per_batch = max(1, args.batch_pairs // args.group_size)
    timed_pairs, timed_secs, losses, step_seconds = 0, 0.0, [], []
    for step in range(args.steps):
        batch = [groups[(step * groups_per_batch + i) % len(groups)] for i in range(groups_per_batch)]
        pairs = [(g["query"], d) for g in batch for d in g["docs"]]
        labels = torch.tensor([g["labels"] for g in batch], device=args.device)
        start = time.perf_counter()
        enc = tok([q for q, _ in pairs], [d for _, d in pairs], truncation="longest_first",
                  max_length=args.max_length, padding=True, return_tensors="pt").to(args.device)
        logits = model(**enc).logits.view(len(batch), -1)
        target = torch.softmax(labels, dim=-1)
        loss = -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        secs = time.perf_counter() - start
        losses.append(loss.item())
        if step >= args.warmup_steps:
            timed_pairs += len(pairs)
            timed_secs += secs
            step_seconds.append(secs)
    print(json.dumps({
        "framework": "pytorch",
        "torch": torch.__version__,
        "threads": args.threads,
        "batch_pairs": groups_per_batch * args.group_size,
        "max_length": args.max_length,
        "timed_steps": args.steps - args.warmup_steps,
        "step_seconds": step_seconds,
        "pairs_per_s": timed_pairs / timed_secs if timed_secs else 0.0,
        "losses": losses,
    }, indent=2))


if __name__ == "__main__":
    main()
