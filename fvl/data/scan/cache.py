"""Scan results on disk: one ``.npz`` file per source and key, written atomically, read back with checks.

Where: ``cache_dir`` when given; otherwise ``.fvl_cache/`` beside the source file or directory, falling back to
``$XDG_CACHE_HOME/fvl/scan`` (``~/.cache/fvl/scan``) when that is not writable. Reading tries the same places
in the same order. Files are named ``{source name}-{key digest}.npz`` and hold the full key, which must match
on reading, so files for other settings coexist; any of them can be deleted at any time.

What: a mask of the kept records (a byte per record), the lengths, image flags and supervised-token counts of
the kept records, and
the scan report (counts and example ids) as JSON: everything :class:`~fvl.data.scan.source_scan.SourceScan` holds.

How: the file is written to a temporary name in the target directory, synced, then renamed over the target,
so a reader (another rank, a crashed run) never sees a partial file. A file that cannot be read or does not
hold what it should reads as absent, with a warning, and the next scan rewrites it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from fvl.data.scan.key import CACHE_FOLDER, key_digest
from fvl.data.scan.source_scan import SourceScan
from fvl.data.sources.spec import SourceSpec
from fvl.data.stats import DataReport

log = logging.getLogger(__name__)

_ARRAYS = ("key", "kept", "lengths", "has_image", "supervised", "report")


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fvl/scan``, by default ``~/.cache/fvl/scan``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "fvl", "scan")


def cache_dirs(spec: SourceSpec, cache_dir: str | None) -> list[Path]:
    """Where the scan of ``spec`` is looked for and written, in order of preference."""
    if cache_dir is not None:
        return [Path(cache_dir)]
    return [Path(os.path.abspath(spec.path)).parent / CACHE_FOLDER, user_cache_dir()]


def cache_file_name(spec: SourceSpec, key: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', spec.name)[:64]}-{key_digest(key)[:20]}.npz"


def _read(path: Path, key: str) -> SourceScan:
    with np.load(path, allow_pickle=False) as stored:
        missing = sorted(set(_ARRAYS) - set(stored.files))
        if missing:
            raise ValueError(f"arrays {missing} are missing")
        if str(stored["key"]) != key:
            raise ValueError("it was written for other settings")
        mask, lengths, has_image, supervised = (stored[name] for name in _ARRAYS[1:5])
        report = json.loads(str(stored["report"]))
    kept = np.flatnonzero(mask)
    counts = Counter(report["counts"])
    agree = len(kept) == len(lengths) == len(has_image) == len(supervised) and counts["records"] == len(mask)
    if mask.dtype != bool or not agree:
        raise ValueError("its arrays do not agree with each other")
    return SourceScan(
        kept.tolist(), lengths.tolist(), has_image.tolist(), supervised.tolist(), DataReport(counts, report["examples"])
    )


def load_scan(spec: SourceSpec, key: str, cache_dir: str | None) -> tuple[SourceScan, Path] | None:
    """The cached scan of ``spec`` under ``key`` and its file, or None (absent or unusable: see module docstring)."""
    name = cache_file_name(spec, key)
    for directory in cache_dirs(spec, cache_dir):
        path = directory / name
        if not os.path.isfile(path):
            continue
        try:
            return _read(path, key), path
        except Exception as error:  # whatever a damaged file raises: zip, npy, JSON or key errors
            log.warning("scan cache %s is unusable (%s: %s); scanning again", path, type(error).__name__, error)
    return None


def _write(path: Path, key: str, scan: SourceScan) -> None:
    mask = np.zeros(scan.report.counts["records"], dtype=bool)
    mask[scan.kept] = True
    report = json.dumps({"counts": dict(scan.report.counts), "examples": scan.report.examples})
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(
                handle,
                key=np.array(key),
                kept=mask,
                lengths=np.asarray(scan.lengths, dtype=np.int32),
                has_image=np.asarray(scan.has_image, dtype=bool),
                supervised=np.asarray(scan.supervised, dtype=np.int32),
                report=np.array(report),
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it private; others sharing the data directory may read it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_scan(spec: SourceSpec, key: str, scan: SourceScan, cache_dir: str | None) -> Path | None:
    """Store ``scan`` in the first writable cache directory; returns the file, or None when none is writable."""
    name = cache_file_name(spec, key)
    failures = []
    for directory in cache_dirs(spec, cache_dir):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            _write(directory / name, key, scan)
            return directory / name
        except OSError as error:
            failures.append(f"{directory}: {error.strerror or error}")
            log.info("cannot write the scan cache in %s", failures[-1])
    log.warning(
        "could not cache the scan of source %r (%s); it will be scanned again on every run: set scan_cache_dir to a "
        "writable directory",
        spec.name,
        "; ".join(failures),
    )
    return None
