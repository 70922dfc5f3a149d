"""One benchmark end to end without losing work: load its samples, take over what was already predicted under
the same conditions, generate the rest with each batch appended to its prediction file, then merge and score.

Rank 0 looks for reusable predictions (:mod:`fvl.eval.reuse`), writes them as this run's
``predictions/<name>.jsonl`` with the fingerprint beside it (:mod:`fvl.eval.prediction_files`) and hands them to
every rank; each rank appends its new batches as they finish. At the end rank 0 writes the merged file in sample
order. Any error is raised as :class:`~fvl.eval.failures.BenchmarkError` with a message naming the stage, the
benchmark, the sample or file and the fix; the predictions made until then stay on disk (merged into the main
file), so that running the same command again continues from them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fvl.distributed import rank_and_world_size
from fvl.eval.checks import PlannedBenchmark
from fvl.eval.failures import BenchmarkError, failure_message
from fvl.eval.fingerprint import benchmark_fingerprint
from fvl.eval.prediction_files import PredictionFiles, PredictionWriter, prediction_record
from fvl.eval.prompt_log import log_first_prompt
from fvl.eval.ranks import on_main, together
from fvl.eval.results import BenchmarkResult
from fvl.eval.reuse import find_reusable
from fvl.eval.runner import PredictFn, generate, score
from fvl.eval.sample_set import SampleImageError, SampleSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSettings:
    """How every benchmark of a suite runs: where files go, what may be reused, batching.

    `fingerprint` is the run-wide part of the conditions (model, generation settings; see
    :mod:`fvl.eval.fingerprint`); without one nothing is reused and none is recorded. `reuse_dirs` are the run
    directories to reuse predictions from, in order (this run's own first)."""

    out_dir: Path | None = None
    fingerprint: Mapping[str, Any] | None = None
    reuse_dirs: Sequence[Path] = ()
    batch_size: int = 8
    cache_dir: str | Path | None = None


@dataclass
class _Progress:
    """What rank 0 keeps about the benchmark's files while it runs."""

    files: PredictionFiles | None
    carried: dict[int, dict[str, Any]] = field(default_factory=dict)  # records beyond the samples, kept as found


def run_benchmark(run: PlannedBenchmark, predict: PredictFn, settings: RunSettings) -> BenchmarkResult:
    """Evaluate one planned benchmark (module docstring); every rank calls it and gets the same result."""
    name = run.benchmark.name
    rank, world_size = rank_and_world_size()
    progress = _Progress(PredictionFiles(settings.out_dir, name) if settings.out_dir is not None else None)
    samples = _stage(name, "loading", run.path, None, lambda: together(lambda: _load(run, settings)))
    done = _stage(name, "reusing", run.path, None, lambda: on_main(lambda: _start(run, samples, settings, progress)))
    todo = [i for i in range(len(samples)) if i not in done]
    writers: list[PredictionWriter] = []  # opened with the first batch (inside generation, where ranks agree)

    def append(indices: list[int], predictions: list[str]) -> None:
        if progress.files is None:
            return
        if not writers:
            writers.append(progress.files.writer(rank, world_size))
        references = samples.references
        writers[0].append(prediction_record(i, references[i], p) for i, p in zip(indices, predictions, strict=True))

    def generate_rest() -> Any:
        if todo and rank == 0:
            _log_prompt(run, samples, todo[0], predict)
        options = {"batch_size": settings.batch_size, "progress": True, "done": done, "on_batch": append}
        try:
            return generate(run.benchmark, samples, predict, **options)
        finally:
            for writer in writers:
                writer.close()

    generated = _stage(name, "generating", run.path, progress, generate_rest)
    result = _stage(name, "scoring", run.path, progress, lambda: score(run.benchmark, samples, generated))
    if rank == 0 and progress.files is not None:
        records = [*result.records, *(progress.carried[i] for i in sorted(progress.carried))]
        _stage(name, "writing", progress.files.main, None, lambda: progress.files.replace_records(records))
    return result


def _log_prompt(run: PlannedBenchmark, samples: SampleSet, index: int, predict: PredictFn) -> None:
    """The first prompt this run generates for; a sample whose image fails is left to generation to report."""
    try:
        sample = samples[index]
    except SampleImageError:
        return
    log_first_prompt(run.benchmark, [sample], predict)


def _load(run: PlannedBenchmark, settings: RunSettings) -> SampleSet:
    samples = run.benchmark.load(run.path, split=run.split, limit=run.limit, cache_dir=settings.cache_dir)
    if not len(samples):
        raise ValueError(f"no samples to evaluate in {run.path}")
    return samples


def _start(run: PlannedBenchmark, samples: SampleSet, settings: RunSettings, progress: _Progress) -> dict[int, str]:
    """On rank 0: find what can be reused, make it this run's prediction file with the fingerprint beside it, and
    return the reused predictions by sample index."""
    files, name = progress.files, run.benchmark.name
    if files is None:
        return {}
    if settings.fingerprint is None:
        files.clear()
        return {}
    fingerprint = {**settings.fingerprint, **benchmark_fingerprint(run.request)}
    found = find_reusable(name, fingerprint, settings.reuse_dirs, samples.references)
    for note in found.notes:
        logger.warning("%s: %s", name, note)
    for note in found.passed_over:
        logger.info("%s: %s", name, note)
    if found.records:
        files.replace_records(found.records[i] for i in sorted(found.records))  # before the fingerprint: see below
    else:
        files.clear()
    files.write_fingerprint(fingerprint)  # last, so that a run killed before it never pairs it with other records
    progress.carried = {i: record for i, record in found.records.items() if i >= len(samples)}
    if found.predictions:
        sources = ", ".join(str(path) for path in found.sources)
        left = len(samples) - len(found.predictions)
        then = "nothing left to generate, rescoring" if not left else f"generating the other {left}"
        reused = len(found.predictions)
        logger.info("%s: reused %d of %d predictions from %s; %s", name, reused, len(samples), sources, then)
    return found.predictions


def _stage(name: str, stage: str, data: Any, progress: _Progress | None, step: Any) -> Any:
    """`step()`, its error raised as a BenchmarkError naming `stage`; on rank 0 the predictions made so far are
    merged into the main file first (and the message says where)."""
    try:
        return step()
    except Exception as error:
        kept = _keep(progress) if progress is not None and rank_and_world_size()[0] == 0 else None
        raise BenchmarkError(failure_message(name, stage, error, data, kept)) from error


def _keep(progress: _Progress) -> str | None:
    """Merge the records written so far into the main file; where they are, for the message."""
    if progress.files is None:
        return None
    read = progress.files.read()
    if not read.records:
        return None
    progress.files.replace_records(read.records[i] for i in sorted(read.records))
    return f"{len(read.records)} predictions in {progress.files.main}; the same command continues from them"
