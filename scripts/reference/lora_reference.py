"""A LoRA adapter (issue 25) on the tiny Qwen3 yes/no reranker of qwen3_reference.py
(tests/fixtures/qwen3-tiny-reranker), built, saved and run by peft, and its reference outputs.

The adapter: peft `LoraConfig(r=4, lora_alpha=8, lora_dropout=0, target_modules = q_proj,
k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, task_type CAUSAL_LM)` on the fixture's
`Qwen3ForCausalLM` (its root directory is the Transformer module's folder). peft draws lora_A
kaiming-uniform and sets lora_B to zeros, which makes the adapter a no-op; here lora_B is then
overwritten with seeded normal values (std 0.3), so every adapted projection moves the scores.
Saved with `save_pretrained` to tests/fixtures/lora/qwen3-tiny-adapter/ (adapter_config.json,
adapter_model.safetensors: peft's key names `base_model.model.model.layers.{i}.{self_attn|mlp}.
{name}.lora_{A|B}.weight`, A `[r, in]`, B `[out, r]`, f32); `base_model_name_or_path` is the
fixture directory relative to the repository root.

tests/fixtures/lora/lora.json holds:
- `pairs`: the prompts of tests/fixtures/qwen3.json (ids sentence-transformers built) and, per
  prompt run alone (a batch of one, no padding), the raw score logit(yes) − logit(no) at the
  last position of the base model (`base_score`), of the peft model with the adapter
  (`adapter_score`) and of `merge_and_unload()`'s plain Qwen3ForCausalLM (`merged_score`);
- `step`: one FlagEmbedding-style training step: a group of one query with one positive and
  three negatives (chat-template prompts, ids given), raw scores of each prompt run alone, loss =
  cross-entropy over the group's four raw scores with the positive at index 0 (a `[1, 4]`
  logits row, target 0), its value, and the gradient of every LoRA tensor (peft's layout and
  names, adapter name dropped): `{norm, sum, first}` (first 8 values, row-major), plus the names
  of the base parameters (all with `requires_grad = False` under peft, so none gets a gradient);
- the adapter's settings (r, alpha, scaling).

usage: .cache/venv-ref/bin/pip install peft && .cache/venv-ref/bin/python scripts/reference/lora_reference.py
"""
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
import torch.nn.functional as F
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import Qwen3ForCausalLM
from sentence_transformers import CrossEncoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE_REL = "tests/fixtures/qwen3-tiny-reranker"
BASE = os.path.join(ROOT, BASE_REL)
OUT = os.path.join(ROOT, "tests/fixtures/lora")
ADAPTER = os.path.join(OUT, "qwen3-tiny-adapter")
FIXTURE = os.path.join(OUT, "lora.json")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
R, ALPHA = 4, 8
torch.set_num_threads(2)

GROUP_QUERY = "how to finish oak furniture"
GROUP_DOCS = [
    "Several thin coats of varnish, lightly sanded between coats, give a smoother result.",
    "Squealing disc brakes are usually caused by contamination on the rotor.",
    "No.",
    "Oak is a hardwood; its open grain takes oil well.",
]


def round_floats(value):
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    return value


def raw_score(model, ids, yes, no):
    logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
    return logits[yes] - logits[no]


def main():
    os.chdir(ROOT)  # base_model_name_or_path is saved as given: relative to the repository
    qwen3 = json.load(open(os.path.join(ROOT, "tests/fixtures/qwen3.json")))
    yes, no = qwen3["true_token_id"], qwen3["false_token_id"]
    prompts = [p["ids"] for p in qwen3["pairs"]]

    torch.manual_seed(0)
    base = Qwen3ForCausalLM.from_pretrained(BASE_REL, dtype=torch.float32).eval()
    with torch.no_grad():
        base_scores = [float(raw_score(base, ids, yes, no)) for ids in prompts]

    config = LoraConfig(r=R, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS,
                        task_type="CAUSAL_LM", bias="none")
    model = get_peft_model(base, config)
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if ".lora_B." in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    if os.path.exists(ADAPTER):
        shutil.rmtree(ADAPTER)
    model.save_pretrained(ADAPTER)
    readme = os.path.join(ADAPTER, "README.md")
    if os.path.exists(readme):
        os.remove(readme)

    # Reload from the saved directory: the reference is what the saved adapter gives.
    base = Qwen3ForCausalLM.from_pretrained(BASE_REL, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, ADAPTER, is_trainable=True)
    model.eval()  # dropout is 0 anyway
    with torch.no_grad():
        adapter_scores = [float(raw_score(model, ids, yes, no)) for ids in prompts]

    # One training step: a FlagEmbedding group (positive first), CE over the raw scores.
    ce = CrossEncoder(BASE)
    transformer = ce[0]
    group_ids = [transformer.preprocess([(GROUP_QUERY, d)])["input_ids"][0].tolist()
                 for d in GROUP_DOCS]
    model.zero_grad()
    scores = torch.stack([raw_score(model, ids, yes, no) for ids in group_ids])
    loss = F.cross_entropy(scores[None, :], torch.tensor([0]))
    loss.backward()
    grads = {}
    frozen = []
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert ".lora_" in name, name
            key = name.replace(".default.", ".")
            flat = p.grad.reshape(-1)
            grads[key] = {
                "norm": float(flat.norm()),
                "sum": float(flat.sum()),
                "first": flat[:8].tolist(),
                "shape": list(p.shape),
            }
        else:
            assert p.grad is None, name
            frozen.append(name)
    assert len(grads) == 2 * len(TARGETS) * base.config.num_hidden_layers

    merged = model.merge_and_unload().eval()
    with torch.no_grad():
        merged_scores = [float(raw_score(merged, ids, yes, no)) for ids in prompts]

    fixture = {
        "r": R,
        "alpha": ALPHA,
        "scaling": ALPHA / R,
        "true_token_id": yes,
        "false_token_id": no,
        "pairs": [
            {"ids": ids, "base_score": b, "adapter_score": a, "merged_score": m}
            for ids, b, a, m in zip(prompts, base_scores, adapter_scores, merged_scores)
        ],
        "step": {
            "query": GROUP_QUERY,
            "documents": GROUP_DOCS,
            "ids": group_ids,
            "scores": scores.tolist(),
            "loss": float(loss),
            "lora_gradients": grads,
            "frozen": frozen,
        },
    }
    with open(FIXTURE, "w") as f:
        json.dump(round_floats(fixture), f)
    print("base", base_scores)
    print("adapter", adapter_scores)
    print("merged", merged_scores)
    print("group scores", scores.tolist(), "loss", float(loss))
    print("lengths", [len(i) for i in group_ids])


if __name__ == "__main__":
    main()
