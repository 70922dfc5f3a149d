"""fvl's MME, MMBench (English dev, static circular evaluation) and MMMU (validation) scoring and prompts against
lmms-eval 0.7.3's own task code: per sample and aggregated, on seeded generated documents in each hub layout with
raw replies, and on hand-picked replies; equal to 1e-12. Needs the ``lmms-eval`` package; skipped without it.

The task files are loaded by path (``lmms_tasks``); the few modules they import from ``lmms_eval.tasks`` are loaded
the same way and registered under their names while this module runs, so that the ``lmms_eval.tasks`` package
(about 20 s of imports: its registry pulls in transformers and evaluate) is not imported. Replies reach the task
code stripped, as lmms-eval's ``ConfigurableTask.process_results`` strips them; fvl gets them raw.
"""

import json
import random
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from eval_hub_files import png, write_files
from lmms_parity_docs import YES_NO, mmbench_docs, mmbench_reply, mme_docs, mmmu_docs

from fvl.eval.benchmarks import get_benchmark
from fvl.eval.metrics import build_metric
from fvl.eval.metrics.mmmu_parser import parse_mmmu_choice
from fvl.eval.scoring import score_benchmark

pytest.importorskip("lmms_eval")
pd = pytest.importorskip("pandas")
from lmms_tasks import TASKS, task_utils  # noqa: E402

HELPERS = {  # what the three task files import from lmms_eval.tasks → (task folder, file)
    "lmms_eval.tasks._task_utils.file_utils": ("_task_utils", "file_utils.py"),
    "lmms_eval.tasks._task_utils.mmmu_mcq_utils": ("_task_utils", "mmmu_mcq_utils.py"),
    "lmms_eval.tasks._task_utils.mcq_extract": ("_task_utils", "mcq_extract.py"),
    "lmms_eval.tasks.mmbench.mmbench_evals": ("mmbench", "mmbench_evals.py"),
}
PNG = png()
EXACT = 1e-12


def default_kwargs(task: str, file: str) -> dict:
    """A task YAML's default `lmms_eval_specific_kwargs` (its `!function` lines dropped, as lmms-eval does)."""
    lines = (TASKS / task / file).read_text().splitlines(keepends=True)
    return yaml.safe_load("".join(line for line in lines if "!function" not in line))["lmms_eval_specific_kwargs"][
        "default"
    ]


@pytest.fixture(scope="module")
def lmms():
    with pytest.MonkeyPatch.context() as patch:
        for name, (task, file) in HELPERS.items():
            if name not in sys.modules:
                patch.setitem(sys.modules, name, task_utils(task, file))
        yield SimpleNamespace(
            mme=task_utils("mme"), mmbench=task_utils("mmbench", "en_utils.py"), mmmu=task_utils("mmmu")
        )


def columns(docs: list[dict], image: str) -> dict[str, list]:
    return {**{key: [doc[key] for doc in docs] for key in docs[0]}, image: [PNG] * len(docs)}


def fvl_side(name: str, root: Path, docs: list[dict], replies: list[str], key) -> tuple[list, list, list, dict]:
    """fvl's samples of the copy at `root`, the (doc, reply) pairs in their order, per-sample scores, scores."""
    samples = get_benchmark(name).load(root, cache_dir=root / "cache")
    by_id = {str(key(i, doc)): (doc, reply) for i, (doc, reply) in enumerate(zip(docs, replies, strict=True))}
    pairs = [by_id[sample.id] for sample in samples.references]
    metric = build_metric(get_benchmark(name).metric, samples.references)
    per_sample = [
        metric.score(reply, list(s.answers), list(s.options), s.category)
        for s, (_, reply) in zip(samples.references, pairs, strict=True)
    ]
    return samples.references, pairs, per_sample, score_benchmark(name, samples, [reply for _, reply in pairs])


@pytest.mark.parametrize("seed", range(3))
def test_mme_equals_lmms_eval(lmms, tmp_path, seed):
    docs, replies = mme_docs(seed)
    write_files(tmp_path, {"data/test-00000-of-00001.parquet": columns(docs, "image")})
    refs, pairs, ours, scores = fvl_side("mme", tmp_path, docs, replies, lambda i, doc: i)
    results = [lmms.mme.mme_process_results(doc, [reply.strip()]) for doc, reply in pairs]
    values = {key: [r[key] for r in results if key in r] for key in ("mme_perception_score", "mme_cognition_score")}
    assert ours == [next(iter(r.values()))["score"] for r in results]
    assert scores["perception"] == pytest.approx(
        lmms.mme.mme_aggregate_results(values["mme_perception_score"]), abs=EXACT
    )
    assert scores["cognition"] == pytest.approx(
        lmms.mme.mme_aggregate_results(values["mme_cognition_score"]), abs=EXACT
    )
    for category in {doc["category"] for doc in docs}:
        subset = [r for rs in values.values() for r in rs if r["category"] == category]
        assert scores[f"{category}/score"] == pytest.approx(lmms.mme.mme_aggregate_results(subset), abs=EXACT)
    kwargs = default_kwargs("mme", "mme.yaml")
    assert [s.question for s in refs] == [lmms.mme.mme_doc_to_text(doc, kwargs) for doc, _ in pairs]


def test_mme_each_reply_equals_lmms_eval(lmms):
    metric = build_metric("mme", [])
    for reply in (*YES_NO, "Yes!", "NO!", "n.", "y e s", "\tno", "noyes", "yesno", "nah", "no\nyes", "Y."):
        for gold in ("Yes", "No", "yes.", " NO"):
            theirs = lmms.mme.mme_process_results(
                {"question_id": "1.jpg", "category": "OCR", "answer": gold}, [reply.strip()]
            )["mme_perception_score"]["score"]
            assert metric.score(reply, [gold]) == theirs, (reply, gold)


def mmbench_results(lmms, pairs: list[tuple[dict, str]]) -> tuple[list[dict], list[float]]:
    """lmms-eval's results of (doc, reply) pairs and its judgement of each row alone (a circular group of one)."""
    results = [lmms.mmbench.mmbench_process_results(doc, [reply.strip()])["gpt_eval_score"] for doc, reply in pairs]
    data = pd.DataFrame(results)
    answers = dict(zip(data["index"], data["answer"], strict=True))
    evaluator = lmms.mmbench.mmbench_evaluator
    return results, [
        float(evaluator.eval_sub_data(data.iloc[[i]], answers, static_only=True)) for i in range(len(data))
    ]


@pytest.mark.parametrize("seed", range(2))
def test_mmbench_equals_lmms_eval_static(lmms, tmp_path, seed):
    docs, replies = mmbench_docs(seed)
    write_files(tmp_path, {"en/dev-00000-of-00001.parquet": columns(docs, "image")})
    refs, pairs, ours, scores = fvl_side("mmbench", tmp_path, docs, replies, lambda i, doc: doc["index"])
    results, per_row = mmbench_results(lmms, pairs)
    assert ours == per_row
    assert 0 < sum(per_row) < len(per_row)
    headline = lmms.mmbench.mmbench_aggregate_dev_results_static(results, SimpleNamespace(output_path=str(tmp_path)))
    details = json.loads((tmp_path / "submissions" / "mmbench_en_dev_static_results.json").read_text())
    assert scores["score"] == pytest.approx(headline, abs=EXACT) and get_benchmark("mmbench").primary == "score"
    assert scores["circular_accuracy"] == pytest.approx(details["overall_acc"], abs=EXACT)
    ours_per_category = {k.split("/")[1]: v for k, v in scores.items() if k.startswith("circular_accuracy/")}
    assert ours_per_category == pytest.approx(details["category_acc"], abs=EXACT)
    kwargs = default_kwargs("mmbench", "_default_template_mmbench_en_yaml")
    assert [s.question for s in refs] == [lmms.mmbench.mmbench_doc_to_text(doc, kwargs) for doc, _ in pairs]


MMBENCH_DOC = {"index": 7, "question": "Which?", "hint": None, "answer": "B", "category": "ocr"}
MMBENCH_DOC.update(source="s", split="dev", comment=None, **{"L2-category": "x"})
MMBENCH_REPLIES = (
    "B", "b", "(B)", "B.", "B)", "B:", ":B", "B,", "(B).", "B).", ":B).", "A B", "A cat is B", "B is a cat sat here",
    "Answer: B", "Answer:B", "The answer is B", "the answer is b", "I choose B", "**B**", "B\n", "dog", "DOG!",
    "dark red", "red", "black cat", "a black cat", "E", "E.", "(E)", "apple", "An apple", "C D", "A and B", "",
    "Failed to obtain answer via API B", "nan", "Banana", "The best option is (B) dog", "Definitely B.", "AB",
)  # fmt: skip


@pytest.mark.parametrize("options", [("cat", "dog", "red", "dark red", "apple"), ("black cat", "dog"), ()])
def test_mmbench_each_reply_equals_lmms_eval(lmms, options):
    metric = build_metric("mmbench", [])
    rng = random.Random(len(options))
    replies = (*MMBENCH_REPLIES, *(mmbench_reply(rng, list(options) or ["x"], "B") for _ in range(40)))
    for gold in "ABE":  # E: its option text is never matched
        doc = {
            **MMBENCH_DOC,
            "answer": gold,
            **{c: (options[k] if k < len(options) else None) for k, c in enumerate("ABCDE")},
        }
        _, per_row = mmbench_results(lmms, [(doc, reply) for reply in replies])
        assert [metric.score(reply, [gold], list(options)) for reply in replies] == per_row, gold


def mmmu_files(docs: list[dict]) -> dict[str, dict[str, list]]:
    subjects = sorted({doc["id"].split("_", 1)[1].rsplit("_", 1)[0] for doc in docs})
    return {
        f"{subject}/validation-00000-of-00001.parquet": columns(
            [doc for doc in docs if doc["id"].rsplit("_", 1)[0] == f"validation_{subject}"], "image_1"
        )
        for subject in subjects
    }


@pytest.mark.parametrize("seed", range(3))
def test_mmmu_equals_lmms_eval_with_its_random_fallback(lmms, tmp_path, monkeypatch, seed):
    docs, replies = mmmu_docs(seed)
    write_files(tmp_path, mmmu_files(docs))
    refs, pairs, ours, scores = fvl_side("mmmu", tmp_path, docs, replies, lambda i, doc: doc["id"])
    unparsed = [s for s, (_, r) in zip(refs, pairs, strict=True) if s.options and not parse_mmmu_choice(r, s.options)]
    assert len(unparsed) >= 5  # the random letter is exercised
    random.seed(0)  # simple_evaluate's default random_seed; the documents are then scored in order
    results = [lmms.mmmu.mmmu_process_results(doc, [reply.strip()])["mmmu_acc"] for doc, reply in pairs]
    judged, _ = lmms.mmmu.evaluate_mmmu(results)
    assert ours == [float(judged[doc["id"]] == "Correct") for doc, _ in pairs]
    assert [s.category for s in refs] == [r["subdomain"] for r in results]
    printed = []
    monkeypatch.setattr(lmms.mmmu, "print", printed.append, raising=False)
    random.seed(0)
    results = [lmms.mmmu.mmmu_process_results(doc, [reply.strip()])["mmmu_acc"] for doc, reply in pairs]
    assert scores["score"] == lmms.mmmu.mmmu_aggregate_results(results) and get_benchmark("mmmu").primary == "score"
    table = printed[-1]
    for subject in {r["subdomain"] for r in results}:
        inside = [r for r in results if r["subdomain"] == subject]
        assert scores[f"accuracy/{subject}"] == pytest.approx(lmms.mmmu.evaluate_mmmu(inside)[1]["acc"], abs=EXACT)
        if subject in table:  # lmms-eval prints the subjects of its six disciplines only
            assert round(scores[f"accuracy/{subject}"], 5) == table[subject]["acc"]
    for domain in lmms.mmmu.DOMAIN_CAT2SUB_CAT:
        row = table[f"Overall-{domain}"]
        assert round(scores[f"domain/{domain}"], 5) == row["acc"] if row["num"] else f"domain/{domain}" not in scores
    kwargs = default_kwargs("mmmu", "mmmu_val.yaml")
    assert [s.question for s in refs] == [lmms.mmmu.mmmu_doc_to_text(doc, kwargs) for doc, _ in pairs]


MMMU_MC = ("B", " B ", "(B)", "B.", ".B,", ",.B", "b", "DNA", "RNA or DNB", "C or D", "(A) (C)", "A. B. C.",
           "The answer is photosynthesis because of the light", "respiration", "", "?", "Answer: (D)", "E", "'C'",
           "It is $1,000 rather than $2,000 in the end", "A,", "(B", "the (b) one")  # fmt: skip
MMMU_OPEN = (
    "3.14", "The answer is 3.14159", "x = 12", "1,200", "1200.0", "-5", "2e3", "2000", "red", "Red.", "so red", "x",
    "the answer is x", "The answer is ", "is ", "It is 1/2", "0.5", "6 cm", "['24', '25']", "24", "nan", "inf",
    "First 3.\nSo 12", "Final answer is \nthe end", "a = b = 12", "it is 12.004", "12.005", "", "1_200",
)  # fmt: skip


def test_mmmu_each_reply_equals_lmms_eval(lmms):
    options = ["$1,000", "$2,000", "photosynthesis", "respiration"]
    base = {"id": "validation_Art_1", "question": "q", "options": repr(options)}
    for reply in MMMU_MC:
        for gold in "ABCD":
            random.seed(0)
            doc = {**base, "question_type": "multiple-choice", "answer": gold}
            judged, _ = lmms.mmmu.evaluate_mmmu([lmms.mmmu.mmmu_process_results(doc, [reply.strip()])["mmmu_acc"]])
            assert build_metric("mmmu", []).score(reply, [gold], options) == (judged[doc["id"]] == "Correct"), reply
    for reply in MMMU_OPEN:
        for gold in (
            "12",
            "3.14",
            "1,200",
            "red",
            "x",
            "0.5",
            "['24', '25']",
            "nan",
            "2000",
            "6 cm",
            "1200",
            "the end",
        ):
            doc = {**base, "options": "[]", "question_type": "open", "answer": gold}
            judged, _ = lmms.mmmu.evaluate_mmmu([lmms.mmmu.mmmu_process_results(doc, [reply.strip()])["mmmu_acc"]])
            assert build_metric("mmmu", []).score(reply, [gold]) == (judged[doc["id"]] == "Correct"), (reply, gold)
