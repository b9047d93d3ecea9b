"""PyTorch reference outputs for the model crate's parity tests.

Writes tests/fixtures/model_parity.json with, for all-MiniLM-L6-v2:
  - token ids of varied texts (single, max_seq_length) and of pairs (longest_first, 512);
  - sentence-transformers embeddings (mean pooling + Normalize);
  - cross-encoder logits of BertForSequenceClassification made from the MiniLM weights and a
    seeded head (weights N(0, 1), so logits are O(1)), plus sentence-transformers
    CrossEncoder sigmoid scores of the same model;
  - per-layer hidden states of the [CLS] token for one pair (first 16 dims).

usage: scripts/reference/setup.sh && .cache/venv-ref/bin/python scripts/reference/model_parity.py [MODEL_DIR]
"""
import json
import os
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from sentence_transformers import CrossEncoder, SentenceTransformer
from transformers import AutoTokenizer, BertForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache/models/all-MiniLM-L6-v2")
OUT = os.path.join(ROOT, "tests/fixtures/model_parity.json")
torch.set_num_threads(2)

LONG = " ".join(
    ["Neural rerankers reorder the candidates of a first-stage retriever with a cross-encoder."] * 60
)
TEXTS = [
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "Café, naïve façade — résumé of Zürich's Ångström units.",
    "东京是日本的首都，人口超过一千万。",
    "日本語のテキストと한국어 텍스트",
    "Rocket launch 🚀 went fine 👍🏽 and the crowd cheered 🎉",
    "",
    "   \t  ",
    LONG,
    "BM25 is a bag-of-words retrieval function; k1=0.9 and b=0.4 are Anserini's defaults.",
]
PAIRS = [
    ("what causes tides", "Tides are caused by the gravitational pull of the moon and the sun on Earth's oceans."),
    ("what causes tides", "The stock market closed higher on Tuesday after a volatile session."),
    ("capital of france", "Paris is the capital and most populous city of France."),
    ("capital of france", "Berlin is the capital of Germany."),
    ("émigré café", "Un café au lait et un croissant, s'il vous plaît."),
    ("东京", "东京是日本的首都，人口超过一千万。"),
    ("emoji 🚀", "Rocket launch 🚀 went fine 👍🏽"),
    ("", "An empty query still gets scored."),
    ("long document", LONG),
    (LONG, LONG),
    ("covid vaccine efficacy", "Randomised trials reported high efficacy of mRNA vaccines against symptomatic COVID-19."),
    ("   ", "whitespace query"),
]
HEAD_SEED = 1234
HEAD_STD = 1.0


def main():
    st = SentenceTransformer(MODEL_DIR, device="cpu")
    max_seq = st.max_seq_length
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    single_ids = [tok(t, truncation="longest_first", max_length=max_seq)["input_ids"] for t in TEXTS]
    pair_enc = [tok(q, d, truncation="longest_first", max_length=512) for q, d in PAIRS]
    embeddings = st.encode(TEXTS, batch_size=4, convert_to_numpy=True)

    model = BertForSequenceClassification.from_pretrained(MODEL_DIR, num_labels=1)
    model.eval()
    gen = torch.Generator().manual_seed(HEAD_SEED)
    hidden = model.config.hidden_size
    head_w = torch.randn(1, hidden, generator=gen) * HEAD_STD
    head_b = torch.tensor([0.05])
    with torch.no_grad():
        model.classifier.weight.copy_(head_w)
        model.classifier.bias.copy_(head_b)
        batch = tok([q for q, _ in PAIRS], [d for _, d in PAIRS], padding=True,
                    truncation="longest_first", max_length=512, return_tensors="pt")
        logits = model(**batch).logits[:, 0].tolist()
        one = tok(PAIRS[0][0], PAIRS[0][1], return_tensors="pt")
        states = model(**one, output_hidden_states=True).hidden_states
        cls_states = [s[0, 0, :16].tolist() for s in states]

    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        ce = CrossEncoder(tmp, device="cpu", max_length=512)
        st_scores = ce.predict(PAIRS, batch_size=4).tolist()

    fixture = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__,
                     "sentence_transformers": __import__("sentence_transformers").__version__},
        "max_seq_length": max_seq,
        "texts": TEXTS,
        "text_ids": single_ids,
        "embeddings": embeddings.tolist(),
        "pairs": [list(p) for p in PAIRS],
        "pair_ids": [e["input_ids"] for e in pair_enc],
        "pair_type_ids": [e["token_type_ids"] for e in pair_enc],
        "head": {"seed": HEAD_SEED, "std": HEAD_STD, "weight": head_w[0].tolist(), "bias": head_b.tolist()},
        "logits": logits,
        "st_cross_encoder_scores": st_scores,
        "cls_hidden_states_pair0": cls_states,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {OUT}: {len(TEXTS)} texts, {len(PAIRS)} pairs; logits range "
          f"{min(logits):.3f}..{max(logits):.3f}")


if __name__ == "__main__":
    main()
