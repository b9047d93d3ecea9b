"""A tiny random Qwen3ForCausalLM yes/no reranker (issue 25, decoder-only generative rerankers)
saved through sentence-transformers' CrossEncoder, and its reference outputs.

No hub is reachable, so the model is built here, seeded and deterministic, from transformers'
own classes, with a byte-level BPE tokenizer.json trained by the `tokenizers` library on
data/sample (Qwen's layout: ByteLevel pre-tokenizer and decoder, no BOS/EOS added, the special
tokens `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` added after the pieces). `yes` and `no` are
pieces of their own. Its chat template renders a (query, document) pair from the `query` and
`document` roles (Qwen3-Reranker's prompt layout: a system line, `<Query>: …` / `<Document>: …`
in the user turn, then the assistant turn with an empty think block as the suffix).

The model (2 layers, hidden 32, 4 query heads and 2 key/value heads of head_dim 16, so
q_proj is 32 → 64 and head_dim ≠ hidden / heads; intermediate 64; rope_theta 1000; tied
embeddings; every norm's gain perturbed so q_norm / k_norm are not the identity) is saved
with `CrossEncoder(dir)` (which recognises a `*ForCausalLM` and adds `LogitScore(yes, no)`)
and `max_seq_length = MAX_LENGTH`, to tests/fixtures/qwen3-tiny-reranker/ (modules.json,
sentence_bert_config.json, 1_LogitScore/config.json, config.json, model.safetensors,
tokenizer.json, tokenizer_config.json, chat_template.jinja).

tests/fixtures/qwen3.json holds, per pair (the long document one is cut by sentence-transformers'
truncation, which keeps the template's suffix): the token ids sentence-transformers feeds the
model (template included), the hidden states of every layer at every position (embedding
output, each decoder layer's output, the final-normed output; model run on that pair alone),
the raw scores logit(yes) − logit(no) one by one and of the whole batch at once (left padded,
as sentence-transformers pads for causal models), the batch's left-padded ids, and
the suffix ids sentence-transformers restores.

usage: scripts/reference/setup.sh && .cache/venv-ref/bin/python scripts/reference/qwen3_reference.py
"""
import json
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM
from sentence_transformers import CrossEncoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests/fixtures")
OUT = os.path.join(FIXTURES, "qwen3-tiny-reranker")
FIXTURE = os.path.join(FIXTURES, "qwen3.json")
torch.set_num_threads(2)
torch.manual_seed(0)

MAX_LENGTH = 160
# A prompt (sentence-transformers' `prompt=`: a system message before the pair).
INSTRUCTION = "Judge whether the document says how to finish wood"
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CHAT_TEMPLATE = (
    "{%- set system = messages | selectattr('role', 'eq', 'system') | map(attribute='content') | first -%}\n"
    "{%- set query = messages | selectattr('role', 'eq', 'query') | map(attribute='content') | first -%}\n"
    "{%- set document = messages | selectattr('role', 'eq', 'document') | map(attribute='content') | first -%}\n"
    "<|im_start|>system\n"
    "Judge whether the Document meets the Query: answer \"yes\" or \"no\".<|im_end|>\n"
    "<|im_start|>user\n"
    "<Instruct>: {{ system if system else 'Given a web search query, retrieve relevant passages' }}\n"
    "<Query>: {{ query }}\n"
    "<Document>: {{ document }}<|im_end|>\n"
    "<|im_start|>assistant\n"
    "<think>\n\n</think>\n\n"
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
    texts += [CHAT_TEMPLATE] * 20 + ["yes", "no"] * 100
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
    for word in ("yes", "no"):
        assert tok.token_to_id(word) is not None, word
    return tok


def round_floats(value):
    """Floats to 9 significant digits (f32's round trip), to keep the fixture small."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    return value


def main():
    tok = build_tokenizer()
    vocab = tok.get_vocab_size()
    work = tempfile.mkdtemp()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=MAX_LENGTH,
    )
    fast.chat_template = CHAT_TEMPLATE
    config = Qwen3Config(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        rope_theta=1000.0,
        tie_word_embeddings=True,
        initializer_range=0.2,
        eos_token_id=tok.token_to_id("<|im_end|>"),
        pad_token_id=tok.token_to_id("<|endoftext|>"),
        bos_token_id=None,
    )
    model = Qwen3ForCausalLM(config).eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.3 * torch.randn(p.shape, generator=g))
    model.save_pretrained(work)
    fast.save_pretrained(work)

    ce = CrossEncoder(work, max_length=MAX_LENGTH)
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    ce.save(OUT)
    shutil.rmtree(work)
    for name in ("README.md",):
        path = os.path.join(OUT, name)
        if os.path.exists(path):
            os.remove(path)

    # Reload from the saved directory: the reference is what the saved model gives.
    ce = CrossEncoder(OUT)
    assert ce.max_length == MAX_LENGTH, ce.max_length
    transformer = ce[0]
    hf = transformer.model.eval()
    yes, no = tok.token_to_id("yes"), tok.token_to_id("no")
    lm_head = hf.get_output_embeddings().weight

    def hidden_states(ids):
        states = []
        hooks = [hf.model.embed_tokens.register_forward_hook(lambda m, i, o: states.append(o))]
        for layer in hf.model.layers:
            hooks.append(layer.register_forward_hook(
                lambda m, i, o: states.append(o[0] if isinstance(o, tuple) else o)))
        hooks.append(hf.model.norm.register_forward_hook(lambda m, i, o: states.append(o)))
        with torch.no_grad():
            out = hf(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
        for h in hooks:
            h.remove()
        return [s[0].tolist() for s in states], out.logits[0, -1]

    entries = []
    for q, d in PAIRS:
        features = transformer.preprocess([(q, d)])
        ids = features["input_ids"][0].tolist()
        states, logits = hidden_states(ids)
        with torch.no_grad():
            one = ce.predict([(q, d)], activation_fn=torch.nn.Identity(), convert_to_numpy=True)
        raw = float(one[0])
        assert abs(raw - float(logits[yes] - logits[no])) < 1e-5
        entries.append({
            "query": q,
            "document": d,
            "ids": ids,
            # Every layer's states for the first two pairs (the fixture stays small).
            "hidden_states": states if len(entries) < 2 else None,
            "logits": [float(logits[yes]), float(logits[no])],
            "raw_score": raw,
        })
    features = transformer.preprocess(PAIRS)
    batched = ce.predict(PAIRS, activation_fn=torch.nn.Identity(), batch_size=len(PAIRS),
                         convert_to_numpy=True)
    sigmoid = ce.predict(PAIRS, batch_size=len(PAIRS), convert_to_numpy=True)
    suffix = transformer._chat_template_suffix_ids(
        transformer.input_formatter.pair_to_messages(PAIRS[0]), {}, {}, {})
    long_ids = entries[-1]["ids"]
    assert len(long_ids) == MAX_LENGTH and long_ids[-len(suffix):] == suffix
    rendered = tok.decode(entries[0]["ids"], skip_special_tokens=False)
    instructed = []
    for q, d in PAIRS:
        features = transformer.preprocess([(q, d)], prompt=INSTRUCTION)
        raw = ce.predict([(q, d)], prompt=INSTRUCTION, activation_fn=torch.nn.Identity(),
                         convert_to_numpy=True)
        instructed.append({"ids": features["input_ids"][0].tolist(), "raw_score": float(raw[0])})
    fixture = {
        "instruction": INSTRUCTION,
        "instructed": instructed,
        "max_length": MAX_LENGTH,
        "true_token_id": yes,
        "false_token_id": no,
        "suffix_ids": suffix,
        "first_prompt": rendered,
        "pairs": entries,
        "batch_input_ids": features["input_ids"].tolist(),
        "batch_attention_mask": features["attention_mask"].tolist(),
        "batch_raw_scores": [float(x) for x in batched],
        "batch_sigmoid_scores": [float(x) for x in sigmoid],
    }
    with open(FIXTURE, "w") as f:
        json.dump(round_floats(fixture), f)
    print("vocab", vocab, "yes", yes, "no", no, "suffix", len(suffix))
    print("untruncated", [len(transformer.tokenizer.apply_chat_template(
        transformer.input_formatter.pair_to_messages(p), tokenize=True, return_dict=True)["input_ids"]) for p in PAIRS])
    print("lengths", [len(e["ids"]) for e in entries])
    print("raw", [e["raw_score"] for e in entries], "batched", list(batched))
    print("lm_head", tuple(lm_head.shape))


if __name__ == "__main__":
    main()
