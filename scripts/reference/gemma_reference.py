"""A tiny random GemmaForCausalLM scored as bge-reranker-v2-gemma scores (issue 25: the raw
logit of `Yes` at the last position, no false token), and its reference outputs.

No hub is reachable, so the model is built here, seeded and deterministic, from transformers'
own GemmaForCausalLM (2 layers, hidden 32, 4 query heads sharing 1 key/value head of
head_dim 16, intermediate 64, hidden_act "gelu" (read as the tanh GELU, as transformers reads
Gemma's legacy value), tied embeddings, every norm's stored gain random around 0 so `1 + w`
matters), with a byte-level BPE tokenizer.json (`<pad>`, `<eos>`, `<bos>`, `<unk>` added;
`Yes` a piece of its own), saved to tests/fixtures/gemma-tiny-reranker/ as a plain causal-LM
directory (no modules.json, no chat template).

The prompt is bge-reranker-v2-gemma's layout written as a plain Jinja template (PROMPT below:
`{{ bos_token }}A: {query}` newline `B: {document}` newline and the instruction), rendered as
transformers renders templates (jinja2, trim_blocks, lstrip_blocks) and tokenized whole
without added special tokens. (FlagEmbedding tokenizes the pieces apart and cuts the query at
3/4 of the length: ids can differ where a merge crosses a piece boundary.) A prompt longer than
MAX_LENGTH keeps its first MAX_LENGTH − suffix tokens and the suffix, the suffix being the
common token tail of two renders with fillers "0" and "1 2 3 4" (sentence-transformers' rule,
which rankforge applies to every template).

FlagEmbedding's own layout (FlagLLMReranker.compute_score, bge-reranker-v2-gemma's documented
use) is reproduced too, as "flag": BOS + `A: {query}` (cut at 3/4 of FLAG_MAX_LENGTH) and
`\n` + `B: {passage}` (cut at FLAG_MAX_LENGTH) joined as `prepare_for_model(truncation=
"only_second", max_length=FLAG_MAX_LENGTH)` joins them (written out: transformers 5 has no
prepare_for_model), then `\n` + the instruction appended, each piece
tokenized apart; its ids and logits of `Yes`, with a long query among the pairs.

tests/fixtures/gemma.json: per pair the ids, the hidden states of every layer for the first
two pairs (embedding output after the √hidden scale, each layer's output, the final-normed
output), the logit of `Yes` at the last position.

usage: scripts/reference/setup.sh && .cache/venv-ref/bin/python scripts/reference/gemma_reference.py
"""
import json
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import jinja2
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GemmaConfig, GemmaForCausalLM, PreTrainedTokenizerFast

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests/fixtures")
OUT = os.path.join(FIXTURES, "gemma-tiny-reranker")
FIXTURE = os.path.join(FIXTURES, "gemma.json")
torch.set_num_threads(2)
torch.manual_seed(0)

MAX_LENGTH = 128
FLAG_MAX_LENGTH = 48
FLAG_INSTRUCTION = (
    "Given a query A and a passage B, determine whether the passage contains an answer to the "
    "query by providing a prediction of either 'Yes' or 'No'."
)
LONG_QUERY = " ".join(["how do I get a smooth varnish finish on oak without brush marks"] * 6)
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>"]
PROMPT = (
    "{{ bos_token }}A: {{ query }}\nB: {{ document }}\n"
    "Given a query A and a passage B, determine whether the passage contains an answer to the "
    "query by providing a prediction of either 'Yes' or 'No'."
)

PAIRS = [
    ("what causes squealing disc brakes",
     "Squealing disc brakes are usually caused by contamination on the rotor."),
    ("how to finish oak furniture",
     "Several thin coats of varnish, lightly sanded between coats, give a smoother result."),
    ("is true oil a film finish", "No."),
    ("why sand between coats of varnish",
     " ".join(["Sanding between coats of varnish gives a smoother finish than one thick coat of oil."] * 20)),
]


def sample_texts():
    texts = []
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(os.path.join(ROOT, "data/sample", name)) as f:
            for line in f:
                row = json.loads(line)
                texts.append(row.get("title", "") + " " + row["text"])
    texts += [q + " " + d for q, d in PAIRS]
    texts += [PROMPT] * 20 + ["Yes", "No"] * 100
    return texts


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sample_texts(), trainer=trainer)
    tok.add_special_tokens(SPECIALS)
    assert tok.token_to_id("Yes") is not None
    return tok


def round_floats(value):
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    return value


def main():
    tok = build_tokenizer()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eos>",
        pad_token="<pad>",
        unk_token="<unk>",
        model_max_length=MAX_LENGTH,
    )
    config = GemmaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=16,
        hidden_act="gelu",
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=tok.token_to_id("<bos>"),
        eos_token_id=tok.token_to_id("<eos>"),
        pad_token_id=tok.token_to_id("<pad>"),
    )
    model = GemmaForCausalLM(config).eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    model.save_pretrained(OUT)
    fast.save_pretrained(OUT)
    for name in ("generation_config.json", "chat_template.jinja"):
        path = os.path.join(OUT, name)
        if os.path.exists(path):
            os.remove(path)

    model = GemmaForCausalLM.from_pretrained(OUT).eval()
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    template = env.from_string(PROMPT)

    def render(q, d):
        return template.render(query=q, document=d, bos_token="<bos>", eos_token="<eos>",
                               pad_token="<pad>", unk_token="<unk>")

    def ids_of(text):
        return tok.encode(text, add_special_tokens=False).ids

    first, second = ids_of(render("0", "0")), ids_of(render("1 2 3 4", "1 2 3 4"))
    count = 0
    for a, b in zip(reversed(first), reversed(second)):
        if a != b:
            break
        count += 1
    suffix = first[len(first) - count:]
    yes = tok.token_to_id("Yes")

    entries = []
    for i, (q, d) in enumerate(PAIRS):
        ids = ids_of(render(q, d))
        untruncated = len(ids)
        if len(ids) > MAX_LENGTH:
            ids = ids[: MAX_LENGTH - len(suffix)] + suffix
        states = []
        hooks = [model.model.embed_tokens.register_forward_hook(lambda m, i, o: states.append(o))]
        for layer in model.model.layers:
            hooks.append(layer.register_forward_hook(
                lambda m, i, o: states.append(o[0] if isinstance(o, tuple) else o)))
        hooks.append(model.model.norm.register_forward_hook(lambda m, i, o: states.append(o)))
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
        for h in hooks:
            h.remove()
        entries.append({
            "query": q,
            "document": d,
            "untruncated_length": untruncated,
            "ids": ids,
            "hidden_states": [s[0].tolist() for s in states] if i < 2 else None,
            "yes_logit": float(out.logits[0, -1, yes]),
        })
    def flag_ids(q, d):
        # FlagEmbedding's FlagLLMReranker.compute_score, one pair.
        prompt_inputs = fast(FLAG_INSTRUCTION, return_tensors=None, add_special_tokens=False)["input_ids"]
        sep_inputs = fast("\n", return_tensors=None, add_special_tokens=False)["input_ids"]
        query_inputs = fast(f"A: {q}", return_tensors=None, add_special_tokens=False,
                            max_length=FLAG_MAX_LENGTH * 3 // 4, truncation=True)
        passage_inputs = fast(f"B: {d}", return_tensors=None, add_special_tokens=False,
                              max_length=FLAG_MAX_LENGTH, truncation=True)
        # prepare_for_model(first, second, truncation="only_second", max_length=…,
        # add_special_tokens=False), which transformers 5 no longer has: the second sequence
        # loses tokens from its end until the pair fits (the first is at most 3/4 + 1 of it).
        first = [fast.bos_token_id] + query_inputs["input_ids"]
        second = sep_inputs + passage_inputs["input_ids"]
        excess = len(first) + len(second) - FLAG_MAX_LENGTH
        if excess > 0:
            assert excess < len(second)
            second = second[:-excess]
        return first + second + sep_inputs + prompt_inputs

    flag = []
    for q, d in PAIRS + [(LONG_QUERY, PAIRS[0][1])]:
        ids = flag_ids(q, d)
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids]))
        flag.append({"query": q, "document": d, "ids": ids,
                     "yes_logit": float(out.logits[0, -1, yes])})
    fixture = {
        "flag_max_length": FLAG_MAX_LENGTH,
        "flag_instruction": FLAG_INSTRUCTION,
        "flag": flag,
        "max_length": MAX_LENGTH,
        "prompt_template": PROMPT,
        "first_prompt": render(*PAIRS[0]),
        "true_token_id": yes,
        "suffix_ids": suffix,
        "pairs": entries,
    }
    with open(FIXTURE, "w") as f:
        json.dump(round_floats(fixture), f)
    print("vocab", tok.get_vocab_size(), "yes", yes, "suffix", len(suffix))
    print("lengths", [(e["untruncated_length"], len(e["ids"])) for e in entries])
    print("flag lengths", [len(e["ids"]) for e in flag])
    print("yes logits", [e["yes_logit"] for e in entries])


if __name__ == "__main__":
    main()
