"""Reading multiple-choice options and gold letters from the various hub layouts."""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from fvl.eval.metrics.choice_parser import option_letters

_LETTER_ANSWER = re.compile(r"\(?([A-Za-z])\)?\.?")
_PAREN_OPTIONS = re.compile(r"\(([a-z])\)\s*(.*?)(?=\s*\([a-z]\)|$)", re.IGNORECASE | re.DOTALL)
_LINE_OPTIONS = re.compile(r"^\s*([A-Z])[.:]\s+(.+?)\s*$", re.MULTILINE)
_INLINE_OPTIONS = re.compile(r"(?:^|,\s*)([A-Z]):\s*")
_MMVP_OPTIONS = re.compile(r"\([a-z]\)\s*([^(]+?)(?=\s*\([a-z]\)|$)", re.IGNORECASE)  # lmms-eval's MMVP pattern


def present(value: Any) -> bool:
    """Whether a cell holds a value: not None, NaN, empty or the string "nan" (pandas-exported hub files)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return str(value).strip() not in ("", "nan")


def option_list(value: Any) -> list[str]:
    """Options from one cell: a list, a Python-literal list in a string (MMMU), or "(a) x (b) y" (MMVP)."""
    if not present(value):
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("["):
        return [str(item) for item in ast.literal_eval(text)]
    return [option.strip() for _, option in _PAREN_OPTIONS.findall(text)]


def options_in_text(text: str) -> list[str]:
    """Options written inside a question: "A. x" lines (RealWorldQA) or "Options: A: x, B: y" (MMStar)."""
    lines = _LINE_OPTIONS.findall(text)
    if lines and "".join(letter for letter, _ in lines) == option_letters(len(lines)):
        return [option for _, option in lines]
    if "Options:" not in text:
        return []
    parts = _INLINE_OPTIONS.split(text.split("Options:", 1)[1].strip())
    letters, texts = parts[1::2], [part.strip() for part in parts[2::2]]
    return texts if letters and "".join(letters) == option_letters(len(letters)) else []


def gold_letter(answer: str, count: int) -> str:
    """A gold answer as an option letter when it is one ("(a)" → "A", "B." → "B"); other answers unchanged."""
    match = _LETTER_ANSWER.fullmatch(answer.strip())
    if match and match.group(1).upper() in option_letters(count):
        return match.group(1).upper()
    return answer


def index_letter(answer: Any, count: int) -> str:
    """A 0-based option index (int or digit string, ScienceQA / AI2D) as its letter."""
    index = int(answer)
    if not 0 <= index < count:
        raise ValueError(f"answer index {answer!r} is out of range for {count} options")
    return option_letters(count)[index]


def mmvp_options(row: dict[str, Any]) -> list[str]:
    """MMVP's options as lmms-eval's MMVP prompt reads them: a list cell as it is; in "(a) x (b) y" an option runs
    to the next "(letter)" and may not contain "(" (such an option is skipped)."""
    value = row["Options"]
    if isinstance(value, (list, tuple)):
        return [str(option) for option in value]
    return [option.strip() for option in _MMVP_OPTIONS.findall(str(value))]
