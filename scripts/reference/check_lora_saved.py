"""Checks that peft loads a LoRA adapter rankforge saved (issue 25: the round trip through peft),
and transformers the merged directory rankforge wrote.

Runs the ignored test `write_an_adapter_for_the_peft_check` (crates/model/tests/lora.rs) with
RANKFORGE_LORA_OUT set: it loads the fixture adapter (tests/fixtures/lora/qwen3-tiny-adapter)
onto the tiny Qwen3 reranker, takes one AdamW step on the FlagEmbedding-style group loss (so
the adapter differs from anything peft wrote), saves it with `save_adapter` (adapter/) and
`save_merged` (merged/), and writes its own raw scores (logit(yes) − logit(no) at the last
position, each prompt alone) of the fixture prompts with the adapter and merged
(rankforge.json). Here:

- `PeftModel.from_pretrained(Qwen3ForCausalLM(base), adapter/)`: no missing or unexpected
  keys (peft warns on either; checked by comparing every lora_A / lora_B tensor with the file),
  the LoRA settings read back, and its scores against rankforge's adapter scores;
- `merge_and_unload()` of that peft model against rankforge's merged scores;
- `AutoModelForCausalLM.from_pretrained(merged/)`: no missing / unexpected keys, its scores
  against rankforge's merged scores.

Tolerance 1e-5 (f32 both sides, summation order only; as tests/lora.rs).

usage: .cache/venv-ref/bin/python scripts/reference/check_lora_saved.py
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from peft import PeftConfig, PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, Qwen3ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
torch.set_num_threads(2)
TOLERANCE = 1e-5


def scores(model, prompts, yes, no):
    out = []
    with torch.no_grad():
        for ids in prompts:
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
            out.append(float(logits[yes] - logits[no]))
    return out


def worst(a, b):
    assert len(a) == len(b)
    return max(abs(x - y) for x, y in zip(a, b))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, RANKFORGE_LORA_OUT=tmp)
        subprocess.run(
            ["cargo", "test", "-q", "-p", "rankforge-model", "--test", "lora", "--",
             "--ignored", "--exact", "write_an_adapter_for_the_peft_check"],
            cwd=ROOT, env=env, check=True,
        )
        ours = json.load(open(os.path.join(tmp, "rankforge.json")))
        prompts, yes, no = ours["ids"], ours["true_token_id"], ours["false_token_id"]
        adapter = os.path.join(tmp, "adapter")
        config = PeftConfig.from_pretrained(adapter)
        print("adapter_config:", {k: getattr(config, k) for k in
                                  ("peft_type", "task_type", "r", "lora_alpha", "lora_dropout",
                                   "use_rslora", "bias", "base_model_name_or_path")},
              "targets", sorted(config.target_modules))

        base = Qwen3ForCausalLM.from_pretrained(config.base_model_name_or_path,
                                                dtype=torch.float32)
        model = PeftModel.from_pretrained(base, adapter).eval()
        saved = load_file(os.path.join(adapter, "adapter_model.safetensors"))
        params = {n.replace(".default.", "."): p for n, p in model.named_parameters()
                  if ".lora_" in n}
        if sorted(saved) != sorted(params):
            sys.exit(f"keys differ: saved {sorted(set(saved) - set(params))}, "
                     f"model {sorted(set(params) - set(saved))}")
        for name, t in saved.items():
            if not torch.equal(t, params[name].detach()):
                sys.exit(f"{name}: peft holds other values than the file")
        print(f"peft loaded all {len(saved)} LoRA tensors exactly")

        failures = []
        peft_scores = scores(model, prompts, yes, no)
        d = worst(peft_scores, ours["adapter_scores"])
        print(f"peft with rankforge's adapter vs rankforge: max |Δ| {d:.2e}")
        print("  peft     ", [f"{s:+.6f}" for s in peft_scores])
        print("  rankforge", [f"{s:+.6f}" for s in ours["adapter_scores"]])
        failures += [f"adapter scores {d}"] if d > TOLERANCE else []

        merged = model.merge_and_unload().eval()
        d = worst(scores(merged, prompts, yes, no), ours["merged_scores"])
        print(f"peft merge_and_unload vs rankforge's merge: max |Δ| {d:.2e}")
        failures += [f"peft merge {d}"] if d > TOLERANCE else []

        loaded, info = AutoModelForCausalLM.from_pretrained(
            os.path.join(tmp, "merged"), output_loading_info=True, dtype=torch.float32)
        bad = {k: v for k, v in info.items() if v}
        if bad:
            failures.append(f"loading the merged directory: {bad}")
        d = worst(scores(loaded.eval(), prompts, yes, no), ours["merged_scores"])
        print(f"transformers on rankforge's merged directory ({type(loaded).__name__}) vs "
              f"rankforge: max |Δ| {d:.2e}")
        failures += [f"merged directory {d}"] if d > TOLERANCE else []
        if failures:
            sys.exit("FAILED: " + "; ".join(failures))
        print("OK")


if __name__ == "__main__":
    main()
