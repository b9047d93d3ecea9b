"""torch.optim.AdamW over a few small parameters, the way rankforge's trainer steps a model.

Writes tests/fixtures/adamw.json, which `crates/trainer/tests/adamw_parity.rs` replays through
rankforge's own optimizer (`rankforge_trainer::optimizer::AdamW` on burn's Autodiff<Flex>
backend, so the host AdamW kernel) and compares after every step.

What is mirrored, from crates/trainer/src/{optimizer,schedule}.rs:

- transformers' Trainer parameter groups: no weight decay on names containing "bias" or
  "LayerNorm.weight" (the trainer: a path ending in "bias" or with a "norm" segment); the
  classification head ("classifier.*", "bert.pooler.*") learns at lr x head_lr_multiplier.
- torch.optim.AdamW itself: decoupled decay w <- w(1 - lr*wd), bias-corrected moments,
  eps added after the square root of the bias-corrected second moment.
- Global-norm clipping before every step: torch.nn.utils.clip_grad_norm_(max_norm), which
  scales every gradient by max_norm / (norm + 1e-6) when the norm exceeds max_norm.
- The learning rate of (0-based) step s: peak*(s+1)/warmup during warmup, then linear decay
  peak*(1 - (s - warmup)/max(total - warmup, 1)), clamped to [0, 1] progress (LambdaLR).

The gradients are fixed (seeded, scaled per step so that some steps are clipped and some are
not); one parameter's gradients are ~1e-8, the size of eps, so the placement of eps shows.
Everything is float32, as in training; values are written as the exact float32 numbers.

usage: $(bash scripts/reference/setup.sh) scripts/reference/adamw_reference.py [--out FILE]
"""

import argparse
import json
import os
import re
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# HF-style names (as transformers' Trainer sees them) and shapes.
PARAMS = [
    ("encoder.dense.weight", [3, 4]),
    ("encoder.dense.bias", [4]),
    ("encoder.LayerNorm.weight", [4]),
    ("classifier.weight", [4, 2]),
    ("classifier.bias", [2]),
]
NO_DECAY = ["bias", "LayerNorm.weight"]  # transformers' Trainer
HEAD_PREFIXES = ["classifier.", "bert.pooler."]  # rankforge's is_classification_head
# Gradient scale per step: global norms from ~0.2 to ~5, around MAX_GRAD_NORM = 1.
GRAD_SCALES = [0.05, 0.4, 0.1, 1.0, 0.15, 0.3]
# The parameter whose gradients are the size of eps.
TINY_GRADS = "classifier.bias"
TINY_SCALE = 1e-8

SETTINGS = {
    "learning_rate": 0.05,
    "head_lr_multiplier": 4.0,
    "warmup_steps": 2,
    "total_steps": len(GRAD_SCALES),
    "schedule": "linear",
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-8,
    "weight_decay": 0.01,
    "max_grad_norm": 1.0,
}


def lr_factor(step):
    """crates/trainer/src/schedule.rs, LrSchedule::lr / peak, linear kind."""
    warmup, total = SETTINGS["warmup_steps"], SETTINGS["total_steps"]
    if step < warmup:
        return (step + 1) / warmup
    decay_steps = max(total - warmup, 1)
    progress = min(max((step - warmup) / decay_steps, 0.0), 1.0)
    return 1.0 - progress


def values(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "adamw.json"))
    args = parser.parse_args()

    gen = torch.Generator().manual_seed(20240611)
    params = {}
    for name, shape in PARAMS:
        init = torch.randn(shape, generator=gen, dtype=torch.float32)
        if name.endswith("LayerNorm.weight"):
            init = 1.0 + 0.1 * init
        params[name] = torch.nn.Parameter(init)
    initial = {name: values(p) for name, p in params.items()}

    def decays(name):
        return not any(nd in name for nd in NO_DECAY)

    def head(name):
        return any(name.startswith(p) for p in HEAD_PREFIXES)

    lr, wd = SETTINGS["learning_rate"], SETTINGS["weight_decay"]
    groups = []
    for is_head in (False, True):
        for decay in (True, False):
            names = [n for n, _ in PARAMS if head(n) == is_head and decays(n) == decay]
            if names:
                groups.append({
                    "params": [params[n] for n in names],
                    "lr": lr * (SETTINGS["head_lr_multiplier"] if is_head else 1.0),
                    "weight_decay": wd if decay else 0.0,
                })
    optimizer = torch.optim.AdamW(
        groups,
        lr=lr,
        betas=(SETTINGS["beta1"], SETTINGS["beta2"]),
        eps=SETTINGS["epsilon"],
        weight_decay=wd,
        foreach=False,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)

    steps = []
    for step, scale in enumerate(GRAD_SCALES):
        grads = {}
        for name, shape in PARAMS:
            g = torch.randn(shape, generator=gen, dtype=torch.float32) * scale
            if name == TINY_GRADS:
                g = g * TINY_SCALE
            grads[name] = g
            params[name].grad = g.clone()
        step_lr = scheduler.get_last_lr()[0]
        grad_norm = torch.nn.utils.clip_grad_norm_(list(params.values()), SETTINGS["max_grad_norm"])
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        steps.append({
            "lr": step_lr,
            "grad_norm": float(grad_norm),
            "clipped": bool(grad_norm > SETTINGS["max_grad_norm"]),
            "grads": {n: values(g) for n, g in grads.items()},
            "params": {n: values(p) for n, p in params.items()},
        })
    clipped = [s["clipped"] for s in steps]
    assert any(clipped) and not all(clipped), clipped

    fixture = {
        "generator": "scripts/reference/adamw_reference.py",
        "torch": torch.__version__,
        "settings": SETTINGS,
        "parameters": [
            {"name": n, "shape": s, "weight_decay": decays(n), "head": head(n), "initial": initial[n]}
            for n, s in PARAMS
        ],
        "steps": steps,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    text = json.dumps(fixture, indent=1)
    # One line per vector keeps the file short and diffable.
    text = re.sub(r"\[\s*([-0-9.eE+,\s]+?)\s*\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    json.load(open(args.out, encoding="utf-8"))  # well-formed
    print(f"wrote {args.out}: {len(PARAMS)} parameters, {len(steps)} steps, clipped {clipped}", file=sys.stderr)


if __name__ == "__main__":
    main()
