"""How a benchmark question is turned into the prompt text, with the prompt suffixes lmms-eval uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fvl.eval.metrics.choice_parser import option_letters

SHORT_ANSWER = "\nAnswer the question using a single word or phrase."
LETTER_ANSWER = "\nAnswer with the option's letter from the given choices directly."


@dataclass(frozen=True)
class PromptFormat:
    """`prefix` + hint + question + options (lettered lines) + suffix.

    `prefix` may use `{letters}` ("A, B, C, D" for the question's options). `hint` formats a non-empty hint
    column. `open_suffix`, when set, replaces `suffix` for questions without options (MMMU's open questions).
    `show_options=False` for benchmarks whose question text already lists the options. `remove` is deleted from
    the question wherever it occurs (MME's " Please answer yes or no.", as lmms-eval's MME prompt does).
    `capitalize` sends the question as Python's `str.capitalize` gives it (first character upper-cased, the rest
    lower-cased: "what is the NBA logo?" → "What is the nba logo?"), as lmms-eval's TextVQA and VizWiz prompts do.
    """

    suffix: str = ""
    open_suffix: str | None = None
    prefix: str = ""
    hint: str = "{hint}\n"
    options_intro: str = "\n"
    show_options: bool = True
    remove: str = ""
    capitalize: bool = False

    def describe(self) -> str:
        """The fixed parts of the prompt, for the log: "suffix '\\n…'" (or "no suffix"), and any prefix."""
        parts = [f"suffix {self.suffix!r}" if self.suffix else "no suffix"]
        if self.open_suffix is not None:
            parts.append(f"suffix {self.open_suffix!r} for open questions")
        if self.prefix:
            parts.append(f"prefix {self.prefix!r}")
        if self.remove:
            parts.append(f"{self.remove!r} removed from the question")
        return ", ".join(parts)

    def render(self, question: str, options: Sequence[str] = (), hint: str | None = None) -> str:
        letters = option_letters(len(options))
        text = self.prefix.format(letters=", ".join(letters))
        if hint:
            text += self.hint.format(hint=hint)
        question = question.replace(self.remove, "") if self.remove else question
        text += question.capitalize() if self.capitalize else question
        if options and self.show_options:
            text += self.options_intro + "\n".join(
                f"{letter}. {option}" for letter, option in zip(letters, options, strict=True)
            )
        return text + (self.suffix if options or self.open_suffix is None else self.open_suffix)
