"""A seeded, MS MARCO-shaped synthetic collection for the BM25 / mining scale benchmark
(`scripts/bench_scale.sh`, BENCHMARKS.md "BM25 and mining at MS MARCO scale"). Nothing is
downloaded: the text is pseudo-words drawn from a Zipf law.

Shape (MS MARCO passage v1: 8,841,823 passages of ~56 words, 6,980 dev queries of ~6 words):
- corpus.jsonl: `{"_id": "<n>", "title": "", "text": ...}` for n = 0..docs-1; passage lengths
  Gamma(9, 6.5) words (mean ~58), clipped to 8..200. Words follow Zipf(1.0) over 2,000,000
  ranks; the 33 most frequent ranks are the English stop words of bm25s / Lucene (so ~27% of
  the tokens are stop words, as in English), the rest are consonant-vowel pseudo-words
  (2 syllables for ranks < 4,900, then 3, then 4: frequent words are short).
- queries.jsonl: `queries` queries, each made from one passage among the first
  `--judged-within` (default 100,000) so that every prefix of the corpus at least that long
  holds all judged passages: 2-6 content words, each from that passage with probability 0.75
  (else a random non-stop word of the same law), plus 0-3 stop words, shuffled.
- qrels/test.tsv: `query-id corpus-id score` (BEIR, with header): the source passage, grade 1.

The corpus is one seeded stream written in order, so its first N lines are the N-document
corpus (`head -n N corpus.jsonl`): 100k and 1M are prefixes of the 8.8M file.

usage: python scripts/reference/make_scale_corpus.py OUT_DIR [--docs 8841823] [--queries 6980]
           [--judged-within 100000] [--seed 22]
"""

import argparse
import json
import os
import time

import numpy as np

STOP = ["the", "of", "and", "to", "a", "in", "is", "for", "that", "it", "as", "with", "on",
        "are", "by", "be", "was", "this", "or", "an", "at", "not", "their", "they", "there",
        "will", "if", "into", "these", "such", "no", "then", "but"]
VOCABULARY = 2_000_000
ZIPF = 1.0
CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
SYLLABLES = [c + v for c in CONSONANTS for v in VOWELS]  # 70


def pseudo_word(n):
    """The n-th pseudo-word: 2 syllables for n < 70², then 3, then 4."""
    s = len(SYLLABLES)
    for count, size in ((2, s**2), (3, s**3), (4, s**4)):
        if n < size:
            out = []
            for _ in range(count):
                out.append(SYLLABLES[n % s])
                n //= s
            return "".join(out)
        n -= size
    raise ValueError("vocabulary too large")


def word_table(words):
    """All words' bytes concatenated, their offsets and lengths."""
    encoded = [w.encode("ascii") for w in words]
    lengths = np.array([len(w) for w in encoded], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets, lengths


def gather(out, out_starts, src, src_starts, lengths):
    """out[out_starts[i] + j] = src[src_starts[i] + j] for j < lengths[i], vectorised."""
    total = int(lengths.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[np.repeat(out_starts, lengths) + within] = src[np.repeat(src_starts, lengths) + within]


def render(first_id, lengths, ranks, table):
    """The corpus.jsonl lines of documents first_id.. (word counts `lengths`, word ranks
    `ranks` concatenated) as one byte array: `{"_id":"N","title":"","text":"w w w"}`."""
    word_bytes, word_offsets, word_lengths = table
    prefixes = b"".join(b'{"_id":"%d","title":"","text":"' % (first_id + i) for i in range(len(lengths)))
    prefix_lengths = np.array([len(b'{"_id":"%d","title":"","text":"' % (first_id + i)) for i in range(len(lengths))], dtype=np.int64)
    token_lengths = word_lengths[ranks]
    doc_of_token = np.repeat(np.arange(len(lengths)), lengths)
    text_lengths = np.bincount(doc_of_token, weights=token_lengths, minlength=len(lengths)).astype(np.int64) + lengths - 1
    line_lengths = prefix_lengths + text_lengths + 3  # '"}' and a newline
    line_starts = np.cumsum(line_lengths) - line_lengths
    out = np.full(int(line_lengths.sum()), ord(" "), dtype=np.uint8)
    gather(out, line_starts, np.frombuffer(prefixes, dtype=np.uint8), np.cumsum(prefix_lengths) - prefix_lengths, prefix_lengths)
    # Token starts: its line's text start plus the lengths (and spaces) of the tokens before it.
    with_space = token_lengths + 1
    before = np.cumsum(with_space) - with_space
    first_token = np.cumsum(lengths) - lengths
    token_starts = (line_starts + prefix_lengths)[doc_of_token] + before - before[first_token][doc_of_token]
    gather(out, token_starts, word_bytes, word_offsets[ranks], token_lengths)
    ends = line_starts + line_lengths
    out[ends - 3] = ord('"')
    out[ends - 2] = ord("}")
    out[ends - 1] = ord("\n")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--docs", type=int, default=8_841_823)
    parser.add_argument("--queries", type=int, default=6_980)
    parser.add_argument("--judged-within", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--chunk", type=int, default=100_000)
    args = parser.parse_args()
    os.makedirs(os.path.join(args.out, "qrels"), exist_ok=True)
    judged_within = min(args.judged_within, args.docs)
    if args.chunk < judged_within:
        args.chunk = judged_within  # the judged passages all come from the first chunk

    t0 = time.perf_counter()
    words = STOP + [pseudo_word(n) for n in range(VOCABULARY - len(STOP))]
    cdf = np.cumsum(1.0 / np.arange(1, VOCABULARY + 1, dtype=np.float64) ** ZIPF)
    cdf /= cdf[-1]
    content_cdf = cdf[len(STOP):] - cdf[len(STOP) - 1]
    content_cdf /= content_cdf[-1]
    table = word_table(words)
    corpus_rng = np.random.default_rng([args.seed, 0])
    query_rng = np.random.default_rng([args.seed, 1])
    judged = np.sort(query_rng.choice(judged_within, size=min(args.queries, judged_within), replace=False))

    queries, qrels = [], []
    tokens_total = 0
    with open(os.path.join(args.out, "corpus.jsonl"), "wb") as out:
        for start in range(0, args.docs, args.chunk):
            n = min(args.chunk, args.docs - start)
            lengths = np.clip(np.rint(corpus_rng.gamma(9.0, 6.5, size=n)), 8, 200).astype(np.int64)
            ranks = np.searchsorted(cdf, corpus_rng.random(int(lengths.sum())), side="right")
            np.minimum(ranks, VOCABULARY - 1, out=ranks)
            ends = np.cumsum(lengths)
            begins = ends - lengths
            tokens_total += int(lengths.sum())
            out.write(render(start, lengths, ranks, table).tobytes())
            if start == 0:
                for qn, doc in enumerate(judged.tolist()):
                    passage = [r for r in ranks[begins[doc]:ends[doc]].tolist() if r >= len(STOP)]
                    n_content = 2 + int(query_rng.binomial(4, 0.5))
                    n_stop = int(query_rng.binomial(3, 0.6))
                    chosen = []
                    for _ in range(n_content):
                        if passage and query_rng.random() < 0.75:
                            chosen.append(passage[int(query_rng.integers(len(passage)))])
                        else:
                            chosen.append(len(STOP) + int(np.searchsorted(content_cdf, query_rng.random(), side="right")))
                    chosen += [int(r) for r in query_rng.integers(len(STOP), size=n_stop)]
                    query_rng.shuffle(chosen)
                    qid = f"q{qn}"
                    queries.append({"_id": qid, "text": " ".join(words[min(r, VOCABULARY - 1)] for r in chosen)})
                    qrels.append((qid, str(doc)))
            done = start + n
            print(f"{done:,} documents, {tokens_total / done:.1f} words each, {time.perf_counter() - t0:.0f}s", flush=True)

    with open(os.path.join(args.out, "queries.jsonl"), "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    with open(os.path.join(args.out, "qrels", "test.tsv"), "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, doc in qrels:
            f.write(f"{qid}\t{doc}\t1\n")
    print(f"wrote {args.docs:,} documents ({tokens_total / args.docs:.1f} words each), "
          f"{len(queries):,} queries to {args.out} in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
