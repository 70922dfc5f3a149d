"""MMMU answer extraction and scoring on worked examples of its evaluation rules."""

import pytest

from fvl.eval.metrics import MMMUAccuracy
from fvl.eval.metrics.mmmu_parser import extract_numbers, parse_mmmu_choice, parse_mmmu_open

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
        ("respiration", None),  # option text needs more than 5 words
        ("DNA.", None),
        ("no idea", None),
    ],
)
def test_parse_choice(reply: str, letter: str | None) -> None:
    assert parse_mmmu_choice(reply, OPTIONS) == letter


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
