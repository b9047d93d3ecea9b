"""Loads directories that rankforge saved with sentence-transformers, unchanged, and checks their
outputs against the parity fixture: CrossEncoder(dir).predict == fixture sigmoid scores,
SentenceTransformer(dir).encode == fixture embeddings (1e-5).

usage: scripts/reference/check_saved.sh   (saves with rankforge, then runs this)
       check_saved.py SAVED_DIR [FIXTURE]
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
from sentence_transformers import CrossEncoder, SentenceTransformer
from transformers import AutoModelForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
saved = sys.argv[1]
fixture = json.load(open(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests/fixtures/model_parity.json")))

ce = CrossEncoder(os.path.join(saved, "cross-encoder"), device="cpu")
scores = ce.predict([tuple(p) for p in fixture["pairs"]], batch_size=4)
ce_diff = float(np.max(np.abs(scores - np.array(fixture["st_cross_encoder_scores"]))))
hf = AutoModelForSequenceClassification.from_pretrained(os.path.join(saved, "cross-encoder"))
assert hf.config.num_labels == 1, hf.config.num_labels

st = SentenceTransformer(os.path.join(saved, "bi-encoder"), device="cpu")
emb = st.encode(fixture["texts"], batch_size=4)
bi_diff = float(np.max(np.abs(emb - np.array(fixture["embeddings"]))))
print(json.dumps({"cross_encoder_max_abs_diff": ce_diff, "bi_encoder_max_abs_diff": bi_diff,
                  "max_seq_length": st.max_seq_length, "ce_max_length": ce.max_length}))
assert ce_diff <= 1e-5 and bi_diff <= 1e-5, "saved models disagree with the fixture"

# The cross-encoder rankforge saved at 48 tokens: sentence-transformers must read that length
# with no argument and score as rankforge's reloaded model does.
short = CrossEncoder(os.path.join(saved, "cross-encoder-48"), device="cpu")
assert short.max_length == 48, f"sentence-transformers reads max_length {short.max_length}, not 48"
ours = np.array(json.load(open(os.path.join(saved, "cross-encoder-48-scores.json"))))
theirs = short.predict([tuple(p) for p in fixture["pairs"]], batch_size=4)
short_diff = float(np.max(np.abs(theirs - ours)))
print(json.dumps({"short_ce_max_length": short.max_length, "short_ce_max_abs_diff": short_diff}))
assert short_diff <= 1e-5, "the short cross-encoder's scores disagree"
print("OK: sentence-transformers loads rankforge's saved cross-encoder and bi-encoder unchanged")
