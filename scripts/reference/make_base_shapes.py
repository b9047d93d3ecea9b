"""Random-weight cross-encoders of base-model shapes, for speed benchmarks only (issue 20): no
real checkpoint of these families is reachable here, and throughput does not depend on the
weights' values.

- `xlm-roberta-base`: the shape of BAAI/bge-reranker-base (XLMRobertaForSequenceClassification,
  12 layers, hidden 768, 12 heads, intermediate 3072, 514 positions, LayerNorm eps 1e-5);
- `modernbert-base`: the shape of Alibaba-NLP/gte-reranker-modernbert-base
  (ModernBertForSequenceClassification, 22 layers, hidden 768, 12 heads, intermediate 1152,
  a global layer every 3, local window 128, no biases, 8192 positions, mean pooling);
- `electra-base`: the shape of cross-encoder/ms-marco-electra-base.

All use all-MiniLM-L6-v2's WordPiece tokenizer (vocabulary 30,522), so the pairs are the same
number of tokens for every system (the real checkpoints' vocabularies are larger, which changes
only the embedding table's size, not the work per token). Seeded.

usage: make_base_shapes.py MINILM_DIR OUT_DIR
"""
import shutil
import sys
from pathlib import Path

import torch
from transformers import (
    ElectraConfig,
    ElectraForSequenceClassification,
    ModernBertConfig,
    ModernBertForSequenceClassification,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]


def save(model, minilm: Path, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (minilm / name).exists():
            shutil.copy(minilm / name, out / name)


def main():
    minilm, out = Path(sys.argv[1]), Path(sys.argv[2])
    vocab = 30522
    torch.manual_seed(0)
    xlmr = XLMRobertaConfig(
        vocab_size=vocab, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        # 2 token types: the borrowed WordPiece tokenizer returns type ids 0/1, which
        # transformers looks up (rankforge reads none for XLM-R; the work is the same).
        intermediate_size=3072, max_position_embeddings=514, type_vocab_size=2,
        layer_norm_eps=1e-5, pad_token_id=0, num_labels=1,
    )
    save(XLMRobertaForSequenceClassification(xlmr).eval(), minilm, out / "xlm-roberta-base")
    torch.manual_seed(0)
    modernbert = ModernBertConfig(
        vocab_size=vocab, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
        intermediate_size=1152, max_position_embeddings=8192, global_attn_every_n_layers=3,
        local_attention=128, global_rope_theta=160000.0, local_rope_theta=10000.0,
        norm_bias=False, attention_bias=False, mlp_bias=False, classifier_bias=False,
        classifier_pooling="mean", pad_token_id=0, cls_token_id=101, sep_token_id=102,
        bos_token_id=101, eos_token_id=102, num_labels=1,
    )
    save(ModernBertForSequenceClassification(modernbert).eval(), minilm, out / "modernbert-base")
    torch.manual_seed(0)
    electra = ElectraConfig(
        vocab_size=vocab, embedding_size=768, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072, num_labels=1,
    )
    save(ElectraForSequenceClassification(electra).eval(), minilm, out / "electra-base")
    print(out)


if __name__ == "__main__":
    main()
