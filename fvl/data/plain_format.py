"""The ``plain`` format of LLaVA-style pretraining: ``[bos] <image> separator caption eos``.

Only the caption and the end token are supervised. The user turn's text (usually a caption request such as
"Describe the image.") is replaced by the bare image, as in the recipe's pretraining stage; a text-only
sample is just its caption. A sample with more than one exchange cannot be plain and raises.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

from fvl.constants import IMAGE_TOKEN
from fvl.data.rendering import LabelMaskError, Rendering
from fvl.data.sample import Sample, Turn


def adds_bos(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the tokenizer starts sequences with its BOS token when asked to add special tokens."""
    if tokenizer.bos_token_id is None:
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == tokenizer.bos_token_id


class PlainFormat:
    """Image then caption; BOS as the tokenizer would add it, EOS always (it is the supervised stop signal)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, separator: str = "\n") -> None:
        if tokenizer.eos_token is None:
            raise ValueError("the plain format needs a tokenizer with an eos_token to end captions; set one")
        self._bos = tokenizer.bos_token if adds_bos(tokenizer) else ""
        self._eos = tokenizer.eos_token
        self._separator = separator

    def _prompt(self, has_image: bool) -> str:
        return self._bos + (IMAGE_TOKEN + self._separator if has_image else "")

    def render(self, sample: Sample) -> Rendering:
        dialogue = [turn for turn in sample.turns if turn.role != "system"]
        if len(dialogue) != 2:
            raise LabelMaskError(
                sample.sample_id,
                f"the plain format takes one user/assistant exchange (image + caption), this sample has "
                f"{len(dialogue)} turns; use format='chat' for conversations",
            )
        prompt = self._prompt(sample.has_image)
        text = prompt + dialogue[1].content + self._eos
        return Rendering(text, ((len(prompt), len(text)),))

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str:
        return self._prompt(has_image)
