"""fvl's open-answer scorers and prompts against lmms-eval 0.7.3's own task code: VQAv2, TextVQA, VizWiz, GQA,
DocVQA, InfoVQA, ChartQA and OCRBench, sample by sample and aggregated, on generated and hand-picked raw replies.

The lmms-eval side runs its real glue: ``ConfigurableTask.process_results`` (which strips the reply, then calls
the task's ``process_results`` or the YAML's built-in metric with the YAML's options) on a stand-in task built
from the installed task YAML, and the YAML's aggregation. The fvl side goes through the benchmark registry: the
row is read by the benchmark (answers, category, prompt) and scored by its registered metric. Needs the
``lmms-eval`` package (see ``tests/eval/lmms_tasks.py``); skipped without it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from fvl.eval.benchmarks.registry import BENCHMARKS
from fvl.eval.metrics import build_metric, update_metric

pytest.importorskip("lmms_eval")
import lmms_eval.api.metrics as lmms_metrics  # noqa: E402  (registers the built-in metrics)
from lmms_eval.api.registry import METRIC_REGISTRY  # noqa: E402
from lmms_eval.api.task import ConfigurableTask  # noqa: E402
from lmms_tasks import TASKS, task_utils  # noqa: E402


class _TaskYAML(yaml.SafeLoader):
    """lmms-eval's task YAML: `!function utils.name` is kept as the string "utils.name"."""


_TaskYAML.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def task_config(task: str, file: str) -> dict[str, Any]:
    """A task YAML with its `include:` chain merged (the including file wins, key by key at the top level)."""
    config = yaml.load((TASKS / task / file).read_text(), Loader=_TaskYAML)
    parent = config.pop("include", None)
    return {**task_config(task, parent), **config} if parent else config


class LmmsTask:
    """lmms-eval's scoring and prompt for one task, from its installed YAML and utils.py."""

    def __init__(self, task: str, file: str) -> None:
        self.task, self.config, self.utils = task, task_config(task, file), task_utils(task)
        process = self.config.get("process_results")
        metrics = {entry["metric"]: entry for entry in self.config["metric_list"]}
        skip = ("metric", "aggregation", "higher_is_better")
        self.stand_in = SimpleNamespace(
            OUTPUT_TYPE=self.config["output_type"],
            config=SimpleNamespace(process_results=self._function(process) if process else None, doc_to_choice=None),
            _metric_fn_list={name: None if process else METRIC_REGISTRY[name] for name in metrics},
            _metric_fn_kwargs={
                name: {} if process else {key: value for key, value in entry.items() if key not in skip}
                for name, entry in metrics.items()
            },
            multiple_target=0,
            doc_to_target=lambda doc: doc[self.config["doc_to_target"]],
        )
        self.aggregations = {name: entry["aggregation"] for name, entry in metrics.items()}

    def _function(self, reference: str) -> Callable[..., Any]:
        return getattr(self.utils, reference.removeprefix("utils."))

    def process(self, doc: dict[str, Any], reply: str) -> dict[str, Any]:
        target = doc.get(self.config["doc_to_target"])
        self.stand_in.multiple_target = len(target) if isinstance(target, list) else 0
        return ConfigurableTask.process_results(self.stand_in, copy.deepcopy(doc), [reply])

    def aggregate(self, name: str, values: list[Any], args: Any = None) -> float:
        aggregation = self.aggregations[name]
        if aggregation == "mean":
            return lmms_metrics.mean(values)
        return getattr(task_utils(self.task), aggregation.removeprefix("utils."))(values, args)  # fresh globals

    def prompt(self, doc: dict[str, Any]) -> str:
        kwargs = dict(self.config["lmms_eval_specific_kwargs"])
        kwargs.update(kwargs["default"])  # what lmms-eval does for a model without its own entry
        return self._function(self.config["doc_to_text"])(doc, kwargs)


# ---- generated replies -------------------------------------------------------------------------------------

SWAPS = {"2": "two", "two": "2", "0": "none", "none": "0", "10": "ten", "don't": "dont", "dont": "don't"}
SWAPS |= {"it's": "its", "its": "it's", "1,000": "1000", "1000": "1,000", "what's": "whats", "whats": "what's"}
ODD_REPLIES = [
    "", " ", "\n", "\t", "." * 40 + "dog", "dog" + "." * 40, "a.b." * 20, "1,000", "1000", "1.000", "1,,000",
    "10,000/2", "1,000/2", "it 's", "somebody'd", "somebodyd", "x" * 150, "Yes, it is.", "No.\nYes.", "ÄÖÜ", "İ",
    "İstanbul", "ＨＥＬＬＯ", "Ｈｅｌｌｏ　ｗｏｒｌｄ", "ß", "STRASSE", "nan", "inf", "1e3", "1_000", "45 %", "45%%",
    "-0", "١٢", "１００", "yes ?", "red,blue", "black / white", "t - shirt", "a\0", "dog\0.", "couldnt've", "Im",
]  # fmt: skip


def variants(answer: str) -> list[str]:
    """Ways a model writes `answer`: case, punctuation, articles, spacing, newlines, contractions, numbers."""
    words = answer.split()
    swapped = " ".join(SWAPS.get(word, word) for word in words)
    return [
        answer, answer.upper(), answer.title(), answer.capitalize(), f"{answer}.", f"{answer}!", f" {answer} ",
        f"{answer}\n", f"\n{answer}\n", f"{answer}\t", f"the {answer}", f"A {answer}", f"{answer} .", f"({answer})",
        f'"{answer}"', f"{answer},", f"{answer}?", answer.replace(" ", "  "), answer.replace(" ", "-"),
        answer.replace(" ", "/"), answer.replace("'", ""), f"It is {answer}.", f"{answer}s", answer[:-1], answer[1:],
        answer * 2, f"{answer}%", f"{answer}." * 3, swapped, swapped.upper(), answer.replace(" ", "\n"),
    ]  # fmt: skip


def typo(rng: random.Random, text: str) -> str:
    """One random edit (substitution, deletion or insertion) of `text`."""
    i = rng.randrange(len(text) + 1)
    char = rng.choice("abcxyz019 .")
    return rng.choice([text[:i] + char + text[i + 1 :], text[:i] + text[i + 1 :], text[:i] + char + text[i:]])


def reply_for(rng: random.Random, answers: list[str], pool: list[str]) -> str:
    """A right answer in some variant, a near miss, another pool answer or an odd reply."""
    roll = rng.random()
    answer = rng.choice(answers) if answers else ""
    if roll < 0.5:
        return rng.choice(variants(answer))
    if roll < 0.65:
        return typo(rng, rng.choice(variants(answer)))
    if roll < 0.85:
        return rng.choice(variants(rng.choice(pool)))
    return rng.choice(ODD_REPLIES)


# ---- benchmark rows in their hub layouts -------------------------------------------------------------------

VQA_POOL = [
    "2", "two", "yes", "no", "red", "dog", "the dog", "a cat", "don't", "dont", "it's", "its", "1,000", "1000",
    "10:30", "1.5", "t-shirt", "black/white", "black and white", "coca cola", "coca-cola", "none", "0", "ten",
    "somebody'd", "what's", "whats", "unanswerable", "red,blue", "New York", "$5.00", "50%", "a.m.", "U.S.A.",
    "mr. smith", "couldn't've", "yes!", "no.", "2,500,000", "e.g.", "man's hat", "left side", "stop",
]  # fmt: skip


def vqa_answers(rng: random.Random) -> list[str]:
    """Ten human answers: a few candidates (often variants of each other) with random counts."""
    candidates = [rng.choice(VQA_POOL) for _ in range(rng.randint(1, 3))]
    candidates += [rng.choice(variants(candidates[0]))] if rng.random() < 0.4 else []
    return [rng.choice(candidates) for _ in range(10)]


def vqav2_doc(rng: random.Random, i: int) -> dict[str, Any]:
    answers = vqa_answers(rng)
    records = [{"answer": a, "answer_confidence": "yes", "answer_id": k} for k, a in enumerate(answers, 1)]
    kind = rng.choice(["yes/no", "number", "other"])
    return {"question_id": i, "question": "How many dogs?", "answers": records, "answer_type": kind}


def textvqa_doc(rng: random.Random, i: int) -> dict[str, Any]:
    return {"question_id": i, "question": "what does the sign say?", "answers": vqa_answers(rng), "image_id": "a"}


def vizwiz_doc(rng: random.Random, i: int) -> dict[str, Any]:
    return {"question_id": f"VizWiz_val_{i}.jpg", "question": "What is this?", "answers": vqa_answers(rng)}


GQA_POOL = ["yes", "no", "left", "right", "man", "t-shirt", "black and white", "white", "table", "blue", "the cup"]


def gqa_doc(rng: random.Random, i: int) -> dict[str, Any]:
    answer = rng.choice(GQA_POOL)
    return {"id": str(i), "imageId": "n1", "question": "Is it red?", "answer": answer, "fullAnswer": f"It is {answer}."}


ANLS_POOL = [
    "abcd", "12%", "asia", "$1,000", "John Smith", "March 3, 2001", "ß-strasse", "İstanbul", "  padded ", "0.5 mg",
    "United States of America", "x" * 120, "ACME Corp.", "p.o. box 12", "a", "",
]  # fmt: skip


def docvqa_doc(rng: random.Random, i: int) -> dict[str, Any]:
    answers = rng.sample(ANLS_POOL, rng.randint(1, 3))
    return {"questionId": i, "question": "What is the date?", "answers": answers, "docId": 7}


def infovqa_doc(rng: random.Random, i: int) -> dict[str, Any]:
    answers = rng.sample(ANLS_POOL, rng.randint(1, 2))
    return {"questionId": i, "question": "Which continent?", "answers": answers, "answer_type": ["single span"]}


CHART_POOL = ["100", "0", "0.45", "45%", "1,000", "12.5", "-3", "2019", "0.0", "Yes", "No", "blue", "1e3", " 7 ", "25"]


def chart_reply(rng: random.Random, target: str) -> str:
    """A number near the target (within, at and beyond 5 %), or a generic reply."""
    try:
        value = float(target.rstrip("%"))
    except ValueError:
        return reply_for(rng, [target], CHART_POOL)
    if rng.random() < 0.5:
        return reply_for(rng, [target], CHART_POOL)
    factor = rng.choice([1.0, 1.04, 0.96, 1.05, 0.95, 1.06, 0.94, 1.0501, 0.01, 100.0, -1.0])
    text = f"{value * factor:g}"
    return rng.choice([text, f"{text}%", f" {text} ", f"{text}\n", f"{text} %"])


def chartqa_doc(rng: random.Random, i: int) -> dict[str, Any]:
    split = rng.choice(["human_test", "augmented_test"])
    return {"type": split, "question": "What share?", "answer": rng.choice(CHART_POOL)}


OCR_TYPES = [
    "Regular Text Recognition", "Irregular Text Recognition", "Artistic Text Recognition", "Handwriting Recognition",
    "Digit String Recognition", "Non-Semantic Text Recognition", "Scene Text-centric VQA", "Doc-oriented VQA",
    "Key Information Extraction", "Handwritten Mathematical Expression Recognition",
]  # fmt: skip
OCR_POOL = ["hello", "STOP", "Coca Cola", "12:30", "hello\nworld", "ｈｅｌｌｏ", "a b", "", " hi ", "x" * 60]
HME_POOL = [r"\frac{a}{b}", r"\frac {a} {b}", "x^2", "x ^ 2", r"\sqrt{X}", "a\nb", " y=1 "]


def ocrbench_doc(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.choice(OCR_TYPES)
    hme = kind == OCR_TYPES[-1]
    answers = rng.sample(HME_POOL if hme else OCR_POOL, rng.randint(1, 2))
    dataset = "HME100k" if hme else rng.choice(["IIIT5K", "FUNSD", "textVQA"])
    return {"dataset": dataset, "question": "what is written in the image?", "question_type": kind, "answer": answers}


def ocr_reply(rng: random.Random, answers: list[str]) -> str:
    base = reply_for(rng, answers, OCR_POOL + HME_POOL)
    return rng.choice([base, f"The text is {base}", f"{base}\nand more", base.replace(" ", "")])


# name: (lmms task folder, task YAML, row maker, answer pool, the key of lmms-eval's per-sample value in
# process_results' output, which is also the lmms-eval aggregate that fvl's headline equals)
Row = Callable[[random.Random, int], dict[str, Any]]
SPECS: dict[str, tuple[str, str, Row, list[str], str]] = {
    "vqav2": ("vqav2", "vqav2_val.yaml", vqav2_doc, VQA_POOL, "exact_match"),
    "textvqa": ("textvqa", "textvqa_val.yaml", textvqa_doc, VQA_POOL, "exact_match"),
    "vizwiz": ("vizwiz_vqa", "vizwiz_vqa_val.yaml", vizwiz_doc, VQA_POOL, "exact_match"),
    "gqa": ("gqa", "gqa.yaml", gqa_doc, GQA_POOL, "exact_match"),
    "docvqa": ("docvqa", "docvqa_val.yaml", docvqa_doc, ANLS_POOL, "anls"),
    "infovqa": ("infovqa", "infovqa_val.yaml", infovqa_doc, ANLS_POOL, "anls"),
    "chartqa": ("chartqa", "chartqa.yaml", chartqa_doc, CHART_POOL, "relaxed_overall"),
    "ocrbench": ("ocrbench", "ocrbench.yaml", ocrbench_doc, OCR_POOL, "ocrbench_accuracy"),
}


def gold(doc: dict[str, Any]) -> list[str]:
    value = doc.get("answers", doc.get("answer"))
    items = value if isinstance(value, list) else [value]
    return [item["answer"] if isinstance(item, dict) else item for item in items]


def generated(name: str, seed: int, count: int) -> list[tuple[dict[str, Any], str]]:
    rng = random.Random(f"{name}-{seed}")
    rows = []
    for i in range(count):
        doc = SPECS[name][2](rng, i)
        answers = gold(doc)
        if name == "chartqa":
            reply = chart_reply(rng, answers[0])
        elif name == "ocrbench":
            reply = ocr_reply(rng, answers)
        else:
            reply = reply_for(rng, answers, SPECS[name][3])
        rows.append((doc, reply))
    return rows


def hand_picked(name: str) -> list[tuple[dict[str, Any], str]]:
    """Tricky rows: each benchmark's quirks, with the reply that exposes them."""
    make = SPECS[name][2]
    base = make(random.Random(0), 10_000)

    def with_answers(answers: list[str]) -> dict[str, Any]:
        doc = copy.deepcopy(base)
        if name == "vqav2":
            doc["answers"] = [{"answer": a, "answer_confidence": "yes", "answer_id": k} for k, a in enumerate(answers)]
        elif "answers" in doc:
            doc["answers"] = list(answers)
        else:
            doc["answer"] = answers if name == "ocrbench" else answers[0]
        return doc

    vqa = [
        (["dog"] * 10, "." * 40 + "dog"), (["dog"] * 10, "dog" + "." * 33), (["1000"] * 10, "1,000"),
        (["1000"] * 5 + ["1,000"] * 5, "1,,000"), (["red blue"] * 10, "red,blue"), (["redblue"] * 10, "red,blue"),
        (["what's"] * 10, "whats"), (["whats"] * 10, "what's"), (["somebodyd"] * 10, "somebody'd"),
        (["it 's"] * 10, "it's"), (["2"] * 3 + ["3"] * 7, "two"), (["yes"], "yes"), (["yes"] * 2, "yes"),
        (["man's hat"] * 10, "mans hat"), (["i'm"] * 10, "im"), (["10 2"] * 10, "10,000/2"), ([""] * 10, ""),
        (["yes"] * 10, "yes ?"), (["black white"] * 10, "black / white"), (["a.m."] * 10, "am"),
    ]  # fmt: skip
    # fmt: off
    cases = {
        "vqav2": vqa,
        "textvqa": vqa,
        "vizwiz": vqa,
        "gqa": [
            (["yes"], " Yes. "), (["yes"], "yes ."), (["left side"], "left  side"), (["yes "], "yes"),
            (["İstanbul"], "istanbul"), (["i̇"], "İ"), (["a"], "a\0"), (["a"], "a\0."), (["t-shirt"], "tshirt"),
            (["the cup"], "cup"), (["2"], "two"), (["ß"], "SS"),
        ],
        "docvqa": [
            (["abcd"], "abef"), (["abcd"], "abce"), (["  abcd  "], "abcd"), (["ß"], "ss"), ([""], ""), ([""], " "),
            (["abc"], ""), (["İİ"], "i"), (["abcd", "wxyz"], "wxy"), (["ab"], "a b"),
            (["Hello World"], "hello   world"), (["  abce  "], "abcd"), (["ßßab"], "ßßac"),
        ],
        "chartqa": [
            (["100"], "105"), (["100"], "105.0001"), (["0"], "0"), (["0"], "0.0"), (["0"], " 0"), (["1,000"], "1000"),
            (["1000"], "1,000"), (["45%"], "0.45"), (["0.45"], "45%%"), (["Yes"], " yes"), (["Yes"], "yes\n"),
            (["12"], " 12 "), (["12"], "１２"), (["1000"], "1_000"), (["1000"], "1e3"), (["1000"], "nan"),
            (["inf"], "inf"), (["45%"], "45%\n"), (["0.12"], "12 %"),
        ],
        "ocrbench": [
            (["hello"], "The text is HELLO"), (["hello"], "ＨＥＬＬＯ"), (["hello world"], "hello\nworld"),
            (["hello\nworld"], "hello world"), ([""], "anything"), (["ｈｅｌｌｏ"], "hello"), (["hi"], "h i"),
        ],
    }
    # fmt: on
    cases["infovqa"] = cases["docvqa"]
    rows = [(with_answers(answers), reply) for answers, reply in cases[name]]
    if name == "ocrbench":
        hme = {**base, "dataset": "HME100k", "question_type": OCR_TYPES[-1]}
        for answers, reply in (([r"\frac {a} {b}"], r"\frac{a}{b}"), ([r"\frac{a}{b}"], r"\frac{A}{B}"),
                               (["x^2"], "x ^\n2"), (["\ty=1\t"], "y=1"), (["ｘ"], "x")):  # fmt: skip
            rows.append(({**hme, "answer": answers}, reply))
    return rows


# ---- the comparisons -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lmms() -> dict[str, LmmsTask]:
    return {name: LmmsTask(task, file) for name, (task, file, *_rest) in SPECS.items()}


def fvl_scores(name: str, rows: list[tuple[dict[str, Any], str]]) -> tuple[list[float], dict[str, float]]:
    """Per-sample scores and the aggregate of fvl's registered benchmark and metric."""
    benchmark = BENCHMARKS[name]
    samples = [benchmark._sample(doc, i, "parity") for i, (doc, _) in enumerate(rows)]
    metric = build_metric(benchmark.metric, samples)
    replies = [reply for _, reply in rows]
    per_sample = [
        metric.score(reply, list(s.answers), list(s.options), s.category)
        for s, reply in zip(samples, replies, strict=True)
    ]
    update_metric(metric, samples, replies)
    return per_sample, metric.compute()


def lmms_scores(task: LmmsTask, name: str, rows: list[tuple[dict[str, Any], str]], tmp_path) -> tuple[list, dict]:
    outputs = [task.process(doc, reply) for doc, reply in rows]
    values = [out[SPECS[name][4]] for out in outputs]
    per_sample = [value["score"] if isinstance(value, dict) else value for value in values]  # OCRBench: a record
    args = SimpleNamespace(output_path=str(tmp_path))
    aggregate = {
        metric: task.aggregate(metric, [out[metric] for out in outputs if metric in out], args)
        for metric in task.aggregations
        if any(metric in out for out in outputs)
    }
    return per_sample, aggregate


def compare(name: str, rows, task: LmmsTask, tmp_path) -> None:
    ours, our_aggregate = fvl_scores(name, rows)
    theirs, their_aggregate = lmms_scores(task, name, rows, tmp_path)
    for (doc, reply), mine, reference in zip(rows, ours, theirs, strict=True):
        assert mine == reference, (name, reply, gold(doc))
    primary = BENCHMARKS[name].primary
    assert our_aggregate[primary] == pytest.approx(their_aggregate[SPECS[name][4]], abs=1e-12)
    if name == "chartqa":
        for split, key in (("human_test", "relaxed_human_split"), ("augmented_test", "relaxed_augmented_split")):
            if key in their_aggregate:
                assert our_aggregate[f"accuracy/{split}"] == pytest.approx(their_aggregate[key], abs=1e-12)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_generated_replies_score_as_in_lmms_eval(lmms, name, tmp_path):
    count = 120 if name in ("docvqa", "infovqa") else 400
    rows = [row for seed in range(2) for row in generated(name, seed, count // 2)]
    compare(name, rows, lmms[name], tmp_path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hand_picked_replies_score_as_in_lmms_eval(lmms, name, tmp_path):
    compare(name, hand_picked(name), lmms[name], tmp_path)


QUESTIONS = ["How many dogs?", "what is the NBA logo? ", " which side is the cup on?", "What's 2+2?\n", "ÉCOLE name?"]


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("question", QUESTIONS)
def test_prompt_equals_lmms_eval_default(lmms, name, question):
    doc = {**SPECS[name][2](random.Random(1), 1), "question": question}  # a row in the hub layout
    assert BENCHMARKS[name]._sample(doc, 0, "parity").question == lmms[name].prompt(doc)
