"""The up-front pass over a source's records: exact token lengths, over-long decisions and cheap image checks.

Every record is rendered, tokenized and labelled once before training, so

- malformed records (:class:`~fvl.data.sample.SampleError`: bad structure, a misplaced ``<image>``, an empty
  answer, a JSONL line that is not JSON; :class:`~fvl.data.formats.rendering.LabelMaskError`: supervision that cannot
  be located exactly) are left out and counted as ``skipped_malformed`` with their messages (which name the
  sample or ``file:line``) as examples; the dataset then applies ``sample_policy`` and ``max_malformed_rate``
  (:mod:`fvl.data.scan.checks`), so the scan, and its cache, are the same under either policy;
- the sampler gets exact lengths (image tokens included) and supervised-token counts (the loss normalisation of
  an optimizer step is computed from them before its micro-batches run: :mod:`fvl.data.sampler`);
- over-long samples are truncated or dropped by policy and counted;
- missing or zero-size image files (checked with ``stat``, without decoding) are skipped (counted) or raise.

:func:`scan_range` scans a contiguous range of records; results of consecutive ranges joined with
:meth:`SourceScan.extend` equal the scan of their union, which is what lets :mod:`fvl.data.scan.workers`
split a source over processes. The result depends only on the files, the tokenizer and the options, so every
rank and every resumed run sees the same samples (and :mod:`fvl.data.scan.cache` can keep it on disk).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fvl.data.encoding import OverlongError, SampleEncoder
from fvl.data.formats.rendering import LabelMaskError
from fvl.data.images import ImageLoadError, probe_image
from fvl.data.sample import SampleError
from fvl.data.sources.spec import RecordSource
from fvl.data.stats import DataReport

IMAGE_FAILURE_POLICIES = ("skip", "raise")
_MAX_MESSAGE = 300  # characters of a malformed record's message kept as an example


def check_image_policy(image_policy: str) -> None:
    if image_policy not in IMAGE_FAILURE_POLICIES:
        raise ValueError(f"image-failure policy {image_policy!r} is unknown; use one of {IMAGE_FAILURE_POLICIES}")


@dataclass
class SourceScan:
    """The usable records of one source, their exact lengths, supervised-token counts and modality, and what
    happened to the others."""

    kept: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    has_image: list[bool] = field(default_factory=list)
    supervised: list[int] = field(default_factory=list)
    report: DataReport = field(default_factory=DataReport)

    def extend(self, later: SourceScan) -> None:
        """Append the scan of the records that follow this one's."""
        self.kept.extend(later.kept)
        self.lengths.extend(later.lengths)
        self.has_image.extend(later.has_image)
        self.supervised.extend(later.supervised)
        self.report.merge(later.report)


def scan_range(source: RecordSource, encoder: SampleEncoder, image_policy: str, start: int, stop: int) -> SourceScan:
    """Encode records ``start`` to ``stop - 1`` of ``source``; see the module docstring for what is kept."""
    check_image_policy(image_policy)
    scan = SourceScan()
    for index in range(start, stop):
        scan.report.add("records")
        try:
            sample = source.sample(index)
        except SampleError as error:
            scan.report.add("skipped_malformed", str(error)[:_MAX_MESSAGE])
            continue
        if sample.has_image:
            scan.report.add("image_records")
            reason = probe_image(sample.image)
            if reason is not None:
                if image_policy == "raise":
                    raise ImageLoadError(
                        f"sample {sample.sample_id!r} of source {source.name!r}: {reason}; "
                        "fix the file or set image_policy='skip'"
                    )
                scan.report.add("skipped_bad_image", f"{sample.sample_id} ({reason})")
                continue
        try:
            encoded = encoder.encode(sample)
        except OverlongError as error:
            scan.report.add("dropped_overlong", f"{sample.sample_id} ({error.reason})")
            continue
        except (SampleError, LabelMaskError) as error:
            scan.report.add("skipped_malformed", str(error)[:_MAX_MESSAGE])
            continue
        if encoded.truncated:
            scan.report.add("truncated", sample.sample_id)
        scan.kept.append(index)
        scan.lengths.append(len(encoded.input_ids))
        scan.has_image.append(sample.has_image)
        scan.supervised.append(encoded.predicted_tokens)
    return scan
