"""Samples to token ids and labels: tokenize a rendering once, map supervision onto tokens, expand the image.

:class:`SampleEncoder` is the single place where text becomes ids, for training (``encode``) and generation
(``encode_prompt``); both place ``<image>`` the same way first (``image_placement``,
:func:`~fvl.data.sample.place_image_token`). The placeholder must be one registered token; it is expanded to exactly
``num_image_tokens`` copies (never supervised), so every length is known before the model runs.
``max_length`` counts image tokens. Over-long samples follow ``overlong``:

- ``truncate``: cut text from the end; a sample whose image block would be cut, or that keeps no supervised
  token, is dropped instead;
- ``drop``: drop it.

Dropping raises :class:`OverlongError`; the dataset scan catches, counts and reports it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace

from transformers import PreTrainedTokenizerBase

from fvl.constants import IGNORE_INDEX, IMAGE_TOKEN
from fvl.data.formats.registry import FORMATS
from fvl.data.formats.rendering import ConversationFormat, LabelMaskError, Rendering
from fvl.data.sample import Sample, Turn, check_image_placement, place_image_token
from fvl.registry import accepted_parameters

OVERLONG_POLICIES = ("truncate", "drop")


class OverlongError(ValueError):
    """A sample exceeds ``max_length`` and the policy (or the image position) says drop it."""

    def __init__(self, sample_id: str, reason: str) -> None:
        super().__init__(f"sample {sample_id!r}: {reason}")
        self.sample_id = sample_id
        self.reason = reason

    def __reduce__(self) -> tuple:  # picklable across processes, as LabelMaskError
        return type(self), (self.sample_id, self.reason)


@dataclass(frozen=True)
class EncodedSample:
    """Token ids with the image placeholder expanded, their labels, and whether truncation happened."""

    input_ids: list[int]
    labels: list[int]
    has_image: bool
    truncated: bool = False

    @property
    def predicted_tokens(self) -> int:
        """Supervised tokens the loss counts: labelled positions after the first (a causal LM predicts token
        ``t`` from those before it, so a label on position 0 has nothing to predict it from)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE_INDEX)


def image_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The id of ``<image>``; raises when the tokenizer does not keep it as one token."""
    ids = tokenizer(IMAGE_TOKEN, add_special_tokens=False)["input_ids"]
    if len(ids) != 1:
        raise ValueError(
            f"the tokenizer splits {IMAGE_TOKEN!r} into {len(ids)} tokens; register it as a special token first "
            "(tokenizer.add_special_tokens({'additional_special_tokens': ['<image>']}) or "
            "fvl.models.language_model.prepare_tokenizer)"
        )
    return ids[0]


def supervised_labels(
    ids: Sequence[int], offsets: Sequence[tuple[int, int]], rendering: Rendering, sample_id: str
) -> list[int]:
    """Labels that copy ``ids`` for tokens starting inside a supervised span, checking no token crosses a span edge."""
    edges = sorted({edge for span in rendering.supervised for edge in span})
    starts = [span[0] for span in rendering.supervised]
    labels = []
    for token_id, (start, end) in zip(ids, offsets, strict=True):
        crossing = bisect.bisect_right(edges, start)
        if crossing < len(edges) and edges[crossing] < end:
            raise LabelMaskError(
                sample_id,
                f"token {rendering.text[start:end]!r} crosses the edge of a supervised span at character "
                f"{edges[crossing]}: the tokenizer merges text across a turn boundary of this template, so "
                "labels would be wrong; use a template that separates turns with special tokens or newlines",
            )
        span = bisect.bisect_right(starts, start) - 1
        inside = span >= 0 and start < rendering.supervised[span][1]
        labels.append(token_id if inside else IGNORE_INDEX)
    return labels


def make_format(name: str, tokenizer: PreTrainedTokenizerBase, **settings: object) -> ConversationFormat:
    """The registered format ``name`` (:data:`~fvl.data.formats.registry.FORMATS`) for ``tokenizer``, given those
    of the encoder ``settings`` (:data:`~fvl.data.formats.rendering.FORMAT_SETTINGS`) its constructor names
    (all of them when it takes ``**kwargs``); an unknown ``name`` raises naming the registered formats."""
    format_class = FORMATS.get(name)
    parameters = accepted_parameters(format_class)
    taken = settings if parameters is None else {key: value for key, value in settings.items() if key in parameters}
    return format_class(tokenizer, **taken)


class SampleEncoder:
    """Renders, tokenizes and labels samples for one tokenizer, format and image-token count.

    ``plain_layout`` (reference|eos) is the plain format's layout (:mod:`fvl.data.formats.plain`);
    ``image_placement`` (turn_start|as_given) where ``<image>`` goes (:func:`~fvl.data.sample.place_image_token`),
    for training samples and prompts alike. ``settings`` holds the options besides the tokenizer as plain values
    (part of the scan cache key).
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        num_image_tokens: int,
        format: str = "chat",
        system_prompt: str | None = None,
        max_length: int | None = None,
        overlong: str = "truncate",
        conversation: str | None = None,
        plain_layout: str = "reference",
        image_placement: str = "turn_start",
    ) -> None:
        check_image_placement(image_placement)
        if overlong not in OVERLONG_POLICIES:
            raise ValueError(f"overlong policy {overlong!r} is unknown; use one of {OVERLONG_POLICIES}")
        if num_image_tokens <= 0:
            raise ValueError(f"num_image_tokens must be positive, got {num_image_tokens}")
        if max_length is not None and max_length <= num_image_tokens:
            raise ValueError(f"max_length {max_length} leaves no room for text after {num_image_tokens} image tokens")
        self.tokenizer = tokenizer
        self.num_image_tokens = num_image_tokens
        self.max_length = max_length
        self.overlong = overlong
        self.image_token_id = image_token_id(tokenizer)
        self.image_placement = image_placement
        self.format = make_format(
            format, tokenizer, system_prompt=system_prompt, conversation=conversation, plain_layout=plain_layout
        )
        self.settings = {
            "format": format,
            "system_prompt": system_prompt,
            "conversation": conversation,
            "plain_layout": plain_layout,
            "image_placement": image_placement,
            "num_image_tokens": num_image_tokens,
            "max_length": max_length,
            "overlong": overlong,
        }

    def _expand_image(self, ids: list[int], labels: list[int], has_image: bool, sample_id: str) -> tuple[list, list]:
        positions = [i for i, token in enumerate(ids) if token == self.image_token_id]
        if len(positions) != int(has_image):
            raise LabelMaskError(
                sample_id,
                f"the rendering holds {len(positions)} {IMAGE_TOKEN!r} tokens, expected {int(has_image)}; "
                "the template or format must keep the placeholder exactly once per image",
            )
        if not positions:
            return ids, labels
        at = positions[0]
        if labels[at] != IGNORE_INDEX:
            raise LabelMaskError(sample_id, f"{IMAGE_TOKEN!r} falls inside a supervised span")
        block = [self.image_token_id] * self.num_image_tokens
        return ids[:at] + block + ids[at + 1 :], labels[:at] + [IGNORE_INDEX] * self.num_image_tokens + labels[at + 1 :]

    def _fit(self, ids: list[int], labels: list[int], has_image: bool, sample_id: str) -> EncodedSample:
        if self.max_length is None or len(ids) <= self.max_length:
            return EncodedSample(ids, labels, has_image)
        if self.overlong == "drop":
            raise OverlongError(sample_id, f"{len(ids)} tokens > max_length {self.max_length} (policy drop)")
        if has_image and ids.index(self.image_token_id) + self.num_image_tokens > self.max_length:
            raise OverlongError(sample_id, f"its image tokens do not fit in max_length {self.max_length}")
        ids, labels = ids[: self.max_length], labels[: self.max_length]
        if all(label == IGNORE_INDEX for label in labels):
            raise OverlongError(sample_id, f"no supervised token is left after truncation to {self.max_length}")
        return EncodedSample(ids, labels, has_image, truncated=True)

    def encode(self, sample: Sample) -> EncodedSample:
        """Token ids and labels of a training sample; raises LabelMaskError (bad data/template) or OverlongError."""
        turns = place_image_token(sample.turns, sample.sample_id, sample.has_image, self.image_placement)
        rendering = self.format.render(replace(sample, turns=tuple(turns)))
        encoding = self.tokenizer(rendering.text, add_special_tokens=False, return_offsets_mapping=True)
        ids = encoding["input_ids"]
        labels = supervised_labels(ids, encoding["offset_mapping"], rendering, sample.sample_id)
        if all(label == IGNORE_INDEX for label in labels):
            raise LabelMaskError(sample.sample_id, "no token is supervised; the answer is empty or was not found")
        ids, labels = self._expand_image(ids, labels, sample.has_image, sample.sample_id)
        return self._fit(ids, labels, sample.has_image, sample.sample_id)

    def render_prompt(self, conversation: str | Sequence[Turn], has_image: bool, prompt_id: str = "<prompt>") -> str:
        """The generation prompt's text for a question (or turns ending with a user turn), ``<image>`` placed as
        in training and not yet expanded; ``prompt_id`` names the prompt in errors."""
        turns = [Turn("user", conversation)] if isinstance(conversation, str) else list(conversation)
        turns = place_image_token(turns, prompt_id, has_image, self.image_placement)
        return self.format.render_prompt(turns, has_image)

    def encode_prompt(self, conversation: str | Sequence[Turn], has_image: bool) -> list[int]:
        """Prompt ids for generation from a question (or turns ending with a user turn), image expanded."""
        text = self.render_prompt(conversation, has_image)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        ids, _ = self._expand_image(ids, [IGNORE_INDEX] * len(ids), has_image, "<prompt>")
        return ids
