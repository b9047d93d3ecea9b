"""A monoT5-base-shaped T5ForConditionalGeneration with random weights for the speed benchmark
(issue 25, scripts/bench_t5.sh): 12 encoder + 12 decoder layers, d_model 768, d_ff 3072, 12 heads
of 64, relu feed-forward, tied embeddings, vocabulary 32128 (castorini/monot5-base-msmarco's
shapes), seeded transformers init, saved with save_pretrained (model.safetensors).

No hub is reachable, so there is no real T5 SentencePiece tokenizer here: the tokenizer is the
tiny fixture's (tests/fixtures/t5-tiny-relu, a Unigram over data/sample's words, with ▁true /
▁false; its ids are all below 32128). It cuts words into more pieces than T5's, so prompts are
longer than monoT5's would be; both systems get the same ids. Speed does not depend on the
weights' values.

usage: .cache/venv-ref/bin/python scripts/reference/make_t5_bench_model.py OUT_DIR
"""
import os
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from transformers import T5Config, T5ForConditionalGeneration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    out = sys.argv[1]
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_decoder_layers=12,
        num_heads=12, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        dropout_rate=0.1, feed_forward_proj="relu", tie_word_embeddings=True,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
    )
    config.architectures = ["T5ForConditionalGeneration"]
    model = T5ForConditionalGeneration(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    tiny = os.path.join(ROOT, "tests/fixtures/t5-tiny-relu")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tiny, name), os.path.join(out, name))
    print(out, sum(p.numel() for p in model.parameters()), "parameters")


if __name__ == "__main__":
    main()
