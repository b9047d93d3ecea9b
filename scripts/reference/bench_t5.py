"""transformers' peer of scripts/bench_t5.sh: monoT5 scoring of the same (query, document)
pairs with T5ForConditionalGeneration, as pygaggle's MonoT5 runs it (one encoder pass and one
decoder step from decoder_start_token_id per batch, logits of ▁true / ▁false), on the same
prompt ids rankforge builds (`Query: {q} Document: {d} Relevant:` + `</s>`, the document cut
from its end to fit max_length, never the template's end). Pairs are sorted by length and run
in batches of --batch-size, padded per batch (as rankforge batches). Times the scoring only
(tokenization included, model load excluded): one untimed warm-up batch, then --rounds rounds.

usage: bench_t5.py MODEL_DIR PAIRS_JSONL --threads 2 --rounds 3 --batch-size 8 --max-length 512
       --output times.json --scores scores.json
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration


def prompt_ids(tok, q, d, max_length, eos):
    prefix = f"Query: {q} Document: "
    span = (len(prefix), len(prefix) + len(d))
    enc = tok.encode(prefix + d + " Relevant:", add_special_tokens=False)
    ids, offsets = enc.ids, enc.offsets
    budget = max_length - 1
    if len(ids) > budget:
        in_doc = [s < span[1] and e > span[0] for s, e in offsets]
        keep = max(0, sum(in_doc) - (len(ids) - budget))
        kept, seen = [], 0
        for i, inside in zip(ids, in_doc):
            if inside:
                seen += 1
                if seen > keep:
                    continue
            kept.append(i)
        ids = kept[len(kept) - budget:] if len(kept) > budget else kept
    return ids + [eos]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("pairs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--output", required=True)
    ap.add_argument("--scores", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    pairs = [json.loads(line) for line in open(a.pairs)]
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    model = T5ForConditionalGeneration.from_pretrained(a.model).eval()
    cfg = model.config
    true_id, false_id = tok.token_to_id("▁true"), tok.token_to_id("▁false")

    def score(items):
        ids = [prompt_ids(tok, p["query"], p["document"], a.max_length, cfg.eos_token_id) for p in items]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = [0.0] * len(ids)
        with torch.inference_mode():
            for b in range(0, len(order), a.batch_size):
                chunk = order[b:b + a.batch_size]
                longest = max(len(ids[i]) for i in chunk)
                input_ids = torch.tensor([ids[i] + [0] * (longest - len(ids[i])) for i in chunk])
                mask = torch.tensor([[1] * len(ids[i]) + [0] * (longest - len(ids[i])) for i in chunk])
                logits = model(input_ids=input_ids, attention_mask=mask,
                               decoder_input_ids=torch.full((len(chunk), 1), cfg.decoder_start_token_id)).logits[:, 0, :]
                raw = (logits[:, true_id] - logits[:, false_id]).tolist()
                for i, s in zip(chunk, raw):
                    out[i] = s
        return out, sum(len(x) for x in ids)

    score(pairs[: a.batch_size])  # warm-up
    seconds = []
    for _ in range(a.rounds):
        start = time.perf_counter()
        scores, tokens = score(pairs)
        seconds.append(time.perf_counter() - start)
    json.dump({"pairs": len(pairs), "tokens": tokens, "seconds": seconds,
               "median_seconds": statistics.median(seconds), "torch": torch.__version__,
               "threads": a.threads}, open(a.output, "w"))
    json.dump(scores, open(a.scores, "w"))


if __name__ == "__main__":
    main()
