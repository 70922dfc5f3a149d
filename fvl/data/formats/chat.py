"""The ``chat`` format: the tokenizer's own chat template decides the text; supervision is located per turn.

For assistant message ``k`` the supervised span is found by rendering prefixes of the conversation:

- start: the length of ``render(messages[:k], add_generation_prompt=True)``, which must be a prefix of the
  full rendering (the answer starts right after the assistant header);
- end: the last message ends the rendering; otherwise ``render(messages[:k + 1])`` and the full rendering agree
  up to the next turn's header. Templates that close a finished conversation (Phi-3.5 appends EOS) differ
  from that point on; the agreement is cut back so it never ends inside a special token.

So the span is the answer plus whatever the template appends up to the next header: the end-of-turn token
(``<|end|>`` + newline for Phi-3.5, ``<|eot_id|>`` for Llama-3.1) and, after the last turn, any closing EOS.
Everything else (system blocks such as Llama-3.1's injected "Cutting Knowledge Date", user turns, headers)
is context. Any template that re-renders earlier turns differently or drops an answer raises
:class:`~fvl.data.formats.rendering.LabelMaskError` naming the sample.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from transformers import PreTrainedTokenizerBase

from fvl.data.formats.registry import FORMATS
from fvl.data.formats.rendering import LabelMaskError, Rendering
from fvl.data.formats.templates import conversation_template, default_system_prompt
from fvl.data.sample import Sample, Turn


@FORMATS.register("chat")
class ChatFormat:
    """Renders with ``tokenizer.apply_chat_template``; ``system_prompt`` is used for samples without one.

    ``conversation`` (a name in :data:`~fvl.data.formats.templates.CONVERSATIONS`: ``llama3`` | ``phi3`` | ...)
    renders with that conversation template instead of the tokenizer's, its system text the default system
    prompt."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, system_prompt: str | None = None, conversation: str | None = None
    ) -> None:
        self._template = conversation_template(conversation, tokenizer) if conversation else tokenizer.chat_template
        if not self._template:
            raise ValueError(
                "the tokenizer has no chat_template: set tokenizer.chat_template, data.conversation=llama3|phi3, "
                "or use format='plain'"
            )
        self._tokenizer = tokenizer
        self._system_prompt = default_system_prompt(conversation, system_prompt)
        specials = sorted((token.content for token in tokenizer.added_tokens_decoder.values()), key=len, reverse=True)
        self._special = re.compile("|".join(re.escape(token) for token in specials)) if specials else None
        self._longest_special = len(specials[0]) if specials else 0

    def _messages(self, turns: Sequence[Turn]) -> list[dict[str, str]]:
        messages = [{"role": turn.role, "content": turn.content} for turn in turns]
        if self._system_prompt is not None and messages[0]["role"] != "system":
            messages.insert(0, {"role": "system", "content": self._system_prompt})
        return messages

    def _render(self, messages: list[dict[str, str]], generation_prompt: bool, sample_id: str) -> str:
        try:
            return self._tokenizer.apply_chat_template(
                messages, chat_template=self._template, tokenize=False, add_generation_prompt=generation_prompt
            )
        except Exception as error:  # jinja raises TemplateError, templates call raise_exception(...)
            raise LabelMaskError(sample_id, f"the chat template failed: {type(error).__name__}: {error}") from error

    def _turn_end(self, partial: str, full: str) -> int:
        """Where ``partial`` (a conversation ending after an answer) stops agreeing with ``full``."""
        end = len(os.path.commonprefix([partial, full]))
        if self._special is not None:
            window_start = max(0, end - self._longest_special)
            for match in self._special.finditer(full, window_start, end + self._longest_special):
                if match.start() < end < match.end():
                    return match.start()
        return end

    def render(self, sample: Sample) -> Rendering:
        sample_id = sample.sample_id
        messages = self._messages(sample.turns)
        full = self._render(messages, False, sample_id)
        spans: list[tuple[int, int]] = []
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prompt = self._render(messages[:k], True, sample_id)
            if not full.startswith(prompt):
                raise LabelMaskError(
                    sample_id,
                    f"the chat template renders the conversation up to assistant turn {k} (with the generation "
                    "prompt) differently from the start of the full conversation, so the answer cannot be "
                    "located; this template rewrites earlier turns: use another template or format='plain'",
                )
            start = len(prompt)
            last = k == len(messages) - 1
            end = len(full) if last else self._turn_end(self._render(messages[: k + 1], False, sample_id), full)
            if spans and start < spans[-1][1] or message["content"].strip() not in full[start:end]:
                raise LabelMaskError(
                    sample_id,
                    f"assistant turn {k} ({message['content'][:40]!r}) is not where the chat template puts "
                    f"assistant text (found {full[start:end]!r}); check the template's assistant rendering",
                )
            spans.append((start, end))
        return Rendering(full, tuple(spans))

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str:
        return self._render(self._messages(turns), True, "<prompt>")
