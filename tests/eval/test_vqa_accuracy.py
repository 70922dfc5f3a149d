"""VQA answer normalisation and accuracy on worked examples of the official definition, as lmms-eval 0.7.3 applies
it (tests/eval/test_lmms_eval_parity_open.py checks it against lmms-eval's own code)."""

import logging

import pytest

from fvl.eval.metrics import METRICS, VQAAccuracy, normalize_vqa_answer, vqa_score


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("two", "2"),
        ("None", "0"),
        ("a dog", "dog"),
        ("The Dog.", "dog"),
        ("an apple", "apple"),
        ("1,000", "1000"),
        ("1.5", "1.5"),
        ("dog.", "dog"),
        ("dont", "don't"),
        ("couldnt've", "couldn't've"),
        ("it's", "it's"),
        ("its", "its"),
        ("yes!", "yes"),
        ("black/white", "black white"),
        ("black / white", "black white"),
        ("left-hand", "left hand"),
        ("t - shirt", "t shirt"),
        ("red,blue", "red blue"),
        ("  Yes\n", "yes"),
        ("10:30", "10:30"),
    ],
)
def test_normalization(raw: str, normalized: str) -> None:
    assert normalize_vqa_answer(raw) == normalized


def test_its_and_it_s_stay_distinct() -> None:
    assert vqa_score("its", ["it's"] * 10) == 0.0


@pytest.mark.parametrize(("matches", "expected"), [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (10, 1.0)])
def test_leave_one_out_average(matches: int, expected: float) -> None:
    # For each of the 10 annotators the other 9 answers give min(1, m/3); the mean is the score.
    answers = ["2"] * matches + ["3"] * (10 - matches)
    assert vqa_score("2", answers) == pytest.approx(expected)


def test_normalization_applies_to_prediction_and_answers() -> None:
    assert vqa_score("Two dogs.", ["2 dogs"] * 10) == 1.0
    assert vqa_score("a dog", ["dog", "the dog", "dog", "cat"] + ["puppy"] * 6) == pytest.approx(0.9)


def test_single_reference_scores_zero_as_in_lmms_eval(caplog: pytest.LogCaptureFixture) -> None:
    # Leave-one-out leaves nobody to agree with; lmms-eval scores such a question 0 whatever the reply.
    assert vqa_score("Yes", ["yes"]) == 0.0
    metric = VQAAccuracy()
    with caplog.at_level(logging.WARNING):
        metric.update(["Yes", "yes"], [["yes"], ["yes"]])
    assert metric.compute()["accuracy"] == 0.0
    assert caplog.text.count("vqa_accuracy_single_ref") == 1  # warned once


def test_single_ref_variant_is_exact_match() -> None:
    assert vqa_score("Yes", ["yes"], single_exact=True) == 1.0
    assert vqa_score("no", ["yes"], single_exact=True) == 0.0
    metric = METRICS["vqa_accuracy_single_ref"]()
    metric.update(["Two", "no", "2"], [["2"], ["yes"], ["2"] * 4 + ["3"] * 6])
    assert metric.compute()["accuracy"] == pytest.approx((1.0 + 0.0 + 1.0) / 3)


def test_period_removal_stops_after_32() -> None:
    # lmms-eval passes re.UNICODE (32) as re.sub's count
    assert normalize_vqa_answer("." * 40 + "dog") == "." * 8 + "dog"


@pytest.mark.parametrize(
    ("raw", "plain", "tokenized"),
    [
        ("red,blue", "red blue", "redblue"),  # tokenisation deletes commas before the punctuation step
        ("what's", "what's", "what 's"),
        ("whats", "what's", "what's"),
        ("Yes?", "yes", "yes"),
        ("1,000/2", "10002", "1000 2"),
    ],
)
def test_textvqa_tokenisation(raw: str, plain: str, tokenized: str) -> None:
    assert normalize_vqa_answer(raw) == plain
    assert normalize_vqa_answer(raw, tokenize=True) == tokenized


def test_metric_means_over_questions_and_reports_categories() -> None:
    metric = VQAAccuracy(categories=["number", "yes/no"])
    metric.update(
        ["2", "yes", "no"],
        [["2"] * 10, ["yes"] * 2 + ["no"] * 8, ["no"] * 10],
        categories=["number", "yes/no", "yes/no"],
    )
    scores = metric.compute()
    assert scores["accuracy"] == pytest.approx((1.0 + 0.6 + 1.0) / 3)
    assert scores["accuracy/number"] == 1.0
    assert scores["accuracy/yes/no"] == pytest.approx(0.8)
    assert scores["macro_accuracy"] == pytest.approx(0.9)
