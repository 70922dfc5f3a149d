"""lmms-eval 0.7.3's shared option-letter extractor (`_task_utils/mcq_extract.py`), rule for rule; MMStar and
RealWorldQA score with it.

`extract_mcq_answer(reply, letters)` collects candidate letters (only the given capitals count; the reply is
not upper-cased) and returns the one of the highest-priority kind, the latest in the reply among equals, or ""
when there is none:

- the reply is stripped of whitespace, then of each of `, . ! ? ; : ' "` in turn (one `str.strip(char)` per
  character, in that order), and padded with a space on each side;
- kinds, by priority: the reply starts with the letter and the next character is not a letter (10); it ends
  with the letter and the character before is not a letter (9); the first occurrence of the letter anywhere
  after the first occurrence of an answer phrase such as "the answer is" or "i choose" (found
  case-insensitively; the letter need not stand alone: "the answer is Dog" gives D) (7); the last "(X)" (6),
  "X." (5), "X:" (4), "X)" (3) or "X " (2);
- only when no other kind matched: the letter anywhere, even inside a word ("Cat" gives C) (0).
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H")

# lmms-eval's list, in its order (English, then Korean, Chinese and Japanese phrases).
ANSWER_PHRASES = (
    "the answer is",
    "answer is",
    "the correct answer is",
    "correct answer is",
    "the best answer is",
    "best answer is",
    "the correct option is",
    "correct option is",
    "the best option is",
    "best option is",
    "the choice is",
    "choice is",
    "the correct choice is",
    "correct choice is",
    "i choose",
    "i select",
    "i pick",
    "my answer is",
    "my choice is",
    "옵션",
    "정답은",
    "답은",
    "답:",
    "答案是",
    "答案为",
    "选",
    "答えは",
)

# (priority, how the letter is written) of the kinds found with `rfind` (the last occurrence counts).
_WRITTEN = ((6, "({})"), (5, "{}."), (4, "{}:"), (3, "{})"), (2, "{} "))
_PHRASE, _START, _END, _ANYWHERE = 7, 10, 9, 0


def extract_mcq_answer(reply: str, letters: Sequence[str] | None = None) -> str:
    """The option letter lmms-eval's extractor reads from a reply, or "" (see the module docstring)."""
    if not reply or not reply.strip():
        return ""
    letters = letters or DEFAULT_LETTERS
    text = reply.strip()
    for char in ",.!?;:'\"":
        text = text.strip(char)
    text = f" {text} "
    candidates: list[tuple[int, int, str]] = []  # (priority, position, letter), in lmms-eval's order
    for priority, written in _WRITTEN:
        for letter in letters:
            position = text.rfind(written.format(letter))
            if position != -1:
                candidates.append((priority, position, letter))
    lowered = text.lower()
    for phrase in ANSWER_PHRASES:
        found = lowered.find(phrase)
        if found == -1:
            continue
        for letter in letters:
            position = text.find(letter, found + len(phrase))
            if position != -1:
                candidates.append((_PHRASE, position, letter))
    core = text.strip()
    for letter in letters:
        if core.startswith(letter) and (len(core) == 1 or not core[1].isalpha()):
            candidates.append((_START, 0, letter))
    for letter in letters:
        if core.endswith(letter) and (len(core) == 1 or not core[-2].isalpha()):
            candidates.append((_END, len(text) - 1, letter))
    if not candidates:
        candidates = [(_ANYWHERE, text.rfind(letter), letter) for letter in letters if letter in text]
    if not candidates:
        return ""
    # lmms-eval sorts by (priority, position) descending, stably: the first maximum in candidate order wins.
    return max(candidates, key=lambda candidate: candidate[:2])[2]
