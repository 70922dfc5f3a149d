"""One evaluation sample: what the model is shown (image, prompt text) and what scoring needs (answers, …)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image


@dataclass(frozen=True)
class EvalSample:
    """A benchmark question ready for generation and scoring.

    `question` is the full prompt text (benchmark prompt suffix included, no image placeholder: the model side
    places the image). `answers` are the references (empty on unlabelled test splits). `options` are the option
    texts of a multiple-choice question, lettered A, B, … in order. `category` and `group` feed per-category
    reporting and all-correct-per-group scoring (MMBench circular shifts, MME image pairs, MMVP pairs).
    """

    id: str
    image: Image.Image | None
    question: str
    answers: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] = ()
    category: str | None = None
    group: str | None = None

    def record(self) -> dict[str, Any]:
        """JSON-serialisable description of the sample (no image), for per-sample prediction files."""
        out: dict[str, Any] = {"id": self.id, "question": self.question, "answers": list(self.answers)}
        if self.options:
            out["options"] = list(self.options)
        if self.category is not None:
            out["category"] = self.category
        if self.group is not None:
            out["group"] = self.group
        return out
