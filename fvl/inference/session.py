"""Conversations with a model: the one place a conversation becomes model inputs, and streamed replies.

A :class:`Conversation` is an optional image and the turns so far. :class:`ChatModel` turns it plus a new question
into prompt ids with the predictor's ``SampleEncoder`` (the model's recorded ``input_format``: chat template or
plain, system prompt, layout), so the image stays in the first user turn exactly as training placed it, every
earlier question and answer is in the prompt, and the image goes through the same processor and collator as in
evaluation. :func:`stream_generate` runs ``FlorenceVL.generate`` on a thread with a ``TextIteratorStreamer`` and
yields text pieces as tokens come; with the same options the joined pieces equal ``ModelPredictor``'s reply.
Stopping the iteration early (Ctrl-C, a closed browser tab) stops generation at the next token.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image
from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

from fvl.constants import IMAGE_TOKEN
from fvl.data.sample import Turn
from fvl.eval.predictor import ModelPredictor
from fvl.models.florence_vl import FlorenceVL


class ConversationError(ValueError):
    """A question the conversation cannot take (too long for the model, a stray ``<image>``); the message says why."""


@dataclass
class Conversation:
    """An optional image and the user/assistant turns so far (the image belongs to the first user turn)."""

    image: Image.Image | None = None
    turns: list[Turn] = field(default_factory=list)

    def with_question(self, question: str) -> list[Turn]:
        """The turns so far followed by ``question`` as the next user turn."""
        return [*self.turns, Turn("user", question)]

    def record(self, question: str, answer: str) -> None:
        self.turns += [Turn("user", question), Turn("assistant", answer)]


class _StopWhenSet(StoppingCriteria):
    """Ends generation at the next token once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def stream_generate(
    model: FlorenceVL, batch: dict[str, Any], device: torch.device, max_new_tokens: int, **generate_kwargs: Any
) -> Iterator[str]:
    """Text pieces of the reply to a one-prompt ``batch`` (from ``GenerationCollator``) as they are generated.

    Generation runs on a thread; an error there is raised here once the pieces so far are out. Closing the iterator
    (or leaving the loop over it) stops the generation and waits for the thread."""
    streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True)
    stop = threading.Event()
    failure: list[BaseException] = []
    pixels = batch["pixel_values"]

    def generate() -> None:
        try:
            model.generate(
                batch["input_ids"].to(device),
                batch["attention_mask"].to(device),
                None if pixels is None else pixels.to(device),
                sample_ids=batch["sample_ids"],
                max_new_tokens=max_new_tokens,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]),
                **generate_kwargs,
            )
        except BaseException as error:  # noqa: BLE001 — handed to the caller's thread below
            failure.append(error)
            streamer.end()

    thread = threading.Thread(target=generate, name="fvl-generate", daemon=True)
    thread.start()
    try:
        yield from streamer
    finally:
        stop.set()
        thread.join()
    if failure:
        raise failure[0]


class ChatModel:
    """Answers conversations with the model a :class:`ModelPredictor` holds, with its encoder and options."""

    def __init__(self, predictor: ModelPredictor, suffix: str = "") -> None:
        self.predictor = predictor
        self.suffix = suffix  # appended to every question (--prompt-suffix), kept in the conversation
        config = predictor.model.llm.config.get_text_config()
        self.context_length: int | None = getattr(config, "max_position_embeddings", None)

    @property
    def max_new_tokens(self) -> int:
        return self.predictor.max_new_tokens

    def _checked_turns(self, conversation: Conversation, question: str) -> list[Turn]:
        if IMAGE_TOKEN in question:
            raise ConversationError(
                f"the question contains {IMAGE_TOKEN!r}, which stands for the image; give the image itself "
                "(--image, /image or the upload box) and leave the placeholder out"
            )
        return conversation.with_question(question + self.suffix)

    def render_prompt(self, conversation: Conversation, question: str) -> str:
        """The prompt text for ``question`` after ``conversation`` (``<image>`` not yet expanded)."""
        turns = self._checked_turns(conversation, question)
        return self.predictor.encoder.render_prompt(turns, conversation.image is not None, "chat")

    def prompt_ids(self, conversation: Conversation, question: str) -> list[int]:
        """Token ids of that prompt, the image expanded to the model's image tokens."""
        turns = self._checked_turns(conversation, question)
        return self.predictor.encoder.encode_prompt(turns, has_image=conversation.image is not None)

    def batch(self, conversation: Conversation, question: str) -> dict[str, Any]:
        """The one-prompt model batch for ``question``; refuses a prompt the model's context cannot hold."""
        ids = self.prompt_ids(conversation, question)
        if self.context_length and len(ids) + self.max_new_tokens > self.context_length:
            raise ConversationError(
                f"the conversation is {len(ids)} tokens; with up to {self.max_new_tokens} new tokens it would pass "
                f"the model's context of {self.context_length} tokens. Start a new conversation (/reset, or Clear)."
            )
        image = conversation.image
        pixels = None if image is None else self.predictor.processor(image)
        item = {"input_ids": torch.tensor(ids), "pixel_values": pixels, "sample_id": "chat"}
        return self.predictor.collate([item])

    def stream(self, conversation: Conversation, question: str) -> Iterator[str]:
        """The reply's text pieces as they are generated, leading whitespace dropped; the finished exchange is
        added to ``conversation`` (stripped, as ``ModelPredictor`` returns replies). A stopped reply adds nothing.
        A question the conversation cannot take raises :class:`ConversationError` here, before any piece."""
        return self._pieces(self.batch(conversation, question), conversation, question)

    def _pieces(self, batch: dict[str, Any], conversation: Conversation, question: str) -> Iterator[str]:
        predictor, pieces = self.predictor, []
        options = predictor.generate_kwargs
        generated = stream_generate(predictor.model, batch, predictor.device, self.max_new_tokens, **options)
        with closing(generated):  # leaving early stops the generation at once
            for piece in generated:
                if not piece or not pieces and not piece.strip():
                    continue
                piece = piece if pieces else piece.lstrip()
                pieces.append(piece)
                yield piece
        conversation.record(question + self.suffix, "".join(pieces).strip())

    def reply(self, conversation: Conversation, question: str) -> str:
        """The whole reply at once (recorded in ``conversation`` as :meth:`stream` does)."""
        return "".join(self.stream(conversation, question)).strip()
