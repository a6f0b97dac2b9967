"""Ranking metrics of link prediction: ROC AUC and average precision.

Written here (rather than through PyG's ``GAE.test``) because that one needs scikit-learn, which
is not a dependency. Both treat tied scores the way scikit-learn does.
"""

from __future__ import annotations

import torch


def roc_auc(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> float:
    """Probability that a positive outranks a negative (ties count one half); NaN if either is empty."""
    if pos_scores.numel() == 0 or neg_scores.numel() == 0:
        return float("nan")
    scores = torch.cat([pos_scores, neg_scores]).double()
    ranks = _average_ranks(scores)
    n_pos, n_neg = pos_scores.numel(), neg_scores.numel()
    # Mann-Whitney U of the positives, divided by the number of pairs.
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def average_precision(pos_scores: torch.Tensor, neg_scores: torch.Tensor) -> float:
    """Area under the step-wise precision-recall curve; NaN without positives."""
    if pos_scores.numel() == 0:
        return float("nan")
    scores = torch.cat([pos_scores, neg_scores]).double()
    labels = torch.cat([torch.ones_like(pos_scores), torch.zeros_like(neg_scores)]).double()
    order = torch.argsort(scores, descending=True, stable=True)
    scores, labels = scores[order], labels[order]
    # One point of the curve per distinct threshold: the last index of every run of equal scores.
    last_of_run = torch.ones_like(scores, dtype=torch.bool)
    last_of_run[:-1] = scores[1:] != scores[:-1]
    true_pos = torch.cumsum(labels, 0)[last_of_run]
    predicted = (torch.arange(scores.numel(), dtype=torch.double) + 1)[last_of_run]
    precision = true_pos / predicted
    recall = true_pos / labels.sum()
    recall_steps = torch.diff(recall, prepend=recall.new_zeros(1))
    return float((recall_steps * precision).sum())


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks, tied values sharing the mean of their ranks."""
    sorted_values, order = torch.sort(values, stable=True)
    _, inverse, counts = torch.unique_consecutive(sorted_values, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    mean_rank = ends - (counts.double() - 1) / 2
    ranks = torch.empty_like(values)
    ranks[order] = mean_rank[inverse]
    return ranks
