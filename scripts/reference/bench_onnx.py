"""ONNX Runtime peers for `rankforge bench predict`: the same cross-encoder exported with
torch.onnx.export (fp32) and quantized with onnxruntime.quantization.quantize_dynamic (int8
weights, QInt8, per tensor; activations quantized at run time), run on the same pairs file with
the same batch size and intra-op thread count, length-sorted batches like rankforge's; median of
several timed runs (tokenization included, as in rankforge's), as JSON.

usage:
  bench_onnx.py export MODEL_DIR OUT_DIR [--max-length 512]
      writes OUT_DIR/model-fp32.onnx and OUT_DIR/model-int8.onnx (the classification head
      transformers makes for a checkpoint without one is seeded with torch.manual_seed(0))
  bench_onnx.py run MODEL_DIR ONNX_FILE PAIRS.jsonl [--batch-size 32] [--repeat 5] [--threads 2]
      [--max-length 512] [--scores] [--output out.json]
      times one exported model in a process that never imports torch (peak RSS is the
      runtime's own)
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def export(args):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from onnxruntime.quantization import QuantType, quantize_dynamic

    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=1).eval()
    sample = tokenizer(["a query"], ["a document"], return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(sample[n] for n in names)
    fp32 = os.path.join(args.out_dir, "model-fp32.onnx")
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            model,
            inputs,
            fp32,
            input_names=names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    int8 = os.path.join(args.out_dir, "model-int8.onnx")
    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
    print(json.dumps({"fp32": fp32, "int8": int8}))


def run(args):
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    pairs = []
    with open(args.pairs) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                pairs.append((row["query"], row["document"]))
    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tokenizer.enable_truncation(max_length=args.max_length)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}

    def predict():
        encodings = tokenizer.encode_batch(pairs)
        # Length-sorted batches (as rankforge batches), scores back in input order.
        order = sorted(range(len(pairs)), key=lambda i: len(encodings[i].ids))
        scores = [0.0] * len(pairs)
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            longest = max(len(encodings[i].ids) for i in batch)
            feed = {
                "input_ids": np.zeros((len(batch), longest), dtype=np.int64),
                "attention_mask": np.zeros((len(batch), longest), dtype=np.int64),
                "token_type_ids": np.zeros((len(batch), longest), dtype=np.int64),
            }
            for row, i in enumerate(batch):
                e = encodings[i]
                n = len(e.ids)
                feed["input_ids"][row, :n] = e.ids
                feed["attention_mask"][row, :n] = 1
                feed["token_type_ids"][row, :n] = e.type_ids
            logits = session.run(["logits"], {k: v for k, v in feed.items() if k in wanted})[0]
            for row, i in enumerate(batch):
                scores[i] = float(logits[row, 0])
        return scores

    predict()  # warm-up
    seconds = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        predict()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    result = {
        "system": "onnxruntime",
        "onnx": os.path.basename(args.onnx),
        "versions": {"onnxruntime": ort.__version__},
        "threads": args.threads,
        "max_length": args.max_length,
        "pairs": len(pairs),
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "seconds": seconds,
        "median_seconds": median,
        "pairs_per_second": len(pairs) / median,
        "scores": predict() if args.scores else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("model")
    e.add_argument("out_dir")
    r = sub.add_parser("run")
    r.add_argument("model")
    r.add_argument("onnx")
    r.add_argument("pairs")
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--repeat", type=int, default=5)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--max-length", type=int, default=512)
    r.add_argument("--scores", action="store_true")
    r.add_argument("--output")
    args = ap.parse_args()
    if args.command == "export":
        export(args)
    else:
        run(args)
    sys.exit(0)
