"""Exact match, ANLS, ChartQA relaxed accuracy and OCRBench scoring on worked examples (lmms-eval 0.7.3's rules;
tests/eval/test_lmms_eval_parity_open.py checks them against its own code)."""

import pytest

from fvl.eval.metrics import (
    ANLS,
    METRICS,
    ExactMatch,
    OCRBenchScore,
    RelaxedAccuracy,
    anls_score,
    ocrbench_correct,
    relaxed_correct,
)
from fvl.eval.metrics.ocrbench import HME_CATEGORY


def test_exact_match_ignores_case_and_punctuation_only() -> None:
    # lmms-eval's exact_match: the reply is stripped, then case and ASCII punctuation are ignored; inner spacing
    # counts, and so does the space a deleted mark leaves ("yes ." → "yes ").
    metric = ExactMatch()
    metric.update(
        ["Yes.", " Left side ", " left  side ", "red", "the dog", "yes ."],
        [["yes"], ["left side"], ["Left side"], ["blue", "Red"], ["dog"], ["yes"]],
    )
    assert metric.compute()["accuracy"] == 0.5


def test_exact_match_normalized_also_ignores_spacing() -> None:
    metric = METRICS["exact_match_normalized"]()
    replies = ["Yes.", " left  side ", "red", "the dog", "yes ."]
    metric.update(replies, [["yes"], ["Left side"], ["Red"], ["dog"], ["yes"]])
    assert metric.compute()["accuracy"] == 0.8


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("abcd", ["abcd"], 1.0),
        ("ABCD ", ["abcd"], 1.0),
        ("abce", ["abcd"], 0.75),  # NL = 1/4
        ("abef", ["abcd"], 0.5),  # NL = 2/4 = 0.5: lmms-eval keeps a similarity of exactly 0.5
        ("abefg", ["abcd"], 0.0),  # NL = 3/5: below the threshold
        ("abcd", ["  abce  "], 0.875),  # NL divides by the raw (unstripped) reference length, 8
        ("abcdefghi", ["abcdefgh"], pytest.approx(8 / 9)),
        ("xyz", ["abcd", "xyzw"], 0.75),  # best answer counts
        ("", ["abc"], 0.0),
    ],
)
def test_anls(prediction: str, answers: list[str], expected: float) -> None:
    assert anls_score(prediction, answers) == expected


def test_anls_metric_mean() -> None:
    metric = ANLS()
    metric.update(["abce", "abefg"], [["abcd"], ["abcd"]])
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
        (" yes\n", "Yes", True),  # the reply is stripped
        ("yes", " Yes", False),  # the target is not
        ("45%%", "0.45", True),  # every trailing % is dropped
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
    assert scores["correct"] == 3.0  # HME keeps case: \frac{A}{B} is wrong; spaces are removed
    assert scores["score"] == 0.003  # lmms-eval divides by OCRBench's 1000 questions, not by the 5 scored
    assert scores["accuracy"] == 0.6
    assert scores[f"score/{HME_CATEGORY}"] == 0.001
    assert scores["score/Scene Text-centric VQA"] == 0.001
    assert scores["score/Text Recognition"] == 0.001


def test_ocrbench_folds_fullwidth_letters() -> None:
    assert ocrbench_correct("ＨＥＬＬＯ　ｗｏｒｌｄ", ["hello world"])
    assert not ocrbench_correct("ＨＥＬＬＯ", ["hello"], whitespace_free=True)  # not for handwritten math
