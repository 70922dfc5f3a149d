"""MMMU answer extraction and scoring on worked examples of its evaluation rules (lmms-eval 0.7.3's, quirks kept)."""

import random

import pytest

from fvl.eval.metrics import METRICS, MMMUAccuracy
from fvl.eval.metrics.mmmu_parser import extract_numbers, key_subresponses, parse_mmmu_choice, parse_mmmu_open

OPTIONS = ["$1,000", "$2,000", "photosynthesis", "respiration"]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        ("B.", "B"),
        ("(C)", "C"),
        ("The answer is (A), not (B) as it first seems... actually (D)", "D"),  # last mentioned wins
        ("A. $1,000", "A"),
        ("The process that releases energy here is respiration", "D"),  # > 5 words: option text
        ("DNA.", "A"),  # "A " needs no space before it: a capital ending a word counts
        ("C or D", "D"),  # several candidates: the last " X " wins
        ("RNA or DNB", "A"),  # "A " and "B " inside words; neither " A " nor " B " occurs: the first one wins
        ("respiration", None),  # option text needs more than 5 words: nothing parses
        ("no idea", None),
    ],
)
def test_parse_choice(reply: str, letter: str | None) -> None:
    assert parse_mmmu_choice(reply, OPTIONS) == letter  # no generator: None when nothing parses


def test_unparsed_reply_gets_lmms_evals_seeded_random_letter() -> None:
    ours, theirs = random.Random(0), random.Random(0)
    letters = [parse_mmmu_choice(reply, OPTIONS, ours) for reply in ("no idea", "respiration", "?", "")]
    assert letters == [theirs.choice("ABCD") for _ in range(4)]


def test_metric_draws_random_letters_in_order_and_no_fallback_variant_does_not() -> None:
    replies, answers = ["no idea"] * 40, [["A"]] * 40
    draws = random.Random(0)
    expected = sum(draws.choice("ABCD") == "A" for _ in range(40)) / 40
    metric = MMMUAccuracy()
    metric.update(replies, answers, options=[OPTIONS] * 40)
    assert metric.compute()["accuracy"] == expected > 0
    strict = METRICS["mmmu_no_fallback"]()
    strict.update(replies, answers, options=[OPTIONS] * 40)
    assert strict.compute()["accuracy"] == 0.0


def test_empty_tail_is_replaced_by_the_next_indicator() -> None:
    # In the first line "is " leaves an empty tail; lmms-eval then takes "answer "'s tail although it is longer.
    assert key_subresponses("Final answer is \nthe end") == ["is"]
    assert key_subresponses("The answer is 12.\nSo x = 3") == ["12.", "3"]  # lines split; "=" in the last only


def test_extract_numbers() -> None:
    # As in MMMU: comma and scientific forms first, then plain numbers (which also pick up pieces of them).
    assert extract_numbers("costs 1,234 or 5.6e3 or -7 and .5") == ["1,234", "5.6e3", "234", "5", "3", "-7", ".5"]


def test_open_parse_takes_tail_after_indicator_and_numbers() -> None:
    parsed = parse_mmmu_open("The total cost is 1,200 dollars")
    assert 1200.0 in parsed
    assert "1,200 dollars" in parsed


def test_metric_multiple_choice_and_open() -> None:
    metric = MMMUAccuracy(categories=["Accounting", "Biology"])
    metric.update(
        ["B", "So the answer is 3.14159", "x = 12", "The color is red.", "blue"],
        [["B"], ["3.14"], ["13"], ["Red"], ["red"]],
        options=[OPTIONS, [], [], [], []],
        categories=["Accounting", "Accounting", "Biology", "Biology", "Biology"],
    )
    scores = metric.compute()
    assert scores["accuracy/Accounting"] == 1.0  # 3.14159 rounds to 3.14
    assert scores["accuracy/Biology"] == pytest.approx(1 / 3)
    assert scores["accuracy"] == 0.6
