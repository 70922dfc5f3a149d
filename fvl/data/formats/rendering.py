"""What a conversation format produces: the rendered text and the character spans that are supervised.

Formats (:class:`ConversationFormat`: :mod:`fvl.data.formats.plain`, :mod:`fvl.data.formats.chat`, and any
registered in :data:`~fvl.data.formats.registry.FORMATS`) work on strings only; the encoder
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


FORMAT_SETTINGS = ("system_prompt", "conversation", "plain_layout")
"""The encoder settings (``data.<name>`` keys, recorded in the model) a format's constructor may take."""


class ConversationFormat(Protocol):
    """What a conversation format (an entry of :data:`~fvl.data.formats.registry.FORMATS`) provides.

    - constructor ``Format(tokenizer, **settings)``: the tokenizer, then as keyword parameters (with defaults)
      those of :data:`FORMAT_SETTINGS` it reads, named as they are (``system_prompt``, ``conversation``,
      ``plain_layout``); :func:`~fvl.data.encoding.make_format` passes it only the ones it names;
    - ``render(sample)``: the training text, to be tokenized as is (add BOS/EOS yourself), and the supervised
      ``[start, end)`` character spans in order (a :class:`Rendering`); a sample it cannot render exactly
      raises :class:`LabelMaskError`. ``<image>`` is already in place in the turns and must stay once;
    - ``render_prompt(turns, has_image)``: the generation prompt for turns ending with a user turn, laid out as
      ``render`` lays out the text before an answer.
    """

    def render(self, sample: Sample) -> Rendering: ...

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str: ...
