"""Tiny random T5ForConditionalGeneration checkpoints (monoT5 / RankT5 scoring, issue 25) and
their reference outputs from transformers.

No hub is reachable, so the models are built here, seeded and deterministic, from transformers'
own classes, with a SentencePiece-style Unigram tokenizer.json built by the `tokenizers` library
(T5's layout: <pad>=0, </s>=1, <unk>=2, the pieces, then <extra_id_N> last with <extra_id_0>
the highest id; Metaspace pre-tokenizer, `$A </s>` post-processor). Its vocabulary holds
`▁true`, `▁false`, `▁yes`, `▁no` and `<extra_id_10>`.

Writes tests/fixtures/t5-tiny-relu/ and tests/fixtures/t5-tiny-gated/ (HF directories):
  - t5-tiny-relu: original T5 / monoT5 layout: feed_forward_proj "relu", tied embeddings (the
    decoder output rescaled by d_model^-0.5 before the LM head), 32 buckets, max distance 128;
  - t5-tiny-gated: T5 v1.1 / mT5 layout: "gated-gelu" (gelu_new), tie_word_embeddings false (its
    own lm_head.weight, no rescale), 16 buckets, max distance 20 (so the ~30-token prompts
    reach the clamped bucket);
both 2 encoder + 2 decoder layers, d_model 32, 4 heads of 8, d_ff 64.

and tests/fixtures/t5.json with, per model: the monoT5 prompts' token ids (`Query: {q}
Document: {d} Relevant:` + `</s>`; the long document is cut so that the prompt is MAX_LENGTH
tokens and `▁Relevant`, `:`, `</s>` stay), the RankT5 prompts' ids (`Query: {q} Document: {d}`
+ `</s>`), the encoder's hidden states (each block's output and the final-normed output) of the
shortest monoT5 prompt (and the final output of the first), the step-1 decoder logits of the scored ids, monoT5 raw scores
(logit(▁true) − logit(▁false)), softmax([true, false])[0], RankT5 raw scores
(logit(<extra_id_10>)), and transformers' relative-position bucket tables.

Each prompt runs alone (no padding): model(input_ids, attention_mask,
decoder_input_ids=[[decoder_start_token_id]]).

Truncation (transformers' tokenizer would cut the end of the prompt, `Relevant:` and all): the
whole prompt is tokenized once with offsets; when it is longer than MAX_LENGTH − 1 tokens (one
left for `</s>`), the document's tokens (those overlapping the document's characters) are cut
from their end. rankforge does the same.

usage: scripts/reference/setup.sh && .cache/venv-ref/bin/python scripts/reference/t5_reference.py
"""
import json
import math
import os
import shutil
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from safetensors.torch import load_file
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram
from transformers import T5Config, T5ForConditionalGeneration
from transformers.models.t5.modeling_t5 import T5Attention

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests/fixtures")
FIXTURE = os.path.join(FIXTURES, "t5.json")
torch.set_num_threads(2)

MAX_LENGTH = 512
EXTRA_IDS = 12
SCORED_TOKENS = ["▁true", "▁false", "▁yes", "▁no", "<extra_id_10>"]

QUERIES_DOCS = [
    ("what causes squealing disc brakes",
     "Squealing disc brakes are usually caused by contamination on the rotor."),
    ("how to finish oak furniture",
     "Several thin coats of varnish, lightly sanded between coats, give a smoother result."),
    ("is true oil a film finish", "No."),
    ("safety glasses workshop",
     "Safety glasses and hearing protection are standard in any workshop, with power tools or hand tools."),
]
LONG_DOC = " ".join(
    ["Sanding between coats of varnish gives a smoother finish than one thick coat of oil."] * 60
)
HIDDEN_ALL, HIDDEN_LAST = 2, 0
PAIRS = QUERIES_DOCS + [("why sand between coats of varnish", LONG_DOC)]


def sample_words():
    words = Counter()
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(os.path.join(ROOT, "data/sample", name)) as f:
            for line in f:
                row = json.loads(line)
                for key in ("title", "text"):
                    words.update((row.get(key) or "").split())
    return words


def build_tokenizer():
    """A Unigram vocabulary written out (no trainer: the file is the same every run): every
    character, `▁`, the 300 most frequent sample words (ties by string) as `▁word`, the template's
    words and the scored tokens."""
    words = sample_words()
    text = " ".join(words) + " ".join(q + " " + d for q, d in PAIRS)
    chars = sorted(set(text) - {" "})
    total = sum(words.values())
    by_count = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:300]
    pieces = {}
    for w, c in by_count:
        pieces["▁" + w] = math.log(c / total)
    for w in ["▁Query", "▁Document", "▁Relevant", ":", "▁true", "▁false", "▁yes", "▁no"]:
        pieces[w] = -6.0
    pieces["▁"] = -8.0
    for c in chars:
        pieces.setdefault(c, -12.0)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += sorted(((p, round(s, 6)) for p, s in pieces.items()), key=lambda ps: (-ps[1], ps[0]))
    tok = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    specials = [AddedToken(t, special=True, normalized=False) for t in ["<pad>", "</s>", "<unk>"]]
    tok.add_special_tokens(specials)
    # T5's layout: <extra_id_0> is the highest id.
    extras = [f"<extra_id_{i}>" for i in reversed(range(EXTRA_IDS))]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in extras])
    for t in SCORED_TOKENS:
        assert tok.token_to_id(t) is not None, t
    return tok


def mono_prompt(q, d):
    prefix = f"Query: {q} Document: "
    return prefix + d + " Relevant:", (len(prefix), len(prefix) + len(d))


def rank_prompt(q, d):
    prefix = f"Query: {q} Document: "
    return prefix + d, (len(prefix), len(prefix) + len(d))


def prompt_ids(tok, prompt, span, max_length, eos):
    """The prompt's ids + </s>, the document's tokens cut from their end to fit max_length."""
    enc = tok.encode(prompt, add_special_tokens=False)
    ids, offsets = enc.ids, enc.offsets
    budget = max_length - 1
    if len(ids) > budget:
        start, end = span
        in_doc = [s < end and e > start for s, e in offsets]
        doc_tokens = sum(in_doc)
        keep_doc = max(0, doc_tokens - (len(ids) - budget))
        kept, seen = [], 0
        for i, inside in zip(ids, in_doc):
            if inside:
                seen += 1
                if seen > keep_doc:
                    continue
            kept.append(i)
        ids = kept[len(kept) - budget:] if len(kept) > budget else kept
    return ids + [eos]


def widen(model, seed):
    """Norm gains 1 ± 0.1 and relative-position biases of std 0.5, so that a missing norm or a
    wrong bucket shows; the other weights keep transformers' init."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "layer_norm" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * noise)


def buckets(cfg):
    rel = torch.arange(-600, 601)
    out = {}
    for bidirectional in (True, False):
        b = T5Attention._relative_position_bucket(
            rel,
            bidirectional=bidirectional,
            num_buckets=cfg["relative_attention_num_buckets"],
            max_distance=cfg["relative_attention_max_distance"],
        )
        out["bidirectional" if bidirectional else "causal"] = b.tolist()
    return {"from": -600, **out}


def r(x):
    return float("%.8g" % x)


def build(name, tok, seed, ff, tied, num_buckets, max_distance):
    out = os.path.join(FIXTURES, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    vocab_size = tok.get_vocab_size() + 4  # a few unused rows past the tokenizer, as T5 has
    config = T5Config(
        vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=4, relative_attention_num_buckets=num_buckets,
        relative_attention_max_distance=max_distance, dropout_rate=0.1, feed_forward_proj=ff,
        tie_word_embeddings=tied, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    )
    torch.manual_seed(seed)
    model = T5ForConditionalGeneration(config)
    widen(model, seed + 1)
    if not tied:
        # transformers 5 ties lm_head to shared in memory whatever the config: give it its own.
        with torch.no_grad():
            model.lm_head.weight = torch.nn.Parameter(torch.randn(vocab_size, 32) * 0.5)
    model.save_pretrained(out)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(out, extra)):
            os.remove(os.path.join(out, extra))
    # transformers 5 writes tie_word_embeddings: true whatever it was given; the file must say
    # what the checkpoint is (v1.1 / mT5 configs say false).
    cfg_path = os.path.join(out, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["tie_word_embeddings"] = tied
    cfg["architectures"] = ["T5ForConditionalGeneration"]
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": MAX_LENGTH, "tokenizer_class": "T5Tokenizer",
                   "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}, f, indent=2)

    weights = load_file(os.path.join(out, "model.safetensors"))
    assert ("lm_head.weight" in weights) == (not tied), sorted(weights)

    model = T5ForConditionalGeneration.from_pretrained(out, attn_implementation="eager")
    model.eval()
    assert model.config.scale_decoder_outputs == tied
    assert torch.equal(model.lm_head.weight, model.shared.weight) == tied

    eos = cfg["eos_token_id"]
    mono_ids = [prompt_ids(tok, *mono_prompt(q, d), MAX_LENGTH, eos) for q, d in PAIRS]
    rank_ids = [prompt_ids(tok, *rank_prompt(q, d), MAX_LENGTH, eos) for q, d in PAIRS]
    # Untruncated prompts are exactly what the tokenizer gives the whole prompt (with `</s>`).
    for (q, d), m, rk in zip(PAIRS, mono_ids, rank_ids):
        if len(m) < MAX_LENGTH:
            assert m == tok.encode(mono_prompt(q, d)[0]).ids, (q, d)
        if len(rk) < MAX_LENGTH:
            assert rk == tok.encode(rank_prompt(q, d)[0]).ids, (q, d)
    tail = [tok.token_to_id("▁Relevant"), tok.token_to_id(":"), eos]
    assert len(mono_ids[-1]) == MAX_LENGTH and mono_ids[-1][-3:] == tail, mono_ids[-1][-5:]
    assert len(rank_ids[-1]) == MAX_LENGTH

    scored = {t: tok.token_to_id(t) for t in SCORED_TOKENS}
    start = cfg["decoder_start_token_id"]

    def run(ids, hidden=False):
        input_ids = torch.tensor([ids])
        states = []
        hooks = []
        if hidden:
            for block in model.encoder.block:
                hooks.append(block.register_forward_hook(lambda m, i, o: states.append(o[0][0])))
        with torch.no_grad():
            outputs = model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                decoder_input_ids=torch.tensor([[start]]),
            )
        for h in hooks:
            h.remove()
        if hidden:
            states.append(outputs.encoder_last_hidden_state[0])
        logits = outputs.logits[0, 0]
        return logits, states

    entries = []
    for i, (m, rk) in enumerate(zip(mono_ids, rank_ids)):
        logits, states = run(m, hidden=i in (HIDDEN_ALL, HIDDEN_LAST))
        rank_logits, _ = run(rk)
        t, f = logits[scored["▁true"]], logits[scored["▁false"]]
        entry = {
            "query": PAIRS[i][0],
            "document": PAIRS[i][1],
            "mono_ids": m,
            "rank_ids": rk,
            "mono_logits": {k: r(logits[v].item()) for k, v in scored.items()},
            "rank_logits": {k: r(rank_logits[v].item()) for k, v in scored.items()},
            "mono_raw": r((t - f).item()),
            "mono_softmax_true": r(torch.softmax(torch.stack([t, f]), 0)[0].item()),
            "mono_yes_no_raw": r((logits[scored["▁yes"]] - logits[scored["▁no"]]).item()),
            "rank_raw": r(rank_logits[scored["<extra_id_10>"]].item()),
            "max_abs_logit": r(logits.abs().max().item()),
        }
        # Hidden states of two prompts only (the file stays small): every block's output and the
        # final-normed output of the shortest, the final output of the first.
        if i == HIDDEN_ALL:
            entry["encoder_hidden_states"] = [[[r(x) for x in row] for row in s.tolist()] for s in states]
        if i == HIDDEN_LAST:
            entry["encoder_last_hidden_state"] = [[r(x) for x in row] for row in states[-1].tolist()]
        entries.append(entry)
    return {
        "dir": os.path.relpath(out, ROOT),
        "max_length": MAX_LENGTH,
        "scored_ids": scored,
        "eos": eos,
        "decoder_start_token_id": start,
        "buckets": buckets(cfg),
        "pairs": entries,
    }


def main():
    tok = build_tokenizer()
    fixture = {
        "t5-tiny-relu": build("t5-tiny-relu", tok, 25, "relu", True, 32, 128),
        "t5-tiny-gated": build("t5-tiny-gated", tok, 26, "gated-gelu", False, 16, 20),
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
    }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes)")


if __name__ == "__main__":
    main()
