"""The map-style training dataset: a weighted mixture of sources, encoded samples and preprocessed images.

Construction scans every source (:mod:`fvl.data.scan.source_scan`, via :class:`~fvl.data.scan.scanner.Scanner`: cached
on disk and parallel as the ``scan`` options say) and builds one index with exact lengths, supervised-token counts and
modality per entry, which the sampler uses. ``dataset[i]`` returns one item; ``dataset[[i, j, ...]]`` a list (the
sampler yields whole batches of indices). When the batch of indices is a :class:`~fvl.data.sampler.StepBatch`, each item
also carries its ``step_supervised_tokens`` (the loss divisor of the optimizer step the batch belongs to), which the
collator puts in the batch.

Each source's scan counts then pass :func:`~fvl.data.scan.checks.check_source_scan`: ``sample_policy``
(raise|skip) for malformed records and the rate gates ``max_skip_rate`` (missing or empty image files),
``max_drop_rate`` (overlong drops) and ``max_malformed_rate``; the dataset's counts are logged, at WARNING when
anything was skipped, dropped or truncated.

With a ``feature_cache`` (:class:`~fvl.data.feature_store.FeatureStore`) image items carry the image's cached
Florence-2 features as ``image_features`` ({name: (T, D)}) and ``pixel_values`` None; nothing is decoded, and an
image the cache lacks raises :class:`~fvl.data.feature_store.MissingFeaturesError` naming it and the fill command.

Images that pass the scan but fail to decode at load time (:func:`~fvl.data.images.load_image`, with at most
``max_image_pixels`` pixels) follow ``image_policy``:

- ``raise``: fail, naming the sample and file;
- ``skip``: count it, log it, and return instead another image sample chosen from ``(index, attempt)``
  only, so a resumed run sees the same data; the run fails once more than ``max_skip_rate`` of the image
  loads failed (checked after ``min_loads_for_rate`` loads).

:meth:`ConversationDataset.stats` holds every count of :data:`~fvl.data.stats.SCAN_COUNTS` (0 when nothing
happened) and the load-time ``image_loads`` and ``skipped_image_load``.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from fvl.data.encoding import SampleEncoder
from fvl.data.feature_store import FeatureStore
from fvl.data.images import MAX_IMAGE_PIXELS, ImageLoadError, ImageProcessor, load_image
from fvl.data.sampler import StepBatch
from fvl.data.scan.checks import ImageSkipRateError, SkipLimits, check_sample_policy, check_source_scan, log_report
from fvl.data.scan.scanner import Scanner, ScanOptions
from fvl.data.sources.mixture import open_source, weighted_records
from fvl.data.sources.spec import SourceSpec
from fvl.data.stats import SCAN_COUNTS, DataReport, SharedCounters

log = logging.getLogger(__name__)

_MAX_SUBSTITUTES = 16
__all__ = ["ConversationDataset", "ImageSkipRateError"]


class ConversationDataset(Dataset):
    """Samples of ``sources`` encoded by ``encoder``, images by ``processor`` (see module docstring)."""

    def __init__(
        self,
        sources: Sequence[SourceSpec],
        encoder: SampleEncoder,
        processor: ImageProcessor,
        image_policy: str = "skip",
        max_skip_rate: float = 0.01,
        min_loads_for_rate: int = 200,
        seed: int = 0,
        name: str = "train",
        scan: ScanOptions | None = None,
        sample_policy: str = "skip",
        max_drop_rate: float = 0.01,
        max_malformed_rate: float = 0.01,
        max_image_pixels: int | None = MAX_IMAGE_PIXELS,
        feature_cache: FeatureStore | None = None,
    ) -> None:
        if not sources:
            raise ValueError(f"dataset {name!r} has no sources")
        check_sample_policy(sample_policy)
        limits = SkipLimits(max_skip_rate, max_drop_rate, max_malformed_rate)
        self.name = name
        self.encoder = encoder
        self.processor = processor
        self.image_policy = image_policy
        self.max_skip_rate = max_skip_rate
        self.min_loads_for_rate = min_loads_for_rate
        self.max_image_pixels = max_image_pixels
        self.feature_cache = feature_cache  # set: items carry cached image_features instead of pixel_values
        scanner = Scanner(encoder, image_policy, scan)
        options = scanner.options
        self.sources = [open_source(spec, options.cache_dir, options.content_hash) for spec in sources]
        self.report = DataReport()
        self.entries: list[tuple[int, int]] = []
        self.lengths: list[int] = []
        self.has_image: list[bool] = []
        self.supervised: list[int] = []
        for position, (spec, source) in enumerate(zip(sources, self.sources, strict=True)):
            result = scanner.scan(spec, source)
            check_source_scan(result.report, f"dataset {name!r}, source {source.name!r}", sample_policy, limits)
            self.report.merge(result.report)
            length_of = dict(zip(result.kept, result.lengths, strict=True))
            image_of = dict(zip(result.kept, result.has_image, strict=True))
            supervised_of = dict(zip(result.kept, result.supervised, strict=True))
            for record in weighted_records(result.kept, source.spec.weight, seed, position):
                self.entries.append((position, record))
                self.lengths.append(length_of[record])
                self.has_image.append(image_of[record])
                self.supervised.append(supervised_of[record])
        self.image_entries = [i for i, flag in enumerate(self.has_image) if flag]
        self.report.add("samples", amount=len(self.entries))
        self.report.add("image_samples", amount=len(self.image_entries))
        self.counters = SharedCounters(("image_loads", "skipped_image_load"))
        log_report(self.report, f"dataset {name!r}")
        if not self.entries:
            raise ValueError(f"dataset {name!r} has no usable samples:\n{self.report.summary('report')}")

    def stats(self) -> dict[str, int]:
        """Scan counts (each of ``SCAN_COUNTS``, 0 when nothing happened) plus load-time counts summed over all
        worker processes."""
        return {**dict.fromkeys(SCAN_COUNTS, 0), **self.report.counts, **self.counters.totals()}

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int | list[int]) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, list):
            items = [self._item(i) for i in index]
            if isinstance(index, StepBatch):
                for item in items:
                    item["step_supervised_tokens"] = index.step_supervised_tokens
            return items
        return self._item(index)

    def _item(self, index: int) -> dict[str, Any]:
        entry = index
        for attempt in range(_MAX_SUBSTITUTES):
            position, record = self.entries[entry]
            sample = self.sources[position].sample(record)
            pixel_values = features = None
            if sample.has_image and self.feature_cache is not None:  # cached Florence-2 features, no decode
                features = self.feature_cache.read(sample.image, sample.sample_id)
            elif sample.has_image:
                try:
                    pixel_values = self._load_pixels(sample.image)
                except ImageLoadError as error:
                    self._on_image_failure(sample.sample_id, error)
                    entry = self._substitute(index, attempt, entry)
                    continue
            encoded = self.encoder.encode(sample)
            return {
                "input_ids": torch.tensor(encoded.input_ids, dtype=torch.long),
                "labels": torch.tensor(encoded.labels, dtype=torch.long),
                "pixel_values": pixel_values,
                "image_features": features,
                "sample_id": sample.sample_id,
            }
        raise ImageSkipRateError(
            f"dataset {self.name!r}: index {index} and {_MAX_SUBSTITUTES - 1} substitutes all failed to load images"
        )

    def _substitute(self, index: int, attempt: int, failed: int) -> int:
        """An image entry other than ``failed``, chosen from ``(index, attempt)`` only."""
        others = len(self.image_entries) - 1
        if others == 0:
            raise ImageSkipRateError(f"dataset {self.name!r}: its only image sample failed to load")
        choice = random.Random(index * 1_000_003 + attempt).randrange(others)
        return self.image_entries[choice + (choice >= bisect.bisect_left(self.image_entries, failed))]

    def _load_pixels(self, image: Any) -> torch.Tensor:
        self.counters.add("image_loads")
        return self.processor(load_image(image, self.max_image_pixels))

    def _on_image_failure(self, sample_id: str, error: ImageLoadError) -> None:
        if self.image_policy == "raise":
            message = f"sample {sample_id!r}: {error}; fix the file or set image_policy='skip'"
            raise ImageLoadError(message) from error
        self.counters.add("skipped_image_load")
        totals = self.counters.totals()
        loads, skipped = totals["image_loads"], totals["skipped_image_load"]
        log.warning(
            "sample %r skipped and substituted (%d of %d image loads failed): %s", sample_id, skipped, loads, error
        )
        if loads >= self.min_loads_for_rate and skipped / loads > self.max_skip_rate:
            raise ImageSkipRateError(
                f"dataset {self.name!r}: {skipped} of {loads} image loads failed (> max_skip_rate "
                f"{self.max_skip_rate}), last {sample_id!r}: {error}; fix the images or raise max_skip_rate"
            )
