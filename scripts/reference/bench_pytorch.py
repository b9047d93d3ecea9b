"""PyTorch peer for `rankforge bench predict`: sentence_transformers.CrossEncoder.predict on the
same pairs file, same batch size, same thread count; median of several timed runs, as JSON.

usage: bench_pytorch.py MODEL_DIR PAIRS.jsonl [--batch-size 32] [--repeat 5] [--threads 2]
       [--max-length 512] [--device cpu|cuda] [--dtype fp32|fp16|bf16] [--scores] [--output out.json]
"""
import argparse
import json
import os
import resource
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("pairs")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"])
    ap.add_argument("--scores", action="store_true", help="also record the scores (ranking checks)")
    ap.add_argument("--output")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from sentence_transformers import CrossEncoder

    pairs = []
    with open(args.pairs) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                pairs.append((row["query"], row["document"]))
    model = CrossEncoder(args.model, device=args.device, max_length=args.max_length)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    model.model.to(dtype)

    def predict():
        scores = model.predict(pairs, batch_size=args.batch_size, show_progress_bar=False)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return scores

    predict()  # warm-up
    seconds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        predict()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    result = {
        "system": "sentence-transformers",
        "versions": {"torch": torch.__version__, "sentence_transformers": __import__("sentence_transformers").__version__},
        "threads": args.threads,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "dtype": args.dtype,
        "max_length": args.max_length,
        "pairs": len(pairs),
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "seconds": seconds,
        "median_seconds": median,
        "pairs_per_second": len(pairs) / median,
        "scores": [float(x) for x in predict()] if args.scores else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
