"""Every registered metric: states from two disjoint halves, merged, equal one metric fed everything."""

import math

import pytest

from fvl.eval.metrics import METRICS, build_metric, update_metric
from fvl.eval.sample import EvalSample

OPTIONS = ("cat", "dog", "bird")


def _sample(i: int, answers: tuple[str, ...], **fields) -> EvalSample:
    return EvalSample(id=str(i), image=None, question=f"q{i}", answers=answers, **fields)


CASES: dict[str, tuple[list[EvalSample], list[str]]] = {
    "vqa_accuracy": (
        [_sample(i, ("2",) * (i + 1) + ("3",) * (9 - i), category="c" + str(i % 2)) for i in range(6)],
        ["2", "3", "two", "2", "x", "2"],
    ),
    "vqa_accuracy_tokenized": (
        [_sample(i, ("what's",) * (i + 1) + ("3",) * (9 - i), category="c" + str(i % 2)) for i in range(6)],
        ["what's", "3", "whats", "What's?", "x", "what 's"],
    ),
    "vqa_accuracy_single_ref": (
        [_sample(i, ("2",) if i % 2 else ("2",) * (i + 1) + ("3",) * (9 - i)) for i in range(6)],
        ["2", "two", "3", "2", "x", "2"],
    ),
    "exact_match": (
        [_sample(i, (f"a{i % 3}",), category=f"t{i % 2}") for i in range(6)],
        ["a0", "A1", "a0", "a0", "a1", "b"],
    ),
    "exact_match_normalized": (
        [_sample(i, (f"a {i % 3}",), category=f"t{i % 2}") for i in range(6)],
        ["a  0", "A 1", "a0", " a 0 ", "a 1", "b"],
    ),
    "anls": ([_sample(i, ("abcd", "wxyz")) for i in range(6)], ["abcd", "abce", "abef", "wxy", "", "ABCD"]),
    "relaxed_accuracy": (
        [_sample(i, ("100",), category="human_test") for i in range(6)],
        ["104", "106", "100", "x", "95", "9"],
    ),
    "ocrbench": (
        [_sample(i, ("stop",), category=f"t{i % 3}") for i in range(6)],
        ["STOP", "no", "stop!", "s", "stop", "x"],
    ),
    "pope": (
        [_sample(i, ("yes" if i % 2 else "no",), category=["random", "popular"][i % 2]) for i in range(6)],
        ["yes", "no", "No", "Yes", "yes", "there is no"],
    ),
    "pope_lenient": (
        [_sample(i, ("yes" if i % 2 else "no",), category=["random", "popular"][i % 2]) for i in range(6)],
        ["yes", "no", "No", "Yes", "yes", "there is no"],
    ),
    "mme": (
        [_sample(i, ("Yes" if i % 2 == 0 else "No",), category="existence", group=str(i // 2)) for i in range(6)],
        ["yes", "no", "yes", "yes", "no", "no"],
    ),
    "multiple_choice": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS, category=f"2D/s{i % 2}") for i in range(6)],
        ["A", "B", "dog", "(A)", "B", "C"],
    ),
    "multiple_choice_circular": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS, group=str(i % 2)) for i in range(6)],
        ["A", "B", "C", "A", "B", "A"],
    ),
    "multiple_choice_pairs": (
        [_sample(i, ("AB"[i % 2],), options=OPTIONS[:2], group=str(i // 2)) for i in range(6)],
        ["A", "B", "A", "A", "B", "B"],
    ),
    "mmstar": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS, category=f"c{i % 2}/l{i % 3}") for i in range(6)],
        ["A", "The answer is B", "(C)", "B", "B.", "C"],
    ),
    "scienceqa": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS) for i in range(6)],
        ["a", "B. dog", "(C)", "A", "B", "C"],
    ),
    "ai2d": ([_sample(i, ("ABC"[i % 3],), options=OPTIONS) for i in range(6)], ["A.", "(b)", "bird", "A", "B", "C"]),
    "seedbench": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS, category=f"t{i % 2}") for i in range(6)],
        ["A", "B. dog", "(C)", "a", "B", "The C"],
    ),
    "realworldqa": (
        [_sample(i, ("AB3"[i % 3],), options=OPTIONS[:2] if i % 3 < 2 else ()) for i in range(6)],
        ["A", "The answer is B", "3.", "B", "B", "three"],
    ),
    "cvbench": (
        [_sample(i, ("AB"[i % 2],), options=OPTIONS[:2], category=f"{i % 2 + 2}D/s{i % 3}") for i in range(6)],
        ["(A)", "b", "A", "A", "The answer is B", "B"],
    ),
    "mmvp": (
        [_sample(i, ("AB"[i % 2],), options=OPTIONS[:2], group=str(i // 2)) for i in range(6)],
        ["A", "B", "(a)", "it is a cat", "B", "Blue"],
    ),
    "mmmu": (
        [_sample(i, ("B",), options=OPTIONS, category="Art") for i in range(3)]
        + [_sample(i, ("12",), category="Math") for i in range(3, 6)],
        ["B", "(B)", "A", "12", "the result is 12.0", "13"],
    ),
    "mmmu_no_fallback": (
        [_sample(i, ("B",), options=OPTIONS, category="Art") for i in range(3)]
        + [_sample(i, ("12",), category="Math") for i in range(3, 6)],
        ["B", "no idea", "A", "12", "the result is 12.0", "13"],
    ),
    "mmbench": (
        [_sample(i, ("ABC"[i % 3],), options=OPTIONS, category=f"c{i % 2}", group=str(i % 3)) for i in range(6)],
        ["A", "B", "bird", "The answer is A", "B", "(A)"],
    ),
}


def test_every_metric_has_a_case() -> None:
    assert set(CASES) == set(METRICS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_merged_halves_equal_whole(name: str) -> None:
    samples, predictions = CASES[name]
    whole = build_metric(name, samples)
    update_metric(whole, samples, predictions)
    halves = [build_metric(name, samples) for _ in range(2)]
    update_metric(halves[0], samples[::2], predictions[::2])
    update_metric(halves[1], samples[1::2], predictions[1::2])
    halves[0].merge_state(halves[1])
    expected, merged = whole.compute(), halves[0].compute()
    assert merged.keys() == expected.keys()
    for key, value in expected.items():
        assert merged[key] == pytest.approx(value, nan_ok=True), key
    assert not all(math.isnan(v) for v in expected.values())
