"""The held-out split of the project's synthetic generator (`fvl.data.synthetic.generate`), in LLaVA format.

A JSON list of `{id, image, conversations: [{from: human, value: "<image>\\nQuestion"}, {from: gpt, value:
"answer"}], question_type?}` with image paths relative to the file's folder. Scored by exact match after
normalisation, overall and per question type (`question_type`, or `type`), beside the question-only baseline:
the accuracy of always giving the most frequent answer of each question text, which shows how far the answers
can be guessed without the image.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fvl.constants import IMAGE_TOKEN
from fvl.data.synthetic.generate import question_only_baseline as records_baseline
from fvl.eval.benchmarks.base import Benchmark
from fvl.eval.images import to_pil
from fvl.eval.metrics.text import normalize_answer
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import SampleSet

logger = logging.getLogger(__name__)


def question_only_baseline(references: Sequence[EvalSample]) -> dict[str, float]:
    """The generator's question-only baseline (best constant answer per question text) on normalised answers,
    overall and per question type."""
    records = [
        {"question": s.question, "answer": normalize_answer(s.answers[0]), "question_type": s.category or ""}
        for s in references
        if s.answers
    ]
    if not records:
        return {}
    baseline = records_baseline(records)
    out = {"question_only_baseline": baseline["overall"]}
    out.update({f"question_only_baseline/{kind}": v for kind, v in baseline["per_type"].items() if kind})
    return out


@dataclass(frozen=True)
class SyntheticBenchmark(Benchmark):
    """The synthetic held-out split; `path` is the JSON file or the generator's output folder (`eval.json`)."""

    name: str = "synthetic"
    metric: str = "exact_match_normalized"  # case, punctuation and spacing ignored (the demo's numbers)
    primary: str = "accuracy"
    file_name: str = "eval.json"

    def load(
        self,
        path: str | Path,
        *,
        split: str | None = None,
        limit: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> SampleSet:
        file = self._file(path)
        try:
            records = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{file}: not valid JSON ({error}); regenerate it: {self.origin}") from error
        if not isinstance(records, list):
            raise ValueError(f"{file}: expected a JSON list of LLaVA-format samples, got a {type(records).__name__}")
        records = records[:limit] if limit is not None else records
        references = [_sample(record, i, file) for i, record in enumerate(records)]
        multi_turn = sum(len(record["conversations"]) > 2 for record in records)
        if multi_turn:
            logger.warning(
                "%s: %d samples have follow-up turns; only their first exchange is evaluated", file, multi_turn
            )
        return SampleSet(references, lambda i: to_pil(records[i].get("image"), file.parent), source=str(file))

    @property
    def origin(self) -> str:
        return "make it with `python -m fvl.data.synthetic.generate --out DIR`"

    def check(self, path: str | Path, *, split: str | None = None) -> None:
        self._file(path)

    def _file(self, path: str | Path) -> Path:
        path = Path(path).expanduser()
        file = path / self.file_name if path.is_dir() else path
        if not file.is_file():
            raise FileNotFoundError(f"synthetic eval file {file} not found; {self.origin}")
        return file

    def reference_scores(self, references: Sequence[EvalSample]) -> dict[str, float]:
        return question_only_baseline(references)


def _sample(record: dict[str, Any], index: int, file: Path) -> EvalSample:
    turns = record.get("conversations") if isinstance(record, dict) else None
    if not turns or len(turns) < 2 or turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
        raise ValueError(
            f"{file}: sample {index} is not LLaVA format; expected conversations starting with a human turn and a gpt "
            f"turn, got {record!r:.200}"
        )
    category = record.get("question_type", record.get("type"))
    return EvalSample(
        id=str(record.get("id", index)),
        image=None,
        question=turns[0]["value"].replace(IMAGE_TOKEN, "").strip(),
        answers=(str(turns[1]["value"]).strip(),),
        meta={"row": index},
        category=None if category is None else str(category),
    )
