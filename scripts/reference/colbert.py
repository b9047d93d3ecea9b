"""A tiny random ColBERT built with PyLate, saved in PyLate's and Stanford ColBERT's formats, and
the reference outputs the Rust tests check (issue 26).

No hub is reachable, so the model is built here, seeded and deterministic: a 2-layer BERT body
(hidden 32, 4 heads) from transformers' own class with a lower-casing WordPiece vocabulary counted
from the project's sample text (data/sample) by the `tokenizers` library's BERT normaliser and
pre-tokenizer, with [PAD] [UNK] [CLS] [SEP] [MASK] [unused0] [unused1]; then
`pylate.models.ColBERT` on it: a projection to 16 dims without bias, query prefix `[unused0]`,
document prefix `[unused1]` (the markers Stanford checkpoints use, so both formats tokenize
alike), query_length 12 (short queries show the [MASK] expansion), document_length 24 (long
documents show the truncation), and PyLate's default skiplist (string.punctuation). Some
punctuation marks are not in the vocabulary: PyLate maps them to [UNK] when it builds the
skiplist, so [UNK] tokens are skipped too, and the fixture shows it.

Writes:
  - tests/fixtures/colbert/pylate-tiny/: the model as `ColBERT.save` writes it (model card
    removed), which `pylate.models.ColBERT(dir)` loads;
  - tests/fixtures/colbert/pylate-default-prefix-tiny/: the same body with PyLate's default
    prefixes "[Q] " / "[D] ", which PyLate adds to the tokenizer (the word embedding grows by
    two rows) and its own projection, for the most common PyLate layout;
  - tests/fixtures/colbert/electra-tiny/, xlm-roberta-tiny/: PyLate's ColBERT (default
    prefixes) on the ELECTRA and XLM-RoBERTa bodies of tests/fixtures/tiny-models (tiny_models.py),
    with their ids, skiplist masks and scores in the fixture;
  - tests/fixtures/colbert/stanford-tiny/: the same weights as colbert-ai's `HF_ColBERT` saves
    them: `config.json` (architectures ["HF_ColBERT"]), `model.safetensors` with the encoder under
    `bert.` and the projection as `linear.weight`, the tokenizer files, and `artifact.metadata`
    (the flat ColBERTConfig JSON: query_token_id, doc_token_id, query_maxlen, doc_maxlen, dim,
    mask_punctuation, attend_to_mask_tokens, ...); PyLate loads it too (checked here: same
    scores);
  - tests/fixtures/colbert.json: queries and documents; their token ids and attention masks
    exactly as `ColBERT.tokenize` makes them (one text at a time, so unpadded); per-token output
    vectors as `ColBERT.encode` returns them (queries: all query_length vectors; documents: the
    scored ones, i.e. without skiplist tokens, plus the mask over the document's tokens);
    MaxSim scores for every query × document (`pylate.scores.colbert_scores` on one query and
    one unpadded document); the ids and scores of the default-prefix model; query outputs with attend_to_expansion_tokens = true; and one
    training step for each of PyLate's `Contrastive` (in-batch + one hard negative per query,
    temperature 0.5) and `Distillation` (KL on teacher scores, student scores min-max normalised
    per query, PyLate's default) losses: the score matrix the loss sees, the loss, its gradient
    with respect to that score matrix, and the gradients of a few named parameters (dropout
    is 0).

Weights are drawn wider than transformers' init (std 0.2, random LayerNorm gains and biases) so
that vectors differ clearly from token to token and a swapped tensor shows.

usage: scripts/reference/setup_pylate.sh && .cache/venv-pylate/bin/python scripts/reference/colbert.py
"""
import json
import os
import shutil
import string
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
import torch
from safetensors.torch import load_file, save_file
from tokenizers.implementations import BertWordPieceTokenizer
from transformers import BertConfig, BertModel, BertTokenizerFast

from pylate import losses, models
from pylate.scores import colbert_scores

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests/fixtures/colbert")
PYLATE_DIR = os.path.join(OUT, "pylate-tiny")
STANFORD_DIR = os.path.join(OUT, "stanford-tiny")
DEFAULT_PREFIX_DIR = os.path.join(OUT, "pylate-default-prefix-tiny")
# Other BERT-family bodies: ColBERT (default prefixes) on the tiny checkpoints of
# scripts/reference/tiny_models.py (their encoders only).
ARCHITECTURES = {"electra": "electra-ce", "xlm-roberta": "xlm-roberta-bi"}
FIXTURE = os.path.join(ROOT, "tests/fixtures/colbert.json")
torch.set_num_threads(2)

QUERY_LENGTH = 12
DOCUMENT_LENGTH = 24
DIM = 16

QUERIES = [
    "what causes squealing disc brakes",
    "does adding salt make water boil faster",
    "how do I pay tax as a freelancer with no boss, taking it out of my wages myself every month?",
    "varnish",
    "Sanding: between coats?!",
]
DOCUMENTS = [
    "Squealing disc brakes are usually caused by contamination on the rotor.",
    "Film finishes such as polyurethane and varnish form a hard layer on the surface that resists "
    "water, heat and scratches better than oil. Several thin coats give a smoother result.",
    "Salt raises the boiling point of water a little; it does not make it boil faster.",
    "(tax) -- wages; self-employed: pay quarterly! {estimates} #freelance @home ~ 100% & more",
    "...",
    "Brakes",
    "Freelancers pay estimated tax every quarter, since no employer withholds it from wages.",
    "Hearing protection € ¥ 😀 is standard in any workshop.",
]

# One contrastive batch: (query, positive, hard negative).
CONTRASTIVE = [
    (QUERIES[0], DOCUMENTS[0], DOCUMENTS[5]),
    (QUERIES[1], DOCUMENTS[2], DOCUMENTS[1]),
    (QUERIES[2], DOCUMENTS[6], DOCUMENTS[3]),
]
CONTRASTIVE_TEMPERATURE = 0.5
# One distillation batch: query, its candidates, teacher scores.
DISTILLATION = [
    (QUERIES[0], [DOCUMENTS[0], DOCUMENTS[5], DOCUMENTS[1]], [4.0, 1.5, -2.0]),
    (QUERIES[2], [DOCUMENTS[6], DOCUMENTS[3], DOCUMENTS[7]], [3.0, 2.5, -1.0]),
]
# Parameters whose gradients the fixture holds (PyLate's names: module index, then the
# transformers name).
GRADIENT_PARAMETERS = [
    "1.linear.weight",
    "0.auto_model.encoder.layer.1.output.dense.bias",
    "0.auto_model.encoder.layer.0.attention.self.query.weight",
    "0.auto_model.embeddings.LayerNorm.weight",
    "0.auto_model.embeddings.position_embeddings.weight",
]


def sample_sentences():
    sentences = []
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(os.path.join(ROOT, "data/sample", name)) as f:
            for line in f:
                row = json.loads(line)
                sentences.extend(v for k, v in row.items() if k in ("title", "text") and v)
    return sentences


def wordpiece_tokenizer(sentences, workdir):
    """A BERT-style WordPiece vocabulary counted from `sentences` (ties broken by string, so the
    vocabulary is the same every run): the specials, every character alone and as `##`
    continuation (but some punctuation marks left out, so they become [UNK]), the most
    frequent `##` suffixes and whole words."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]
    splitter = BertWordPieceTokenizer(lowercase=True)
    words = Counter()
    for sentence in sentences:
        normalized = splitter.normalizer.normalize_str(sentence)
        words.update(w for w, _ in splitter.pre_tokenizer.pre_tokenize_str(normalized))
    left_out = set("~{}^`|")
    chars = sorted({c for w in words for c in w} | set(string.punctuation) - left_out)
    suffixes = Counter()
    for word, count in words.items():
        for n in (2, 3, 4):
            if len(word) > n:
                suffixes["##" + word[-n:]] += count
    by_count = lambda counter: [t for t, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
    vocab = specials + chars + ["##" + c for c in chars] + by_count(suffixes)[:120]
    vocab += [w for w in by_count(words) if w not in set(vocab)][: 700 - len(vocab)]
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "vocab.txt")
    with open(path, "w") as f:
        f.write("\n".join(vocab) + "\n")
    return BertTokenizerFast(vocab=path, do_lower_case=True, model_max_length=64)


def widen(module, seed):
    """Weights wider than transformers' init, seeded: std 0.2 (0.05 for the layers that close a
    residual branch), LayerNorm gains around 1, small random biases."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif name.endswith("output.dense.weight"):
                # Residual branches small against the residual stream, so that each token's
                # vector keeps its own word (random bodies otherwise pull every vector towards
                # one shared direction and MaxSim scores barely differ).
                p.copy_(0.05 * noise)
            else:
                p.copy_(0.2 * noise)


def g(x):
    """Floats at float32 precision, briefly."""
    return [float(f"{v:.7g}") for v in torch.as_tensor(x).flatten().tolist()]


def tokenized(model, text, is_query):
    features = model.tokenize([text], is_query=is_query)
    return {
        "input_ids": features["input_ids"][0].tolist(),
        "attention_mask": features["attention_mask"][0].tolist(),
    }


def build():
    workdir = os.path.join(OUT, ".work")
    shutil.rmtree(workdir, ignore_errors=True)
    tok = wordpiece_tokenizer(sample_sentences(), workdir)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        type_vocab_size=2,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    torch.manual_seed(0)
    bert = BertModel(config, add_pooling_layer=False)
    widen(bert, 1)
    base = os.path.join(workdir, "base")
    bert.save_pretrained(base)
    tok.save_pretrained(base)

    torch.manual_seed(2)
    model = models.ColBERT(
        base,
        device="cpu",
        embedding_size=DIM,
        query_prefix="[unused0]",
        document_prefix="[unused1]",
        query_length=QUERY_LENGTH,
        document_length=DOCUMENT_LENGTH,
    )
    assert len(model.tokenizer) == len(tok), "the prefixes are vocabulary tokens: no resize"
    widen(model[1], 3)
    for path in (PYLATE_DIR, STANFORD_DIR):
        shutil.rmtree(path, ignore_errors=True)
    model.save(PYLATE_DIR)
    os.remove(os.path.join(PYLATE_DIR, "README.md"))

    # PyLate's default prefixes: "[Q] " and "[D] " are added to the tokenizer and the word
    # embedding grows by two rows (drawn by transformers' mean resizing, seeded).
    shutil.rmtree(DEFAULT_PREFIX_DIR, ignore_errors=True)
    torch.manual_seed(4)
    default = models.ColBERT(
        base, device="cpu", embedding_size=DIM, query_length=QUERY_LENGTH, document_length=DOCUMENT_LENGTH
    )
    assert len(default.tokenizer) == len(tok) + 2, len(default.tokenizer)
    widen(default[1], 5)
    default.save(DEFAULT_PREFIX_DIR)
    os.remove(os.path.join(DEFAULT_PREFIX_DIR, "README.md"))
    shutil.rmtree(workdir)
    return model


def build_architecture(name, source, seed):
    """PyLate's ColBERT on the body of tests/fixtures/tiny-models/<source> (copied without its
    sentence-transformers modules, which a newer sentence-transformers wrote)."""
    work = os.path.join(OUT, ".work-" + name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(ROOT, "tests/fixtures/tiny-models", source)
    for file in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(src, file)):
            shutil.copy(os.path.join(src, file), work)
    out = os.path.join(OUT, f"{name}-tiny")
    shutil.rmtree(out, ignore_errors=True)
    torch.manual_seed(seed)
    model = models.ColBERT(
        work, device="cpu", embedding_size=DIM, query_length=QUERY_LENGTH, document_length=DOCUMENT_LENGTH
    )
    widen(model[1], seed + 1)
    model.save(out)
    os.remove(os.path.join(out, "README.md"))
    shutil.rmtree(work)
    model = models.ColBERT(out, device="cpu")
    return {
        "settings": {
            "query_prefix": model.query_prefix,
            "document_prefix": model.document_prefix,
            "query_prefix_id": model.query_prefix_id,
            "document_prefix_id": model.document_prefix_id,
            "mask_token_id": model.tokenizer.mask_token_id,
            "skiplist_ids": sorted(set(model.skiplist)),
        },
        "queries": [{"text": t, **tokenized(model, t, True)} for t in QUERIES],
        "documents": [
            {"text": t, **tokenized(model, t, False), "scored": [int(m) for m in model.skiplist_mask(torch.tensor([tokenized(model, t, False)["input_ids"]]), model.skiplist)[0].tolist()]}
            for t in DOCUMENTS
        ],
        "scores": [g(row) for row in score_grid(model)],
    }


def save_stanford(model):
    """The same weights as colbert-ai's HF_ColBERT.save_pretrained writes them."""
    os.makedirs(STANFORD_DIR)
    tensors = {f"bert.{k}": v for k, v in load_file(os.path.join(PYLATE_DIR, "model.safetensors")).items()}
    tensors["linear.weight"] = model[1].linear.weight.detach().clone().contiguous()
    save_file(tensors, os.path.join(STANFORD_DIR, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(PYLATE_DIR, "config.json")) as f:
        config = json.load(f)
    config["architectures"] = ["HF_ColBERT"]
    with open(os.path.join(STANFORD_DIR, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        src = os.path.join(PYLATE_DIR, name)
        if os.path.exists(src):
            shutil.copy(src, STANFORD_DIR)
    metadata = {
        "query_token_id": "[unused0]",
        "doc_token_id": "[unused1]",
        "query_token": "[Q]",
        "doc_token": "[D]",
        "ncells": None,
        "centroid_score_threshold": None,
        "ndocs": None,
        "index_path": None,
        "nbits": 2,
        "kmeans_niters": 4,
        "resume": False,
        "similarity": "cosine",
        "bsize": 32,
        "accumsteps": 1,
        "lr": 1e-05,
        "maxsteps": 500000,
        "save_every": None,
        "warmup": None,
        "warmup_bert": None,
        "relu": False,
        "nway": 2,
        "use_ib_negatives": False,
        "reranker": False,
        "distillation_alpha": 1.0,
        "ignore_scores": False,
        "model_name": None,
        "query_maxlen": QUERY_LENGTH,
        "attend_to_mask_tokens": False,
        "interaction": "colbert",
        "dim": DIM,
        "doc_maxlen": DOCUMENT_LENGTH,
        "mask_punctuation": True,
        "checkpoint": None,
        "triples": None,
        "collection": None,
        "queries": None,
        "index_name": None,
        "overwrite": False,
        "root": "experiments",
        "experiment": "default",
        "index_root": None,
        "name": "tiny",
        "rank": 0,
        "nranks": 1,
        "amp": True,
        "gpus": 0,
        "meta": {"hostname": "rankforge", "current_datetime": "", "cmd": "scripts/reference/colbert.py", "version": "colbert-v0.4"},
    }
    with open(os.path.join(STANFORD_DIR, "artifact.metadata"), "w") as f:
        f.write(json.dumps(metadata, indent=4) + "\n")


def score_grid(model):
    q = model.encode(QUERIES, is_query=True, convert_to_tensor=True)
    d = model.encode(DOCUMENTS, is_query=False, convert_to_tensor=True)
    return [[float(colbert_scores(qi[None], dj[None])[0, 0]) for dj in d] for qi in q]


def train_step(model, loss_fn, features, labels=None):
    model.train()
    model.zero_grad()
    scores = {}
    # Record the score matrix the loss sees by wrapping its score function.
    inner = loss_fn.score_metric

    def recording(*args, **kwargs):
        out = inner(*args, **kwargs)
        out.retain_grad()
        scores["matrix"] = out
        return out

    loss_fn.score_metric = recording
    loss = loss_fn(features, labels) if labels is not None else loss_fn(features)
    loss_fn.score_metric = inner
    loss.backward()
    params = dict(model.named_parameters())
    grads = {name: {"shape": list(params[name].shape), "values": g(params[name].grad)} for name in GRADIENT_PARAMETERS}
    model.eval()
    matrix = scores["matrix"]
    return {
        "scores": [g(row) for row in matrix.detach()],
        "score_gradients": [g(row) for row in matrix.grad],
        "loss": float(loss.detach()),
        "gradients": grads,
    }


def main():
    model = build()
    save_stanford(model)
    model = models.ColBERT(PYLATE_DIR, device="cpu")
    stanford = models.ColBERT(STANFORD_DIR, device="cpu")
    for key in ("query_prefix", "document_prefix", "query_length", "document_length", "attend_to_expansion_tokens", "skiplist"):
        assert getattr(model, key) == getattr(stanford, key), key

    query_out = model.encode(QUERIES, is_query=True, output_value=None)
    doc_out = model.encode(DOCUMENTS, is_query=False, output_value=None)
    doc_vectors = model.encode(DOCUMENTS, is_query=False)
    queries = []
    for i, text in enumerate(QUERIES):
        entry = {"text": text, **tokenized(model, text, True)}
        assert entry["input_ids"] == query_out["input_ids"][i].tolist()
        entry["vectors"] = g(query_out["token_embeddings"][i])
        queries.append(entry)
    documents = []
    for i, text in enumerate(DOCUMENTS):
        entry = {"text": text, **tokenized(model, text, False)}
        n = len(entry["input_ids"])
        # encode pads a batch to its longest document (attention 0 there).
        assert entry["input_ids"] == doc_out["input_ids"][i].tolist()[:n]
        assert not any(doc_out["attention_mask"][i].tolist()[n:])
        entry["scored"] = [int(m) for m in doc_out["masks"][i].tolist()[:n]]
        entry["vectors"] = g(doc_vectors[i])
        documents.append(entry)

    scores = score_grid(model)
    stanford_scores = score_grid(stanford)
    diff = max(abs(a - b) for ra, rb in zip(scores, stanford_scores) for a, b in zip(ra, rb))
    assert diff < 1e-5, diff

    attending = models.ColBERT(PYLATE_DIR, device="cpu", attend_to_expansion_tokens=True)
    attend_out = attending.encode(QUERIES[:2], is_query=True, output_value=None)
    attend = [
        {
            "text": t,
            "input_ids": attend_out["input_ids"][i].tolist(),
            "attention_mask": attend_out["attention_mask"][i].tolist(),
            "vectors": g(attend_out["token_embeddings"][i]),
        }
        for i, t in enumerate(QUERIES[:2])
    ]

    # Training: PyLate's collator pads documents to document_length (pad=True).
    qf = model.tokenize([q for q, _, _ in CONTRASTIVE], is_query=True, pad=True)
    pf = model.tokenize([p for _, p, _ in CONTRASTIVE], is_query=False, pad=True)
    nf = model.tokenize([n for _, _, n in CONTRASTIVE], is_query=False, pad=True)
    contrastive = train_step(
        model, losses.Contrastive(model=model, temperature=CONTRASTIVE_TEMPERATURE), [qf, pf, nf]
    )
    contrastive.update(
        {
            "temperature": CONTRASTIVE_TEMPERATURE,
            "batch": [{"query": q, "positive": p, "negative": n} for q, p, n in CONTRASTIVE],
            "document_input_ids": [pf["input_ids"].tolist(), nf["input_ids"].tolist()],
        }
    )
    qf = model.tokenize([q for q, _, _ in DISTILLATION], is_query=True, pad=True)
    df = model.tokenize([d for _, docs, _ in DISTILLATION for d in docs], is_query=False, pad=True)
    teacher = torch.tensor([t for _, _, t in DISTILLATION])
    distillation = train_step(model, losses.Distillation(model=model), [qf, df], teacher)
    distillation.update(
        {
            "normalize_scores": True,
            "batch": [{"query": q, "documents": docs, "teacher_scores": t} for q, docs, t in DISTILLATION],
        }
    )

    default = models.ColBERT(DEFAULT_PREFIX_DIR, device="cpu")
    default_prefix = {
        "settings": {
            "query_prefix": default.query_prefix,
            "document_prefix": default.document_prefix,
            "query_prefix_id": default.query_prefix_id,
            "document_prefix_id": default.document_prefix_id,
        },
        "queries": [{"text": t, **tokenized(default, t, True)} for t in QUERIES],
        "documents": [{"text": t, **tokenized(default, t, False)} for t in DOCUMENTS],
        "scores": [g(row) for row in score_grid(default)],
    }

    architectures = {name: build_architecture(name, src, 10 + 2 * i) for i, (name, src) in enumerate(ARCHITECTURES.items())}

    fixture = {
        "about": "scripts/reference/colbert.py: tiny random PyLate ColBERT (tests/fixtures/colbert/), "
        "its tokenization, vectors, MaxSim scores and one step of each loss",
        "versions": {
            "pylate": __import__("pylate").__version__,
            "sentence_transformers": __import__("sentence_transformers").__version__,
            "torch": torch.__version__,
        },
        "settings": {
            "query_prefix": model.query_prefix,
            "document_prefix": model.document_prefix,
            "query_prefix_id": model.query_prefix_id,
            "document_prefix_id": model.document_prefix_id,
            "query_length": model.query_length,
            "document_length": model.document_length,
            "dim": DIM,
            "skiplist_ids": sorted(set(model.skiplist)),
            "mask_token_id": model.tokenizer.mask_token_id,
        },
        "queries": queries,
        "documents": documents,
        "scores": [g(row) for row in scores],
        "stanford_max_abs_diff": diff,
        "attend_to_expansion_tokens": attend,
        "default_prefix": default_prefix,
        "architectures": architectures,
        "contrastive": contrastive,
        "distillation": distillation,
    }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes); PyLate vs Stanford format max diff {diff:.2e}")


if __name__ == "__main__":
    main()
