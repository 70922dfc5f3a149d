"""ANLS, the average normalised Levenshtein similarity of DocVQA and InfographicVQA (threshold 0.5)."""

from __future__ import annotations

from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric

ANLS_THRESHOLD = 0.5


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _normalize(text: str) -> str:
    return " ".join(text.strip().lower().split())


def anls_score(prediction: str, answers: Sequence[str], threshold: float = ANLS_THRESHOLD) -> float:
    """max over answers of 1 - NL if NL < threshold else 0, NL = edit distance / longer length (Biten et al.).

    Case and surrounding/repeated whitespace are ignored. At exactly NL = 0.5 the similarity is 0, as in the
    definition (NL ≥ τ gives 0).
    """
    pred = _normalize(prediction)
    best = 0.0
    for answer in answers:
        ref = _normalize(answer)
        longest = max(len(pred), len(ref))
        distance = levenshtein(pred, ref) / longest if longest else 0.0
        best = max(best, 1.0 - distance if distance < threshold else 0.0)
    return best


class ANLS(ScoreMetric):
    """ANLS over a benchmark (see `anls_score`)."""

    score_name = "anls"

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return anls_score(prediction, answers)
