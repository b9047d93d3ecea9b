"""Loads a rankforge-trained model with sentence-transformers and checks it scores like
rankforge does.

  HF_HUB_OFFLINE=1 .cache/venv-ref/bin/python scripts/reference/check_trained_model.py \
      --cross-encoder runs/quickstart/final [--bi-encoder runs/scifact-distil/final]

For the cross-encoder: sentence_transformers.CrossEncoder loads the directory (config.json
architecture, classifier head, sigmoid activation) and ranks a relevant document above an
unrelated one. For the bi-encoder: SentenceTransformer loads modules.json / pooling /
normalisation and gives unit-norm embeddings with the expected similarity order.
Prints a JSON report; exits non-zero on failure.
"""
import argparse
import json
import sys

QUERY = "how do I stop my disc brakes from squealing"
RELEVANT = "Squealing disc brakes are usually caused by contamination on the rotor or worn pads."
UNRELATED = "Film finishes such as polyurethane form a hard layer on wood that resists water."


def check_cross_encoder(path):
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(path, device="cpu")
    scores = model.predict([(QUERY, RELEVANT), (QUERY, UNRELATED)]).tolist()
    return {
        "path": path,
        "num_labels": model.config.num_labels,
        "scores": scores,
        "relevant_ranked_first": scores[0] > scores[1],
    }


def check_bi_encoder(path):
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(path, device="cpu")
    emb = model.encode([QUERY, RELEVANT, UNRELATED])
    norms = np.linalg.norm(emb, axis=1).tolist()
    sims = [float(emb[0] @ emb[1]), float(emb[0] @ emb[2])]
    return {
        "path": path,
        "modules": [type(m).__name__ for m in model],
        "norms": norms,
        "similarities": sims,
        "relevant_ranked_first": sims[0] > sims[1],
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cross-encoder")
    parser.add_argument("--bi-encoder")
    args = parser.parse_args()
    report = {}
    ok = True
    if args.cross_encoder:
        report["cross_encoder"] = check_cross_encoder(args.cross_encoder)
        ok &= report["cross_encoder"]["relevant_ranked_first"]
    if args.bi_encoder:
        report["bi_encoder"] = check_bi_encoder(args.bi_encoder)
        ok &= report["bi_encoder"]["relevant_ranked_first"]
    report["ok"] = bool(ok)
    print(json.dumps(report, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
