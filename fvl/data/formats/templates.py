"""The reference's conversation templates (``llama3``, ``phi3``), used in place of a tokenizer's own chat template.

Florence-VL's reference code renders its SFT data with its own conversation classes, not the tokenizers'
templates: Llama-3.1-Instruct's template would inject a "Cutting Knowledge Date" system block, and Phi-3.5's
closes a finished conversation with EOS. ``data.conversation=llama3|phi3`` renders chat data the reference's way:

* ``llama3``: ``<|start_header_id|>{role}<|end_header_id|>\\n\\n{content}<|eot_id|>`` per turn, the system text
  below in its own header block;
* ``phi3``: ``<|{role}|>\\n{content}<|end|>`` per turn, turns joined by ``\\n``, system "You are a helpful AI
  assistant.".

Both start with the tokenizer's BOS when it adds one — once. The reference also writes a literal
``<|begin_of_text|>`` into its system text while its tokenizer adds BOS, so its 8B model was trained on a double
BOS; ``data.conversation=llama3_double_bos`` reproduces that (the ``llama3`` conversation with a second BOS),
for matching the reference exactly.

They are the entries of :data:`CONVERSATIONS` (``data.conversation``); add one with
``CONVERSATIONS.register("name", Conversation(template=<jinja chat template>, system_prompt=<text or None>))``.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from fvl.data.formats.plain import adds_bos
from fvl.registry import Registry

SYSTEM_PROMPTS = {
    "llama3": "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the user's questions.",
    "phi3": "You are a helpful AI assistant.",
}
SYSTEM_PROMPTS["llama3_double_bos"] = SYSTEM_PROMPTS["llama3"]


@dataclass(frozen=True)
class Conversation:
    """A conversation template: ``template`` is a jinja chat template (``messages``, ``add_generation_prompt``,
    ``bos_token``) without the leading BOS, which is added when the tokenizer adds one; ``system_prompt`` is
    the system text of samples without one (None: no system turn) unless ``data.system_prompt`` is set."""

    template: str
    system_prompt: str | None = None


CONVERSATIONS: Registry[Conversation] = Registry("conversation", "data.conversation")
_LLAMA3 = (
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
_PHI3 = (
    "{% for message in messages %}{% if not loop.first %}{{ '\n' }}{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '\n<|assistant|>\n' }}{% endif %}"
)
CONVERSATIONS.register("llama3", Conversation(_LLAMA3, SYSTEM_PROMPTS["llama3"]))
CONVERSATIONS.register("phi3", Conversation(_PHI3, SYSTEM_PROMPTS["phi3"]))
CONVERSATIONS.register("llama3_double_bos", Conversation("{{ bos_token }}" + _LLAMA3, SYSTEM_PROMPTS["llama3"]))


def conversation_template(name: str, tokenizer: PreTrainedTokenizerBase) -> str:
    """The conversation ``name`` as a chat template, starting with BOS when the tokenizer adds one; an unknown
    ``name`` raises naming the registered ones."""
    return ("{{ bos_token }}" if adds_bos(tokenizer) else "") + CONVERSATIONS.get(name).template


def default_system_prompt(conversation: str | None, system_prompt: str | None) -> str | None:
    """The system prompt a sample without one gets: the given one, else the conversation's."""
    if system_prompt is not None or conversation is None:
        return system_prompt
    return CONVERSATIONS.get(conversation).system_prompt
