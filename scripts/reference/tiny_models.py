"""Tiny random checkpoints of the architectures beyond BERT, and their reference outputs.

No hub is reachable, so the parity models are built here, seeded and deterministic, from
transformers' own classes, with tokenizers trained by the `tokenizers` library on the project's
sample text (data/sample). Each directory is a few hundred KB and committed, so the Rust tests
need no Python.

Writes tests/fixtures/tiny-models/<name>/ (HF directories):
  - xlm-roberta-ce: XLMRobertaForSequenceClassification (1 label), 2 layers, hidden 32, a
    SentencePiece-Unigram tokenizer.json with XLM-R's special tokens (<s> <pad> </s> <unk> ...
    <mask> last) and pairs as `<s> q </s></s> d </s>`; 1026 positions (padding_idx 1, so 1024
    usable, as bge-reranker-v2-m3 has 8194 for 8192), tokenizer model_max_length 1024;
  - xlm-roberta-bi: the same body as a sentence-transformers bi-encoder (XLMRobertaModel with a
    seeded pooler, mean pooling, Normalize), max_seq_length 256;
  - electra-ce: ElectraForSequenceClassification (1 label), embedding_size 16 < hidden 32 (so
    `embeddings_project` exists), a lower-casing WordPiece tokenizer (a BERT-style vocabulary
    counted from the sample text), 256 positions.
  - modernbert-ce: ModernBertForSequenceClassification (1 label, classifier_pooling mean, no
    biases as in gte-reranker-modernbert-base), 4 layers (0 and 3 global, 1 and 2 local) with a
    local window of 8 tokens (±4) and separate rotary θ for global and local layers, a byte-level
    BPE tokenizer with ModernBERT's specials after the vocabulary ([UNK] [CLS] [SEP] [PAD]
    [MASK]) and `[CLS] q [SEP] d [SEP]` pairs, 128 positions; its fixture also holds the logits
    with classifier_pooling cls and every layer's hidden states of the longest pair (token 0 and
    the last non-padding token) and the gradients of every parameter, as for the others;
  - modernbert-bi: a ModernBertModel with every bias (norm, attention, mlp) as a
    sentence-transformers bi-encoder (cls pooling, Normalize), max_seq_length 128;
and tests/fixtures/tiny_models.json with, per model: token ids of texts / pairs (one longer than
the max length), transformers logits, sentence_transformers.CrossEncoder sigmoid scores,
SentenceTransformer embeddings, the per-layer hidden states of token 0 for one pair, and the
gradients of every parameter for sum(logits²) over four pairs.

Weights are drawn wider than transformers' init (std 0.2, random LayerNorm gains and biases) so
that logits are O(1) and a swapped weight/bias or gamma/beta shows.

usage: scripts/reference/setup.sh && .cache/venv-ref/bin/python scripts/reference/tiny_models.py
"""
import json
import os
import shutil
from collections import Counter

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The trainers break ties by thread timing when parallel: one thread keeps the vocabulary
# (and so the fixture) the same from run to run.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"
import torch
from sentence_transformers import CrossEncoder, SentenceTransformer, models
from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, trainers
from tokenizers.implementations import BertWordPieceTokenizer
from tokenizers.models import Unigram
from transformers import (
    ElectraConfig,
    ElectraForSequenceClassification,
    ElectraTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaModel,
    XLMRobertaTokenizerFast,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    ModernBertModel,
    PreTrainedTokenizerFast,
)
from tokenizers import processors
from tokenizers.models import BPE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests/fixtures/tiny-models")
FIXTURE = os.path.join(ROOT, "tests/fixtures/tiny_models.json")
torch.set_num_threads(2)

LONG = " ".join(
    ["Sanding between coats of varnish gives a smoother finish than one thick coat of oil."] * 80
)
TEXTS = [
    "what causes squealing disc brakes",
    "Squealing disc brakes are usually caused by contamination on the rotor.",
    "Café, naïve façade — résumé of Zürich's Ångström units.",
    "东京是日本的首都",
    "",
    LONG,
]
PAIRS = [
    ("what causes squealing brakes", "Squealing disc brakes are usually caused by contamination from oil on the rotor."),
    ("what causes squealing brakes", "Film finishes such as polyurethane form a hard layer on the surface."),
    ("how to finish a table", "Several thin coats, lightly sanded between coats, give a smoother result."),
    ("how to finish a table", "Safety glasses and hearing protection are standard in any workshop."),
    ("émigré café", "Un café au lait et un croissant, s'il vous plaît."),
    ("东京", "东京是日本的首都"),
    ("", "An empty query still gets scored."),
    ("long document", LONG),
]
HIDDEN_PAIR = 0
HIDDEN_DIMS = 16


def sample_text():
    """A few hundred sentences of the sample corpus and queries."""
    lines = []
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(os.path.join(ROOT, "data/sample", name)) as f:
            for line in f:
                row = json.loads(line)
                for key in ("title", "text"):
                    if row.get(key):
                        lines.extend(s.strip() + "." for s in row[key].split(". ") if s.strip())
    return lines


def widen(model, seed):
    """Redraws every weight wider than transformers' init (see the module doc)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if "LayerNorm.weight" in name:
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.05 * noise)
            else:
                p.copy_(0.2 * noise)


def xlm_roberta_tokenizer(sentences, max_length):
    """A SentencePiece-style Unigram model trained on `sentences`, in XLM-R's layout."""
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(Unigram())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=1200, special_tokens=specials, unk_token="<unk>", shrinking_factor=0.75
    )
    tok.train_from_iterator(sentences, trainer)
    vocab = json.loads(tok.to_str())["model"]["vocab"]
    assert [p for p, _ in vocab[:4]] == specials, vocab[:5]
    # Scores differ in the last bits from run to run (summation order), and equal scores come
    # in any order: rounded and sorted, the file is the same every time (Unigram segments by
    # score; ids do not matter to it).
    pieces = sorted(((p, round(s, 6)) for p, s in vocab[4:]), key=lambda ps: (-ps[1], ps[0]))
    # The trainer appends the characters it must keep with decreasing scores in hash order:
    # that tail gets its scores in character order.
    tail = len(pieces)
    while tail > 0 and len(pieces[tail - 1][0]) == 1:
        tail -= 1
    chars = sorted(p for p, _ in pieces[tail:])
    pieces[tail:] = list(zip(chars, [s for _, s in pieces[tail:]]))
    vocab = [(p, s) for p, s in vocab[:4]] + pieces + [("<mask>", 0.0)]
    hf = XLMRobertaTokenizerFast(vocab=vocab, model_max_length=max_length)
    # XLM-R's sentencepiece normalisation (its precompiled charsmap is NFKC-like) and the
    # collapsing of repeated spaces that its tokenizer.json carries.
    hf.backend_tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFKC(), normalizers.Replace(" {2,}", " ")]
    )
    assert hf.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    assert hf.mask_token_id == len(vocab) - 1, hf.mask_token_id
    return hf


def electra_tokenizer(sentences, max_length, workdir):
    """A BERT-style WordPiece vocabulary counted from `sentences`: the specials, every character
    (alone and as `##` continuation), the most frequent `##` suffixes and whole words (ties by
    string, so the vocabulary is the same every run; the `tokenizers` trainer breaks ties in hash
    order)."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    splitter = BertWordPieceTokenizer(lowercase=True)
    words = Counter()
    for sentence in sentences:
        normalized = splitter.normalizer.normalize_str(sentence)
        words.update(w for w, _ in splitter.pre_tokenizer.pre_tokenize_str(normalized))
    chars = sorted({c for w in words for c in w})
    suffixes = Counter()
    for word, count in words.items():
        for n in (2, 3, 4):
            if len(word) > n:
                suffixes["##" + word[-n:]] += count
    by_count = lambda counter: [t for t, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
    vocab = specials + chars + ["##" + c for c in chars] + by_count(suffixes)[:150]
    vocab += [w for w in by_count(words) if w not in set(vocab)][: 1000 - len(vocab)]
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    return ElectraTokenizerFast(vocab=os.path.join(workdir, "vocab.txt"), model_max_length=max_length)


def reference_outputs(model, tok, max_length):
    """Token ids, logits and token-0 hidden states of a sequence classifier."""
    single_ids = [tok(t, truncation="longest_first", max_length=max_length)["input_ids"] for t in TEXTS]
    pair_ids = [
        tok(q, d, truncation="longest_first", max_length=max_length)["input_ids"] for q, d in PAIRS
    ]
    model.eval()
    with torch.no_grad():
        batch = tok(
            [q for q, _ in PAIRS],
            [d for _, d in PAIRS],
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="pt",
        )
        logits = model(**batch).logits[:, 0].tolist()
        one = tok(*PAIRS[HIDDEN_PAIR], return_tensors="pt")
        states = model(**one, output_hidden_states=True).hidden_states
        hidden = [s[0, 0, :HIDDEN_DIMS].tolist() for s in states]
    return single_ids, pair_ids, logits, hidden


GRAD_PAIRS = 4


def gradients(model, tok, max_length):
    """Gradients of sum(logits²) over the first GRAD_PAIRS pairs (one padded batch, dropout off)
    for every parameter, by its checkpoint name: L2 norm, sum, and for vectors the first values.
    A training step's backward pass is checked against these."""
    model.eval()
    model.zero_grad()
    batch = tok(
        [q for q, _ in PAIRS[:GRAD_PAIRS]],
        [d for _, d in PAIRS[:GRAD_PAIRS]],
        padding=True,
        truncation="longest_first",
        max_length=max_length,
        return_tensors="pt",
    )
    logits = model(**batch).logits
    (logits**2).sum().backward()
    out = {}
    for name, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        entry = {"norm": g.norm().item(), "sum": g.sum().item()}
        if g.dim() == 1:
            entry["first"] = g[:8].tolist()
        out[name] = entry
    model.zero_grad()
    return out


def check_same_ids(dir_, single_ids, pair_ids, max_length):
    """The saved tokenizer.json, read by the `tokenizers` library as rankforge reads it, gives
    transformers' ids (a guard against transformers rebuilding the pipeline on load)."""
    raw = Tokenizer.from_file(os.path.join(dir_, "tokenizer.json"))
    raw.no_padding()
    raw.enable_truncation(max_length, strategy="longest_first")
    assert [e.ids for e in raw.encode_batch(TEXTS)] == single_ids, dir_
    assert [e.ids for e in raw.encode_batch(PAIRS)] == pair_ids, dir_


def ce_scores(dir_):
    ce = CrossEncoder(dir_, device="cpu")
    return ce.predict(PAIRS, batch_size=4).tolist(), ce.max_length


def build_xlm_roberta(sentences):
    name = "xlm-roberta-ce"
    out = os.path.join(OUT_DIR, name)
    max_length = 1024
    tok = xlm_roberta_tokenizer(sentences, max_length)
    torch.manual_seed(20)
    config = XLMRobertaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_length + 2,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        num_labels=1,
        initializer_range=0.2,
    )
    model = XLMRobertaForSequenceClassification(config)
    widen(model, 2001)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    # Before reference_outputs: its last call leaves the tokenizer without padding or
    # truncation, as it is saved again below.
    grads = gradients(model, tok, max_length)
    single_ids, pair_ids, logits, hidden = reference_outputs(model, tok, max_length)
    check_same_ids(out, single_ids, pair_ids, max_length)
    scores, ce_length = ce_scores(out)
    assert ce_length == max_length, ce_length
    ce = {
        "dir": f"tests/fixtures/tiny-models/{name}",
        "max_length": max_length,
        "text_ids": single_ids,
        "pair_ids": pair_ids,
        "logits": logits,
        "st_cross_encoder_scores": scores,
        "hidden_states_token0": hidden,
        "gradients": grads,
    }

    # The bi-encoder: the same body (roberta.* of the cross-encoder) as XLMRobertaModel with a
    # seeded pooler, then mean pooling and Normalize.
    bi_name = "xlm-roberta-bi"
    bi_out = os.path.join(OUT_DIR, bi_name)
    bi_length = 256
    torch.manual_seed(21)
    body = XLMRobertaModel.from_pretrained(out, add_pooling_layer=True)
    assert body.pooler is not None
    gen = torch.Generator().manual_seed(2101)
    with torch.no_grad():
        body.pooler.dense.weight.copy_(0.2 * torch.randn(body.pooler.dense.weight.shape, generator=gen))
        body.pooler.dense.bias.copy_(0.05 * torch.randn(body.pooler.dense.bias.shape, generator=gen))
    tmp = os.path.join(OUT_DIR, ".bi-body")
    body.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    transformer = models.Transformer(tmp, max_seq_length=bi_length)
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="mean")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    st.save(bi_out)
    shutil.rmtree(tmp)
    st = SentenceTransformer(bi_out, device="cpu")
    assert st.max_seq_length == bi_length, st.max_seq_length
    embeddings = st.encode(TEXTS, batch_size=4, convert_to_numpy=True).tolist()
    bi_ids = [st.tokenizer(t, truncation="longest_first", max_length=bi_length)["input_ids"] for t in TEXTS]
    bi = {
        "dir": f"tests/fixtures/tiny-models/{bi_name}",
        "max_length": bi_length,
        "text_ids": bi_ids,
        "embeddings": embeddings,
    }
    return ce, bi


def build_electra(sentences):
    name = "electra-ce"
    out = os.path.join(OUT_DIR, name)
    max_length = 256
    tok = electra_tokenizer(sentences, max_length, os.path.join(OUT_DIR, ".electra-vocab"))
    shutil.rmtree(os.path.join(OUT_DIR, ".electra-vocab"))
    torch.manual_seed(30)
    config = ElectraConfig(
        vocab_size=len(tok),
        embedding_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_length,
        num_labels=1,
        initializer_range=0.2,
    )
    model = ElectraForSequenceClassification(config)
    assert hasattr(model.electra, "embeddings_project")
    widen(model, 3001)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    # Before reference_outputs: its last call leaves the tokenizer without padding or
    # truncation, as it is saved again below.
    grads = gradients(model, tok, max_length)
    single_ids, pair_ids, logits, hidden = reference_outputs(model, tok, max_length)
    check_same_ids(out, single_ids, pair_ids, max_length)
    scores, ce_length = ce_scores(out)
    assert ce_length == max_length, ce_length
    return {
        "dir": f"tests/fixtures/tiny-models/{name}",
        "max_length": max_length,
        "text_ids": single_ids,
        "pair_ids": pair_ids,
        "logits": logits,
        "st_cross_encoder_scores": scores,
        "hidden_states_token0": hidden,
        "gradients": grads,
    }


def modernbert_tokenizer(sentences, max_length):
    """A byte-level BPE trained on `sentences` (as ModernBERT's OLMo-style tokenizer), with
    ModernBERT's special tokens appended after the vocabulary and its [CLS]/[SEP] templates."""
    tok = Tokenizer(BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=900, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(sentences, trainer)
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tok.add_special_tokens(specials)
    ids = {t: tok.token_to_id(t) for t in specials}
    assert ids["[UNK]"] == tok.get_vocab_size() - 5, ids
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])],
    )
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=max_length,
        model_input_names=["input_ids", "attention_mask"],
    )
    return hf, ids


def widen_modernbert(model, seed):
    """`widen` for ModernBERT's names (its norms are `*norm.weight`)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.05 * noise)
            else:
                p.copy_(0.2 * noise)


def modernbert_config(tok, ids, max_length, biases, **extra):
    return ModernBertConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=max_length,
        global_attn_every_n_layers=3,
        local_attention=8,
        global_rope_theta=160000.0,
        local_rope_theta=10000.0,
        norm_eps=1e-5,
        norm_bias=biases,
        attention_bias=biases,
        mlp_bias=biases,
        classifier_bias=biases,
        pad_token_id=ids["[PAD]"],
        cls_token_id=ids["[CLS]"],
        sep_token_id=ids["[SEP]"],
        bos_token_id=ids["[CLS]"],
        eos_token_id=ids["[SEP]"],
        hidden_activation="gelu",
        classifier_activation="gelu",
        **extra,
    )


MODERNBERT_STATE_DIMS = 8


def build_modernbert(sentences):
    name = "modernbert-ce"
    out = os.path.join(OUT_DIR, name)
    max_length = 128
    tok, ids = modernbert_tokenizer(sentences, max_length)
    torch.manual_seed(40)
    config = modernbert_config(tok, ids, max_length, False, num_labels=1, classifier_pooling="mean")
    assert config.layer_types == ["full_attention", "sliding_attention", "sliding_attention", "full_attention"]
    model = ModernBertForSequenceClassification(config)
    widen_modernbert(model, 4001)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    grads = gradients(model, tok, max_length)
    single_ids, pair_ids, logits, _ = reference_outputs(model, tok, max_length)
    check_same_ids(out, single_ids, pair_ids, max_length)
    assert max(len(p) for p in pair_ids) == max_length
    # Every layer's states of the longest pair (the truncated long document: 128 tokens, far
    # beyond the local window), at token 0 and the last token; transformers' hidden_states are
    # the embeddings' output and each layer's, the last one after final_norm (it is
    # last_hidden_state).
    long_pair = max(range(len(PAIRS)), key=lambda i: len(pair_ids[i]))
    with torch.no_grad():
        one = tok(*PAIRS[long_pair], truncation="longest_first", max_length=max_length, return_tensors="pt")
        outputs = model.model(**one, output_hidden_states=True)
        states = list(outputs.hidden_states)
        assert len(states) == config.num_hidden_layers + 1, len(states)
        assert torch.equal(states[-1], outputs.last_hidden_state)
        hidden = [[s[0, 0, :MODERNBERT_STATE_DIMS].tolist(), s[0, -1, :MODERNBERT_STATE_DIMS].tolist()] for s in states]
        # The same weights with [CLS] pooling.
        model.config.classifier_pooling = "cls"
        batch = tok(
            [q for q, _ in PAIRS],
            [d for _, d in PAIRS],
            padding=True,
            truncation="longest_first",
            max_length=max_length,
            return_tensors="pt",
        )
        logits_cls = model(**batch).logits[:, 0].tolist()
        model.config.classifier_pooling = "mean"
    scores, ce_length = ce_scores(out)
    assert ce_length == max_length, ce_length
    ce = {
        "dir": f"tests/fixtures/tiny-models/{name}",
        "max_length": max_length,
        "text_ids": single_ids,
        "pair_ids": pair_ids,
        "logits": logits,
        "logits_cls_pooling": logits_cls,
        "st_cross_encoder_scores": scores,
        "hidden_pair": long_pair,
        "hidden_states_first_last": hidden,
        "gradients": grads,
    }

    # The bi-encoder: a ModernBertModel with every bias, CLS pooling and Normalize.
    bi_name = "modernbert-bi"
    bi_out = os.path.join(OUT_DIR, bi_name)
    torch.manual_seed(41)
    body = ModernBertModel(modernbert_config(tok, ids, max_length, True))
    widen_modernbert(body, 4101)
    tmp = os.path.join(OUT_DIR, ".modernbert-bi-body")
    body.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    transformer = models.Transformer(tmp, max_seq_length=max_length)
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="cls")
    st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu")
    st.save(bi_out)
    shutil.rmtree(tmp)
    st = SentenceTransformer(bi_out, device="cpu")
    assert st.max_seq_length == max_length, st.max_seq_length
    embeddings = st.encode(TEXTS, batch_size=4, convert_to_numpy=True).tolist()
    bi_ids = [st.tokenizer(t, truncation="longest_first", max_length=max_length)["input_ids"] for t in TEXTS]
    assert bi_ids == single_ids
    bi = {
        "dir": f"tests/fixtures/tiny-models/{bi_name}",
        "max_length": max_length,
        "text_ids": bi_ids,
        "embeddings": embeddings,
    }
    return ce, bi


def main():
    sentences = sample_text()
    print(f"training tokenizers on {len(sentences)} sentences")
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(OUT_DIR)
    xlmr_ce, xlmr_bi = build_xlm_roberta(sentences)
    electra = build_electra(sentences)
    modernbert_ce, modernbert_bi = build_modernbert(sentences)
    fixture = {
        "generated_by": "scripts/reference/tiny_models.py",
        "texts": TEXTS,
        "pairs": [list(p) for p in PAIRS],
        "hidden_pair": HIDDEN_PAIR,
        "hidden_dims": HIDDEN_DIMS,
        "grad_pairs": GRAD_PAIRS,
        "xlm-roberta-ce": xlmr_ce,
        "xlm-roberta-bi": xlmr_bi,
        "electra-ce": electra,
        "modernbert-ce": modernbert_ce,
        "modernbert-bi": modernbert_bi,
    }
    with open(FIXTURE, "w") as f:
        json.dump(fixture, f)
        f.write("\n")
    for name in ("xlm-roberta-ce", "xlm-roberta-bi", "electra-ce", "modernbert-ce", "modernbert-bi"):
        size = sum(
            os.path.getsize(os.path.join(d, f))
            for d, _, fs in os.walk(os.path.join(OUT_DIR, name))
            for f in fs
        )
        print(f"{name}: {size / 1024:.0f} KB")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
