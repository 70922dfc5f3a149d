"""VQA accuracy (VQAv2, TextVQA, VizWiz) as lmms-eval 0.7.3 scores it: leave-one-annotator-out min(1, matches / 3)."""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence

from fvl.eval.metrics.base import ScoreMetric
from fvl.eval.metrics.vqa_normalize import normalize_vqa_answer

logger = logging.getLogger(__name__)


def vqa_score(prediction: str, answers: Sequence[str], tokenize: bool = False, single_exact: bool = False) -> float:
    """VQA accuracy of one prediction against the human answers (usually 10), as lmms-eval computes it.

    Prediction and answers are normalised with `normalize_vqa_answer` (`tokenize` for TextVQA and VizWiz, whose
    lmms-eval scorers run EvalAI's word tokenisation; its VQAv2 scorer does not). For each annotator, the *other*
    annotators' answers equal to the prediction count `m` and give min(1, m/3); the score is the exact mean over
    annotators (`statistics.mean`, one rounding). lmms-eval leaves exactly one annotator out each time (VQAv2's
    answer records differ by `answer_id`, TextVQA's and VizWiz's are indexed by position), so with a single
    reference there is nobody left and every prediction scores 0. `single_exact` scores a single reference by
    exact match after normalisation instead (fvl's own choice, the metric `vqa_accuracy_single_ref`).
    """
    if not answers:
        raise ValueError("VQA accuracy needs at least one human answer per question")
    pred = normalize_vqa_answer(prediction, tokenize)
    refs = [normalize_vqa_answer(answer, tokenize) for answer in answers]
    if single_exact and len(refs) == 1:
        return float(pred == refs[0])
    matches = sum(ref == pred for ref in refs)
    return statistics.mean(min(1.0, (matches - (ref == pred)) / 3) for ref in refs)


class VQAAccuracy(ScoreMetric):
    """VQA accuracy over a benchmark (see `vqa_score`); warns once when a question has a single reference."""

    def __init__(self, *args, word_tokenize: bool = False, single_exact: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.word_tokenize = word_tokenize
        self.single_exact = single_exact
        self._warned_single = False

    def score(
        self, prediction: str, answers: Sequence[str], options: Sequence[str] = (), category: str | None = None
    ) -> float:
        if len(answers) == 1 and not self.single_exact and not self._warned_single:
            self._warned_single = True
            logger.warning(
                "VQA accuracy (lmms-eval's leave-one-annotator-out) scores a question with a single reference "
                "answer 0 whatever the prediction; for such data use the metric vqa_accuracy_single_ref or exact_match"
            )
        return vqa_score(prediction, answers, tokenize=self.word_tokenize, single_exact=self.single_exact)
