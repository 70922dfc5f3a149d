"""The benchmark registry: each public benchmark as data (hub layout columns, prompt suffix, metric), plus `custom`.

`BENCHMARKS` is the ``benchmark`` axis of :mod:`fvl.registry`: Benchmark instances (the contract is
:class:`fvl.eval.benchmarks.base.Benchmark`) registered by name. A new one is
``BENCHMARKS.register(benchmark.name, benchmark)`` in the user's module; ``benchmarks=[<name>]`` then picks it.
`custom` is a registered table benchmark without a metric: its request names the metric and the columns.

Prompt texts follow lmms-eval's default prompts for each task. MMBench's circular-shift copies share
`index % 1_000_000` (the copies of question i have indices i + k·10⁶), which is the grouping key of its circular
accuracy. MME groups the two questions of an image by `category/question_id` (the image file name).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fvl.eval.benchmarks.base import Benchmark
from fvl.eval.benchmarks.judged import JudgedBenchmark
from fvl.eval.benchmarks.options import mmvp_options, option_list, options_in_text
from fvl.eval.benchmarks.prompt import LETTER_ANSWER, SHORT_ANSWER, PromptFormat
from fvl.eval.benchmarks.synthetic import SyntheticBenchmark
from fvl.eval.benchmarks.table import ImageJoin, Row, TableBenchmark
from fvl.eval.metrics.registry import METRICS
from fvl.registry import Registry

SHORT = PromptFormat(SHORT_ANSWER)
LETTER = PromptFormat(LETTER_ANSWER)
TEXTVQA = PromptFormat(SHORT_ANSWER, capitalize=True)  # lmms-eval sends TextVQA's and VizWiz's question.capitalize()
VIZWIZ = PromptFormat(
    "\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT_ANSWER, capitalize=True
)
CHARTQA = PromptFormat("\nAnswer the question with a single word.")
MMBENCH = PromptFormat("\n" + LETTER_ANSWER, hint="{hint} ", options_intro=" There are several options:\n")
MME = PromptFormat(SHORT_ANSWER, remove=" Please answer yes or no.")  # lmms-eval drops it before its own suffix
# lmms-eval's MMStar suffix has no period; its prompt drops " Please answer yes or no." from the stripped question
MMSTAR = PromptFormat(LETTER_ANSWER.removesuffix("."), show_options=False, remove=" Please answer yes or no.")
SCIENCEQA = PromptFormat(LETTER_ANSWER, hint="Context: {hint}\n")
CVBENCH = PromptFormat(
    prefix="Note: You only need to respond with {letters} without providing any additional information.\n\n",
    show_options=False,
)
MMMU = PromptFormat("\n\n" + LETTER_ANSWER.lstrip("\n"), open_suffix="\n\n" + SHORT_ANSWER.lstrip("\n"))


def mmmu_subject(row: Row) -> str:
    """The subject of an MMMU question from its id, as lmms-eval reads it: "validation_Art_Theory_3" → "Art_Theory"
    (the text between the first "_"-separated word and a final "_<number>")."""
    sample_id = str(row["id"])
    match = re.match(rf"^{re.escape(sample_id.split('_')[0])}_(.+?)_\d+$", sample_id)
    if not match:
        raise ValueError(f"MMMU id {sample_id!r} is not <split>_<Subject>_<n>")
    return match.group(1)


def mmmu_options(row: Row) -> list[str]:
    """The options of a multiple-choice MMMU question; none for the others (lmms-eval goes by `question_type`)."""
    kind = row.get("question_type")
    return [] if kind is not None and kind != "multiple-choice" else option_list(row["options"])


CUSTOM = TableBenchmark("custom", metric="")  # the user's own file; its request gives metric= and the columns
BUILT_IN: tuple[Benchmark, ...] = (
    TableBenchmark(
        "vqav2", "vqa_accuracy", "lmms-lab/VQAv2", "validation", answers="answers", id="question_id",
        category="answer_type", prompt=SHORT, strip_question=False,
    ),
    TableBenchmark(
        "textvqa", "vqa_accuracy_tokenized", "lmms-lab/textvqa", "validation", answers="answers",
        id="question_id", prompt=TEXTVQA, strip_question=False,
    ),
    TableBenchmark(
        "vizwiz", "vqa_accuracy_tokenized", "lmms-lab/VizWiz-VQA", "val", answers="answers", id="question_id",
        prompt=VIZWIZ, strip_question=False,
    ),
    TableBenchmark(
        "gqa", "exact_match", "lmms-lab/GQA", "testdev", subset="testdev_balanced_instructions", id="id",
        image_join=ImageJoin("testdev_balanced_images", key="imageId"), prompt=SHORT, strip_question=False,
    ),
    TableBenchmark(
        "docvqa", "anls", "lmms-lab/DocVQA", "validation", subset="DocVQA", answers="answers", id="questionId",
        prompt=SHORT, primary="anls", strip_question=False,
    ),
    TableBenchmark(
        "infovqa", "anls", "lmms-lab/DocVQA", "validation", subset="InfographicVQA", answers="answers",
        id="questionId", prompt=SHORT, primary="anls", strip_question=False,
    ),
    TableBenchmark(
        "chartqa", "relaxed_accuracy", "lmms-lab/ChartQA", "test", category="type", prompt=CHARTQA,
        strip_question=False,
    ),
    TableBenchmark("ocrbench", "ocrbench", "echo840/OCRBench", "test", category="question_type", primary="score"),
    TableBenchmark(
        "pope", "pope", "lmms-lab/POPE", "test", id="question_id", category="category", prompt=SHORT, primary="f1"
    ),
    TableBenchmark(
        "mme", "mme", "lmms-lab/MME", "test", category="category",
        group=lambda row: f"{row['category']}/{row['question_id']}", prompt=MME, primary="perception",
    ),
    TableBenchmark(
        "mmbench", "mmbench", "lmms-lab/MMBench", "dev", subset="en", id="index",
        options=("A", "B", "C", "D", "E"), hint="hint", category="category",
        group=lambda row: str(int(row["index"]) % 1_000_000), prompt=MMBENCH, primary="score",
        strip_question=False,
    ),
    TableBenchmark(
        "seedbench", "seedbench", "lmms-lab/SEED-Bench", "test", id="question_id",
        options=("choice_a", "choice_b", "choice_c", "choice_d"), category="question_type_id",
        keep=lambda row: row["data_type"] == "image", prompt=LETTER, strip_question=False,
    ),
    TableBenchmark(
        "mmstar", "mmstar", "Lin-Chen/MMStar", "val", id="index",
        options=lambda row: options_in_text(row["question"]),
        category=lambda row: f"{row['category']}/{row['l2_category']}", prompt=MMSTAR, primary="macro_accuracy",
    ),
    TableBenchmark(
        "scienceqa_img", "scienceqa", "lmms-lab/ScienceQA", "test", subset="ScienceQA-IMG",
        options="choices", answer_is_index=True, hint="hint", prompt=SCIENCEQA, strip_question=False,
    ),
    TableBenchmark(
        "ai2d", "ai2d", "lmms-lab/ai2d", "test", options="options", answer_is_index=True, prompt=LETTER,
        strip_question=False,
    ),
    TableBenchmark(
        "realworldqa", "realworldqa", "lmms-lab/RealWorldQA", "test",
        options=lambda row: options_in_text(row["question"]), prompt=PromptFormat(show_options=False),
    ),
    TableBenchmark(
        "cvbench", "cvbench", "nyu-visionx/CV-Bench", "test", question="prompt", id="idx",
        options="choices", category=lambda row: f"{row['type']}/{row['source']}", prompt=CVBENCH,
        strip_question=False,
    ),
    TableBenchmark(
        "mmvp", "mmvp", "MMVP/MMVP", question="Question", answers="Correct Answer", id="Index",
        options=mmvp_options, group=lambda row: str((int(row["Index"]) - 1) // 2),
        image_path=lambda row: f"MMVP Images/{row['Index']}.jpg", prompt=LETTER, primary="pair_accuracy",
        strip_question=False,
    ),
    TableBenchmark(
        "mmmu", "mmmu", "MMMU/MMMU", "validation", id="id", image="image_1", options=mmmu_options,
        category=mmmu_subject, prompt=MMMU, primary="score", strip_question=False,
    ),
    SyntheticBenchmark(),
    JudgedBenchmark("mmvet", "lmms-lab/MMVet"),
    JudgedBenchmark("llava_wild", "lmms-lab/llava-bench-in-the-wild"),
    JudgedBenchmark("hallusionbench", "lmms-lab/HallusionBench"),
    JudgedBenchmark("mathvista", "AI4Math/MathVista"),
    CUSTOM,
)  # fmt: skip

BENCHMARKS: Registry[Benchmark] = Registry("benchmark", "benchmarks")
for _benchmark in BUILT_IN:
    BENCHMARKS.register(_benchmark.name, _benchmark)


def benchmark_names() -> list[str]:
    """Every name `get_benchmark` accepts."""
    return BENCHMARKS.names()


def get_benchmark(name: str, /, **overrides: Any) -> Benchmark:
    """A registered benchmark, with fields overridden (e.g. `split`, `prompt`, column names); `suffix=` replaces
    just the prompt suffix. An unknown name raises :class:`fvl.registry.UnknownVariant` naming the choices.

    `custom` is a table benchmark over the user's own JSON/JSONL/parquet/CSV file or `save_to_disk` folder:
    `get_benchmark("custom", metric="exact_match", question="q", answers="a", image="img", image_root=...)`;
    `name=` renames it in the results.
    """
    suffix = overrides.pop("suffix", None)
    base = BENCHMARKS.get(name)
    benchmark = _with_fields(base, overrides) if overrides else base
    check_metric(benchmark)
    if suffix is None:
        return benchmark
    if not isinstance(benchmark, TableBenchmark):
        raise TypeError(f"benchmark {name} has no prompt suffix to set")
    return dataclasses.replace(benchmark, prompt=dataclasses.replace(benchmark.prompt, suffix=suffix))


def check_metric(benchmark: Benchmark) -> None:
    """Raise when a scorable benchmark names no metric (`custom` without `metric=`) or one that `METRICS` lacks."""
    if benchmark.skip_reason:
        return
    if not benchmark.metric:
        raise ValueError(
            f"a {benchmark.name} benchmark needs metric= one of {METRICS.names()}, got {benchmark.metric or None!r}"
        )
    METRICS.get(benchmark.metric)


def _with_fields(base: Benchmark, fields: dict[str, Any]) -> Benchmark:
    try:
        return dataclasses.replace(base, **fields)  # type: ignore[type-var]
    except TypeError as error:
        known = [f.name for f in dataclasses.fields(base)] if dataclasses.is_dataclass(base) else []
        kind = "table benchmark" if isinstance(base, TableBenchmark) else f"{base.name} benchmark"
        raise TypeError(f"bad benchmark settings {sorted(fields)} ({error}); {kind} fields: {known}") from error
