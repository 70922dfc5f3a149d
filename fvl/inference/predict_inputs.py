"""What ``fvl predict`` answers: the images of a folder (one question for all) or the records of a JSONL file.

A folder is searched recursively for image files (:data:`IMAGE_SUFFIXES`, hidden files skipped), sorted by path;
each is asked ``--question`` and its id is its path inside the folder (``cats/01.png``). A JSONL file holds one
object per line, ``{"id": ..., "image": ..., "question": ...}``: ``image`` is a path relative to the JSONL's folder
(or absolute; null or absent for a text-only question), ``question`` may be left out when ``--question`` gives it,
``id`` defaults to the line number; blank lines are skipped. Every problem of the input (a line that is no JSON
object, a missing field, a repeated id, a missing or empty image file) is collected, with file and line, and
reported at once before the model loads (:class:`~fvl.inference.options.UsageError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fvl.data.images import probe_image
from fvl.usage import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class PredictItem:
    """One question to answer: its ``id`` and ``image`` as the output records them, the image file, where it
    came from (for messages)."""

    id: Any
    image: str | None
    question: str
    image_path: Path | None
    source: str

    def record(self, **fields: Any) -> dict[str, Any]:
        return {"id": self.id, "image": self.image, "question": self.question, **fields}


def _refuse(problems: list[str], what: str) -> None:
    if problems:
        shown = "\n  ".join(problems[:SHOWN_PROBLEMS])
        more = f"\n  … and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise UsageError(f"{what} has {len(problems)} problem(s); nothing was answered:\n  {shown}{more}")


def folder_items(folder: Path, question: str | None) -> list[PredictItem]:
    """The image files under ``folder``, each with ``question``."""
    if question is None:
        raise UsageError(f"{folder} is a folder of images: give the question to ask about each, --question TEXT.")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    if not files:
        raise UsageError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)}); point to a folder of images.")
    items = [PredictItem(p.relative_to(folder).as_posix(), str(p), question, p, f"image {p}") for p in files]
    _refuse([reason for item in items if (reason := probe_image(item.image_path))], str(folder))
    return items


def _parse_line(text: str, number: int, where: str, folder: Path, question: str | None) -> PredictItem | str:
    """The item a JSONL line describes, or the problem with it."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return f"{where}: not valid JSON ({error.msg} at column {error.colno})"
    if not isinstance(record, dict):
        return f'{where}: a JSON {type(record).__name__}, expected an object {{"id", "image", "question"}}'
    asked = record.get("question", question)
    if not isinstance(asked, str) or not asked.strip():
        missing = "no question" if asked is None else f"question {asked!r} is not a non-empty string"
        return f'{where}: {missing} (add "question" to the record, or --question TEXT for all)'
    image = record.get("image")
    if image is not None and not isinstance(image, str):
        return f"{where}: image {image!r} is not a path string (or null for a text-only question)"
    record_id = record.get("id", number)
    if not isinstance(record_id, (str, int)) or isinstance(record_id, bool):
        return f"{where}: id {record_id!r} is not a string or an integer"
    path = None if image is None else folder / image
    if path is not None and (reason := probe_image(path)):
        return f"{where}: {reason} (image paths are relative to the JSONL's folder {folder})"
    return PredictItem(record_id, image, asked, path, where)


def jsonl_items(path: Path, question: str | None) -> list[PredictItem]:
    """The records of the JSONL file at ``path`` (module docstring)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text ({error}); give a JSONL file of question records.") from None
    items, problems, seen = [], [], {}
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        parsed = _parse_line(text, number, f"{path} line {number}", path.parent, question)
        if isinstance(parsed, str):
            problems.append(parsed)
        elif str(parsed.id) in seen:
            problems.append(f"{parsed.source}: id {parsed.id!r} repeats the id of line {seen[str(parsed.id)]}")
        else:
            seen[str(parsed.id)] = number
            items.append(parsed)
    _refuse(problems, str(path))
    if not items:
        raise UsageError(f'{path} holds no records; write one JSON object per line: {{"id", "image", "question"}}.')
    return items


def read_items(source: str | Path, question: str | None) -> list[PredictItem]:
    """The items of an images folder or a JSONL file."""
    source = Path(source)
    if source.is_dir():
        return folder_items(source, question)
    if source.is_file():
        return jsonl_items(source, question)
    raise UsageError(f"{source} does not exist; give a folder of images or a JSONL file of question records.")
