"""ANLS, the average normalised Levenshtein similarity of DocVQA and InfographicVQA, as lmms-eval 0.7.3 computes
it (threshold 0.5)."""

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
    """1 - min over answers of NL, or 0 when that is below `threshold` (lmms-eval's `anls`).

    The reply is stripped first (lmms-eval's generation glue). NL = edit distance between the lower-cased,
    whitespace-collapsed texts, divided by the larger *raw* length: the reference as stored (surrounding spaces
    and all) and the stripped reply, each measured upper-cased (`len("ß".upper())` is 2); NL is 0 when both raw
    texts are empty. The threshold keeps its boundary: at NL = 0.5 the score is 0.5 (lmms-eval zeroes only a
    similarity *below* 0.5; the paper's NL ≥ τ would give 0).
    """
    if not answers:
        raise ValueError("ANLS needs at least one reference answer per question")
    pred = prediction.strip()
    det = _normalize(pred)
    distances = []
    for answer in answers:
        longest = max(len(answer.upper()), len(pred.upper()))
        distances.append(levenshtein(_normalize(answer), det) / longest if longest else 0.0)
    similarity = 1 - min(distances)
    return similarity if similarity >= threshold else 0.0


class ANLS(ScoreMetric):
    """ANLS over a benchmark (see `anls_score`)."""

    score_name = "anls"

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        return anls_score(prediction, answers)
