"""POPE's strict yes/no parse and metrics; MME's parse, acc+ image pairs and perception/cognition sums."""

import pytest

from fvl.eval.metrics import MMEScore, POPEMetric, parse_mme, parse_pope


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ("Yes", "yes"),
        ("yes.", "yes"),
        ("No", "no"),
        ("No, there is no dog.", "no"),
        ("Yes, there is not only one dog.", "yes"),  # the first word decides
        ("There is no dog in the image.", "no"),
        ("The dog is not visible.", "no"),
        ("There is a dog. It is not brown.", "yes"),  # only the first sentence counts
        ("I see a dog", "yes"),
        ("", "yes"),
    ],
)
def test_pope_parse(reply: str, parsed: str) -> None:
    assert parse_pope(reply) == parsed


@pytest.mark.parametrize(
    ("reply", "parsed"),
    [
        ("Yes", "yes"),
        ("no.", "no"),
        ("Yes, it is.", "yes"),
        ("Not at all", "no"),
        ("nope", "no"),
        ("Maybe", "other"),
        ("", "other"),
        ("y", "yes"),  # lmms-eval 0.7.3 reads a lone y / n
        ("N.", "no"),
        ("x", "other"),
    ],
)
def test_mme_parse(reply: str, parsed: str) -> None:
    assert parse_mme(reply) == parsed


GOLDS = ["yes", "no", "no", "yes", "yes", "no"]
SPLITS = ["random", "random", "random", "random", "adversarial", "adversarial"]


def pope_scores(replies: list[str], **options) -> dict[str, float]:
    """POPE of `replies` to the six questions above, over two splits."""
    metric = POPEMetric(categories=["adversarial", "random"], **options)
    metric.update(replies, [[gold] for gold in GOLDS], categories=SPLITS)
    return metric.compute()


def test_pope_lenient_metrics_per_split_and_pooled() -> None:
    scores = pope_scores(["Yes", "Yes", "No", "no, none", "yes", "There is no cat."], parser="lenient")
    # pooled: tp=2 (1, 5), fp=1 (2), tn=2 (3, 6), fn=1 (4)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert scores["yes_ratio"] == pytest.approx(3 / 6)
    assert scores["random/accuracy"] == 0.5
    assert scores["random/precision"] == 0.5
    assert scores["adversarial/f1"] == 1.0
    assert scores["adversarial/yes_ratio"] == 0.5


def test_pope_scores_as_lmms_eval_0_7_3_by_default() -> None:
    """Only a reply that is exactly yes/no counts; recall misses only exact "no"s; yes-ratio is the gold share."""
    scores = pope_scores(["Yes", "Yes, there is.", "No", "no, none", " yes ", "There is no cat."])
    # exact yes: replies 1, 5 (both gold yes); exact no: reply 3 (gold no); replies 2, 4 and 6 are neither
    assert scores["accuracy"] == pytest.approx(3 / 6)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0 and scores["f1"] == 1.0  # reply 4 is no miss
    assert scores["yes_ratio"] == pytest.approx(3 / 6)  # gold yes: 1, 4, 5
    assert scores["random/accuracy"] == 0.5 and scores["adversarial/accuracy"] == 0.5
    assert scores["adversarial/yes_ratio"] == 0.5


def test_pope_rejects_non_yes_no_reference() -> None:
    with pytest.raises(ValueError, match="expected 'yes' or 'no'"):
        POPEMetric().update(["yes"], [["maybe"]])


def test_mme_acc_plus_needs_both_questions_of_an_image() -> None:
    images = {"existence/1.jpg": "existence", "existence/2.jpg": "existence", "code_reasoning/1.png": "code_reasoning"}
    metric = MMEScore(categories=["code_reasoning", "existence"], groups=images)
    metric.update(
        ["Yes", "No", "Yes", "Yes", "No", "No"],
        [["Yes"], ["No"], ["Yes"], ["No"], ["Yes"], ["No"]],
        categories=["existence"] * 4 + ["code_reasoning"] * 2,
        groups=["existence/1.jpg"] * 2 + ["existence/2.jpg"] * 2 + ["code_reasoning/1.png"] * 2,
    )
    scores = metric.compute()
    assert scores["existence/acc"] == 0.75
    assert scores["existence/acc_plus"] == 0.5  # image 2 has one wrong answer
    assert scores["existence/score"] == pytest.approx(125.0)
    assert scores["code_reasoning/acc"] == 0.5
    assert scores["code_reasoning/acc_plus"] == 0.0
    assert scores["perception"] == pytest.approx(125.0)
    assert scores["cognition"] == pytest.approx(50.0)
    assert scores["total"] == pytest.approx(175.0)


def test_mme_requires_images() -> None:
    with pytest.raises(ValueError, match="image id"):
        MMEScore(categories=["existence"]).update(["yes"], [["yes"]], categories=["existence"])
