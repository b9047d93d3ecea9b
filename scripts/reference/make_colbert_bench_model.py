"""A ColBERT of real shapes for the speed benchmark (issue 26, scripts/bench_colbert.sh):
`pylate.models.ColBERT` on all-MiniLM-L6-v2 (6 layers, hidden 384) with a seeded random
projection to 128 dims, PyLate's defaults otherwise ("[Q] " / "[D] " prefixes added to the
tokenizer, query_length 32 with [MASK] expansion, document_length 180, punctuation skiplist),
saved with `ColBERT.save` to OUT_DIR. Throughput does not depend on the projection's values, and
the MiniLM body is the one the cross-encoder benchmark runs, so ColBERT and the cross-encoder do
the same work per token.

usage: .cache/venv-pylate/bin/python make_colbert_bench_model.py MINILM_DIR OUT_DIR
"""
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import torch


def main():
    minilm, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    from pylate import models

    model = models.ColBERT(model_name_or_path=minilm, embedding_size=128, device="cpu")
    model.save(out)
    # The model card names the local path it was built from; it is not needed to load.
    card = os.path.join(out, "README.md")
    if os.path.exists(card):
        os.remove(card)
    print(out)


if __name__ == "__main__":
    main()
