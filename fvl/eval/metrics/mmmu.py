"""MMMU accuracy as lmms-eval 0.7.3's `mmmu_val` computes it: option letters for multiple-choice questions (with
its seeded random letter when none parses), MMMU's open-answer matching for the others, subject and domain
accuracies (see `mmmu_parser` for the rules)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.mmmu_parser import mmmu_open_correct, parse_mmmu_choice, parse_mmmu_open

# lmms-eval's DOMAIN_CAT2SUB_CAT: the six disciplines and their subjects.
DOMAINS: dict[str, tuple[str, ...]] = {
    "Art and Design": ("Art", "Art_Theory", "Design", "Music"),
    "Business": ("Accounting", "Economics", "Finance", "Manage", "Marketing"),
    "Science": ("Biology", "Chemistry", "Geography", "Math", "Physics"),
    "Health and Medicine": (
        "Basic_Medical_Science",
        "Clinical_Medicine",
        "Diagnostics_and_Laboratory_Medicine",
        "Pharmacy",
        "Public_Health",
    ),
    "Humanities and Social Science": ("History", "Literature", "Sociology", "Psychology"),
    "Tech and Engineering": (
        "Agriculture",
        "Architecture_and_Engineering",
        "Computer_Science",
        "Electronics",
        "Energy_and_Power",
        "Materials",
        "Mechanical_Engineering",
    ),
}
LMMS_EVAL_SEED = 0  # `simple_evaluate`'s default `random_seed`, the state MMMU's random letters are drawn from


def instance_accuracy(accuracies: Mapping[str, float], counts: Mapping[str, int]) -> float:
    """MMMU's `calculate_ins_level_acc`: Σ accuracy · count / Σ count over subjects (0 without samples)."""
    total = sum(counts[name] for name in accuracies)
    return sum(accuracies[name] * counts[name] for name in accuracies) / total if total else 0.0


class MMMUAccuracy(ScoreMetric):
    """MMMU accuracy; a sample with options is multiple choice (answers = gold letters), one without is open.

    Categories are the subjects (from the sample id, e.g. "validation_Art_Theory_3" → "Art_Theory"). Reports
    `accuracy` and `accuracy/<subject>` (unrounded), `domain/<discipline>` (instance-level over its subjects)
    and `score`: lmms-eval's `mmmu_acc`, the instance-level accuracy over all subjects rounded to 5 decimals.

    A reply with no recognisable option gets a random letter from a `random.Random(seed)` drawn in the order
    samples are fed, as lmms-eval draws from Python's global `random` seeded with `seed` (0 by default) when it
    scores documents one after another (`--process_docs_parallel 1`; with its default of 4 threads the order
    of draws is not fixed). Each rank feeds its own shard, as each lmms-eval rank does. `seed=None` scores such
    replies as wrong instead (metric `mmmu_no_fallback`, independent of order and sharding).
    """

    def __init__(
        self,
        categories: Sequence[str] = (),
        groups: Mapping[str, str | None] | Sequence[str] = (),
        seed: int | None = LMMS_EVAL_SEED,
        **kwargs,
    ) -> None:
        super().__init__(categories, groups, **kwargs)
        self.seed = seed
        self.rng = random.Random(seed) if seed is not None else None

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        prediction = prediction.strip()  # lmms-eval strips every generated reply before the task scores it
        if options:
            letter = parse_mmmu_choice(prediction, options, self.rng)
            return 1.0 if letter is not None and letter in answers else 0.0
        return 1.0 if mmmu_open_correct(answers, parse_mmmu_open(prediction)) else 0.0

    def compute(self) -> dict[str, float]:
        out = super().compute()
        accuracies = self.category_means()
        counts = {name: int(self.category_count[i]) for i, name in enumerate(self.categories)}
        for domain, subjects in DOMAINS.items():
            inside = {name: accuracies[name] for name in subjects if name in accuracies}
            if inside:
                out[f"domain/{domain}"] = instance_accuracy(inside, counts)
        if accuracies:
            out["score"] = round(instance_accuracy(accuracies, counts), 5)
        elif self.count > 0:  # no subjects given: one pool
            out["score"] = round(out["accuracy"], 5)
        return out
