"""Exact match, ANLS, ChartQA relaxed accuracy and OCRBench scoring on worked examples."""

import pytest

from fvl.eval.metrics import ANLS, ExactMatch, OCRBenchScore, RelaxedAccuracy, anls_score, relaxed_correct
from fvl.eval.metrics.ocrbench import HME_CATEGORY


def test_exact_match_ignores_case_punctuation_spacing() -> None:
    metric = ExactMatch()
    metric.update(["Yes.", " left  side ", "red", "the dog"], [["yes"], ["Left side"], ["blue", "Red"], ["dog"]])
    assert metric.compute()["accuracy"] == 0.75


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("abcd", ["abcd"], 1.0),
        ("ABCD ", ["abcd"], 1.0),
        ("abce", ["abcd"], 0.75),  # NL = 1/4
        ("abef", ["abcd"], 0.0),  # NL = 2/4 = 0.5: at the threshold, similarity is 0
        ("abcdefghi", ["abcdefgh"], pytest.approx(8 / 9)),
        ("xyz", ["abcd", "xyzw"], 0.75),  # best answer counts
        ("", ["abc"], 0.0),
    ],
)
def test_anls(prediction: str, answers: list[str], expected: float) -> None:
    assert anls_score(prediction, answers) == expected


def test_anls_metric_mean() -> None:
    metric = ANLS()
    metric.update(["abce", "abef"], [["abcd"], ["abcd"]])
    assert metric.compute() == {"anls": 0.375}


@pytest.mark.parametrize(
    ("prediction", "target", "expected"),
    [
        ("105", "100", True),  # exactly 5 %: boundary included
        ("105.1", "100", False),
        ("95", "100", True),
        ("94.9", "100", False),
        ("45%", "0.45", True),  # percentages read as fractions
        ("45%", "45", False),
        ("0.45", "45%", True),
        ("45", "45%", False),
        ("Yes", "yes", True),
        ("1,000", "1000", False),  # not a number: string comparison
        ("0", "0", True),  # zero target: string comparison
        ("0.0", "0", False),
        (" 12 ", "12", True),
    ],
)
def test_relaxed_correctness(prediction: str, target: str, expected: bool) -> None:
    assert relaxed_correct(prediction, target) is expected


def test_relaxed_accuracy_splits() -> None:
    metric = RelaxedAccuracy(categories=["augmented_test", "human_test"])
    metric.update(["104", "7", "x"], [["100"], ["8"], ["x"]], categories=["human_test", "human_test", "augmented_test"])
    scores = metric.compute()
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["accuracy/human_test"] == 0.5
    assert scores["accuracy/augmented_test"] == 1.0


def test_ocrbench_rules_and_counts() -> None:
    types = ["Regular Text Recognition", "Scene Text-centric VQA", HME_CATEGORY]
    metric = OCRBenchScore(categories=types)
    metric.update(
        ["The word is HELLO", "it says stop", r"\frac{a}{b}", r"\frac{A}{B}", "nothing"],
        [["hello"], ["STOP", "halt"], [r"\frac {a} {b}"], [r"\frac{a}{b}"], ["word"]],
        categories=[types[0], types[1], HME_CATEGORY, HME_CATEGORY, types[1]],
    )
    scores = metric.compute()
    assert scores["score"] == 3.0  # HME keeps case: \frac{A}{B} is wrong; spaces are removed
    assert scores["accuracy"] == 0.6
    assert scores[f"score/{HME_CATEGORY}"] == 1.0
    assert scores["score/Scene Text-centric VQA"] == 1.0
    assert scores["score/Text Recognition"] == 1.0
