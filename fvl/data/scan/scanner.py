"""Scans with a cache: the stored scan of a source when its key matches, otherwise a (parallel) scan, stored.

:class:`ScanOptions` are the user's choices (plain values, also ``FVLDataModule`` arguments); :class:`Scanner`
applies them for one encoder and image-failure policy. Each source logs whether its cache was hit (and the
file) or why it is scanned. Caches are keyed by the source spec as configured, so the data module can fill
them in ``prepare_data`` (once per node, sources opened only on a miss) and every rank's ``setup`` reads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from fvl.data.encoding import SampleEncoder
from fvl.data.scan.cache import load_scan, save_scan
from fvl.data.scan.key import scan_key, tokenizer_identity
from fvl.data.scan.source_scan import SourceScan, check_image_policy
from fvl.data.scan.workers import scan_source
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import RecordSource, SourceSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    """How sources are scanned.

    ``num_workers``: processes (None: ``min(8, usable CPUs)``; 0 or 1: in-process). ``cache``: keep scans on disk
    (:mod:`fvl.data.scan.cache`), in ``cache_dir`` (None: beside the data, else ``~/.cache/fvl/scan``).
    ``refresh``: scan again and overwrite even when a cache matches (after adding or repairing images).
    ``content_hash``: key the data by the SHA-256 of its files instead of their size and modification time.
    """

    num_workers: int | None = None
    cache: bool = True
    cache_dir: str | None = None
    refresh: bool = False
    content_hash: bool = False


class Scanner:
    """Scans sources for ``encoder`` and ``image_policy`` following :class:`ScanOptions`."""

    def __init__(self, encoder: SampleEncoder, image_policy: str, options: ScanOptions | None = None) -> None:
        check_image_policy(image_policy)
        self.encoder = encoder
        self.image_policy = image_policy
        self.options = options or ScanOptions()

    @cached_property
    def _tokenizer_identity(self) -> dict[str, Any]:
        return tokenizer_identity(self.encoder.tokenizer)

    def _key(self, spec: SourceSpec) -> str | None:
        if not self.options.cache:
            return None
        key = scan_key(spec, self.encoder, self.image_policy, self._tokenizer_identity, self.options.content_hash)
        if key is None:
            log.info("source %r is not a local file or directory: its scan is not cached", spec.name)
        return key

    def _cached(self, spec: SourceSpec, key: str | None) -> SourceScan | None:
        if key is None:
            return None
        if self.options.refresh:
            log.info("scan cache of source %r: refresh requested, scanning", spec.name)
            return None
        found = load_scan(spec, key, self.options.cache_dir)
        if found is None:
            log.info("scan cache of source %r: miss (no usable file for these data and settings), scanning", spec.name)
            return None
        scan, path = found
        log.info("scan cache of source %r: hit, %s", spec.name, path)
        log.info(scan.report.summary(f"cached scan of source {spec.name!r}"))
        return scan

    def _scan(self, spec: SourceSpec, key: str | None, source: RecordSource | None) -> SourceScan:
        cached = self._cached(spec, key)
        if cached is not None:
            return cached
        source = source if source is not None else open_source(spec, self.options.cache_dir, self.options.content_hash)
        scan = scan_source(source, self.encoder, self.image_policy, self.options.num_workers)
        if key is not None:
            path = save_scan(spec, key, scan, self.options.cache_dir)
            if path is not None:
                log.info("scan cache of source %r: written, %s", spec.name, path)
        return scan

    def scan(self, spec: SourceSpec, source: RecordSource | None = None) -> SourceScan:
        """The scan of the source ``spec`` names: from the cache when its key matches, else scanned and stored.

        ``source``: the source already opened from ``spec``; otherwise it is opened here, only when scanning.
        """
        return self._scan(spec, self._key(spec), source)

    def fill(self, spec: SourceSpec) -> None:
        """Store the scan of ``spec`` unless the cache holds it already; nothing for sources that are not cached."""
        key = self._key(spec)
        if key is not None:
            self._scan(spec, key, None)
