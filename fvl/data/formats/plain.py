"""The ``plain`` format of LLaVA-style pretraining, in one of two layouts (``data.plain_layout``):

- ``reference`` (the default, the reference recipe's): ``[bos] <image> caption \\n``; the caption and the
  trailing ``\\n`` are supervised, no EOS is added;
- ``eos`` (fvl's earlier layout): ``[bos] <image> \\n caption eos``; the caption and EOS are supervised.

BOS comes only as the tokenizer would add it (once). The user turn's text (usually a caption request such as
"Describe the image.") is replaced by the bare image, as in the recipe's pretraining stage; a text-only
sample is just its caption (``[bos] caption \\n``, or ``[bos] caption eos``). A sample with more than one
exchange cannot be plain and raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

from fvl.constants import IMAGE_TOKEN
from fvl.data.formats.registry import FORMATS
from fvl.data.formats.rendering import LabelMaskError, Rendering
from fvl.data.sample import Sample, Turn

PLAIN_LAYOUTS = ("reference", "eos")


def adds_bos(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the tokenizer starts sequences with its BOS token when asked to add special tokens."""
    if tokenizer.bos_token_id is None:
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == tokenizer.bos_token_id


def check_plain_layout(layout: str) -> None:
    """A ValueError naming the choices for an unknown ``layout``."""
    if layout not in PLAIN_LAYOUTS:
        raise ValueError(f"plain layout {layout!r} is unknown; use one of {list(PLAIN_LAYOUTS)}")


@FORMATS.register("plain")
class PlainFormat:
    """Image then caption; BOS as the tokenizer would add it. ``plain_layout`` (module docstring): ``reference``
    ends the caption with the supervised ``separator``; ``eos`` puts ``separator`` after the image and ends with
    EOS."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, plain_layout: str = "reference", separator: str = "\n"
    ) -> None:
        check_plain_layout(plain_layout)
        if plain_layout == "eos" and tokenizer.eos_token is None:
            raise ValueError("the plain layout 'eos' needs a tokenizer with an eos_token to end captions; set one")
        self._bos = tokenizer.bos_token if adds_bos(tokenizer) else ""
        self._after_image = separator if plain_layout == "eos" else ""
        self._end = tokenizer.eos_token if plain_layout == "eos" else separator

    def _prompt(self, has_image: bool) -> str:
        return self._bos + (IMAGE_TOKEN + self._after_image if has_image else "")

    def render(self, sample: Sample) -> Rendering:
        dialogue = [turn for turn in sample.turns if turn.role != "system"]
        if len(dialogue) != 2:
            raise LabelMaskError(
                sample.sample_id,
                f"the plain format takes one user/assistant exchange (image + caption), this sample has "
                f"{len(dialogue)} turns; use format='chat' for conversations",
            )
        prompt = self._prompt(sample.has_image)
        text = prompt + dialogue[1].content + self._end
        return Rendering(text, ((len(prompt), len(text)),))

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str:
        return self._prompt(has_image)
