"""What a conversation format produces: the rendered text and the character spans that are supervised.

Formats (:mod:`fvl.data.formats.plain`, :mod:`fvl.data.formats.chat`) work on strings only; the encoder
(:mod:`fvl.data.encoding`) tokenizes a rendering once and maps the spans onto tokens, checking that no token
crosses a span boundary. Any disagreement raises :class:`LabelMaskError` naming the sample, so a sample is
never trained on with silently wrong (or all-ignored) labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from fvl.data.sample import Sample, Turn


class LabelMaskError(ValueError):
    """The supervised part of a sample cannot be located exactly."""

    def __init__(self, sample_id: str, message: str) -> None:
        super().__init__(f"sample {sample_id!r}: {message}")
        self.sample_id = sample_id
        self.message = message

    def __reduce__(self) -> tuple:  # picklable, so a scan worker process can raise it to the main process
        return type(self), (self.sample_id, self.message)


@dataclass(frozen=True)
class Rendering:
    """``text`` to tokenize as is (no special tokens added) and its supervised ``[start, end)`` spans, in order."""

    text: str
    supervised: tuple[tuple[int, int], ...]


class ConversationFormat(Protocol):
    """Renders training samples (with supervision spans) and generation prompts."""

    def render(self, sample: Sample) -> Rendering: ...

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str: ...
