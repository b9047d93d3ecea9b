"""duoT5 reference (issue 25): pairwise prompts, pairwise probabilities and pygaggle's four
aggregations on the tiny random T5 of t5_reference.py (tests/fixtures/t5-tiny-relu, standing in
for a duoT5 checkpoint: the same architecture and score tokens).

For each case (a query, its documents in mono order, a max length), every ordered pair (i, j),
i != j, in `itertools.permutations` order, becomes the prompt
`Query: {q} Document0: {d_i} Document1: {d_j} Relevant:` + `</s>`, run alone through
transformers' T5ForConditionalGeneration (one decoder step from decoder_start_token_id), and
p_ij = softmax(logits[[▁false, ▁true]])[1], as pygaggle's `DuoT5.rescore`.

Truncation: pygaggle lets the tokenizer cut the prompt's end at 512 (Document1's tail first, then
`Relevant:` and `</s>`). rankforge keeps the template's end and shares the documents' budget as
transformers' `longest_first` does; this script does that literally, one token at a time: while
the prompt is over max_length - 1 tokens, drop the last token of the longer document (Document1
on a tie); with both documents empty, drop the prompt's first token.

Aggregations, as castorini's duoT5 run conversion script (pygaggle scripts, `--aggregate`) adds
them up, pair by pair, with score = log p_ij: s_i += p_ij (sum), and s_j += 1 - p_ij
(sym_sum); s_i += log p_ij (log_sum), and s_j += log(1 - p_ij) (sym_log_sum).

Writes tests/fixtures/duot5.json.

usage: .cache/venv-ref/bin/python scripts/reference/duot5_reference.py
"""
import itertools
import json
import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "tests/fixtures/t5-tiny-relu")
FIXTURE = os.path.join(ROOT, "tests/fixtures/duot5.json")
torch.set_num_threads(2)

LONG_A = " ".join(["Sanding between coats of varnish gives a smoother finish."] * 6)
LONG_B = " ".join(["Disc brakes squeal when the pads glaze or the rotor is contaminated."] * 5)
CASES = [
    {
        "name": "short",
        "max_length": 512,
        "query": "how to finish oak furniture",
        "documents": [
            "Several thin coats of varnish, lightly sanded between coats, give a smoother result.",
            "No.",
            "Safety glasses and hearing protection are standard in any workshop.",
            "Squealing disc brakes are usually caused by contamination on the rotor.",
        ],
    },
    {
        "name": "truncated",
        "max_length": 48,
        "query": "why sand between coats of varnish",
        "documents": [LONG_A, "Oil finishes soak in.", LONG_B],
    },
]
AGGREGATIONS = ["sum", "sym_sum", "log_sum", "sym_log_sum"]


def duo_prompt(q, d0, d1):
    head = f"Query: {q} Document0: "
    middle = head + d0 + " Document1: "
    return middle + d1 + " Relevant:", [(len(head), len(head) + len(d0)), (len(middle), len(middle) + len(d1))]


def duo_ids(tok, q, d0, d1, max_length, eos):
    prompt, spans = duo_prompt(q, d0, d1)
    enc = tok.encode(prompt, add_special_tokens=False)
    owner = []
    for s, e in enc.offsets:
        o = None
        for k, (start, end) in enumerate(spans):
            if s < end and e > start:
                o = k
        owner.append(o)
    tokens = list(zip(enc.ids, owner))
    budget = max_length - 1
    while len(tokens) > budget:
        n = [sum(1 for _, o in tokens if o == k) for k in (0, 1)]
        if n[0] == 0 and n[1] == 0:
            tokens.pop(0)
            continue
        victim = 0 if n[0] > n[1] else 1
        last = max(i for i, (_, o) in enumerate(tokens) if o == victim)
        tokens.pop(last)
    return [i for i, _ in tokens] + [eos]


def pygaggle_aggregate(pairs, k, aggregate):
    """castorini's conversion loop: `score` is log p(true) of the pair (a, b)."""
    scores = [0.0] * k
    for (a, b), p in pairs:
        score = math.log(p)
        if "log" not in aggregate:
            score = math.exp(score)
        scores[a] += score
        if "sym" in aggregate:
            scores[b] += math.log(1 - math.exp(score)) if "log" in aggregate else 1 - score
    return scores


def main():
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    model = T5ForConditionalGeneration.from_pretrained(MODEL).eval()
    cfg = model.config
    eos, start = cfg.eos_token_id, cfg.decoder_start_token_id
    false_id, true_id = tok.token_to_id("▁false"), tok.token_to_id("▁true")
    out = {"model": "tests/fixtures/t5-tiny-relu", "cases": []}
    for case in CASES:
        docs = case["documents"]
        k = len(docs)
        ids = [[None] * k for _ in range(k)]
        raw = [[0.0] * k for _ in range(k)]
        prob = [[0.0] * k for _ in range(k)]
        pairs = []
        for a, b in itertools.permutations(range(k), 2):
            p_ids = duo_ids(tok, case["query"], docs[a], docs[b], case["max_length"], eos)
            assert len(p_ids) <= case["max_length"]
            assert p_ids[-3:] == [tok.token_to_id("▁Relevant"), tok.token_to_id(":"), eos]
            input_ids = torch.tensor([p_ids])
            with torch.no_grad():
                logits = model(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    decoder_input_ids=torch.tensor([[start]]),
                ).logits[0, 0]
            two = logits[[false_id, true_id]]
            p = torch.softmax(two, dim=0)[1].item()
            ids[a][b] = p_ids
            raw[a][b] = (two[1] - two[0]).item()
            prob[a][b] = p
            pairs.append(((a, b), p))
        entry = dict(case)
        entry.update({
            "ids": ids,
            "raw": raw,
            "p": prob,
            "prompt_lengths": [[len(x) if x else 0 for x in row] for row in ids],
            "aggregates": {agg: pygaggle_aggregate(pairs, k, agg) for agg in AGGREGATIONS},
        })
        out["cases"].append(entry)
        print(case["name"], "lengths", entry["prompt_lengths"])
        for agg in AGGREGATIONS:
            print(" ", agg, [round(s, 5) for s in entry["aggregates"][agg]])
    with open(FIXTURE, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", FIXTURE)


if __name__ == "__main__":
    main()
