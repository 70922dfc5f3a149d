"""What a benchmark's predictions depend on, recorded beside them so that only like predictions are reused.

A fingerprint is a flat mapping of JSON values: the model (its resolved path and the identity of its weight
files: names, sizes and modification times), the generation and input settings (greedy length, chat format,
system prompt, image policy, prompt suffix, image size, dtype), the benchmark request (split, prompt options,
column names; not its ``limit`` or ``metric``, which change what is scored, not what is generated) and the
identity of the benchmark's data files. Two runs with equal fingerprints generate the same predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Request fields that choose which predictions are scored, and how, but not what the model is asked.
SCORING_ONLY = ("limit", "metric", "primary")
SHOWN_DIFFERENCES = 5


def _plain(value: Any) -> Any:
    """`value` as JSON would store it (tuples as lists, paths and other objects as strings)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def files_identity(path: str | Path) -> str:
    """A short digest of the names, sizes and modification times of `path` (a file) or of every file below it
    (a folder; hidden ones skipped): it changes when any of them is rewritten, added or removed."""
    path = Path(path).expanduser().resolve()
    if path.is_file():
        files = [(path.name, path)]
    else:
        files = [
            (str(file.relative_to(path)), file)
            for file in sorted(path.rglob("*"))
            if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts)
        ]
    digest = hashlib.sha256()
    for name, file in files:
        stat = file.stat()
        digest.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def model_fingerprint(checkpoint: str | Path, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The run-wide part: the model's weights (`checkpoint` as evaluate.py resolves it) and `settings`, the
    generation and input settings (one key each, prefixed ``generation.``)."""
    weights = Path(checkpoint).expanduser()
    try:
        from fvl.models.loading import locate

        weights = locate(weights)[1]
    except (OSError, ValueError):  # not a model: the loader has said so already
        pass
    out: dict[str, Any] = {"model.path": str(weights.resolve()), "model.weights": files_identity(weights)}
    out.update({f"generation.{key}": _plain(value) for key, value in sorted(settings.items())})
    return out


def benchmark_fingerprint(request: Mapping[str, Any]) -> dict[str, Any]:
    """The benchmark's part: the request's fields that shape the prompts, and its data's identity."""
    path = request.get("path")
    out: dict[str, Any] = {
        f"benchmark.{key}": _plain(value)
        for key, value in sorted(request.items())
        if key not in SCORING_ONLY and key != "path"
    }
    if path is not None:
        out["data.path"] = os.path.abspath(Path(path).expanduser())
        out["data.files"] = files_identity(path)
    return out


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """How `recorded` differs from `current`, one ``key: old → new`` each (``<none>`` where a key is absent)."""
    absent = "<none>"
    return [
        f"{key}: {recorded.get(key, absent)!r} → {current.get(key, absent)!r}"
        for key in sorted(set(recorded) | set(current))
        if recorded.get(key, absent) != current.get(key, absent)
    ]


def describe_differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """`differences` joined for a log line, the first few only."""
    found = differences(recorded, current)
    more = f"; and {len(found) - SHOWN_DIFFERENCES} more" if len(found) > SHOWN_DIFFERENCES else ""
    return "; ".join(found[:SHOWN_DIFFERENCES]) + more
