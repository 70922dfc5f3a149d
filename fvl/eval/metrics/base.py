"""Base classes of the benchmark metrics: one update signature for all, fixed-size tensor states summed across ranks.

Every metric is updated as `update(predictions, answers, *, options=None, categories=None, groups=None)` with one
entry per sample, so scoring code needs no per-metric glue. Categories (reported separately) and groups (scored
all-correct-or-nothing) are declared when the metric is built — every rank sees the whole benchmark — so the
states are fixed-size tensors with a `sum` reduction that torchmetrics syncs across processes and `merge_state`
combines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby

import torch
from torchmetrics import Metric


def nested_mean(values: Mapping[str, float]) -> float:
    """Macro average over '/'-separated category paths: average the leaves under each head, then the heads.

    `{"2D/ADE20K": a, "2D/COCO": b, "3D/Omni3D": c}` gives `((a + b) / 2 + c) / 2` (CV-Bench's formula); flat
    names give the plain mean.
    """
    paths = sorted((name.split("/", 1), value) for name, value in values.items())
    heads = []
    for _, members in groupby(paths, key=lambda item: item[0][0]):
        members = list(members)
        if len(members) == 1 and len(members[0][0]) == 1:
            heads.append(members[0][1])
        else:
            heads.append(nested_mean({parts[-1] if len(parts) > 1 else "": value for parts, value in members}))
    return sum(heads) / len(heads)


def check_lengths(
    predictions: Sequence[str], answers: Sequence[Sequence[str]], options: Sequence[Sequence[str]] | None = None
) -> int:
    """The batch size, after checking that answers (and options) come one per prediction."""
    count = len(predictions)
    if len(answers) != count or (options is not None and len(options) != count):
        raise ValueError(f"got {count} predictions but {len(answers)} answer lists; give one per sample")
    return count


class BenchmarkMetric(Metric):
    """A metric over generated answers, with declared categories and groups (see the module docstring)."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(
        self, categories: Sequence[str] = (), groups: Mapping[str, str | None] | Sequence[str] = (), **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.categories = tuple(categories)
        group_map = dict(groups) if isinstance(groups, Mapping) else dict.fromkeys(groups)
        self.groups = tuple(group_map)
        self.group_categories = tuple(group_map.values())
        self._category_index = {name: i for i, name in enumerate(self.categories)}
        self._group_index = {name: i for i, name in enumerate(self.groups)}

    def _positions(self, keys: Sequence[str | None] | None, count: int, kind: str) -> torch.Tensor:
        """Index of each sample's category/group in the declared list, -1 for samples without one."""
        if keys is None:
            return torch.full((count,), -1, dtype=torch.long)
        if len(keys) != count:
            raise ValueError(f"got {len(keys)} {kind} for {count} predictions; give one per sample")
        index = self._category_index if kind == "categories" else self._group_index
        unknown = sorted({key for key in keys if key is not None and key not in index})
        if unknown:
            raise KeyError(
                f"{kind} {unknown[:5]} were not declared when the metric was built (declared: {list(index)[:10]}); "
                "build the metric from the full benchmark (fvl.eval.metrics.build_metric)"
            )
        return torch.tensor([-1 if key is None else index[key] for key in keys], dtype=torch.long)


class ScoreMetric(BenchmarkMetric):
    """Mean of a per-sample score, overall, per category (plus a macro average) and all-correct per group.

    Subclasses define `score` (the official per-sample scoring); `score_name` names the headline value and
    `group_label` the all-correct-per-group value (e.g. "circular" → `circular_accuracy`).
    """

    score_name = "accuracy"

    def __init__(
        self,
        categories: Sequence[str] = (),
        groups: Mapping[str, str | None] | Sequence[str] = (),
        group_label: str = "group",
        **kwargs,
    ) -> None:
        super().__init__(categories, groups, **kwargs)
        self.group_label = group_label
        self.add_state("score_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("category_score", torch.zeros(len(self.categories), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("category_count", torch.zeros(len(self.categories), dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("group_score", torch.zeros(len(self.groups), dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("group_count", torch.zeros(len(self.groups), dtype=torch.long), dist_reduce_fx="sum")

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        """Score of one prediction against its references, in [0, 1]."""
        raise NotImplementedError

    def update(
        self,
        predictions: Sequence[str],
        answers: Sequence[Sequence[str]],
        *,
        options: Sequence[Sequence[str]] | None = None,
        categories: Sequence[str | None] | None = None,
        groups: Sequence[str | None] | None = None,
    ) -> None:
        count = check_lengths(predictions, answers, options)
        category_pos = self._positions(categories, count, "categories")
        group_pos = self._positions(groups, count, "groups")
        option_lists = options if options is not None else [()] * count
        category_names = categories if categories is not None else [None] * count
        rows = zip(predictions, answers, option_lists, category_names, strict=True)
        scores = torch.tensor(
            [self.score(prediction, list(refs), list(opts), name) for prediction, refs, opts, name in rows],
            dtype=torch.float64,
        ).reshape(count)
        device = self.score_sum.device
        scores, category_pos, group_pos = scores.to(device), category_pos.to(device), group_pos.to(device)
        self.score_sum += scores.sum()
        self.count += count
        self._scatter(self.category_score, self.category_count, category_pos, scores)
        self._scatter(self.group_score, self.group_count, group_pos, scores)

    @staticmethod
    def _scatter(score_state: torch.Tensor, count_state: torch.Tensor, pos: torch.Tensor, scores: torch.Tensor) -> None:
        keep = pos >= 0
        score_state.index_add_(0, pos[keep], scores[keep])
        count_state.index_add_(0, pos[keep], torch.ones_like(pos[keep]))

    def category_means(self) -> dict[str, float]:
        """Mean score of each declared category that received samples."""
        return {
            name: (self.category_score[i] / self.category_count[i]).item()
            for i, name in enumerate(self.categories)
            if self.category_count[i] > 0
        }

    def groups_correct(self) -> torch.Tensor:
        """Per declared group: 1 if it received samples and every one scored 1, else 0; -1 if it got none."""
        seen = self.group_count > 0
        complete = seen & (self.group_score == self.group_count.to(self.group_score.dtype))
        return torch.where(seen, complete.long(), torch.full_like(self.group_count, -1))

    def compute(self) -> dict[str, float]:
        out = {self.score_name: (self.score_sum / self.count).item() if self.count > 0 else float("nan")}
        means = self.category_means()
        out.update({f"{self.score_name}/{name}": value for name, value in means.items()})
        if len(means) > 1:
            out[f"macro_{self.score_name}"] = nested_mean(means)
        if self.groups:
            out.update(self._group_summary())
        return out

    def _group_summary(self) -> dict[str, float]:
        correct = self.groups_correct()
        key = f"{self.group_label}_accuracy"
        seen = correct >= 0
        out = {key: (correct[seen].sum() / seen.sum()).item() if seen.any() else float("nan")}
        for name in self.categories:
            members = seen & torch.tensor([c == name for c in self.group_categories], device=correct.device)
            if members.any():
                out[f"{key}/{name}"] = (correct[members].sum() / members.sum()).item()
        return out
