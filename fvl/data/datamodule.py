"""The LightningDataModule: sources → scan → encoded samples + images → length-grouped DDP batches.

All options are plain values or small dataclasses (or mappings of their fields), so Hydra can build it; the
model-dependent pieces (``tokenizer`` with ``<image>`` registered, ``num_image_tokens``, image size and
normalisation) are plain arguments too, filled from the model by ``for_model``::

    dm = FVLDataModule(train=[{"path": "data/synthetic/instruct.json"}], val=[...], tokenizer=model.tokenizer,
                       num_image_tokens=model.num_image_tokens, image={"size": 128, "policy": "pad"},
                       format="chat", batch_size=32)
    dm = FVLDataModule.for_model(model, train=..., image={"policy": "pad"}, format="chat", batch_size=32)

Before training every sample is tokenized once for exact lengths (:mod:`fvl.data.scan.source_scan`). That scan is cached
on disk per source (:mod:`fvl.data.scan.cache`, keyed by the data, tokenizer and options) and runs over
``num_scan_workers`` processes: ``prepare_data`` (run by Lightning once per node; without a trainer by
``setup``, on rank 0 of each node under ``torch.distributed`` while the other ranks wait) fills the cache, and
``setup`` on every rank reads it. Options: ``scan_cache`` (on/off), ``scan_cache_dir`` (default ``.fvl_cache/``
beside the data, else ``~/.cache/fvl/scan``), ``scan_cache_refresh`` (rescan, e.g. after repairing images:
image files are not part of the key), ``scan_cache_content_hash`` (key data files by SHA-256 instead of size
and modification time). A first scan of millions of samples can outlast the process-group timeout that the
other ranks wait under (Lightning: 30 min); raise it, or fill the cache beforehand in a single process
(``FVLDataModule(...).prepare_data()``).

Data faults end in a clear error or a counted skip (:mod:`fvl.data.scan.checks`): malformed records follow
``sample_policy`` (skip|raise), images ``image_policy`` (skip|raise), over-long samples ``overlong``
(truncate|drop); each source fails once a fault takes more than its share of the records: ``max_skip_rate``
(image files missing or empty, and, as they happen, image loads that fail), ``max_drop_rate`` (overlong drops),
``max_malformed_rate``. ``max_image_pixels`` bounds an image's size, read from its header (decompression bombs).

``stats()`` returns the counts of every split for logging, keyed ``"{split}/{count}"``, every key present (0 when
nothing happened) once the split is set up:

- ``records``, ``image_records``: records read from the split's sources, and those with an image;
- ``samples``, ``image_samples``: entries of the weighted mixture that training draws from;
- ``skipped_bad_image``: records left out by the scan for a missing, zero-byte or empty image;
- ``skipped_malformed``: records left out as malformed (bad structure, misplaced ``<image>``, empty answer,
  a JSONL line that is not JSON; under ``sample_policy=skip``);
- ``dropped_overlong``: records left out as longer than ``max_length``;
- ``truncated``: records kept, cut to ``max_length``;
- ``image_loads``, ``skipped_image_load``: image decodes in the loader workers, and those that failed (corrupt,
  truncated, too large) and were replaced by another image sample;
- ``dropped_last_epoch``: tail samples the sampler left out of the last epoch.

Scan counts are per record of the sources (a record of a source with weight 2 counts once). The scan summary,
with example sample ids, is also logged at setup (logger ``fvl.data``), at WARNING when anything was skipped,
dropped or truncated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

import lightning as L
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase

from fvl.data.collate import PackedCollator, TrainCollator
from fvl.data.dataset import ConversationDataset
from fvl.data.encoding import SampleEncoder
from fvl.data.feature_store import FeatureStore
from fvl.data.images import MAX_IMAGE_PIXELS, ImageProcessor, ImageSettings
from fvl.data.loaders import LoaderOptions, SamplerOptions, continue_where_stopped, split_loader
from fvl.data.sampler import LengthGroupedSampler
from fvl.data.scan.scanner import Scanner, ScanOptions
from fvl.data.sources.spec import SourceSpec
from fvl.distributed import node_main_first, rank_and_world_size

SourceLike = SourceSpec | Mapping[str, Any] | str


def _as_sources(value: SourceLike | Sequence[SourceLike] | None) -> list[SourceSpec]:
    if value is None:
        return []
    if isinstance(value, (SourceSpec, Mapping, str)):
        value = [value]
    return [SourceSpec.coerce(item) for item in value]


def _as(cls: type, value: Any) -> Any:
    return cls(**value) if isinstance(value, Mapping) else value


class FVLDataModule(L.LightningDataModule):
    """Training/validation data for FlorenceVL (see module docstring).

    ``train``/``val``: source specs (or mappings / paths). ``image``: :class:`ImageSettings` (size, square|pad).
    ``format``: plain|chat; ``system_prompt`` for chat samples without one; ``conversation``: llama3|phi3 renders
    chat samples with the reference's conversation template (:mod:`fvl.data.formats.templates`); ``plain_layout``:
    reference|eos (:mod:`fvl.data.formats.plain`); ``image_placement``: turn_start|as_given, where ``<image>`` goes
    (:func:`~fvl.data.sample.place_image_token`). ``max_length``
    counts image tokens; ``overlong``: truncate|drop, with ``max_drop_rate``. ``image_policy``: skip|raise for
    missing or corrupt images, with ``max_skip_rate``; ``max_image_pixels`` (None: no limit).
    ``sample_policy``: skip|raise for malformed records, with ``max_malformed_rate`` (module docstring).
    ``sampler``: :class:`SamplerOptions` of the training split (validation is unshuffled). ``packing``: training
    batches of ``batch_size`` packed rows of at most ``pack_tokens`` tokens (None: ``max_length``), :mod:`.packing`.
    ``num_scan_workers`` (None: ``min(8, CPUs)``; 0 or 1: in-process), ``scan_cache``,
    ``scan_cache_dir``, ``scan_cache_refresh``, ``scan_cache_content_hash``: the up-front scan (module docstring).
    """

    def __init__(
        self,
        train: SourceLike | Sequence[SourceLike],
        tokenizer: PreTrainedTokenizerBase,
        num_image_tokens: int,
        val: SourceLike | Sequence[SourceLike] | None = None,
        image: ImageSettings | Mapping[str, Any] | None = None,
        format: str = "chat",
        system_prompt: str | None = None,
        conversation: str | None = None,
        plain_layout: str = "reference",
        image_placement: str = "turn_start",
        max_length: int | None = 2048,
        overlong: str = "truncate",
        image_policy: str = "skip",
        max_skip_rate: float = 0.01,
        batch_size: int = 16,
        val_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        sampler: SamplerOptions | Mapping[str, Any] | None = None,
        seed: int = 42,
        num_scan_workers: int | None = None,
        scan_cache: bool = True,
        scan_cache_dir: str | None = None,
        scan_cache_refresh: bool = False,
        scan_cache_content_hash: bool = False,
        sample_policy: str = "skip",
        max_drop_rate: float = 0.01,
        max_malformed_rate: float = 0.01,
        max_image_pixels: int | None = MAX_IMAGE_PIXELS,
        packing: bool = False,
        pack_tokens: int | None = None,
        feature_cache: FeatureStore | None = None,
    ) -> None:
        super().__init__()
        self.feature_cache = feature_cache  # cached Florence-2 features (fvl.models.feature_cache.open_for_model)
        self.train_sources = _as_sources(train)
        self.val_sources = _as_sources(val)
        self.tokenizer = tokenizer
        text = {"conversation": conversation, "plain_layout": plain_layout, "image_placement": image_placement}
        self.encoder = SampleEncoder(tokenizer, num_image_tokens, format, system_prompt, max_length, overlong, **text)
        self.image_settings = _as(ImageSettings, image or ImageSettings())
        self.image_policy = image_policy
        self.max_skip_rate = max_skip_rate
        self.faults = {
            "sample_policy": sample_policy,
            "max_drop_rate": max_drop_rate,
            "max_malformed_rate": max_malformed_rate,
            "max_image_pixels": max_image_pixels,
        }
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.sampler_options = _as(SamplerOptions, sampler or SamplerOptions())
        self.seed = seed
        self.scan_options = ScanOptions(
            num_workers=num_scan_workers,
            cache=scan_cache,
            cache_dir=scan_cache_dir,
            refresh=scan_cache_refresh,
            content_hash=scan_cache_content_hash,
        )
        self._prepared = False  # prepare_data ran in this process
        self._synced = False  # without a trainer: prepare_data ran on rank 0 of the node, ranks passed the barrier
        self.collator = TrainCollator(tokenizer.pad_token_id)
        self.pack_tokens = (pack_tokens or max_length) if packing else None  # training rows' capacity (packing)
        if packing and self.pack_tokens is None:
            raise ValueError("packing=True needs a row capacity: set pack_tokens (or max_length).")
        self.packed_collator = PackedCollator(tokenizer.pad_token_id)
        self.datasets: dict[str, ConversationDataset] = {}
        self.samplers: dict[str, LengthGroupedSampler] = {}

    @classmethod
    def for_model(cls, model: Any, **options: Any) -> FVLDataModule:
        """Build for ``model`` (a ``FlorenceVL``): its tokenizer, visual-token count, image size and statistics.

        ``options`` are the other constructor arguments; ``image`` may set only the policy (square|pad), or a
        size/mean/std equal to the model's.
        """
        wanted = ImageSettings(model.image_size, mean=tuple(model.image_mean), std=tuple(model.image_std))
        settings = ImageSettings(**{**asdict(wanted), **(options.pop("image", None) or {})})
        for key in ("size", "mean", "std"):
            if getattr(settings, key) != getattr(wanted, key):
                raise ValueError(f"data image {key} {getattr(settings, key)} differs from the model's; remove it")
        return cls(tokenizer=model.tokenizer, num_image_tokens=model.num_image_tokens, image=settings, **options)

    def prepare_data(self) -> None:
        """Fills the scan cache of the splits not built yet (once per node)."""
        scanner = Scanner(self.encoder, self.image_policy, self.scan_options)
        for split, sources in (("train", self.train_sources), ("val", self.val_sources)):
            if split not in self.datasets:
                for spec in sources:
                    scanner.fill(spec)
        self._prepared = True

    def _prepare_outside_lightning(self) -> None:
        """Without a trainer nothing calls ``prepare_data``: run it once here, under ``torch.distributed`` on the
        rank with ``LOCAL_RANK`` 0 of each node while all ranks wait at a barrier."""
        if self.trainer is not None or self._synced:
            return
        node_main_first(lambda: None if self._prepared else self.prepare_data())
        self._synced = True

    def _dataset(self, split: str, sources: list[SourceSpec]) -> ConversationDataset:
        if split not in self.datasets:
            self.datasets[split] = ConversationDataset(
                sources,
                self.encoder,
                ImageProcessor(self.image_settings),
                image_policy=self.image_policy,
                max_skip_rate=self.max_skip_rate,
                seed=self.seed,
                name=split,
                scan=replace(self.scan_options, refresh=False),  # a refresh happens once, in prepare_data
                feature_cache=self.feature_cache,
                **self.faults,
            )
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        self._prepare_outside_lightning()
        if stage in (None, "fit"):
            self._dataset("train", self.train_sources)
        if stage in (None, "fit", "validate") and self.val_sources:
            self._dataset("val", self.val_sources)

    def _loader(self, split: str, batch_size: int, sampler: SamplerOptions) -> DataLoader:
        """The split's loader (:func:`~fvl.data.loaders.split_loader`) for this rank; its sampler is kept for
        :meth:`stats`. Training batches are packed rows when ``packing`` is on and step with the trainer's
        ``accumulate_grad_batches``."""
        training = split == "train"
        packed = training and self.pack_tokens is not None
        options = LoaderOptions(
            batch_size,
            sampler,
            self.seed,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            pack_tokens=self.pack_tokens if packed else None,
            accumulate=self.trainer.accumulate_grad_batches if training and self.trainer is not None else 1,
        )
        rank, world_size = rank_and_world_size(self.trainer)
        collate = self.packed_collator if packed else self.collator
        loader = split_loader(self.datasets[split], options, collate, rank, world_size)
        self.samplers[split] = loader.sampler
        return loader

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        loader = self._loader("train", self.batch_size, self.sampler_options)
        continue_where_stopped(self.samplers["train"], self.trainer)
        return loader

    def val_dataloader(self) -> DataLoader | list:
        if not self.val_sources:
            return []
        self.setup("validate")
        return self._loader("val", self.val_batch_size, SamplerOptions(shuffle=False))

    def stats(self) -> dict[str, int]:
        """Counts per split, keyed ``"{split}/{count}"`` (see module docstring)."""
        counts = {}
        for split, dataset in self.datasets.items():
            counts.update({f"{split}/{key}": value for key, value in dataset.stats().items()})
        for split, sampler in self.samplers.items():
            counts[f"{split}/dropped_last_epoch"] = sampler.dropped_last_epoch
        return counts
