"""The up-front pass over a source: exact token lengths, over-long decisions and cheap image checks.

Every record is rendered, tokenized and labelled once before training, so

- template or data problems (:class:`~fvl.data.sample.SampleError`,
  :class:`~fvl.data.rendering.LabelMaskError`) raise at setup, naming the sample, not hours into a run;
- the sampler gets exact lengths (image tokens included);
- over-long samples are truncated or dropped by policy and counted;
- missing or zero-size image files (checked with ``stat``, without decoding) are skipped (counted) or raise.

The result depends only on the files, the tokenizer and the options, so every rank and every resumed run
sees the same samples.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fvl.data.encoding import OverlongError, SampleEncoder
from fvl.data.images import ImageLoadError, probe_image
from fvl.data.sources import RecordSource
from fvl.data.stats import DataReport

log = logging.getLogger(__name__)

IMAGE_FAILURE_POLICIES = ("skip", "raise")


@dataclass
class SourceScan:
    """The usable records of one source, their exact lengths and modality, and what happened to the others."""

    kept: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    has_image: list[bool] = field(default_factory=list)
    report: DataReport = field(default_factory=DataReport)


def scan_source(source: RecordSource, encoder: SampleEncoder, image_policy: str) -> SourceScan:
    """Encode every record of ``source``; see the module docstring for what is kept, counted or raised."""
    if image_policy not in IMAGE_FAILURE_POLICIES:
        raise ValueError(f"image-failure policy {image_policy!r} is unknown; use one of {IMAGE_FAILURE_POLICIES}")
    scan = SourceScan()
    for index in range(len(source)):
        sample = source.sample(index)
        scan.report.add("records")
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
        if encoded.truncated:
            scan.report.add("truncated", sample.sample_id)
        scan.kept.append(index)
        scan.lengths.append(len(encoded.input_ids))
        scan.has_image.append(sample.has_image)
    log.info(scan.report.summary(f"scanned source {source.name!r}"))
    return scan
