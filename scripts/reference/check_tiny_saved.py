"""Loads the tiny XLM-RoBERTa / ELECTRA / ModernBERT directories that rankforge saved (see
crates/model/examples/save_tiny_models.rs) with transformers and sentence-transformers, unchanged,
and compares their outputs with the fixture (tests/fixtures/tiny_models.json) and with
rankforge's own logits of a head it made:

  - AutoModelForSequenceClassification: the family's class, no missing or unexpected tensor,
    logits == fixture logits;
  - sentence_transformers.CrossEncoder: reads the saved max length, predict == fixture scores;
  - SentenceTransformer on the saved bi-encoder: encode == fixture embeddings;
  - the bi-encoder's body with rankforge's new dense head: transformers' logits == rankforge's.

ModernBERT is checked the same way: ModernBertForSequenceClassification logits and CrossEncoder
scores, ModernBertModel + SentenceTransformer embeddings, and the bi-encoder's body with
rankforge's new head. Each family's part runs when its directories are there; at least one must.

usage: scripts/reference/check_tiny_saved.sh   (saves with rankforge, then runs this)
       check_tiny_saved.py SAVED_DIR
"""
import json
import os
import sys
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from sentence_transformers import CrossEncoder, SentenceTransformer
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
saved = sys.argv[1]
fx = json.load(open(os.path.join(ROOT, "tests/fixtures/tiny_models.json")))
pairs = [tuple(p) for p in fx["pairs"]]
torch.set_num_threads(2)
# CrossEncoder.max_length is deprecated in sentence-transformers 6 (still what it truncates at).
warnings.filterwarnings("ignore")
TOL = 1e-5


def hf_logits(dir_, max_length):
    model, info = AutoModelForSequenceClassification.from_pretrained(dir_, output_loading_info=True)
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"{dir_}: {problems}"
    model.eval()
    tok = AutoTokenizer.from_pretrained(dir_)
    with torch.no_grad():
        batch = tok([q for q, _ in pairs], [d for _, d in pairs], padding=True,
                    truncation="longest_first", max_length=max_length, return_tensors="pt")
        return type(model).__name__, model(**batch).logits[:, 0].numpy()


report = {}

def check_cross_encoder(name, cls):
    dir_ = os.path.join(saved, name)
    want = fx[name]
    got_cls, logits = hf_logits(dir_, want["max_length"])
    assert got_cls == cls, (name, got_cls)
    logit_diff = float(np.max(np.abs(logits - np.array(want["logits"]))))
    ce = CrossEncoder(dir_, device="cpu")
    assert ce.max_length == want["max_length"], (name, ce.max_length)
    scores = ce.predict(pairs, batch_size=4)
    score_diff = float(np.max(np.abs(scores - np.array(want["st_cross_encoder_scores"]))))
    report[name] = {"class": got_cls, "logits_max_abs_diff": logit_diff,
                    "cross_encoder_max_abs_diff": score_diff, "max_length": ce.max_length}
    assert logit_diff <= TOL and score_diff <= TOL, report[name]


def check_bi_encoder(name):
    bi_dir = os.path.join(saved, name)
    _, info = AutoModel.from_pretrained(bi_dir, output_loading_info=True)
    assert not {k: v for k, v in info.items() if v}, info
    st = SentenceTransformer(bi_dir, device="cpu")
    emb = st.encode(fx["texts"], batch_size=4)
    bi_diff = float(np.max(np.abs(emb - np.array(fx[name]["embeddings"]))))
    report[name] = {"embeddings_max_abs_diff": bi_diff, "max_seq_length": st.max_seq_length}
    assert st.max_seq_length == fx[name]["max_length"], st.max_seq_length
    assert bi_diff <= TOL, report[name]


def check_new_head(name):
    new_head = os.path.join(saved, name)
    ours = np.array(json.load(open(new_head + "-logits.json")))
    max_length = CrossEncoder(new_head, device="cpu").max_length
    got_cls, logits = hf_logits(new_head, max_length)
    head_diff = float(np.max(np.abs(logits - ours)))
    report[name] = {"class": got_cls, "max_length": max_length,
                    "logits_vs_rankforge_max_abs_diff": head_diff,
                    "logit_scale": float(np.max(np.abs(ours)))}
    assert head_diff <= TOL * max(1.0, float(np.max(np.abs(ours)))), report[name]


checked = []
if os.path.isdir(os.path.join(saved, "modernbert-ce")):
    check_cross_encoder("modernbert-ce", "ModernBertForSequenceClassification")
    check_bi_encoder("modernbert-bi")
    if os.path.isdir(os.path.join(saved, "modernbert-bi-as-ce")):
        check_new_head("modernbert-bi-as-ce")
    checked.append("ModernBERT")
if os.path.isdir(os.path.join(saved, "xlm-roberta-ce")):
    for name, cls in [("xlm-roberta-ce", "XLMRobertaForSequenceClassification"),
                      ("electra-ce", "ElectraForSequenceClassification")]:
        check_cross_encoder(name, cls)
    check_bi_encoder("xlm-roberta-bi")
    check_new_head("xlm-roberta-bi-as-ce")
    checked.append("XLM-RoBERTa and ELECTRA")
assert checked, f"{saved}: no saved tiny model directories"
print(json.dumps(report, indent=1))
print("OK: transformers and sentence-transformers load rankforge's saved "
      f"{' and '.join(checked)} directories unchanged")
