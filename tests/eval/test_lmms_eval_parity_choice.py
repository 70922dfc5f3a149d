"""fvl's multiple-choice scorers and prompts against lmms-eval 0.7.3's own task code (MMStar, ScienceQA-IMG, AI2D,
SEED-Bench, RealWorldQA, CV-Bench, MMVP), sample by sample and aggregated, on generated and hand-picked replies.

lmms-eval's side runs as its evaluator does: the task YAML's filters, then `ConfigurableTask.process_results`'s
strip, then the task's `process_results` (or, for AI2D, the YAML's `exact_match` metric with its kwargs), then
the task's aggregation functions. fvl's side builds its samples from the same rows through the registered
benchmark (`TableBenchmark._sample`), so gold letters, options, categories, groups and prompts are fvl's own.
Skipped without the ``lmms-eval`` package.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from fvl.eval.benchmarks import get_benchmark
from fvl.eval.metrics import build_metric, update_metric

pytest.importorskip("lmms_eval")
from lmms_tasks import TASKS, task_utils  # noqa: E402

ABS = 1e-12

# Reply templates: {L} a letter (often the gold), {M} another letter, {l}/{m} lower-case, {T} the text of {L}'s
# option, {U} another option's text.
TEMPLATES = [
    "{L}", "({L})", "{L}.", "{L}:", "{L})", "[{L}]", "**{L}**", "{L}. {T}", "{L}) {T}", "({L}) {T}", "{L}: {T}",
    "{L} {T}", "{L}.{T}", "{L}\n{T}", " {L} ", "\n{L}\n", "\t{L}.", "{l}", "({l})", "{l}.", "{l}. {T}", "{l} {T}",
    "The answer is {L}", "The answer is {L}.", "The answer is ({L}).", "the answer is {l}", "Answer: {L}",
    "answer is {L}", "The correct option is {L}", "I choose {L}", "i pick {l}", "My answer is {L}, {T}.",
    "Option {L}", "option {l}", "Option ({L})", "{T}", "{T}.", "The answer is {T}", "It is {T}.", "{T} ({L})",
    "{L} or {M}", "{L} and {M}", "{L}, {M}", "{L}{M}", "{M} {L}", "Between {L} and {M}, I pick {M}",
    "{M}. No wait, {L}.", "I think it's {M}... no, {L}", "Not {M}, so {L}", "{L} is correct; {M} is not.",
    "Both {L} and {M} look right", "{T}, so the answer is {L}", "{U}? No: {L}.", "The image shows {T}",
    "It is a {T}", "a", "b", "A B", "None of the above", "I don't know", "Cannot determine.", "", " ", "\n",
    "...", "?", "E", "(E)", "F.", "Z", "Ｂ", "ß", "İ", "ſ", "K", "{L}\u00a0", "\u3000{L}", "{L}\x00", "yes", "No.",
]  # fmt: skip
NUMBERS = [
    "3", "3.", "3..", " 3 ", "3 cars", "three", "Three.", "THREE", "The answer is 3", "3\n", "03", "3.0", "2", "0",
    "10", "ten", "Downhill", "downhill.", "Downhill!", "uphill", "Yes", "yes.", "no", "B", "A.", "(A)", "",
]  # fmt: skip


def fill(template: str, rng: random.Random, letters: str, texts: list[str], gold: str) -> str:
    letter = gold if rng.random() < 0.6 else rng.choice(letters + "EF")
    other = rng.choice([c for c in letters + "E" if c != letter])
    index = letters.find(letter)
    text = texts[index] if 0 <= index < len(texts) else "nothing"
    unrelated = rng.choice(texts)
    return template.format(L=letter, M=other, l=letter.lower(), m=other.lower(), T=text, U=unrelated)


def task_config(task: str, file: str) -> dict[str, Any]:
    """A task YAML with its `include:` merged in (lmms-eval's `!function` tags read as their names)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))
    config = yaml.load((TASKS / task / file).read_text(), Loader=Loader)
    if "include" in config:
        config = {**task_config(task, config.pop("include")), **config}
    return config


class Lmms:
    """One lmms-eval task's scoring path: filters → strip → process_results, and its aggregations."""

    def __init__(self, task: str, yaml_file: str) -> None:
        self.config = task_config(task, yaml_file)
        self.utils = task_utils(task)
        self.filters = [
            getattr(self.utils, step["function"].removeprefix("utils."))(
                **{key: value for key, value in step.items() if key != "function"}
            )
            for ensemble in self.config.get("filter_list", [])[:1]
            for step in ensemble["filter"]
        ]

    def function(self, name: str) -> Any:
        return getattr(self.utils, self.config[name].removeprefix("utils."))

    def kwargs(self) -> dict[str, Any]:
        return self.config.get("lmms_eval_specific_kwargs", {}).get("default", {})

    def output(self, doc: dict[str, Any], reply: str) -> str:
        responses: Any = [[reply]]
        for step in self.filters:
            responses = list(step.apply(responses, [doc]))
        response = responses[0] if self.filters else reply  # take_first without a filter list
        return response.strip() if response is not None else ""

    def results(self, doc: dict[str, Any], reply: str) -> dict[str, Any]:
        return self.function("process_results")(doc, [self.output(doc, reply)])


def fvl_scores(name: str, rows: list[dict[str, Any]], replies: list[str]) -> tuple[list[float], dict[str, float]]:
    """fvl's per-sample scores and aggregate for the rows, built through the registered benchmark."""
    benchmark = get_benchmark(name)
    samples = [benchmark._sample(row, i, "parity") for i, row in enumerate(rows)]
    metric = build_metric(benchmark.metric, samples)
    per_sample = [
        metric.score(r, list(s.answers), list(s.options), s.category) for s, r in zip(samples, replies, strict=True)
    ]
    update_metric(metric, samples, replies)
    return per_sample, metric.compute()


def replies_for(rng: random.Random, letters: str, texts: list[str], gold: str, pool: list[str]) -> str:
    return fill(rng.choice(pool), rng, letters, texts, gold)


def with_every_template(docs: list[tuple[dict, str]], letters_texts_gold) -> list[tuple[dict, str]]:
    """Each hand-picked template once per doc type, on the first docs."""
    rng = random.Random(0)
    out = []
    for i, template in enumerate(TEMPLATES):
        doc, _ = docs[i % len(docs)]
        letters, texts, gold = letters_texts_gold(doc)
        out.append((doc, fill(template, rng, letters, texts, gold)))
        out.append((doc, template.format(L=gold, M="E", l=gold.lower(), m="e", T=texts[0], U=texts[-1])))
    return out


# --- MMStar ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mmstar() -> Lmms:
    return Lmms("mmstar", "mmstar.yaml")


def mmstar_docs(lmms: Lmms, seed: int, count: int) -> list[tuple[dict, str]]:
    rng = random.Random(seed)
    categories = lmms.utils.eval_type_dict
    docs = []
    for i in range(count):
        category = rng.choice(sorted(categories))
        texts = [f"opt{i}{c}" for c in "abcd"]
        question = (
            f"Q{i}?"
            + rng.choice(["", " Please answer yes or no."])
            + "\nOptions: "
            + ", ".join(f"{letter}: {text}" for letter, text in zip("ABCD", texts, strict=True))
        )
        gold = rng.choice("ABCD")
        doc = {"index": i, "question": question, "answer": gold, "category": category}
        doc["l2_category"] = rng.choice(categories[category])
        docs.append((doc, fill(rng.choice(TEMPLATES), rng, "ABCD", texts, gold)))
    return docs


def _mmstar_parts(doc: dict) -> tuple[str, list[str], str]:
    return "ABCD", [f"opt{doc['index']}{c}" for c in "abcd"], doc["answer"]


@pytest.mark.parametrize("seed", range(3))
def test_mmstar_equals_lmms_eval(mmstar: Lmms, seed: int) -> None:
    docs = mmstar_docs(mmstar, seed, 400)
    docs += with_every_template(docs, _mmstar_parts)
    results = [mmstar.results(doc, reply) for doc, reply in docs]
    ours, scores = fvl_scores("mmstar", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == [result["average"]["score"] for result in results]
    aggregate = mmstar.utils.mmstar_aggregate_results
    assert scores["macro_accuracy"] == pytest.approx(aggregate([r["average"] for r in results]), abs=ABS)
    for category in mmstar.utils.eval_type_dict:
        theirs = aggregate([r[category] for r in results if category in r])
        assert scores[f"accuracy/{category}"] == pytest.approx(theirs, abs=ABS), category
    assert scores["accuracy"] == pytest.approx(sum(ours) / len(ours), abs=ABS)


def test_mmstar_macro_is_over_subcategories_not_categories(mmstar: Lmms) -> None:
    # two subcategories of one category and one of another: lmms-eval's average is over the three subcategories
    rows = [
        {"index": 0, "question": "Q?", "answer": "A", "category": "math", "l2_category": "geometry"},
        {"index": 1, "question": "Q?", "answer": "A", "category": "math", "l2_category": "statistical reasoning"},
        {"index": 2, "question": "Q?", "answer": "A", "category": "coarse perception", "l2_category": "image emotion"},
    ]
    replies = ["A", "A", "B"]
    results = [mmstar.results(row, reply) for row, reply in zip(rows, replies, strict=True)]
    _, scores = fvl_scores("mmstar", rows, replies)
    assert scores["macro_accuracy"] == mmstar.utils.mmstar_aggregate_results([r["average"] for r in results])
    assert scores["macro_accuracy"] == pytest.approx(2 / 3)


def test_mmstar_prompt_equals_lmms_eval(mmstar: Lmms) -> None:
    benchmark = get_benchmark("mmstar")
    for question in (
        "Which is red?\nOptions: A: apple, B: banana, C: sky, D: grass",
        "  Is it red? Please answer yes or no.\nOptions: A: yes, B: no  \n",
        "Is it red?  Please answer yes or no.",
    ):
        doc = {"index": 0, "question": question, "answer": "A", "category": "math", "l2_category": "geometry"}
        expected = mmstar.utils.mmstar_doc_to_text(doc, mmstar.kwargs())
        assert benchmark._sample(doc, 0, "parity").question == expected


# --- ScienceQA-IMG, AI2D (options list, index answer) ---------------------------------------------------------


@pytest.fixture(scope="module")
def scienceqa() -> Lmms:
    return Lmms("scienceqa", "scienceqa_img.yaml")


@pytest.fixture(scope="module")
def ai2d() -> Lmms:
    return Lmms("ai2d", "ai2d.yaml")


def indexed_docs(seed: int, count: int, column: str, extra) -> list[tuple[dict, str]]:
    rng = random.Random(seed)
    docs = []
    for i in range(count):
        texts = [rng.choice(["cat", "dog", "red bird", "bird", "B", "A cow", "3", "the sun"]) for _ in range(5)]
        texts = texts[: rng.randint(2, 5)]
        answer = rng.randrange(len(texts))
        doc = {"question": f"Question {i}?", column: texts, "answer": answer, **extra(rng, i)}
        docs.append((doc, fill(rng.choice(TEMPLATES), rng, "ABCDE"[: len(texts)], texts, "ABCDE"[answer])))
    return docs


def _indexed_parts(column: str):
    def parts(doc: dict) -> tuple[str, list[str], str]:
        letters = "ABCDE"[: len(doc[column])]
        return letters, doc[column], letters[int(doc["answer"])]

    return parts


@pytest.mark.parametrize("seed", range(3))
def test_scienceqa_equals_lmms_eval(scienceqa: Lmms, seed: int) -> None:
    docs = indexed_docs(seed, 400, "choices", lambda rng, i: {"hint": rng.choice(["", f"Context {i}."])})
    docs += with_every_template(docs, _indexed_parts("choices"))
    theirs = [scienceqa.results(doc, reply)["exact_match"] for doc, reply in docs]
    ours, scores = fvl_scores("scienceqa_img", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == theirs
    assert scores["accuracy"] == pytest.approx(sum(theirs) / len(theirs), abs=ABS)


def test_scienceqa_prompt_equals_lmms_eval(scienceqa: Lmms) -> None:
    benchmark = get_benchmark("scienceqa_img")
    for hint, question in (("", "Which is a mammal?"), ("Think of heat.", " Which is hot? \n")):
        doc = {"question": question, "choices": ["ice", "fire", "snow"], "answer": 1, "hint": hint}
        expected = scienceqa.utils.sqa_doc_to_text(doc, scienceqa.kwargs())
        assert benchmark._sample(doc, 0, "parity").question == expected


def ai2d_score(ai2d: Lmms, doc: dict, reply: str) -> float:
    """AI2D has no process_results: lmms-eval's default one applies the YAML's exact_match with its kwargs."""
    from lmms_eval.api.metrics import exact_match_hf_evaluate

    (metric,) = ai2d.config["metric_list"]
    kwargs = {key: value for key, value in metric.items() if key not in ("metric", "aggregation", "higher_is_better")}
    target = ai2d.utils.ai2d_doc_to_target(doc, ai2d.config["model_specific_target_kwargs"]["default"])
    return exact_match_hf_evaluate(predictions=[ai2d.output(doc, reply)], references=[target], **kwargs)["exact_match"]


@pytest.mark.parametrize("seed", range(3))
def test_ai2d_equals_lmms_eval(ai2d: Lmms, seed: int) -> None:
    docs = indexed_docs(seed, 400, "options", lambda rng, i: {})
    docs = [({**doc, "answer": str(doc["answer"])}, reply) for doc, reply in docs]  # the hub stores "1"
    docs += with_every_template(docs, _indexed_parts("options"))
    theirs = [ai2d_score(ai2d, doc, reply) for doc, reply in docs]
    ours, scores = fvl_scores("ai2d", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == theirs
    assert scores["accuracy"] == pytest.approx(sum(theirs) / len(theirs), abs=ABS)


def test_ai2d_prompt_equals_lmms_eval(ai2d: Lmms) -> None:
    doc = {"question": "Which stage comes after the egg? ", "options": ["egg", "larva", "adult"], "answer": "1"}
    expected = ai2d.utils.ai2d_doc_to_text(doc, ai2d.kwargs())
    assert get_benchmark("ai2d")._sample(doc, 0, "parity").question == expected


# --- SEED-Bench ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seedbench() -> Lmms:
    return Lmms("seedbench", "seedbench.yaml")


def seed_doc(i: int, gold: str, question_type: int) -> dict:
    return {
        "question_id": str(i), "question": f"Q{i}?", "answer": gold, "data_type": "image",
        "question_type_id": question_type, **{f"choice_{c}": f"{c}{i}" for c in "abcd"},
    }  # fmt: skip


def _seed_parts(doc: dict) -> tuple[str, list[str], str]:
    return "ABCD", [doc[f"choice_{c}"] for c in "abcd"], doc["answer"]


@pytest.mark.parametrize("seed", range(3))
def test_seedbench_equals_lmms_eval(seedbench: Lmms, seed: int) -> None:
    rng = random.Random(seed)
    docs = []
    for i in range(400):
        doc = seed_doc(i, rng.choice("ABCD"), rng.randint(1, 9))
        docs.append((doc, replies_for(rng, "ABCD", _seed_parts(doc)[1], doc["answer"], TEMPLATES)))
    docs += with_every_template(docs, _seed_parts)
    results = [seedbench.results(doc, reply)["seed_image"] for doc, reply in docs]
    theirs = [float(seedbench.utils.seed_aggregation_result([result])) for result in results]
    ours, scores = fvl_scores("seedbench", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == theirs
    assert scores["accuracy"] == pytest.approx(seedbench.utils.seed_aggregation_result(results), abs=ABS)


def test_seedbench_prompt_equals_lmms_eval(seedbench: Lmms) -> None:
    doc = {**seed_doc(0, "A", 1), "question": " What is shown?\n"}
    assert get_benchmark("seedbench")._sample(doc, 0, "parity").question == seedbench.utils.seed_doc_to_text(doc)


# --- RealWorldQA -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def realworldqa() -> Lmms:
    return Lmms("realworldqa", "realworldqa.yaml")


def realworldqa_doc(rng: random.Random, i: int) -> tuple[dict, list[str]]:
    if rng.random() < 0.6:
        texts = [f"Way {c}" for c in "abcd"][: rng.randint(2, 4)]
        lines = "\n".join(f"{letter}. {text}" for letter, text in zip("ABCD"[: len(texts)], texts, strict=True))
        question = f"Which way {i}?\n\n{lines}\n\n{lmms_replace()}"
        return {"question": question, "answer": rng.choice("ABCD"[: len(texts)])}, texts
    question = f"How many {i}?\nPlease answer directly with a single word or number."
    return {"question": question, "answer": rng.choice(["3", "0", "10", "Downhill", " 2 "])}, []


def lmms_replace() -> str:
    return "Please answer directly with only the letter of the correct option and nothing else."


@pytest.mark.parametrize("seed", range(3))
def test_realworldqa_equals_lmms_eval(realworldqa: Lmms, seed: int) -> None:
    rng = random.Random(seed)
    docs = []
    for i in range(400):
        doc, texts = realworldqa_doc(rng, i)
        if texts:
            reply = fill(rng.choice(TEMPLATES), rng, "ABCD"[: len(texts)], texts, doc["answer"])
        else:
            reply = rng.choice(NUMBERS + [doc["answer"], doc["answer"] + ".", doc["answer"].upper()])
        docs.append((doc, reply))
    mcq = [(doc, reply) for doc, reply in docs if doc["answer"] in "ABCD"]
    docs += with_every_template(mcq, lambda doc: ("ABCD", ["Way a", "Way b", "Way c", "Way d"], doc["answer"]))
    docs += [(docs[i][0], reply) for i, reply in enumerate(NUMBERS) if docs[i][0]["answer"] not in "ABCD"]
    theirs = [realworldqa.results(doc, reply)["exact_match"] for doc, reply in docs]
    ours, scores = fvl_scores("realworldqa", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == theirs
    assert scores["accuracy"] == pytest.approx(sum(theirs) / len(theirs), abs=ABS)


def test_realworldqa_numbers_equal_lmms_eval(realworldqa: Lmms) -> None:
    for answer in ("3", "0", "Downhill", "10"):
        doc = {"question": "How many?\nPlease answer directly with a single word or number.", "answer": answer}
        for reply in NUMBERS:
            ours, _ = fvl_scores("realworldqa", [doc], [reply])
            assert ours == [realworldqa.results(doc, reply)["exact_match"]], (answer, reply)


def test_realworldqa_prompt_equals_lmms_eval(realworldqa: Lmms) -> None:
    doc, _ = realworldqa_doc(random.Random(1), 0)
    for question in (doc["question"], "  How many?\nPlease answer directly with a single word or number. \n"):
        row = {**doc, "question": question}
        expected = realworldqa.utils.realworldqa_doc_to_text(row, realworldqa.kwargs())
        assert get_benchmark("realworldqa")._sample(row, 0, "parity").question == expected


# --- CV-Bench --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cvbench() -> Lmms:
    return Lmms("cv_bench", "cv_bench.yaml")


def cvbench_doc(rng: random.Random, i: int) -> dict:
    kind, source = rng.choice([("2D", "ADE20K"), ("2D", "COCO"), ("3D", "Omni3D")])
    choices = [f"thing {c}" for c in "abcdef"][: rng.randint(2, 6)]
    lines = "\n".join(f"({letter}) {text}" for letter, text in zip("ABCDEF"[: len(choices)], choices, strict=True))
    return {
        "idx": i, "type": kind, "task": "Count", "source": source, "choices": choices,
        "answer": f"({rng.choice('ABCDEF'[: len(choices)])})",
        "prompt": f"Question {i}? Select from the following choices.\n{lines}",
    }  # fmt: skip


def _cvbench_parts(doc: dict) -> tuple[str, list[str], str]:
    return "ABCDEF"[: len(doc["choices"])], doc["choices"], doc["answer"].strip("()")


@pytest.mark.parametrize("seed", range(3))
def test_cvbench_equals_lmms_eval(cvbench: Lmms, seed: int) -> None:
    rng = random.Random(seed)
    docs = []
    for i in range(400):
        doc = cvbench_doc(rng, i)
        letters, texts, gold = _cvbench_parts(doc)
        docs.append((doc, fill(rng.choice(TEMPLATES), rng, letters, texts, gold)))
    docs += with_every_template(docs, _cvbench_parts)
    results = [cvbench.results(doc, reply)["cv_bench_acc"] for doc, reply in docs]
    ours, scores = fvl_scores("cvbench", [doc for doc, _ in docs], [reply for _, reply in docs])
    assert ours == [float(result["is_correct"]) for result in results]
    assert get_benchmark("cvbench").primary == "accuracy"
    assert cvbench.config["metric_list"][0]["aggregation"] == "utils.cv_bench_aggregate_results"
    aggregate = cvbench.utils.cv_bench_aggregate_results
    assert scores["accuracy"] == pytest.approx(aggregate(results), abs=ABS)
    paper = cvbench.utils.cv_bench_default_aggregate_results(results)  # defined by lmms-eval, not reported
    assert scores["macro_accuracy"] == pytest.approx(paper, abs=ABS)


def test_cvbench_prompt_equals_lmms_eval(cvbench: Lmms) -> None:
    doc = cvbench_doc(random.Random(2), 0)
    for prompt in (doc["prompt"], " " + doc["prompt"] + "\n"):
        row = {**doc, "prompt": prompt}
        expected = cvbench.utils.cv_bench_doc_to_text(row, cvbench.kwargs())
        assert get_benchmark("cvbench")._sample(row, 0, "parity").question == expected


# --- MMVP ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mmvp() -> Lmms:
    return Lmms("mmvp", "mmvp.yaml")


def mmvp_docs(seed: int, pairs: int) -> list[tuple[dict, str]]:
    rng = random.Random(seed)
    docs = []
    for pair in range(pairs):
        texts = rng.choice([["Open", "Closed"], ["Yes", "No"], ["a cat", "a bird"], ["Left", "Right"]])
        golds = rng.choice([("(a)", "(b)"), ("(b)", "(a)"), ("(a)", "(a)")])
        for k in range(2):
            index = 2 * pair + k + 1
            doc = {"Index": index, "Question": f"Q{pair}?", "Options": f"(a) {texts[0]} (b) {texts[1]}"}
            doc["Correct Answer"] = golds[k]
            gold = "A" if golds[k] == "(a)" else "B"
            docs.append((doc, fill(rng.choice(TEMPLATES), rng, "AB", texts, gold)))
    return docs


@pytest.mark.parametrize("seed", range(3))
def test_mmvp_equals_lmms_eval(mmvp: Lmms, seed: int) -> None:
    docs = mmvp_docs(seed, 200)
    docs += [({**doc, "Index": doc["Index"] + 1000}, reply) for doc, reply in with_every_template(docs, _mmvp_parts)]
    rng = random.Random(seed)
    for subset in (docs, [item for item in docs if rng.random() < 0.8]):  # the second one has incomplete pairs
        results = [mmvp.results(doc, reply)["mmvp_accuracy"] for doc, reply in subset]
        ours, scores = fvl_scores("mmvp", [doc for doc, _ in subset], [reply for _, reply in subset])
        assert ours == [float(result["is_correct"]) for result in results]
        assert scores["accuracy"] == pytest.approx(mmvp.utils.mmvp_aggregate_results(results), abs=ABS)
        assert scores["pair_accuracy"] == pytest.approx(mmvp.utils.mmvp_aggregate_pair_results(results), abs=ABS)


def _mmvp_parts(doc: dict) -> tuple[str, list[str], str]:
    texts = doc["Options"].removeprefix("(a) ").split(" (b) ")
    return "AB", texts, "A" if doc["Correct Answer"] == "(a)" else "B"


def test_mmvp_lone_question_has_no_pair(mmvp: Lmms) -> None:
    doc = {"Index": 1, "Question": "Q?", "Options": "(a) Open (b) Closed", "Correct Answer": "(a)"}
    _, scores = fvl_scores("mmvp", [doc], ["A"])
    assert scores["pair_accuracy"] == mmvp.utils.mmvp_aggregate_pair_results([mmvp.results(doc, "A")["mmvp_accuracy"]])


def test_mmvp_prompt_equals_lmms_eval(mmvp: Lmms) -> None:
    for question, options in (
        ("Are the eyes open?", "(a) Open (b) Closed"),
        (" Is the dog facing left? ", "(a) Yes, left (b) No (right)"),
    ):
        doc = {"Index": 1, "Question": question, "Options": options, "Correct Answer": "(a)"}
        expected = mmvp.utils.mmvp_doc_to_text(doc, mmvp.kwargs())
        assert get_benchmark("mmvp")._sample(doc, 0, "parity").question == expected
