"""Checks that transformers loads a T5 that `rankforge train` saved (issue 25) unchanged: trains
the tiny fixtures for a few steps on data/sample (monoT5's objective on t5-tiny-relu, ListNet on
the raw score on t5-tiny-gated, which has its own lm_head), loads each `final/` directory with
`T5ForConditionalGeneration.from_pretrained` (no missing or unexpected tensors besides the tied
embed_tokens) and compares its first-step logits of ▁true / ▁false on a few prompts with
`rankforge predict --raw --max-length 512` on the same pairs (raw score = logit(▁true) −
logit(▁false); the saved directories record the 64 tokens they were trained at, which would cut
these prompts, uncut on transformers' side).

usage: cargo build -p rankforge-cli && .cache/venv-ref/bin/python scripts/reference/check_t5_saved.py
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RANKFORGE_BIN", os.path.join(ROOT, "target/debug/rankforge"))
torch.set_num_threads(2)

CONFIG = """
[run]
output_dir = "{out}"
seed = 3

[model]
kind = "generative"
base = "{base}"
max_length = 64

[data]
dir = "{root}/data/sample"
negatives = 2
negative_pool = 5

[train]
epochs = 1
batch_size = 2
learning_rate = 3e-3
max_steps = 6

[eval]
every_steps = 3
top_k = 5

[loss]
{loss}
{generative}
"""

PAIRS = [
    ("what causes squealing disc brakes", "Squealing disc brakes are usually caused by contamination on the rotor."),
    ("how to finish oak furniture", "Several thin coats of varnish, lightly sanded between coats, give a smoother result."),
    ("is true oil a film finish", "No."),
]


def main():
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, base, loss, generative in [
            ("mono", "t5-tiny-relu", 'loss = "bce"', ""),
            ("rank", "t5-tiny-gated", 'loss = "listnet"', '[generative]\nobjective = "score"'),
        ]:
            out = os.path.join(tmp, name)
            cfg = os.path.join(tmp, f"{name}.toml")
            with open(cfg, "w") as f:
                f.write(CONFIG.format(out=out, base=os.path.join(ROOT, "tests/fixtures", base),
                                      root=ROOT, loss=loss, generative=generative))
            subprocess.run([BIN, "train", "--config", cfg, "--quiet"], check=True, cwd=ROOT)
            saved = os.path.join(out, "final")
            model, info = T5ForConditionalGeneration.from_pretrained(saved, output_loading_info=True)
            model.eval()
            missing = [k for k in info["missing_keys"] if not k.endswith("embed_tokens.weight")]
            assert not missing and not info["unexpected_keys"] and not info["mismatched_keys"], info
            base_model = T5ForConditionalGeneration.from_pretrained(os.path.join(ROOT, "tests/fixtures", base))
            moved = (model.shared.weight - base_model.shared.weight).abs().max().item()
            assert moved > 0, f"{name}: the saved weights are the base's"

            tok = Tokenizer.from_file(os.path.join(saved, "tokenizer.json"))
            true_id, false_id = tok.token_to_id("▁true"), tok.token_to_id("▁false")
            ours_in = os.path.join(tmp, "pairs.jsonl")
            ours_out = os.path.join(tmp, f"{name}-scores.jsonl")
            with open(ours_in, "w") as f:
                for q, d in PAIRS:
                    f.write(json.dumps({"query": q, "document": d}) + "\n")
            subprocess.run([BIN, "predict", "--model", saved, "--input", ours_in, "--output", ours_out,
                            "--raw", "--max-length", "512", "--quiet"], check=True, cwd=ROOT)
            with open(ours_out) as f:
                ours = [json.loads(line)["score"] for line in f]
            for (q, d), score in zip(PAIRS, ours):
                ids = tok.encode(f"Query: {q} Document: {d} Relevant:", add_special_tokens=False).ids
                ids = ids + [model.config.eos_token_id]
                with torch.no_grad():
                    logits = model(input_ids=torch.tensor([ids]),
                                   decoder_input_ids=torch.tensor([[model.config.decoder_start_token_id]])).logits[0, 0]
                want = (logits[true_id] - logits[false_id]).item()
                diff = abs(score - want)
                worst = max(worst, diff / max(1.0, abs(want)))
                print(f"{name}: transformers {want:+.6f}  rankforge {score:+.6f}  |diff| {diff:.2e}")
    print(f"worst relative difference {worst:.2e}")
    if worst > 1e-5:
        sys.exit(f"saved models score differently in transformers (worst {worst:.2e})")
    print("ok: transformers loads the saved T5 directories with rankforge's scores")


if __name__ == "__main__":
    main()
