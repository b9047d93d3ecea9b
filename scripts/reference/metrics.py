#!/usr/bin/env python3
"""Reference values for rankforge-eval, computed with pytrec_eval (trec_eval 9) and scipy.

Writes tests/fixtures/metrics.json, which crates/eval/tests/parity.rs checks to 1e-6.

    usage: $(scripts/reference/setup.sh) scripts/reference/metrics.py

Conventions reproduced here (they are rankforge-eval's):
  * Ranking is trec_eval's: score descending, ties broken by document id descending, whatever
    order the run lists its documents in (each case's run lists them shuffled).
  * Means are over the queries of the qrels (trec_eval -c): a qrels query missing from the run,
    or with an empty list, counts 0 for every metric. pytrec_eval only reports queries that are
    both in the run and in the qrels, so the missing ones are filled with zeros here.
  * Run queries absent from the qrels are ignored (as trec_eval does).
  * mrr@k: pytrec_eval's recip_rank has no cutoff, so it is computed on the run truncated to
    its top k documents (after trec_eval's sort).
"""

import json
import math
import random
from pathlib import Path

import numpy as np
import pytrec_eval
import scipy
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "metrics.json"

METRICS = [
    "ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10", "ndcg@100", "ndcg",
    "mrr", "mrr@1", "mrr@3", "mrr@10",
    "map", "map@1", "map@5", "map@100",
    "recall@1", "recall@5", "recall@10", "recall@100",
    "p@1", "p@3", "p@5", "p@10",
    "success@1", "success@3", "success@10",
]


def trec_sorted(docs):
    """[(doc, score)] in trec_eval's order: score descending, then doc id descending."""
    by_doc_desc = sorted(docs, key=lambda d: d[0], reverse=True)
    return sorted(by_doc_desc, key=lambda d: -d[1])  # stable: keeps doc-id order in ties


def pytrec_measure(metric):
    """(pytrec_eval measure to request, key in its output, cutoff to truncate the run to)."""
    name, _, k = metric.partition("@")
    if name == "ndcg":
        return ("ndcg_cut." + k, "ndcg_cut_" + k, None) if k else ("ndcg", "ndcg", None)
    if name == "mrr":
        return "recip_rank", "recip_rank", (int(k) if k else None)
    if name == "map":
        return ("map_cut." + k, "map_cut_" + k, None) if k else ("map", "map", None)
    if name == "recall":
        return "recall." + k, "recall_" + k, None
    if name == "p":
        return "P." + k, "P_" + k, None
    if name == "success":
        return "success." + k, "success_" + k, None
    raise ValueError(metric)


def evaluate(qrels, run, metrics):
    """Per-query values over the qrels' queries and their means, for each metric."""
    per_query = {}
    for metric in metrics:
        request, key, cut = pytrec_measure(metric)
        ranked = {}
        for qid, docs in run.items():
            docs = trec_sorted(docs)
            if cut is not None:
                docs = docs[:cut]
            ranked[qid] = {d: float(s) for d, s in docs}
        result = pytrec_eval.RelevanceEvaluator(qrels, {request}).evaluate(ranked)
        values = {qid: result.get(qid, {}).get(key, 0.0) for qid in qrels}
        per_query[metric] = values
    means = {m: sum(v.values()) / len(qrels) for m, v in per_query.items()}
    return per_query, means


def shuffled(run, rng):
    """The run with each list in a random order, so the reader must sort by score."""
    out = {}
    for qid, docs in run.items():
        docs = list(docs)
        rng.shuffle(docs)
        out[qid] = docs
    return out


def handmade_cases(rng):
    cases = []
    # Graded judgments (0..3), a negative grade (trec_eval: in the pool but unjudged), score ties
    # broken by doc id ("d10" < "d9" as strings), docs missing from the qrels, a run query
    # missing from the qrels, a qrels query missing from the run, and an empty list.
    qrels = {
        "q1": {"d1": 3, "d2": 2, "d3": 0, "d4": 1, "d9": 1, "d10": 2, "d5": -1},
        "q2": {"a": 1, "b": 1, "c": 0},
        "q3": {"x": 2, "y": 1},
        "q4": {"z": 1},
        "q5": {"n1": 0, "n2": 0},
    }
    run = {
        "q1": [("d3", 2.0), ("d1", 1.5), ("d9", 1.5), ("d10", 1.5), ("d7", 1.5), ("d5", 3.0),
               ("d2", 0.25), ("d4", -1.0), ("d8", 0.0)],
        "q2": [("e", 5.0), ("b", 4.0), ("f", 4.0), ("g", 4.0), ("a", 1.0)],
        "q4": [],
        "q5": [("n1", 1.0), ("n3", 0.5)],
        "q9": [("whatever", 1.0)],
    }
    cases.append({"name": "graded_ties_missing_queries", "qrels": qrels,
                  "run": shuffled(run, rng)})
    # Every score equal: the ranking is document ids descending.
    qrels = {"t1": {"doc01": 1, "doc02": 2, "doc11": 0, "doc20": 1}}
    run = {"t1": [(d, 0.5) for d in ["doc01", "doc02", "doc03", "doc11", "doc20", "doc21"]]}
    cases.append({"name": "all_scores_tied", "qrels": qrels, "run": shuffled(run, rng)})
    # Nothing retrieved at all.
    cases.append({"name": "empty_run", "qrels": {"q1": {"d1": 1}, "q2": {"d2": 2, "d3": 1}},
                  "run": {}})
    # A perfect run: every metric with a cutoff at least the number of relevant docs is 1
    # (P@k excepted).
    qrels = {"p1": {"a": 2, "b": 1, "c": 0}, "p2": {"x": 1}}
    run = {"p1": [("a", 3.0), ("b", 2.0), ("c", 1.0)], "p2": [("x", 1.0), ("y", 0.5)]}
    cases.append({"name": "perfect_run", "qrels": qrels, "run": shuffled(run, rng)})
    return cases


def random_case(name, rng, num_queries, num_docs, run_len, score_decimals, max_grade):
    qrels, run = {}, {}
    for q in range(num_queries):
        qid = f"q{q}"
        docs = [f"d{d}" for d in range(num_docs)]
        judged = rng.sample(docs, rng.randint(1, num_docs // 2))
        qrels[qid] = {d: rng.randint(0, max_grade) for d in judged}
        if rng.random() < 0.1:
            continue  # query left out of the run
        retrieved = rng.sample(docs, min(run_len, num_docs))
        run[qid] = [(d, round(rng.gauss(0.0, 1.0), score_decimals)) for d in retrieved]
    # A few run-only queries that must be ignored.
    for q in range(3):
        run[f"extra{q}"] = [("d0", 1.0), ("d1", 0.5)]
    return {"name": name, "qrels": qrels, "run": shuffled(run, rng)}


def metric_cases(rng):
    cases = handmade_cases(rng)
    cases.append(random_case("random_graded_coarse_scores", rng, 40, 60, 30, 1, 3))
    cases.append(random_case("random_binary_long_lists", rng, 25, 200, 150, 3, 1))
    for case in cases:
        per_query, means = evaluate(case["qrels"], dict(case["run"]), METRICS)
        case["metrics"] = METRICS
        case["per_query"] = per_query
        case["mean"] = means
        case["run"] = {q: [[d, s] for d, s in docs] for q, docs in case["run"].items()}
    return cases


def t_test_cases(rng):
    cases = []
    nprng = np.random.default_rng(7)
    pairs = [
        ("normal_n30", nprng.normal(0.5, 0.2, 30), nprng.normal(0.45, 0.2, 30)),
        ("small_n3", np.array([0.2, 0.5, 0.9]), np.array([0.1, 0.55, 0.6])),
        ("metric_like_ties_n50", nprng.integers(0, 4, 50) / 3.0, nprng.integers(0, 4, 50) / 3.0),
        ("large_effect_n200", nprng.uniform(0, 1, 200), None),
        ("negative_delta_n12", nprng.uniform(0, 1, 12), None),
    ]
    for name, a, b in pairs:
        if b is None:
            shift = 0.05 if name.startswith("large") else -0.1
            b = np.clip(a + shift + nprng.normal(0, 0.1, len(a)), 0, 1)
        result = stats.ttest_rel(a, b)
        cases.append({"name": name, "a": a.tolist(), "b": b.tolist(),
                      "t": float(result.statistic), "p": float(result.pvalue)})
    return cases


def randomization_cases():
    """Exact paired sign-flip tests (all 2^n assignments), scipy's permutation_test."""
    cases = []
    nprng = np.random.default_rng(11)
    pairs = [
        ("n8_continuous", nprng.uniform(0, 1, 8), nprng.uniform(0, 1, 8)),
        ("n10_ties", nprng.integers(0, 3, 10) / 2.0, nprng.integers(0, 3, 10) / 2.0),
        ("n12_shift", None, None),
    ]
    for name, a, b in pairs:
        if a is None:
            a = nprng.uniform(0, 1, 12)
            b = a - 0.1 + nprng.normal(0, 0.1, 12)
        result = stats.permutation_test(
            (a, b), lambda x, y, axis: np.mean(x - y, axis=axis),
            permutation_type="samples", n_resamples=np.inf, alternative="two-sided",
            vectorized=True)
        cases.append({"name": name, "a": a.tolist(), "b": b.tolist(),
                      "p": float(result.pvalue)})
    return cases


def comparison_case(rng):
    """Two systems over the same qrels: means, deltas and t-test p-values per metric."""
    base = random_case("compare", rng, 30, 40, 20, 2, 2)
    qrels = base["qrels"]
    baseline = base["run"]
    # The second system: the baseline with relevant documents nudged up, and noise.
    improved = {}
    for qid, docs in baseline.items():
        judged = qrels.get(qid, {})
        improved[qid] = [(d, round(s + 0.8 * max(judged.get(d, 0), 0) + rng.gauss(0, 0.5), 2))
                         for d, s in docs]
    metrics = ["ndcg@10", "mrr@10", "map", "recall@20", "p@1"]
    runs = {"baseline": baseline, "improved": improved}
    expected = {}
    per_system = {name: evaluate(qrels, run, metrics)[0] for name, run in runs.items()}
    for m in metrics:
        a = np.array([per_system["baseline"][m][q] for q in qrels])
        b = np.array([per_system["improved"][m][q] for q in qrels])
        t = stats.ttest_rel(b, a)
        expected[m] = {"means": [float(a.mean()), float(b.mean())],
                       "deltas": [0.0, float(b.mean() - a.mean())],
                       "t_test_p": [None, None if math.isnan(t.pvalue) else float(t.pvalue)]}
    top1_differs = 0
    for qid in qrels:
        top = [trec_sorted(runs[name].get(qid, []))[:1] for name in ("baseline", "improved")]
        top = [t[0][0] if t else None for t in top]
        top1_differs += top[0] != top[1]
    return {
        "qrels": qrels,
        "runs": [[name, {q: [[d, s] for d, s in docs] for q, docs in run.items()}]
                 for name, run in runs.items()],
        "metrics": metrics,
        "expected": expected,
        "top1_differs": [0, top1_differs],
    }


def main():
    rng = random.Random(2024)
    fixture = {
        "generator": "scripts/reference/metrics.py",
        "versions": {"pytrec_eval": getattr(pytrec_eval, "__version__", "terrier"),
                     "scipy": scipy.__version__, "numpy": np.__version__},
        "tolerance": 1e-6,
        "metric_cases": metric_cases(rng),
        "t_tests": t_test_cases(rng),
        "randomization_exact": randomization_cases(),
        "comparison": comparison_case(rng),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
