"""The normalised training sample: an id, an optional image reference and a validated conversation.

Every source (LLaVA JSON/JSONL, Hugging Face ``datasets``) turns its records into :class:`Sample` through
:func:`make_sample`, which accepts both LLaVA turns (``from: human|gpt|system``, ``value``) and chat turns
(``role: user|assistant|system``, ``content``), checks the structure, and places the image placeholder:
where the sample puts it, or as ``<image>\\n`` before the first user turn when the sample has an image but no
placeholder. :func:`place_image_token` then places it for rendering (the encoder's ``image_placement``):
``turn_start`` (the default, the reference's) moves the tag to the start of the user turn that holds it, that
turn becoming ``<image>\\n`` + the rest of its text stripped (just ``<image>`` when there is no rest), so
``"Describe this.\\n<image>"`` becomes ``"<image>\\nDescribe this."``; ``as_given`` leaves it where the sample put
it. Structural problems raise :class:`SampleError` naming the sample, never a silent fix: a turn
that is not a mapping, an unknown speaker, a missing or ``null`` text, turns that do not alternate, a last turn
without an answer, an empty (blank) answer, whose only supervised token would be the end token, and a misplaced
or extra ``<image>`` placeholder. The scan (:mod:`fvl.data.scan.source_scan`) counts these as ``skipped_malformed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fvl.constants import IMAGE_TOKEN

# LLaVA speaker names and chat roles, both mapped onto chat roles.
_ROLE_NAMES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}

# What an image reference may be: a file path, encoded bytes, a PIL image, or a `datasets` Image dict
# ({"bytes": ..., "path": ...}). Sources decide; `fvl.data.images.load_image` opens all of them.
ImageRef = Any

# Where the placeholder goes for rendering (module docstring): the reference's move to its turn's start, or unmoved.
IMAGE_PLACEMENTS = ("turn_start", "as_given")


class SampleError(ValueError):
    """A record cannot be turned into a valid sample (bad structure, misplaced image placeholder)."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, with a chat role (``system``, ``user`` or ``assistant``)."""

    role: str
    content: str


@dataclass(frozen=True)
class Sample:
    """A conversation with at most one image; ``turns`` alternate user/assistant after an optional system turn."""

    sample_id: str
    turns: tuple[Turn, ...]
    image: ImageRef | None = None

    @property
    def has_image(self) -> bool:
        return self.image is not None


def _first_set(raw: Mapping[str, Any], keys: tuple[str, str]) -> Any:
    """The first of ``keys`` holding a value (datasets' struct columns hold both key pairs, one of them null)."""
    value = raw.get(keys[0])
    return raw.get(keys[1]) if value is None else value


def _parse_turn(raw: Any, sample_id: str, position: int) -> Turn:
    if not isinstance(raw, Mapping):
        raise SampleError(f"sample {sample_id!r}: turn {position} is {type(raw).__name__}, expected a mapping")
    speaker = _first_set(raw, ("from", "role"))
    content = _first_set(raw, ("value", "content"))
    if speaker not in _ROLE_NAMES:
        raise SampleError(
            f"sample {sample_id!r}: turn {position} has speaker {speaker!r}; "
            f"expected one of {sorted(_ROLE_NAMES)} under the key 'from' or 'role'"
        )
    if not isinstance(content, str):
        raise SampleError(
            f"sample {sample_id!r}: turn {position} has no text under 'value' or 'content' (got {content!r})"
        )
    return Turn(_ROLE_NAMES[speaker], content)


def _check_structure(turns: Sequence[Turn], sample_id: str) -> None:
    dialogue = turns[1:] if turns and turns[0].role == "system" else turns
    if not dialogue:
        raise SampleError(f"sample {sample_id!r}: the conversation has no user/assistant turns")
    for position, turn in enumerate(dialogue):
        expected = "user" if position % 2 == 0 else "assistant"
        if turn.role != expected:
            raise SampleError(
                f"sample {sample_id!r}: turn {position} is {turn.role!r} where {expected!r} was expected; "
                "conversations must alternate user/assistant after an optional leading system turn"
            )
        if turn.role == "assistant" and not turn.content.strip():
            raise SampleError(
                f"sample {sample_id!r}: turn {position} is an empty answer, so only the end token would be "
                "supervised; write the answer or remove the exchange"
            )
    if dialogue[-1].role != "assistant":
        raise SampleError(f"sample {sample_id!r}: the conversation ends with a user turn that has no answer")


def check_image_placement(placement: str) -> None:
    """A ValueError naming the choices for an unknown ``placement``."""
    if placement not in IMAGE_PLACEMENTS:
        raise ValueError(f"image placement {placement!r} is unknown; use one of {list(IMAGE_PLACEMENTS)}")


def _moved_to_start(turn: Turn) -> Turn:
    """The reference's placement: ``<image>\\n`` + the rest of the turn, stripped (``<image>`` alone if none)."""
    rest = turn.content.replace(IMAGE_TOKEN, "").strip()
    return Turn(turn.role, f"{IMAGE_TOKEN}\n{rest}".strip())


def place_image_token(
    turns: Sequence[Turn], sample_id: str, has_image: bool, placement: str = "turn_start"
) -> list[Turn]:
    """Check the placeholder count (one with an image, none without, in a user turn) and place it: first when
    the text has none, else per ``placement`` (``turn_start``: at the start of its turn; ``as_given``: unmoved)."""
    check_image_placement(placement)
    counts = [turn.content.count(IMAGE_TOKEN) for turn in turns]
    total = sum(counts)
    if not has_image:
        if total:
            raise SampleError(
                f"sample {sample_id!r}: the text contains {IMAGE_TOKEN!r} but the sample has no image; "
                "add the image or remove the placeholder"
            )
        return list(turns)
    if total > 1:
        raise SampleError(f"sample {sample_id!r}: {total} {IMAGE_TOKEN!r} placeholders; one image allows one")
    if total == 1:
        at = counts.index(1)
        holder = turns[at]
        if holder.role != "user":
            raise SampleError(
                f"sample {sample_id!r}: {IMAGE_TOKEN!r} is in a {holder.role} turn, put it in a user turn"
            )
        if placement == "as_given":
            return list(turns)
        return [*turns[:at], _moved_to_start(holder), *turns[at + 1 :]]
    first_user = next(i for i, turn in enumerate(turns) if turn.role == "user")
    placed = Turn("user", f"{IMAGE_TOKEN}\n{turns[first_user].content}")
    return [*turns[:first_user], placed, *turns[first_user + 1 :]]


def make_sample(sample_id: str, raw_turns: Any, image: ImageRef | None) -> Sample:
    """Validate ``raw_turns`` (LLaVA or chat style) and return a :class:`Sample` with the placeholder where the
    sample put it (or first when it has none); the encoder applies its ``image_placement`` when rendering."""
    if isinstance(raw_turns, (str, bytes)) or not isinstance(raw_turns, Sequence):
        raise SampleError(
            f"sample {sample_id!r}: conversations must be a list of turns, got {type(raw_turns).__name__}"
        )
    turns = [_parse_turn(raw, sample_id, position) for position, raw in enumerate(raw_turns)]
    _check_structure(turns, sample_id)
    return Sample(sample_id, tuple(place_image_token(turns, sample_id, image is not None, "as_given")), image)
