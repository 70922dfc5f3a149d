"""Option-letter parsing, multiple-choice accuracy with circular groups, MMVP pairs and CV-Bench's macro average."""

import pytest

from fvl.eval.metrics import MultipleChoiceAccuracy, choice_correct, nested_mean, parse_choice

OPTIONS = ["cat", "dog", "red bird", "bird"]


@pytest.mark.parametrize(
    ("reply", "letter"),
    [
        ("B", "B"),
        ("b", "B"),
        ("(B)", "B"),
        ("B.", "B"),
        (" B:", "B"),
        ("B. dog", "B"),
        ("(B) dog", "B"),
        ("B) dog", "B"),
        ("B, because it barks", "B"),
        ("The answer is B", "B"),
        ("The correct answer is: (B).", "B"),
        ("Answer: B", "B"),
        ("I think option B is right", "B"),
        ("It looks like a dog", "B"),  # option text
        ("dog", "B"),
        ("Red bird", "C"),  # the longer option wins over "bird" inside it
        ("a bird", "D"),
        ("I'd pick B over C? No: B.", None),  # two standalone letters: ambiguous
        ("E", None),  # not an option
        ("cat or dog", None),
        ("", None),
    ],
)
def test_parse_choice(reply: str, letter: str | None) -> None:
    assert parse_choice(reply, "ABCD", OPTIONS) == letter


def test_letters_without_options() -> None:
    assert parse_choice("**C**", "ABCD") == "C"
    assert parse_choice("the answer is a dog", "ABCD") is None


def test_open_reference_uses_number_words() -> None:
    assert choice_correct("Three.", ["3"])
    assert not choice_correct("4", ["3"])


def test_circular_group_fails_when_one_shift_is_wrong() -> None:
    # Question 1 has 3 circular shifts (indices 1, 1000001, 2000001), question 2 has 2.
    groups = {"1": "ocr", "2": "ocr"}
    metric = MultipleChoiceAccuracy(categories=["ocr"], groups=groups, group_label="circular")
    metric.update(
        ["A", "C", "B", "D", "D"],
        [["A"], ["C"], ["A"], ["D"], ["D"]],
        options=[OPTIONS] * 5,
        categories=["ocr"] * 5,
        groups=["1", "1", "1", "2", "2"],
    )
    scores = metric.compute()
    assert scores["accuracy"] == 0.8
    assert scores["circular_accuracy"] == 0.5
    assert scores["circular_accuracy/ocr"] == 0.5


def test_mmvp_pairs() -> None:
    metric = MultipleChoiceAccuracy(groups=["0", "1"], group_label="pair")
    metric.update(
        ["A", "B", "A", "A"], [["A"], ["B"], ["A"], ["B"]], options=[["x", "y"]] * 4, groups=["0", "0", "1", "1"]
    )
    scores = metric.compute()
    assert scores["accuracy"] == 0.75
    assert scores["pair_accuracy"] == 0.5


def test_cv_bench_macro_is_mean_of_2d_and_3d() -> None:
    assert nested_mean({"2D/ADE20K": 0.2, "2D/COCO": 0.4, "3D/Omni3D": 0.9}) == pytest.approx(0.6)
    assert nested_mean({"a": 0.2, "b": 0.4, "c": 0.9}) == pytest.approx(0.5)


def test_macro_average_over_categories() -> None:
    metric = MultipleChoiceAccuracy(categories=["math", "ocr"])
    metric.update(["A", "A", "A", "B"], [["A"], ["A"], ["A"], ["A"]], categories=["math", "math", "math", "ocr"])
    scores = metric.compute()
    assert scores["accuracy"] == 0.75
    assert scores["macro_accuracy"] == 0.5
