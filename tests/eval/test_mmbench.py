"""MMBench's static (no GPT judge) circular evaluation, lmms-eval 0.7.3's rules, on worked examples."""

import pytest

from fvl.eval.metrics import MMBenchAccuracy
from fvl.eval.metrics.mmbench import infer_letter, mmbench_letter

OPTIONS = ["cat", "black cat", "dog", "red", "apple"]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        ("(C)", "C"),
        ("C.", "C"),
        (":D).", "D"),
        ("E", "E"),  # A–E count whatever the option count
        ("A cat", "A"),  # one bare letter, at most three words
        ("A cat on a mat", None),  # "A" among more than three words may be an article: wrappings only
        ("A B", None),  # two bare letters, no wrapped one
        ("Failed to obtain answer via API B", None),
    ],
)
def test_infer_letter(reply: str, letter: str | None) -> None:
    assert infer_letter(reply) == letter


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("A cat on a mat", "A"),  # no letter read; of the option texts only "cat" occurs
        ("a black cat", ""),  # "cat" and "black cat" both occur: ambiguous; the extractor finds no capital
        ("It is a dog", "C"),  # option text
        ("apple", ""),  # option E's text is never matched
        ("My answer is B!", "B"),  # lmms-eval's shared extractor ("B!" is no wrapping `infer_letter` knows)
        ("Cool", "C"),  # … which, failing all else, takes any capital
    ],
)
def test_mmbench_letter(reply: str, letter: str) -> None:
    assert mmbench_letter(reply, OPTIONS) == letter


def test_circular_accuracy_needs_every_copy_and_score_is_percent() -> None:
    # Question 1 has 3 circular copies (indices 1, 1000001, 2000001), question 2 has 2.
    metric = MMBenchAccuracy(categories=["ocr", "scene"], groups={"1": "ocr", "2": "scene"})
    metric.update(
        ["A", "C", "B", "D", "(D)"],
        [["A"], ["C"], ["A"], ["D"], ["D"]],
        options=[OPTIONS[:4]] * 5,
        categories=["ocr"] * 3 + ["scene"] * 2,
        groups=["1", "1", "1", "2", "2"],
    )
    scores = metric.compute()
    assert scores["accuracy"] == 0.8
    assert scores["circular_accuracy"] == 0.5 and scores["score"] == 50.0
    assert scores["circular_accuracy/ocr"] == 0.0 and scores["circular_accuracy/scene"] == 1.0
