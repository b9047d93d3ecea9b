"""One training step of a generative reranker (issue 25) in PyTorch, on the tiny random T5s of
t5_reference.py (tests/fixtures/t5-tiny-relu: tied embeddings; t5-tiny-gated: its own lm_head),
dropout off (model.eval(); rankforge's side loads the model with dropout_rate 0):

- monoT5 (castorini's objective): each prompt `Query: {q} Document: {d} Relevant:` + `</s>`
  (ids from the tokenizer, as rankforge builds them), decoder_input_ids = [[decoder_start]],
  target word `▁true` for the positive and `▁false` for the negatives at that first step;
  loss = cross-entropy over the whole vocabulary, averaged over the real documents;
- RankT5-style: raw score = logit(▁true) − logit(▁false) at that step, `[groups, list]`,
  loss = ListNet as rankforge's losses crate defines it: per group
  −Σ softmax(labels)_i · log_softmax(scores)_i over the real documents, mean over groups.

Two groups of 1 positive + 2 negatives, the second group's last document padded (empty text,
masked out), padded into one batch. Writes the losses and the gradients of a few parameters
(PyTorch layout, [out, in] for Linear weights; of the embedding and LM head, a few rows) to tests/fixtures/t5_train.json.

usage: .cache/venv-ref/bin/python scripts/reference/t5_train_reference.py
"""
import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "tests/fixtures/t5_train.json")
torch.set_num_threads(2)

GROUPS = [
    ("what causes squealing disc brakes", [
        "Squealing disc brakes are usually caused by contamination on the rotor.",
        "Several thin coats of varnish give a smoother result.",
        "No.",
    ], [1.0, 0.0, 0.0], [True, True, True]),
    ("how to finish oak furniture", [
        "Several thin coats of varnish, lightly sanded between coats, give a smoother result.",
        "Safety glasses are standard in any workshop.",
        "",
    ], [1.0, 0.0, 0.0], [True, True, False]),
]
GRADIENTS = [
    "shared.weight",
    "encoder.block.0.layer.0.SelfAttention.q.weight",
    "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    "decoder.block.0.layer.1.EncDecAttention.k.weight",
    "decoder.block.1.layer.2.DenseReluDense.wo.weight",
    "decoder.final_layer_norm.weight",
    "lm_head.weight",
]


def prompt(q, d):
    return f"Query: {q} Document: {d} Relevant:"


def step(model, tok, objective):
    eos, start = model.config.eos_token_id, model.config.decoder_start_token_id
    true_id, false_id = tok.token_to_id("▁true"), tok.token_to_id("▁false")
    ids = []
    for q, docs, _, _ in GROUPS:
        for d in docs:
            ids.append(tok.encode(prompt(q, d), add_special_tokens=False).ids + [eos])
    longest = max(len(x) for x in ids)
    input_ids = torch.tensor([x + [0] * (longest - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (longest - len(x)) for x in ids])
    labels = torch.tensor([l for _, _, ls, _ in GROUPS for l in ls])
    valid = torch.tensor([v for _, _, _, vs in GROUPS for v in vs])
    model.zero_grad()
    logits = model(
        input_ids=input_ids,
        attention_mask=mask,
        decoder_input_ids=torch.full((len(ids), 1), start),
    ).logits[:, 0, :]
    if objective == "lm":
        targets = torch.where(labels > 0, true_id, false_id)
        nll = F.cross_entropy(logits, targets, reduction="none")
        loss = (nll * valid).sum() / valid.sum()
    else:
        raw = (logits[:, true_id] - logits[:, false_id]).view(len(GROUPS), -1)
        lab = labels.view(len(GROUPS), -1)
        ok = valid.view(len(GROUPS), -1)
        neg = torch.tensor(float("-inf"))
        target = torch.softmax(torch.where(ok, lab, neg), dim=1)
        log_p = torch.log_softmax(torch.where(ok, raw, neg), dim=1)
        per_group = -(torch.where(ok, target * log_p, torch.zeros_like(raw))).sum(dim=1)
        loss = per_group.mean()
    loss.backward()
    params = dict(model.named_parameters())
    # Embedding and LM head rows: the two scored tokens and the first prompt's first tokens.
    rows = [true_id, false_id] + [i for i in dict.fromkeys(ids[0])][:4]
    grads = {}
    for name in GRADIENTS:
        if name in params and params[name].grad is not None:
            g = params[name].grad
            if name in ("shared.weight", "lm_head.weight"):
                grads[name] = {"rows": rows, "values": g[rows].tolist()}
            else:
                grads[name] = {"values": g.tolist()}
    return {"loss": loss.item(), "gradients": grads}


def main():
    out = {"groups": [{"query": q, "documents": d, "labels": l, "valid": v} for q, d, l, v in GROUPS]}
    for name in ["t5-tiny-relu", "t5-tiny-gated"]:
        path = os.path.join(ROOT, "tests/fixtures", name)
        tok = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        model = T5ForConditionalGeneration.from_pretrained(path).eval()
        out[name] = {
            "tied": model.config.tie_word_embeddings,
            "lm": step(model, tok, "lm"),
            "listnet": step(model, tok, "listnet"),
        }
        print(name, {k: round(v["loss"], 6) for k, v in out[name].items() if k != "tied"},
              sorted(out[name]["lm"]["gradients"]))
    with open(FIXTURE, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print("wrote", FIXTURE)


if __name__ == "__main__":
    main()
