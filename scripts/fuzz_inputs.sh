#!/usr/bin/env bash
# Input fuzzing of the rankforge CLI (issue 19). Builds small valid inputs from data/sample (a
# BEIR corpus/queries/qrels, TREC qrels, two TREC runs, predict/embed jsonl, train and evaluate
# TOML configs), then, until the time budget is spent, runs a command on a mutated copy of one
# of them: bit flips, truncation mid-line, a byte-order mark, CRLF, invalid UTF-8, NUL bytes,
# huge numbers, NaN/inf, empty and whitespace-only files, a header only, missing fields, wrong
# types, duplicated lines, very long lines, deep nesting, random bytes, a deleted file. Each
# case asserts:
#   - no panic or crash (exit 101, `panicked` on stderr, a signal, or a hang past the case limit);
#   - a non-zero exit prints a message naming the mutated file (for a config: it or a path the
#     config names);
#   - every output is either untouched (absent, or the previous contents) or complete and
#     parseable (TREC runs: 6 columns, integer rank, finite score, no duplicates; jsonl: one
#     finite-valued object per input record), and no temporary file is left behind;
#   - an empty or whitespace-only input is never accepted;
#   - a BOM or CRLF line endings alone change nothing (same exit, same output as the original).
# Cases are a pure function of (seed, case number), so a failure reproduces with --case.
#
# usage: scripts/fuzz_inputs.sh [--seed N] [--time SECONDS] [--cases N] [--case K]
#                               [--bin PATH] [--model DIR | --no-model] [--keep DIR] [--no-build]
#                               [--verbose]
#   --time     budget in seconds for the cases (default 60; a case started in time may finish
#              after it, by up to its own limit). The build check, the model fetch and the
#              fixtures (~5-40 s) come before it and are not counted.
#   --cases    run exactly cases 0..N-1, ignoring --time (reproducible case count)
#   --case     run only case K (with --seed: reproduces a reported failure)
#   --bin      the rankforge binary (default $CARGO_TARGET_DIR or target, /debug/rankforge, built with
#              `cargo build -p rankforge-cli` unless --no-build)
#   --model    model directory for predict/embed/rerank/train/evaluate (default: the one
#              scripts/fetch_model.sh prints; --no-model, or a failed fetch, leaves those out)
#   --keep     where failing cases are copied (default: a temporary directory, printed)
#   --verbose  print every case: target, mutated file, mutations, exit, last stderr line
# Each command runs with an 8 GiB address-space limit (a runaway allocation fails, not the
# host) and a per-case time limit (30 s; model commands 90-240 s).
# Prints `fuzz: N cases, F failures (...)` last; exits 1 when F > 0, 2 on a usage error.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seed=1
budget=60
cases=""
only_case=""
bin="${CARGO_TARGET_DIR:-target}/debug/rankforge"
model=""
use_model=1
keep=""
build=1
verbose=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --time) budget="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --case) only_case="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --no-model) use_model=0; shift ;;
    --keep) keep="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --verbose) verbose=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz_inputs.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ] && [ "$bin" = "target/debug/rankforge" ]; then
  cargo build --quiet -p rankforge-cli >&2
fi
[ -x "$bin" ] || { echo "fuzz_inputs.sh: no rankforge binary at $bin" >&2; exit 2; }
if [ "$use_model" = 1 ] && [ -z "$model" ]; then
  model="$(bash scripts/fetch_model.sh 2>/dev/null)" || {
    echo "fuzz_inputs.sh: no model (scripts/fetch_model.sh failed): model commands left out" >&2
    model=""
  }
fi
[ "$use_model" = 1 ] || model=""

exec python3 - "$root" "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$seed" "$budget" \
  "$cases" "$only_case" "$model" "$keep" "$verbose" <<'PY'
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT, BIN, SEED, BUDGET, CASES, ONLY, MODEL, KEEP, VERBOSE = sys.argv[1:10]
VERBOSE = VERBOSE == "1"
SEED = int(SEED)
BUDGET = float(BUDGET)
MODEL = MODEL or None
SAMPLE = os.path.join(ROOT, "data", "sample")
SENTINEL = b"previous contents: must survive a failed run\n"
MEMORY_LIMIT = 8 << 30  # address space per command: a runaway allocation fails, not the host
ENV = dict(os.environ, RAYON_NUM_THREADS="2", RUST_BACKTRACE="0", NO_COLOR="1")
ENV.pop("RANKFORGE_MODEL", None)


# ----------------------------------------------------------------------------- fixtures

def make_fixtures(base):
    """Small valid inputs cut from data/sample."""
    beir = os.path.join(base, "beir")
    os.makedirs(os.path.join(beir, "qrels"))
    queries = [json.loads(l) for l in open(os.path.join(SAMPLE, "queries.jsonl"))][:40]
    ids = {q["_id"] for q in queries}
    docs = set()
    for split in ("train", "dev"):
        lines = open(os.path.join(SAMPLE, "qrels", split + ".tsv")).read().splitlines()
        kept = [lines[0]] + [l for l in lines[1:] if l.split("\t")[0] in ids]
        docs.update(l.split("\t")[1] for l in kept[1:])
        write(os.path.join(beir, "qrels", split + ".tsv"), "\n".join(kept) + "\n")
    corpus = [json.loads(l) for l in open(os.path.join(SAMPLE, "corpus.jsonl"))]
    corpus = [d for d in corpus if d["_id"] in docs] + [d for d in corpus if d["_id"] not in docs][:40]
    write(os.path.join(beir, "corpus.jsonl"), "".join(json.dumps(d) + "\n" for d in corpus))
    write(os.path.join(beir, "queries.jsonl"), "".join(json.dumps(q) + "\n" for q in queries))
    dev = open(os.path.join(beir, "qrels", "dev.tsv")).read().splitlines()[1:]
    write(os.path.join(base, "qrels.txt"), "".join("%s 0 %s %s\n" % tuple(l.split("\t")) for l in dev))
    # Two runs: BM25 with two parameter settings.
    for name, extra in (("run.trec", ["--top-k", "10"]),
                        ("run2.trec", ["--k1", "1.5", "--b", "0.9", "--top-k", "8"])):
        out = subprocess.run([BIN, "retrieve", "--corpus", "beir/corpus.jsonl", "--queries",
                              "beir/queries.jsonl", "--output", name] + extra,
                             cwd=base, capture_output=True, env=ENV)
        if out.returncode != 0:
            sys.exit("fuzz_inputs.sh: cannot build the fixture runs:\n" + out.stderr.decode())
    run = open(os.path.join(base, "run.trec")).read().splitlines()
    first = run[0].split()[0]
    second = next(l.split()[0] for l in run if l.split()[0] != first)
    small = [l for l in run if l.split()[0] == first][:3] + [l for l in run if l.split()[0] == second][:3]
    write(os.path.join(base, "small.trec"), "\n".join(small) + "\n")
    by_id = {d["_id"]: d for d in corpus}
    pairs = [{"query": q["text"], "document": by_id[l.split()[2]]["text"]}
             for q, l in zip(queries, run[::10])][:4]
    write(os.path.join(base, "pairs.jsonl"), "".join(json.dumps(p) + "\n" for p in pairs))
    write(os.path.join(base, "texts.jsonl"),
          "".join(json.dumps({"text": d["title"] + " " + d["text"]}) + "\n" for d in corpus[:4]))
    model = json.dumps(MODEL or "no-model")
    write(os.path.join(base, "train.toml"), f"""# tiny cross-encoder run
[run]
output_dir = "trainrun"
seed = 7

[model]
kind = "cross_encoder"
base = {model}
max_length = 32

[data]
dir = "beir"
train_split = "train"
dev_split = "dev"
negatives = 1
negative_pool = 4
max_train_queries = 2
max_dev_queries = 2

[train]
epochs = 1
max_steps = 1
batch_size = 2
learning_rate = 1e-4
log_every_steps = 1

[eval]
every_steps = 0
initial = false
top_k = 3
metrics = ["ndcg@10"]
select = "ndcg@10"

[checkpoint]
every_steps = 0

[loss]
loss = "listnet"
""")
    write(os.path.join(base, "eval.toml"), f"""dataset = "beir"
split = "dev"
output_dir = "evalrun"
metrics = ["ndcg@10", "mrr@10"]

[first_stage]
top_k = 3

[[rerankers]]
name = "minilm"
model = {model}
max_length = 32
""")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# ----------------------------------------------------------------------------- mutations

NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
HUGE = [b"1e308", b"-1e308", b"1e999", b"-1e999", b"1.7976931348623157e308", b"4.9e-324",
        b"99999999999999999999999999", b"18446744073709551616", b"2147483648", b"-2147483649",
        b"-0", b"0", b"-1"]
NONFINITE = [b"NaN", b"nan", b"inf", b"-inf", b"Infinity", b"-Infinity", b"+inf"]
BAD_UTF8 = [b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\xfe\xff"]
ODD_TEXT = ["\u202e", "\u2028", "\ufeff", "\u0301", "\U0001f600", "\x1c", "\x00", "\x7f", "\t"]


def lines_of(data):
    return data.split(b"\n")


def pick_line(data, r):
    lines = lines_of(data)
    nonblank = [i for i, l in enumerate(lines) if l.strip()]
    return lines, (r.choice(nonblank) if nonblank else None)


def m_bitflip(data, r, kind):
    if not data:
        return b"\x01"
    b = bytearray(data)
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(b))
        b[i] ^= 1 << r.randrange(8)
    return bytes(b)


def m_truncate(data, r, kind):
    return data[: r.randrange(len(data))] if data else data


def m_bom(data, r, kind):
    return b"\xef\xbb\xbf" + data


def m_crlf(data, r, kind):
    return data.replace(b"\n", b"\r\n")


def m_invalid_utf8(data, r, kind):
    i = r.randrange(len(data) + 1)
    return data[:i] + r.choice(BAD_UTF8) + data[i:]


def m_nul(data, r, kind):
    i = r.randrange(len(data) + 1)
    return data[:i] + b"\x00" * r.randint(1, 3) + data[i:]


def replace_number(data, r, choices):
    found = list(NUMBER.finditer(data))
    if not found:
        return data + r.choice(choices)
    m = r.choice(found)
    return data[: m.start()] + r.choice(choices) + data[m.end():]


def m_huge_number(data, r, kind):
    return replace_number(data, r, HUGE)


def m_nonfinite(data, r, kind):
    return replace_number(data, r, NONFINITE)


def m_empty(data, r, kind):
    return b""


def m_whitespace(data, r, kind):
    return r.choice([b"\n", b"   \n\n", b" \t\r\n\n", b"\xef\xbb\xbf\n \n"])


def m_header_only(data, r, kind):
    return lines_of(data)[0] + b"\n"


def m_missing_field(data, r, kind):
    lines, i = pick_line(data, r)
    if i is None:
        return data
    line = lines[i]
    if kind == "jsonl":
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and obj:
                del obj[r.choice(sorted(obj))]
                lines[i] = json.dumps(obj).encode()
                return b"\n".join(lines)
        except ValueError:
            pass
    if kind == "toml":
        del lines[i]
        return b"\n".join(lines)
    sep = b"\t" if b"\t" in line else b" "
    cols = line.split(sep)
    if len(cols) > 1:
        del cols[r.randrange(len(cols))]
    lines[i] = sep.join(cols)
    return b"\n".join(lines)


def m_wrong_type(data, r, kind):
    lines, i = pick_line(data, r)
    if i is None:
        return data
    line = lines[i]
    if kind == "jsonl":
        try:
            obj = json.loads(line)
            if isinstance(obj, dict) and obj:
                obj[r.choice(sorted(obj))] = r.choice([7, -1.5, None, True, [], ["x"], {}, {"a": 1}, ""])
                lines[i] = json.dumps(obj).encode()
                return b"\n".join(lines)
        except ValueError:
            pass
    if kind == "toml" and b"=" in line:
        key = line.split(b"=", 1)[0]
        value = r.choice([b'"text"', b"[1, 2]", b"true", b"{ a = 1 }", b"-5", b"0", b"3.5", b'""', b"[]"])
        lines[i] = key + b"= " + value
        return b"\n".join(lines)
    sep = b"\t" if b"\t" in line else b" "
    cols = line.split(sep)
    j = r.randrange(len(cols))
    cols[j] = r.choice([b"abc", b"", b"1.5", b"-3", b"x y", b"\"q\""])
    lines[i] = sep.join(cols)
    return b"\n".join(lines)


def m_duplicate_line(data, r, kind):
    lines, i = pick_line(data, r)
    if i is None:
        return data
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def m_long_line(data, r, kind):
    lines, i = pick_line(data, r)
    long = b"word " * r.choice([2000, 40000])
    if i is None:
        return long
    if kind == "jsonl" and b'"text": "' in lines[i]:
        lines[i] = lines[i].replace(b'"text": "', b'"text": "' + long, 1)
    elif kind == "jsonl" and b'"document": "' in lines[i]:
        lines[i] = lines[i].replace(b'"document": "', b'"document": "' + long, 1)
    else:
        lines[i] = lines[i] + long
    return b"\n".join(lines)


def m_odd_text(data, r, kind):
    i = r.randrange(len(data) + 1)
    return data[:i] + r.choice(ODD_TEXT).encode() + data[i:]


def m_deep_nesting(data, r, kind):
    depth = r.choice([200, 5000, 100000])
    if kind == "toml":
        return data + b"\ndeep = " + b"[" * depth + b"]" * depth + b"\n"
    return data + b"[" * depth + b"]" * depth + b"\n"


def m_random_bytes(data, r, kind):
    return bytes(r.randrange(256) for _ in range(r.randint(1, 300)))


def m_swap_lines(data, r, kind):
    lines = lines_of(data)
    r.shuffle(lines)
    return b"\n".join(lines)


MUTATIONS = {
    "bitflip": (m_bitflip, 4), "truncate": (m_truncate, 3), "bom": (m_bom, 2), "crlf": (m_crlf, 1),
    "invalid_utf8": (m_invalid_utf8, 2), "nul": (m_nul, 1), "huge_number": (m_huge_number, 3),
    "nonfinite": (m_nonfinite, 3), "empty": (m_empty, 2), "whitespace": (m_whitespace, 1),
    "header_only": (m_header_only, 1), "missing_field": (m_missing_field, 3),
    "wrong_type": (m_wrong_type, 3), "duplicate_line": (m_duplicate_line, 1),
    "long_line": (m_long_line, 1), "odd_text": (m_odd_text, 1), "deep_nesting": (m_deep_nesting, 1),
    "random_bytes": (m_random_bytes, 1), "swap_lines": (m_swap_lines, 1), "deleted": (None, 1),
}
NEUTRAL = {"bom", "crlf"}  # alone, these must not change what a command does


def kind_of(path):
    if path.endswith(".jsonl"):
        return "jsonl"
    if path.endswith(".toml"):
        return "toml"
    return "text"


# ----------------------------------------------------------------------------- targets

def qrels_choice(r):
    return r.choice(["beir/qrels/dev.tsv", "qrels.txt"])


def t_eval(r):
    q = qrels_choice(r)
    return dict(argv=["eval", "--qrels", q, "--run", "run.trec", "--json", "--per-query",
                      "out/per_query.tsv"],
                inputs=[q, "run.trec"], outputs={"out/per_query.tsv": "per_query"},
                stdout="metrics_json")


def t_compare(r):
    q = qrels_choice(r)
    return dict(argv=["compare", "--qrels", q, "--runs", "run.trec", "run2.trec",
                      "--permutations", "200", "--json"],
                inputs=[q, "run.trec", "run2.trec"], outputs={}, stdout="json")


def t_fuse(r):
    method = r.choice([["--method", "rrf"], ["--method", "weighted"],
                       ["--method", "weighted", "--normalization", "z-score"],
                       ["--method", "weighted", "--normalization", "none"]])
    return dict(argv=["fuse", "--runs", "run.trec", "run2.trec", "--output", "out/fused.trec"] + method,
                inputs=["run.trec", "run2.trec"], outputs={"out/fused.trec": "trec"})


def t_retrieve(r):
    qrels = r.choice([[], ["--qrels", "beir/qrels/dev.tsv"]])
    return dict(argv=["retrieve", "--corpus", "beir/corpus.jsonl", "--queries", "beir/queries.jsonl",
                      "--top-k", "10", "--output", "out/bm25.trec"] + qrels,
                inputs=["beir/corpus.jsonl", "beir/queries.jsonl"] + qrels[1:],
                outputs={"out/bm25.trec": "trec"})


def t_mine(r):
    fmt = r.choice(["triplet", "n_tuple", "labeled_pair", "flag_embedding"])
    return dict(argv=["mine", "--corpus", "beir/corpus.jsonl", "--queries", "beir/queries.jsonl",
                      "--qrels", "beir/qrels/train.tsv", "--output", "out/mined.jsonl",
                      "--num-negatives", "2", "--format", fmt],
                inputs=["beir/corpus.jsonl", "beir/queries.jsonl", "beir/qrels/train.tsv"],
                outputs={"out/mined.jsonl": "jsonl"})


def t_predict(r):
    return dict(argv=["predict", "-q", "--model", MODEL, "--max-length", "64", "--input",
                      "pairs.jsonl", "--output", "out/scores.jsonl"],
                inputs=["pairs.jsonl"], outputs={"out/scores.jsonl": "scores:pairs.jsonl"}, limit=90)


def t_embed(r):
    return dict(argv=["embed", "-q", "--model", MODEL, "--max-length", "64", "--input",
                      "texts.jsonl", "--output", "out/embeddings.jsonl"],
                inputs=["texts.jsonl"], outputs={"out/embeddings.jsonl": "embeddings:texts.jsonl"},
                limit=90)


def t_rerank(r):
    return dict(argv=["rerank", "-q", "--model", MODEL, "--max-length", "32", "--corpus",
                      "beir/corpus.jsonl", "--queries", "beir/queries.jsonl", "--run", "small.trec",
                      "--output", "out/reranked.trec"],
                inputs=["small.trec", "beir/corpus.jsonl", "beir/queries.jsonl"],
                outputs={"out/reranked.trec": "trec"}, limit=120)


def t_train(r):
    return dict(argv=["train", "-q", "--config", "train.toml"],
                inputs=["train.toml", "train.toml", "beir/corpus.jsonl", "beir/qrels/train.tsv",
                        "beir/qrels/dev.tsv", "beir/queries.jsonl"],
                outputs={"trainrun/final-dev.trec": "trec?", "trainrun/metrics.jsonl": "jsonl?"},
                output_dirs=["trainrun"], limit=240)


def t_evaluate(r):
    return dict(argv=["evaluate", "--config", "eval.toml"],
                inputs=["eval.toml", "eval.toml", "beir/corpus.jsonl", "beir/qrels/dev.tsv",
                        "beir/queries.jsonl"],
                outputs={"evalrun/report.json": "json?"}, output_dirs=["evalrun"], limit=180)


TARGETS = [("eval", t_eval, 3), ("compare", t_compare, 1), ("fuse", t_fuse, 3),
           ("retrieve", t_retrieve, 2), ("mine", t_mine, 2)]
if MODEL:
    TARGETS += [("predict", t_predict, 2), ("embed", t_embed, 1), ("rerank", t_rerank, 1),
                ("train", t_train, 0.4), ("evaluate", t_evaluate, 0.4)]


def weighted(r, items):
    total = sum(w for _, w in items)
    x = r.random() * total
    for item, w in items:
        x -= w
        if x < 0:
            return item
    return items[-1][0]


def make_case(number):
    """(target name, spec, mutated input, mutation names, output pre-state) of a case."""
    r = random.Random(f"{SEED}:{number}")
    name, target = weighted(r, [((n, t), w) for n, t, w in TARGETS])
    spec = target(r)
    victim = r.choice(spec["inputs"])
    names = [weighted(r, [(m, w) for m, (_, w) in MUTATIONS.items()])]
    while r.random() < 0.3 and len(names) < 3 and names[-1] != "deleted":
        extra = weighted(r, [(m, w) for m, (_, w) in MUTATIONS.items() if m != "deleted"])
        names.append(extra)
    # Outputs present before the run: a failed run must leave them as they were. (Not for a
    # train run: an output directory holding a run is refused before anything is read.)
    preexisting = r.random() < 0.5 and name != "train"
    return name, spec, victim, names, preexisting, r


# ----------------------------------------------------------------------------- checks

RUST_WS = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200b)}


def records(path):
    """Non-blank lines of an input the way the readers count them (BOM dropped)."""
    data = open(path, "rb").read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    n = 0
    for line in data.split(b"\n"):
        text = line.decode("utf-8")
        if text.strip("".join(RUST_WS)):
            n += 1
    return n


def rust_split(line):
    """str::split_whitespace."""
    return [c for c in re.split("[" + re.escape("".join(sorted(RUST_WS))) + "]+", line) if c]


def strict_json(text):
    def no_constant(c):
        raise ValueError(f"non-finite JSON number {c}")
    return json.loads(text, parse_constant=no_constant)


def finite_numbers(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(finite_numbers(v) for v in value)
    return all(finite_numbers(v) for v in value.values())


def check_output(path, kind, case_dir):
    """None if the file is complete and parseable as `kind`, else what is wrong."""
    data = open(path, "rb").read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if text and not text.endswith("\n"):
        return "does not end with a newline (cut short?)"
    # Lines and columns as rankforge splits them ('\n'; Unicode White_Space), not Python's
    # wider splitlines()/split() (which also break at \x1c-\x1e, for one).
    lines = [l[:-1] if l.endswith("\r") else l for l in text.split("\n")[:-1]]
    base = kind.split(":")[0].rstrip("?")
    if base == "trec":
        seen = set()
        for n, line in enumerate(lines, 1):
            cols = rust_split(line)
            if len(cols) != 6:
                return f"line {n}: {len(cols)} columns"
            try:
                int(cols[3])
                score = float(cols[4])
            except ValueError:
                return f"line {n}: bad rank or score"
            if not math.isfinite(score):
                return f"line {n}: score {cols[4]}"
            if (cols[0], cols[2]) in seen:
                return f"line {n}: duplicate document"
            seen.add((cols[0], cols[2]))
        return None
    if base == "per_query":
        for n, line in enumerate(lines, 1):
            if n == 1 and line.split("\t")[-1] == "value":
                continue  # the header
            cols = line.split("\t")
            if len(cols) != 3:
                return f"line {n}: {len(cols)} columns"
            try:
                if not math.isfinite(float(cols[2])):
                    return f"line {n}: value {cols[2]}"
            except ValueError:
                return f"line {n}: value {cols[2]!r}"
        return None
    if base == "json":
        try:
            value = strict_json(text)
        except ValueError as e:
            return f"not JSON: {e}"
        return None if finite_numbers(value) else "non-finite number"
    # jsonl, scores, embeddings
    for n, line in enumerate(lines, 1):
        try:
            value = strict_json(line)
        except ValueError as e:
            return f"line {n}: not JSON: {e}"
        if not finite_numbers(value):
            return f"line {n}: non-finite number"
        if base == "scores" and not isinstance(value.get("score"), (int, float)):
            return f"line {n}: no score"
        if base == "embeddings" and not value.get("embedding"):
            return f"line {n}: no embedding"
    if ":" in kind:
        source = os.path.join(case_dir, kind.split(":")[1])
        expected = records(source)
        if len(lines) != expected:
            return f"{len(lines)} lines for {expected} input records (records lost or invented)"
    return None


def snapshot(case_dir):
    out = {}
    for dirpath, _, files in os.walk(case_dir):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, case_dir)] = os.path.getsize(p)
    return out


def names_input(stderr, victim, mutated, inputs):
    if os.path.basename(victim) in stderr:
        return True
    # An inconsistency between two inputs (a qrels line naming a query the mutated queries
    # file lost) may be reported where it is found: another input, at file:line.
    for other in inputs:
        if re.search(re.escape(other) + r":\d+", stderr):
            return True
    if victim.endswith(".toml") and mutated is not None:
        # A config may fail on a path it names (a mutated `dir`, `base`, `model`, ...): then
        # naming that path is enough.
        for path in PATH_SETTING.findall(mutated):
            try:
                if path and re.search(re.escape(path.decode()) + r"(?:[/:\s`'\"]|$)", stderr):
                    return True
            except UnicodeDecodeError:
                pass
    return False


PATH_SETTING = re.compile(rb'(?m)^\s*(?:dir|output_dir|dataset|base|model|teacher)\s*=\s*"([^"\n]*)"')


def run_command(spec, case_dir):
    limit = spec.get("limit", 30)

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    started = time.monotonic()
    try:
        out = subprocess.run([BIN] + spec["argv"], cwd=case_dir, capture_output=True, env=ENV,
                             timeout=limit, preexec_fn=limits)
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout or b"", e.stderr or b""
    except OSError as e:
        sys.exit(f"fuzz_inputs.sh: cannot run {BIN}: {e}")
    return rc, stdout, stderr.decode("utf-8", "replace"), time.monotonic() - started


BASELINES = {}


def baseline(fixtures, work, spec):
    key = tuple(spec["argv"])
    if key not in BASELINES:
        case_dir = os.path.join(work, "baseline")
        shutil.rmtree(case_dir, ignore_errors=True)
        shutil.copytree(fixtures, case_dir)
        rc, stdout, stderr, _ = run_command(spec, case_dir)
        outputs = {}
        for path in spec["outputs"]:
            p = os.path.join(case_dir, path)
            outputs[path] = open(p, "rb").read() if os.path.exists(p) else None
        BASELINES[key] = (rc, stdout, outputs, stderr)
    return BASELINES[key]


def run_case(number, fixtures, work):
    name, spec, victim, mutations, preexisting, r = make_case(number)
    case_dir = os.path.join(work, f"case-{number}")
    shutil.rmtree(case_dir, ignore_errors=True)
    shutil.copytree(fixtures, case_dir)
    victim_path = os.path.join(case_dir, victim)
    mutated = None
    if mutations == ["deleted"]:
        os.remove(victim_path)
    else:
        data = open(victim_path, "rb").read()
        for m in mutations:
            if m != "deleted":
                data = MUTATIONS[m][0](data, r, kind_of(victim))
        mutated = data
        with open(victim_path, "wb") as f:
            f.write(data)
    if preexisting:
        for path in spec["outputs"]:
            p = os.path.join(case_dir, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(SENTINEL)
    before = snapshot(case_dir)
    rc, stdout, stderr, seconds = run_command(spec, case_dir)
    after = snapshot(case_dir)

    problems = []
    if rc == "timeout":
        problems.append(f"no exit within {spec.get('limit', 30)} s (hang?)")
    elif rc == 101 or "panicked" in stderr:
        problems.append("panic")
    elif rc < 0 or rc > 101:
        problems.append(f"crash (exit {rc})")
    elif rc != 0 and not names_input(stderr, victim, mutated, spec["inputs"]):
        problems.append("error message does not name the input")
    if rc == 0 and mutations[-1] in ("empty", "whitespace"):
        problems.append("accepted an input without records")

    expected_dirs = tuple(d + os.sep for d in spec.get("output_dirs", []))
    for path in sorted(set(after) - set(before)):
        if path not in spec["outputs"] and not path.startswith(expected_dirs):
            problems.append(f"left {path} behind")
    for path in after:
        if ".tmp" in os.path.basename(path) and path not in before:
            problems.append(f"temporary file {path} left behind")
    for path, kind in spec["outputs"].items():
        p = os.path.join(case_dir, path)
        exists = os.path.exists(p)
        if rc != 0:
            if preexisting and (not exists or open(p, "rb").read() != SENTINEL):
                problems.append(f"failed run changed {path}")
            if not preexisting and exists:
                problems.append(f"failed run wrote {path}")
        elif not exists:
            if not kind.endswith("?"):
                problems.append(f"successful run wrote no {path}")
        else:
            wrong = check_output(p, kind, case_dir)
            if wrong:
                problems.append(f"{path}: {wrong}")
    if rc == 0 and spec.get("stdout"):
        try:
            value = strict_json(stdout.decode())
            if not finite_numbers(value):
                problems.append("stdout JSON holds a non-finite number")
            if spec["stdout"] == "metrics_json" and not all(
                    isinstance(v, (int, float)) for v in value.values()):
                problems.append("stdout metrics hold a non-number")
        except (ValueError, UnicodeDecodeError, AttributeError) as e:
            problems.append(f"stdout is not JSON: {e}")

    # Neutral only once each: a second BOM is no longer at the start of the file but data.
    if (set(mutations) <= NEUTRAL and len(mutations) == len(set(mutations))
            and name not in ("train", "evaluate")):
        base_rc, base_stdout, base_outputs, _ = baseline(FIXTURES, work, spec)
        if rc != base_rc:
            problems.append(f"{'+'.join(mutations)} alone changed the exit ({base_rc} → {rc})")
        elif rc == 0:
            if stdout != base_stdout and name != "compare":
                problems.append(f"{'+'.join(mutations)} alone changed stdout")
            for path, content in base_outputs.items():
                p = os.path.join(case_dir, path)
                if os.path.exists(p) and open(p, "rb").read() != content:
                    problems.append(f"{'+'.join(mutations)} alone changed {path}")

    return dict(number=number, target=name, victim=victim, mutations=mutations, rc=rc,
                stderr=stderr, problems=problems, seconds=seconds, case_dir=case_dir,
                preexisting=preexisting, argv=spec["argv"])


# ----------------------------------------------------------------------------- main

work = tempfile.mkdtemp(prefix="rankforge-fuzz-")
# A private copy of the binary: a concurrent `cargo build` may replace the original mid-run.
ORIGINAL_BIN = BIN
shutil.copy2(BIN, os.path.join(work, "rankforge"))
BIN = os.path.join(work, "rankforge")
FIXTURES = os.path.join(work, "fixtures")
os.makedirs(FIXTURES)
try:
    make_fixtures(FIXTURES)
except BaseException:
    shutil.rmtree(work, ignore_errors=True)
    raise
keep = KEEP or os.path.join(work, "failures")

if ONLY:
    numbers = [int(ONLY)]
elif CASES:
    numbers = range(int(CASES))
else:
    numbers = None

started = time.monotonic()
results = []
failures = []


def run_all():
    number = 0
    while True:
        if numbers is not None:
            if number >= len(numbers):
                return
            case = numbers[number]
        elif time.monotonic() - started >= BUDGET:
            return
        else:
            case = number
        number += 1
        result = run_case(case, FIXTURES, work)
        results.append(result)
        if VERBOSE:
            last = (result["stderr"].strip().splitlines() or [""])[-1][:200]
            print(f"case {case} {result['target']} {result['victim']} {'+'.join(result['mutations'])} "
                  f"exit {result['rc']} {result['seconds']:.1f}s: {last}", flush=True)
        if result["problems"]:
            failures.append(result)
            dest = os.path.join(keep, f"seed{SEED}-case{case}")
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(result["case_dir"], dest)
            tail = "\n".join(result["stderr"].strip().splitlines()[-6:])
            print(f"FAIL case {case} ({result['target']}, {result['victim']}: "
                  f"{'+'.join(result['mutations'])}, exit {result['rc']}): "
                  f"{'; '.join(result['problems'])}\n"
                  f"  command: cd {dest} && {ORIGINAL_BIN} {' '.join(result['argv'])}\n"
                  f"  rerun:   scripts/fuzz_inputs.sh --seed {SEED} --case {case}\n"
                  + "".join(f"  | {l}\n" for l in tail.splitlines()), flush=True)
        shutil.rmtree(result["case_dir"], ignore_errors=True)


try:
    run_all()
finally:
    # Keep only the failing cases (under `keep`); the binary copy and fixtures go.
    for entry in os.listdir(work):
        path = os.path.join(work, entry)
        if path != keep:
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    if not os.listdir(work):
        os.rmdir(work)

elapsed = time.monotonic() - started
by_target = {}
for res in results:
    by_target[res["target"]] = by_target.get(res["target"], 0) + 1
errors = sum(1 for res in results if res["rc"] not in (0, "timeout"))
if failures:
    print(f"failing cases kept in {keep}")
print(f"fuzz: {len(results)} cases, {len(failures)} failures (seed {SEED}, {elapsed:.0f} s; "
      f"{errors} rejected with an error; "
      + ", ".join(f"{t} {n}" for t, n in sorted(by_target.items())) + ")")
sys.exit(1 if failures else 0)
PY
