"""What a dataset does with each source's scan counts: ``sample_policy``, the skip-rate gates and the warning.

After a source is scanned (or its scan is read from the cache), :func:`check_source_scan` applies

- ``sample_policy``: ``raise`` fails on any malformed record (:class:`MalformedRecordError`, naming the first by
  its sample id or ``file:line``, and how many there are); ``skip`` leaves them out, counted;
- one rate gate per fault, over the source's records (image files: over its records with an image), failing
  with :class:`SkipRateError` that names the count, the rate, example ids and the fix:

  ======================  ==================  ======================
  count                   share of            limit
  ======================  ==================  ======================
  ``skipped_bad_image``   ``image_records``   ``max_skip_rate``
  ``dropped_overlong``    ``records``         ``max_drop_rate``
  ``skipped_malformed``   ``records``         ``max_malformed_rate``
  ======================  ==================  ======================

Images that fail to decode while loading (``skipped_image_load``) are gated by ``max_skip_rate`` as they
happen (:mod:`fvl.data.dataset`). :func:`log_report` logs a dataset's counts at WARNING, with what each fault
means and how to avoid it, as soon as anything was skipped, dropped or truncated (at INFO otherwise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # stats needs torch; the config schema imports this module without it
    from fvl.data.stats import DataReport

log = logging.getLogger(__name__)

SAMPLE_POLICIES = ("skip", "raise")


class MalformedRecordError(ValueError):
    """A source holds malformed records and ``sample_policy`` is ``raise``."""


class SkipRateError(RuntimeError):
    """More records were left out for one reason than its limit allows."""


class ImageSkipRateError(SkipRateError):
    """More images failed than ``max_skip_rate`` allows."""


@dataclass(frozen=True)
class SkipLimits:
    """The largest share of a source's records that each fault may take (module docstring)."""

    max_skip_rate: float = 0.01
    max_drop_rate: float = 0.01
    max_malformed_rate: float = 0.01

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{option.name}={value} must be a fraction between 0 and 1.")


@dataclass(frozen=True)
class _Fault:
    count: str
    share_of: str
    limit: str | None  # the SkipLimits field that gates it; None: not gated
    what: str
    fix: str
    error: type[SkipRateError] = SkipRateError


_FAULTS = (
    _Fault(
        "skipped_bad_image",
        "image_records",
        "max_skip_rate",
        "image files are missing or empty",
        "check image_root and the files, or raise max_skip_rate",
        ImageSkipRateError,
    ),
    _Fault(
        "dropped_overlong",
        "records",
        "max_drop_rate",
        "records were dropped as longer than max_length",
        "raise max_length or use overlong=truncate (which keeps a long sample's start), or raise max_drop_rate",
    ),
    _Fault(
        "skipped_malformed",
        "records",
        "max_malformed_rate",
        "records are malformed",
        "fix the records (sample_policy=raise stops at them), or raise max_malformed_rate",
    ),
    _Fault(
        "truncated",
        "records",
        None,
        "records were cut to max_length (the end of their text is not trained on)",
        "raise max_length to keep them whole, or use overlong=drop",
    ),
)


def check_sample_policy(sample_policy: str) -> None:
    if sample_policy not in SAMPLE_POLICIES:
        raise ValueError(f"sample_policy {sample_policy!r} is unknown; use one of {SAMPLE_POLICIES}")


def check_source_scan(report: DataReport, where: str, sample_policy: str, limits: SkipLimits) -> None:
    """Raise as ``sample_policy`` and ``limits`` say for the scan ``report`` of the source named ``where``."""
    check_sample_policy(sample_policy)
    counts, examples = report.counts, report.examples
    malformed = counts["skipped_malformed"]
    if sample_policy == "raise" and malformed:
        first, *others = examples.get("skipped_malformed", ["?"])
        more = f"; further ones: {others}" if others else ""
        raise MalformedRecordError(
            f"{where}: {malformed} of {counts['records']} records are malformed, the first: {first}{more}. Fix "
            "them, or set sample_policy=skip to leave them out and count them (at most max_malformed_rate of a "
            "source's records)."
        )
    for fault in _FAULTS:
        total, count = counts[fault.share_of], counts[fault.count]
        limit = None if fault.limit is None else getattr(limits, fault.limit)
        if limit is not None and total and count / total > limit:
            raise fault.error(
                f"{where}: {count} of {total} {fault.what} ({count / total:.2%} > {fault.limit} {limit:g}), "
                f"e.g. {examples.get(fault.count, [])}; {fault.fix}."
            )


def log_report(report: DataReport, title: str) -> None:
    """Log the counts of ``report`` under ``title``: at WARNING, with a line per fault, when there were faults."""
    faults = [fault for fault in _FAULTS if report.counts[fault.count]]
    lines = [report.summary(title)]
    lines += [f"  {fault.count}: {report.counts[fault.count]} {fault.what}; {fault.fix}" for fault in faults]
    log.log(logging.WARNING if faults else logging.INFO, "\n".join(lines))
