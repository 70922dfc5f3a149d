"""fvl's scorers against lmms-eval 0.7.3's own task code, sample by sample and aggregated, on generated and
hand-picked raw replies. Needs the ``lmms-eval`` package and the ``lmms`` extra (CI installs both; see
``tests/eval/lmms_tasks.py``); skipped without it."""

import random

import pytest

from fvl.eval.metrics import POPEMetric

pytest.importorskip("lmms_eval")
from lmms_tasks import task_utils  # noqa: E402

REPLIES = [
    "Yes",
    "yes",
    "No",
    "no",
    "YES",
    " no ",
    "yes.",
    "No.",
    "Yes, there is a dog.",
    "No, there is not.",
    "There is no dog.",
    "I think so",
    "",
    "yes\n",
    "Not at all",
    "nope",
    "y",
    "Yes yes",
    "no no",
    "Maybe.",
]


@pytest.fixture(scope="module")
def pope():
    return task_utils("pope")


def pope_docs(seed: int, count: int) -> list[tuple[dict, str]]:
    rng = random.Random(seed)
    splits = ("adversarial", "popular", "random")
    docs = []
    for i in range(count):
        doc = {"question_id": str(i), "answer": rng.choice(["yes", "no"]), "category": rng.choice(splits)}
        reply = rng.choice(REPLIES) if rng.random() < 0.7 else rng.choice(["yes", "no"])
        docs.append((doc, reply))
    return docs


def lmms_pope_scores(pope, docs: list[tuple[dict, str]]) -> dict[str, float]:
    results = [pope.pope_process_results(doc, [reply]) for doc, reply in docs]
    aggregate = {
        "accuracy": pope.pope_aggregate_accuracy,
        "precision": pope.pope_aggregate_precision,
        "recall": pope.pope_aggregate_recall,
        "f1": pope.pope_aggregate_f1_score,
        "yes_ratio": pope.pope_aggregate_yes_ratio,
    }
    return {
        name: fn([result[f"pope_{key}"] for result in results])
        for name, fn, key in ((name, fn, {"f1": "f1_score"}.get(name, name)) for name, fn in aggregate.items())
    }


@pytest.mark.parametrize("seed", range(5))
def test_pope_equals_lmms_eval_pooled_and_per_split(pope, seed):
    docs = pope_docs(seed, 300) + [
        ({"question_id": f"h{i}", "answer": a, "category": "random"}, r)
        for i, (r, a) in enumerate((r, a) for r in REPLIES for a in ("yes", "no"))
    ]
    metric = POPEMetric(categories=["adversarial", "popular", "random"])
    metric.update(
        [reply for _, reply in docs],
        [[doc["answer"]] for doc, _ in docs],
        categories=[doc["category"] for doc, _ in docs],
    )
    ours = metric.compute()
    assert {key: ours[key] for key in ("accuracy", "precision", "recall", "f1", "yes_ratio")} == pytest.approx(
        lmms_pope_scores(pope, docs), abs=1e-12
    )
    for split in ("adversarial", "popular", "random"):  # lmms-eval's pope_adv / pope_pop / pope_random tasks
        theirs = lmms_pope_scores(pope, [(doc, reply) for doc, reply in docs if doc["category"] == split])
        assert {key: ours[f"{split}/{key}"] for key in theirs} == pytest.approx(theirs, abs=1e-12)


def test_pope_per_sample_correctness_equals_lmms_eval(pope):
    for reply in REPLIES:
        for answer in ("yes", "no"):
            theirs = pope.pope_process_results({"question_id": "0", "answer": answer}, [reply])["pope_accuracy"]
            metric = POPEMetric()
            metric.update([reply], [[answer]])
            assert metric.compute()["accuracy"] == theirs["score"], (reply, answer)
