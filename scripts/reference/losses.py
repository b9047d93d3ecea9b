"""Reference values and gradients for the rankforge-losses crate.

Every loss of crates/losses is written here again in PyTorch (float64), straight from its
formula, on fixed inputs with padding, label ties and graded labels. Where
sentence-transformers (or FlagEmbedding's published formula) has the same loss, the script
also runs that implementation and asserts it agrees, so the fixture is not just one reading
of the formulas written down twice.

Writes tests/fixtures/losses.json (repository root). Each case holds the loss config exactly
as rankforge parses it (`{"loss": "listnet", ...}`), the inputs, the loss and its gradient with
respect to the scores (or the embeddings).

    usage: .cache/venv-ref/bin/python scripts/reference/losses.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from sentence_transformers.cross_encoder import CrossEncoder
from sentence_transformers.cross_encoder import losses as ce_losses
from sentence_transformers.sentence_transformer import losses as st_losses
from sentence_transformers.util import pairwise_dot_score

torch.set_default_dtype(torch.float64)
ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "losses.json"
TOLERANCE = 1e-5

# Values padded entries hold in the fixtures: the losses must ignore them.
PAD_SCORE = 37.5
PAD_LABEL = 3.0


# ---------------------------------------------------------------------------------------------
# Fixed inputs
# ---------------------------------------------------------------------------------------------

# Three groups of up to five candidates; group 0 has ties in its labels, group 1 is padded
# after three entries, group 2 after four. Scores have no ties (LambdaLoss ranks by them).
SCORES = [
    [2.10, -0.40, 0.75, 1.30, -1.20],
    [0.30, 1.60, -0.90, PAD_SCORE, PAD_SCORE],
    [-0.50, 0.20, 2.40, -1.70, PAD_SCORE],
]
GRADED = [
    [2.0, 0.0, 1.0, 1.0, 0.0],
    [0.0, 3.0, 1.0, PAD_LABEL, PAD_LABEL],
    [1.0, 0.0, 2.0, 0.0, PAD_LABEL],
]
VALID = [
    [True, True, True, True, True],
    [True, True, True, False, False],
    [True, True, True, True, False],
]
TEACHER = [
    [3.20, -1.10, 0.40, 1.90, -2.30],
    [-0.20, 2.70, 0.10, PAD_SCORE, PAD_SCORE],
    [0.60, -0.80, 3.10, -2.20, PAD_SCORE],
]
GRADED_NO_TIES = [
    [2.0, 0.0, 1.0, 3.0, 0.5],
    [0.0, 3.0, 1.0, PAD_LABEL, PAD_LABEL],
    [1.0, 0.0, 2.0, -0.5, PAD_LABEL],
]
# Group 2 has one label for all its real entries: no preferred pair, so pairwise losses leave
# it out of their mean over groups.
ONE_LEVEL = [
    [2.0, 0.0, 1.0, 1.0, 0.0],
    [0.0, 3.0, 1.0, PAD_LABEL, PAD_LABEL],
    [1.0, 1.0, 1.0, 1.0, PAD_LABEL],
]
BINARY = [
    [1.0, 0.0, 0.0, 1.0, 0.0],
    [0.0, 1.0, 0.0, PAD_LABEL, PAD_LABEL],
    [0.0, 0.0, 1.0, 0.0, PAD_LABEL],
]
# Soft labels for BCE (probabilities).
SOFT = [
    [0.9, 0.1, 0.5, 1.0, 0.0],
    [0.2, 0.8, 0.0, PAD_LABEL, PAD_LABEL],
    [0.0, 0.3, 1.0, 0.6, PAD_LABEL],
]
# Positive-first groups (positive in column 0) for MarginMSE and KL distillation.
PF_SCORES = [
    [1.80, 0.20, -0.60, 0.90],
    [0.40, 1.10, -1.30, PAD_SCORE],
    [2.50, -0.20, PAD_SCORE, PAD_SCORE],
]
PF_TEACHER = [
    [4.10, -0.70, -2.20, 1.50],
    [2.30, 1.90, -3.00, PAD_SCORE],
    [5.20, -1.40, PAD_SCORE, PAD_SCORE],
]
PF_VALID = [
    [True, True, True, True],
    [True, True, True, False],
    [True, True, False, False],
]
PF_LABELS = [[1.0, 0.0, 0.0, 0.0]] * 3


def embeddings(seed: int, rows: int, width: int) -> list[list[float]]:
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(rows, width, generator=generator)
    return [[round(float(v), 4) for v in row] for row in values]


QUERIES = embeddings(1, 4, 6)
POSITIVES = embeddings(2, 4, 6)
NEGATIVES = [embeddings(3 + i, 2, 6) for i in range(4)]  # [n=4, m=2, d=6]


def tensor(values, requires_grad=False) -> torch.Tensor:
    return torch.tensor(values, requires_grad=requires_grad)


# ---------------------------------------------------------------------------------------------
# Our formulas (float64, written from the papers; loops where that is clearer)
# ---------------------------------------------------------------------------------------------


def mean_over_groups(per_group: list[torch.Tensor]) -> torch.Tensor:
    """Mean over the groups that have something to score (None marks the others)."""
    counted = [value for value in per_group if value is not None]
    return torch.stack(counted).mean() if counted else torch.zeros(())


def real_entries(valid_row) -> list[int]:
    return [i for i, ok in enumerate(valid_row) if ok]


def bce(scores, labels, valid, pos_weight=None):
    w = 1.0 if pos_weight is None else pos_weight
    per_entry = []
    for g, row in enumerate(valid):
        for i in real_entries(row):
            x, y = scores[g, i], labels[g, i]
            # -[w y log σ(x) + (1 - y) log(1 - σ(x))]
            per_entry.append(-(w * y * F.logsigmoid(x) + (1 - y) * F.logsigmoid(-x)))
    return torch.stack(per_entry).mean()


def mse(scores, targets, valid):
    return torch.stack(
        [(scores[g, i] - targets[g, i]) ** 2 for g, row in enumerate(valid) for i in real_entries(row)]
    ).mean()


def preferred_pairs(labels, valid_row, g):
    real = real_entries(valid_row)
    return [(i, j) for i in real for j in real if labels[g, i] > labels[g, j]]


def margin_ranking(scores, labels, valid, margin):
    per_group = []
    for g, row in enumerate(valid):
        pairs = preferred_pairs(labels, row, g)
        terms = [torch.clamp(margin - (scores[g, i] - scores[g, j]), min=0) for i, j in pairs]
        per_group.append(torch.stack(terms).mean() if terms else None)
    return mean_over_groups(per_group)


def ranknet(scores, labels, valid, sigma):
    per_group = []
    for g, row in enumerate(valid):
        pairs = preferred_pairs(labels, row, g)
        # cross-entropy of P(i > j) = σ(σ (s_i - s_j)) against 1
        terms = [-F.logsigmoid(sigma * (scores[g, i] - scores[g, j])) for i, j in pairs]
        per_group.append(torch.stack(terms).mean() if terms else None)
    return mean_over_groups(per_group)


def listnet(scores, targets, valid, temperature):
    per_group = []
    for g, row in enumerate(valid):
        real = real_entries(row)
        if not real:
            per_group.append(None)
            continue
        p = torch.softmax(targets[g, real] / temperature, dim=0)
        log_q = torch.log_softmax(scores[g, real], dim=0)
        per_group.append(-(p * log_q).sum())
    return mean_over_groups(per_group)


def listmle(scores, labels, valid):
    per_group = []
    for g, row in enumerate(valid):
        real = real_entries(row)
        if not real:
            per_group.append(None)
            continue
        # label order, descending; ties keep input order (a stable sort)
        order = sorted(real, key=lambda i: -float(labels[g, i]))
        s = scores[g, order]
        log_likelihood = sum(s[k] - torch.logsumexp(s[k:], dim=0) for k in range(len(order)))
        per_group.append(-log_likelihood)
    return mean_over_groups(per_group)


def lambda_loss(scores, labels, valid, weighting, k, sigma, mu):
    per_group = []
    for g, row in enumerate(valid):
        real = real_entries(row)
        cutoff = k or len(row)
        # 1-based ranks by score (descending) and the ideal DCG@k from the labels
        by_score = sorted(real, key=lambda i: -float(scores[g, i].detach()))
        rank = {i: by_score.index(i) + 1 for i in real}
        ideal = sorted((float(labels[g, i]) for i in real), reverse=True)
        gain_raw = {i: 2.0 ** max(float(labels[g, i]), 0.0) - 1.0 for i in real}
        max_dcg = sum((2.0 ** max(l, 0.0) - 1.0) / math.log2(1 + r) for r, l in enumerate(ideal, 1) if r <= cutoff)
        max_dcg = max(max_dcg, 1e-10)
        gain = {i: gain_raw[i] / max_dcg for i in real}
        discount = {i: math.log2(1 + rank[i]) for i in real}

        def weight(i, j):
            gain_gap = abs(gain[i] - gain[j])
            lambda_rank = abs(1 / discount[i] - 1 / discount[j]) * gain_gap
            gap = abs(rank[i] - rank[j])
            ndcg2 = abs(1 / math.log2(1 + gap) - 1 / math.log2(2 + gap)) * gain_gap
            return {
                "ndcg_loss2pp": mu * ndcg2 + lambda_rank,
                "ndcg_loss2": ndcg2,
                "lambda_rank": lambda_rank,
                "none": 1.0,
            }[weighting]

        pairs = [
            (i, j)
            for i, j in preferred_pairs(labels, row, g)
            if rank[i] <= cutoff or rank[j] <= cutoff
        ]
        terms = [
            -weight(i, j) * F.logsigmoid(sigma * (scores[g, i] - scores[g, j])) / math.log(2) for i, j in pairs
        ]
        per_group.append(torch.stack(terms).mean() if terms else None)
    return mean_over_groups(per_group)


def infonce(queries, positives, negatives, similarity, scale, symmetric):
    def prepare(x):
        return F.normalize(x, dim=-1) if similarity == "cosine" else x

    q, p = prepare(queries), prepare(positives)
    candidates = [p[j] for j in range(len(p))]
    if negatives is not None:
        flat = prepare(negatives.reshape(-1, negatives.shape[-1]))
        candidates += [flat[k] for k in range(len(flat))]
    per_query = []
    for i in range(len(q)):
        logits = torch.stack([scale * torch.dot(q[i], c) for c in candidates])
        forward = -(logits[i] - torch.logsumexp(logits, dim=0))
        if symmetric:
            back_logits = torch.stack([scale * torch.dot(q[j], p[i]) for j in range(len(q))])
            backward = -(back_logits[i] - torch.logsumexp(back_logits, dim=0))
            forward = (forward + backward) / 2
        per_query.append(forward)
    return torch.stack(per_query).mean()


def margin_mse(scores, teacher, valid):
    per_group = []
    for g, row in enumerate(valid):
        if not row[0]:
            per_group.append(None)
            continue
        terms = [
            ((scores[g, 0] - scores[g, j]) - (teacher[g, 0] - teacher[g, j])) ** 2
            for j in real_entries(row)
            if j > 0
        ]
        per_group.append(torch.stack(terms).mean() if terms else None)
    return mean_over_groups(per_group)


def distill_kl(scores, teacher, valid, temperature, objective, hard_label_weight):
    per_group = []
    for g, row in enumerate(valid):
        real = real_entries(row)
        if not real:
            per_group.append(None)
            continue
        p = torch.softmax(teacher[g, real] / temperature, dim=0)
        log_q = torch.log_softmax(scores[g, real] / temperature, dim=0)
        if objective == "kl_divergence":
            value = (p * (torch.log(p) - log_q)).sum()
        else:
            value = -(p * log_q).sum()
        value = value * temperature**2
        if hard_label_weight > 0 and row[0]:
            value = value - hard_label_weight * torch.log_softmax(scores[g, real], dim=0)[0]
        per_group.append(value)
    return mean_over_groups(per_group)


# ---------------------------------------------------------------------------------------------
# Independent implementations to cross-check against
# ---------------------------------------------------------------------------------------------


class ScoreTable(CrossEncoder):
    """A stand-in CrossEncoder whose score for (query, document) is read from a tensor.

    Documents are named "g/i"; their score is scores[g, i], so the sentence-transformers losses
    run their own padding, sorting and reductions on our inputs and gradients flow back to
    `scores`."""

    def __init__(self, scores: torch.Tensor):
        nn.Module.__init__(self)
        self.table = scores

    @property
    def num_labels(self) -> int:
        return 1

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def preprocess(self, pairs, prompt=None, task=None):
        return {"pairs": pairs}

    def forward(self, features, **kwargs):
        cells = [doc.split("/") for _, doc in features["pairs"]]
        return {"scores": torch.stack([self.table[int(g), int(i)] for g, i in cells])}


def st_listwise(loss_class, scores, labels, valid, groups=None, **kwargs):
    """Runs a sentence-transformers cross-encoder list loss on (a subset of) our groups."""
    groups = range(len(valid)) if groups is None else groups
    model = ScoreTable(scores)
    loss = loss_class(model, **kwargs)
    queries = [f"q{g}" for g in groups]
    docs = [[f"{g}/{i}" for i in real_entries(valid[g])] for g in groups]
    label_lists = [labels[g, real_entries(valid[g])].detach().float() for g in groups]
    with float32_defaults():
        return loss([queries, docs], label_lists).double()


def assert_close(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> None:
    if not torch.allclose(ours.double(), theirs.double(), atol=1e-5, rtol=1e-5):
        raise AssertionError(f"{what}: ours {float(ours):.8f} != reference {float(theirs):.8f}")


def assert_grads_close(ours: torch.Tensor, theirs: torch.Tensor, what: str) -> None:
    if not torch.allclose(ours.double(), theirs.double(), atol=1e-5, rtol=1e-4):
        raise AssertionError(f"{what} gradients differ:\n{ours}\n{theirs}")


class float32_defaults:
    """sentence-transformers computes in float32 (it calls `.float()` on logits), so its losses
    run with float32 as the default dtype; the cross-checks then allow float32 rounding."""

    def __enter__(self):
        torch.set_default_dtype(torch.float32)

    def __exit__(self, *exc):
        torch.set_default_dtype(torch.float64)


def grad_of(fn, *leaves):
    for leaf in leaves:
        leaf.grad = None
    value = fn()
    value.backward()
    return value.detach(), [leaf.grad.detach().clone() for leaf in leaves]


def cross_check_group_losses(scores_list, graded, valid) -> None:
    scores = tensor(scores_list, requires_grad=True)
    labels = tensor(graded)

    # ListNet: sentence-transformers averages over queries, as we do.
    ours, (g_ours,) = grad_of(lambda: listnet(scores, labels, valid, 1.0), scores)
    theirs, (g_theirs,) = grad_of(lambda: st_listwise(ce_losses.ListNetLoss, scores, labels, valid), scores)
    assert_close(ours, theirs, "ListNet vs sentence-transformers ListNetLoss")
    assert_grads_close(g_ours, g_theirs, "ListNet")

    # ListMLE: sentence-transformers sorts labels with an unstable sort, so compare on labels
    # without ties among the real entries of a group.
    no_ties = tensor(GRADED_NO_TIES)
    ours, (g_ours,) = grad_of(lambda: listmle(scores, no_ties, valid), scores)
    theirs, (g_theirs,) = grad_of(
        lambda: st_listwise(ce_losses.ListMLELoss, scores, no_ties, valid, respect_input_order=False), scores
    )
    assert_close(ours, theirs, "ListMLE vs sentence-transformers ListMLELoss")
    assert_grads_close(g_ours, g_theirs, "ListMLE")

    # RankNet and LambdaLoss: sentence-transformers averages over all pairs of the batch, we
    # average per group first, so compare one group at a time.
    schemes = {
        "ndcg_loss2pp": ce_losses.NDCGLoss2PPScheme(mu=10.0),
        "ndcg_loss2": ce_losses.NDCGLoss2Scheme(),
        "lambda_rank": ce_losses.LambdaRankScheme(),
    }
    for g in range(len(valid)):
        only_g = [valid[h] if h == g else [False] * len(valid[h]) for h in range(len(valid))]
        for sigma in (1.0, 2.0):
            ours, (g_ours,) = grad_of(lambda: ranknet(scores, labels, only_g, sigma), scores)
            theirs, (g_theirs,) = grad_of(
                lambda: st_listwise(
                    ce_losses.RankNetLoss, scores, labels, valid, groups=[g], sigma=sigma, reduction_log="natural"
                ),
                scores,
            )
            assert_close(ours, theirs, f"RankNet group {g} sigma {sigma}")
            assert_grads_close(g_ours, g_theirs, f"RankNet group {g}")
        for name, scheme in schemes.items():
            for k in (None, 2):
                ours, (g_ours,) = grad_of(
                    lambda: lambda_loss(scores, labels, only_g, name, k, 1.0, 10.0), scores
                )
                theirs, (g_theirs,) = grad_of(
                    lambda: st_listwise(
                        ce_losses.LambdaLoss, scores, labels, valid, groups=[g], weighting_scheme=scheme, k=k
                    ),
                    scores,
                )
                assert_close(ours, theirs, f"LambdaLoss {name} k={k} group {g}")
                assert_grads_close(g_ours, g_theirs, f"LambdaLoss {name} k={k} group {g}")


def cross_check_pointwise_and_pairs() -> None:
    scores = tensor(SCORES, requires_grad=True)
    valid = torch.tensor(VALID)
    for labels_list in (BINARY, SOFT):
        labels = tensor(labels_list)
        for pos_weight in (None, 2.5):
            theirs = F.binary_cross_entropy_with_logits(
                scores[valid], labels[valid], pos_weight=None if pos_weight is None else torch.tensor(pos_weight)
            )
            assert_close(bce(scores, labels, VALID, pos_weight), theirs, "BCE vs BCEWithLogitsLoss")
    teacher = tensor(TEACHER)
    assert_close(mse(scores, teacher, VALID), F.mse_loss(scores[valid], teacher[valid]), "MSE vs mse_loss")
    # Margin ranking: one group at a time against PyTorch's MarginRankingLoss on its pairs.
    labels = tensor(GRADED)
    for g in range(len(VALID)):
        pairs = preferred_pairs(labels, VALID[g], g)
        only_g = [VALID[h] if h == g else [False] * len(VALID[h]) for h in range(len(VALID))]
        first = torch.stack([scores[g, i] for i, _ in pairs])
        second = torch.stack([scores[g, j] for _, j in pairs])
        theirs = F.margin_ranking_loss(first, second, torch.ones(len(pairs)), margin=0.5)
        assert_close(margin_ranking(scores, labels, only_g, 0.5), theirs, f"margin ranking group {g}")


def cross_check_distillation() -> None:
    scores = tensor(PF_SCORES, requires_grad=True)
    teacher = tensor(PF_TEACHER)
    # Compare on the unpadded rows: the sentence-transformers losses take rectangular batches.
    full = [0]
    ones = torch.ones(len(full), 1)

    def columns(matrix):
        return [ones] + [matrix[full, c : c + 1] for c in range(matrix.shape[1])]

    st_margin = st_losses.MarginMSELoss(None, similarity_fct=pairwise_dot_score)
    only_full = [PF_VALID[g] if g in full else [False] * 4 for g in range(3)]
    ours, (g_ours,) = grad_of(lambda: margin_mse(scores, teacher, only_full), scores)
    theirs, (g_theirs,) = grad_of(
        lambda: st_margin.compute_loss_from_embeddings(columns(scores), teacher[full]), scores
    )
    assert_close(ours, theirs, "MarginMSE vs sentence-transformers MarginMSELoss")
    assert_grads_close(g_ours, g_theirs, "MarginMSE")
    # The cross-encoder MarginMSELoss, on every group truncated to its real negatives.
    for g in range(3):
        real = real_entries(PF_VALID[g])
        only_g = [PF_VALID[h] if h == g else [False] * 4 for h in range(3)]
        model = ScoreTable(scores)
        loss = ce_losses.MarginMSELoss(model)
        inputs = [[f"q{g}"]] + [[f"{g}/{i}"] for i in real]
        theirs = loss(inputs, teacher[g, real].unsqueeze(0))
        assert_close(margin_mse(scores, teacher, only_g), theirs, f"MarginMSE vs cross-encoder loss, group {g}")

    for temperature in (1.0, 2.0):
        st_kl = st_losses.DistillKLDivLoss(None, similarity_fct=pairwise_dot_score, temperature=temperature)
        ours, (g_ours,) = grad_of(
            lambda: distill_kl(scores, teacher, only_full, temperature, "kl_divergence", 0.0), scores
        )
        theirs, (g_theirs,) = grad_of(
            lambda: st_kl.compute_loss_from_embeddings(columns(scores), teacher[full]), scores
        )
        assert_close(ours, theirs, f"KL distillation T={temperature} vs DistillKLDivLoss")
        assert_grads_close(g_ours, g_theirs, "KL distillation")

    # FlagEmbedding's reranker loss (AbsRerankerModel.forward), as published: cross-entropy
    # towards the first passage plus the soft cross-entropy to the teacher's softmax.
    grouped = scores[full]
    teacher_targets = torch.softmax(teacher[full], dim=-1)
    flag = F.cross_entropy(grouped, torch.zeros(len(full), dtype=torch.long)) - torch.mean(
        torch.sum(torch.log_softmax(grouped, dim=-1) * teacher_targets, dim=-1)
    )
    assert_close(
        distill_kl(scores, teacher, only_full, 1.0, "soft_cross_entropy", 1.0), flag, "FlagEmbedding reranker loss"
    )


def cross_check_infonce() -> None:
    q = tensor(QUERIES, requires_grad=True)
    p = tensor(POSITIVES, requires_grad=True)
    h = tensor(NEGATIVES, requires_grad=True)
    n, m, d = h.shape
    for symmetric in (False, True):
        for negatives in (None, h):
            # MultipleNegativesSymmetricRankingLoss is this configuration of the same class.
            directions = ("query_to_doc", "doc_to_query") if symmetric else ("query_to_doc",)
            st = st_losses.MultipleNegativesRankingLoss(
                None, scale=20.0, directions=directions, partition_mode="per_direction"
            )
            columns = [q, p] + ([] if negatives is None else [negatives[:, c, :] for c in range(m)])
            leaves = [q, p] + ([] if negatives is None else [h])
            ours, g_ours = grad_of(lambda: infonce(q, p, negatives, "cosine", 20.0, symmetric), *leaves)
            theirs, g_theirs = grad_of(lambda: st.compute_loss_from_embeddings(columns, None), *leaves)
            what = f"InfoNCE symmetric={symmetric} negatives={negatives is not None}"
            assert_close(ours, theirs, what)
            for a, b in zip(g_ours, g_theirs):
                assert_grads_close(a, b, what)


# ---------------------------------------------------------------------------------------------
# Fixture cases
# ---------------------------------------------------------------------------------------------


def as_list(t: torch.Tensor):
    return t.tolist()


def score_case(name, config, fn, scores, valid, labels=None, teacher=None):
    s = tensor(scores, requires_grad=True)
    value, (grad,) = grad_of(lambda: fn(s), s)
    inputs = {"scores": scores, "valid": valid}
    if labels is not None:
        inputs["labels"] = labels
    if teacher is not None:
        inputs["teacher_scores"] = teacher
    return {
        "name": name,
        "config": config,
        "inputs": inputs,
        "loss": float(value),
        "grad": {"scores": as_list(grad)},
    }


def build_cases() -> list[dict]:
    graded, binary, soft, teacher = tensor(GRADED), tensor(BINARY), tensor(SOFT), tensor(TEACHER)
    cases = []
    for pos_weight in (None, 2.5):
        config = {"loss": "bce"} if pos_weight is None else {"loss": "bce", "pos_weight": pos_weight}
        for labels_name, labels_list, labels in (("binary", BINARY, binary), ("soft", SOFT, soft)):
            cases.append(
                score_case(
                    f"bce_{labels_name}_pos_weight_{pos_weight}",
                    config,
                    lambda s: bce(s, labels, VALID, pos_weight),
                    SCORES,
                    VALID,
                    labels=labels_list,
                )
            )
    cases.append(score_case("mse_teacher", {"loss": "mse"}, lambda s: mse(s, teacher, VALID), SCORES, VALID, teacher=TEACHER))
    cases.append(
        score_case(
            "mse_labels",
            {"loss": "mse", "target": "labels"},
            lambda s: mse(s, graded, VALID),
            SCORES,
            VALID,
            labels=GRADED,
        )
    )
    for margin in (1.0, 0.5):
        cases.append(
            score_case(
                f"margin_ranking_{margin}",
                {"loss": "margin_ranking", "margin": margin},
                lambda s: margin_ranking(s, graded, VALID, margin),
                SCORES,
                VALID,
                labels=GRADED,
            )
        )
    for sigma in (1.0, 2.0):
        cases.append(
            score_case(
                f"ranknet_sigma_{sigma}",
                {"loss": "ranknet", "sigma": sigma},
                lambda s: ranknet(s, graded, VALID, sigma),
                SCORES,
                VALID,
                labels=GRADED,
            )
        )
    # RankNet with tied scores (a pair at difference 0).
    tied_scores = [row[:] for row in SCORES]
    tied_scores[0][1] = tied_scores[0][0]
    cases.append(
        score_case(
            "ranknet_tied_scores",
            {"loss": "ranknet"},
            lambda s: ranknet(s, binary, VALID, 1.0),
            tied_scores,
            VALID,
            labels=BINARY,
        )
    )
    one_level = tensor(ONE_LEVEL)
    for config, fn in (
        ({"loss": "ranknet"}, lambda s: ranknet(s, one_level, VALID, 1.0)),
        ({"loss": "margin_ranking"}, lambda s: margin_ranking(s, one_level, VALID, 1.0)),
        ({"loss": "lambda_loss"}, lambda s: lambda_loss(s, one_level, VALID, "ndcg_loss2pp", None, 1.0, 10.0)),
    ):
        cases.append(score_case(f"{config['loss']}_group_without_pairs", config, fn, SCORES, VALID, labels=ONE_LEVEL))
    cases.append(
        score_case(
            "listnet_labels", {"loss": "listnet"}, lambda s: listnet(s, graded, VALID, 1.0), SCORES, VALID, labels=GRADED
        )
    )
    cases.append(
        score_case(
            "listnet_teacher_t2",
            {"loss": "listnet", "target": "teacher_scores", "temperature": 2.0},
            lambda s: listnet(s, teacher, VALID, 2.0),
            SCORES,
            VALID,
            teacher=TEACHER,
        )
    )
    cases.append(score_case("listmle", {"loss": "listmle"}, lambda s: listmle(s, graded, VALID), SCORES, VALID, labels=GRADED))
    for weighting in ("ndcg_loss2pp", "lambda_rank", "ndcg_loss2", "none"):
        for k in (None, 2):
            config = {"loss": "lambda_loss", "weighting": weighting}
            if k is not None:
                config["k"] = k
            cases.append(
                score_case(
                    f"lambda_loss_{weighting}_k{k}",
                    config,
                    lambda s: lambda_loss(s, graded, VALID, weighting, k, 1.0, 10.0),
                    SCORES,
                    VALID,
                    labels=GRADED,
                )
            )
    cases.append(
        score_case(
            "lambda_loss_sigma2_mu5",
            {"loss": "lambda_loss", "sigma": 2.0, "mu": 5.0},
            lambda s: lambda_loss(s, graded, VALID, "ndcg_loss2pp", None, 2.0, 5.0),
            SCORES,
            VALID,
            labels=GRADED,
        )
    )
    pf_teacher = tensor(PF_TEACHER)
    cases.append(
        score_case(
            "margin_mse",
            {"loss": "margin_mse"},
            lambda s: margin_mse(s, pf_teacher, PF_VALID),
            PF_SCORES,
            PF_VALID,
            teacher=PF_TEACHER,
        )
    )
    for temperature, objective, hard in ((1.0, "kl_divergence", 0.0), (2.0, "kl_divergence", 0.0), (1.0, "soft_cross_entropy", 1.0), (3.0, "soft_cross_entropy", 0.5)):
        cases.append(
            score_case(
                f"distill_kl_{objective}_t{temperature}_hard{hard}",
                {"loss": "distill_kl", "temperature": temperature, "objective": objective, "hard_label_weight": hard},
                lambda s: distill_kl(s, pf_teacher, PF_VALID, temperature, objective, hard),
                PF_SCORES,
                PF_VALID,
                teacher=PF_TEACHER,
            )
        )

    for similarity, scale_key, scale, symmetric, with_negatives in (
        ("cosine", None, 20.0, False, False),
        ("cosine", "scale", 20.0, False, True),
        ("cosine", "temperature", 0.05, True, True),
        ("dot", "scale", 1.0, False, True),
        ("dot", "temperature", 2.0, True, False),
    ):
        q = tensor(QUERIES, requires_grad=True)
        p = tensor(POSITIVES, requires_grad=True)
        h = tensor(NEGATIVES, requires_grad=True)
        effective = 1.0 / scale if scale_key == "temperature" else scale
        leaves = [q, p] + ([h] if with_negatives else [])
        value, grads = grad_of(
            lambda: infonce(q, p, h if with_negatives else None, similarity, effective, symmetric), *leaves
        )
        config = {"loss": "infonce", "similarity": similarity, "symmetric": symmetric}
        if scale_key is not None:
            config[scale_key] = scale
        inputs = {"queries": QUERIES, "positives": POSITIVES}
        grad = {"queries": as_list(grads[0]), "positives": as_list(grads[1])}
        if with_negatives:
            inputs["negatives"] = NEGATIVES
            grad["negatives"] = as_list(grads[2])
        cases.append(
            {
                "name": f"infonce_{similarity}_{scale_key}_{scale}_sym{symmetric}_neg{with_negatives}",
                "config": config,
                "inputs": inputs,
                "loss": float(value),
                "grad": grad,
            }
        )
    return cases


def main() -> None:
    cross_check_pointwise_and_pairs()
    cross_check_group_losses(SCORES, GRADED, VALID)
    cross_check_distillation()
    cross_check_infonce()
    print("cross-checks against PyTorch / sentence-transformers / FlagEmbedding: ok")

    cases = build_cases()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fixture = {
        "generated_by": "scripts/reference/losses.py",
        "torch": torch.__version__,
        "tolerance": TOLERANCE,
        "note": "Padded entries (valid = false) hold arbitrary values the losses must ignore; their gradient is 0.",
        "cases": cases,
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
