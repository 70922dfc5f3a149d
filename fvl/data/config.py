"""The typed ``data`` config node: what :class:`~fvl.data.datamodule.FVLDataModule` is built from.

Registered (through :mod:`fvl.training.config`) as the schema of ``fvl/conf/data/*``, so a wrong type (``data.
batch_size=abc``) fails at compose time naming the key; ``__post_init__`` checks ranges and choices. The
model-dependent options (tokenizer, visual-token count, image size and statistics) are not here: they come
from the built model.

``train`` / ``val``: a list of sources (a path, or a mapping of :class:`~fvl.data.sources.spec.SourceSpec` fields:
``path``, ``kind``, ``image_root``, ``weight``, ``split``, ``id_column``, ``image_column``,
``conversations_column``, ``name``). ``prompt_suffix``: the instruction your data appends to short-answer
questions (e.g. LLaVA's ``"\\nAnswer the question using a single word or phrase."``); it is not added to the
training text, only recorded in the exported model so ``evaluate.py``'s ``custom`` benchmark asks the same way.
The text layout, recorded in the model too: ``plain_layout`` (reference|eos, :mod:`fvl.data.formats.plain`) and
``image_placement`` (turn_start|as_given, :mod:`fvl.data.sample`); the defaults are the reference recipe's.

Data faults (:mod:`fvl.data.scan.checks`): ``sample_policy`` (skip|raise) for malformed records,
``image_policy`` (skip|raise) for images, ``overlong`` (truncate|drop) for samples over ``max_length``; the
largest share of a source's records each may take: ``max_malformed_rate``, ``max_skip_rate`` (images),
``max_drop_rate`` (overlong drops); ``max_image_pixels`` (null: no limit) refuses larger images from their header.

``packing`` (:mod:`fvl.data.packing`): training rows of several samples, bin-packed to ``pack_tokens`` tokens each
(null: ``max_length``); ``batch_size`` then counts packed rows per micro-batch. Validation stays unpacked.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from fvl.data.formats.plain import PLAIN_LAYOUTS
from fvl.data.formats.registry import FORMATS
from fvl.data.formats.templates import CONVERSATIONS
from fvl.data.sample import IMAGE_PLACEMENTS
from fvl.data.scan.checks import SAMPLE_POLICIES, SkipLimits
from fvl.data.synthetic.generate import SyntheticOptions

OVERLONG = ("truncate", "drop")
IMAGE_FAILURES = ("skip", "raise")


def _one_of(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{key}={value!r} is not one of {list(allowed)}.")


def _positive(key: str, value: int | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value <= 0:
        raise ValueError(f"{key}={value!r} must be a positive integer.")


@dataclass
class ImageConfig:
    policy: str = "square"  # square: resize; pad: pad to square with the mean colour, then resize

    def __post_init__(self) -> None:
        _one_of("data.image.policy", self.policy, ("square", "pad"))


@dataclass
class SamplerConfig:
    shuffle: bool = True
    drop_last: bool = False
    megabatch_mult: int = 50


@dataclass
class DataConfig:
    train: Any = field(default_factory=list)
    val: Any = None
    synthetic: dict[str, Any] | None = None  # {root, **SyntheticOptions fields}: the demo set, generated on use
    format: str = "chat"  # a registered conversation format (fvl.data.formats.registry.FORMATS): chat | plain | ...
    system_prompt: str | None = None
    conversation: str | None = None  # llama3 | phi3 | ...: a template of fvl.data.formats.templates.CONVERSATIONS
    plain_layout: str = "reference"  # reference: <image>caption\n | eos: <image>\ncaption<eos> (fvl.data.formats.plain)
    image_placement: str = "turn_start"  # turn_start: <image>\n first in its turn | as_given (fvl.data.sample)
    prompt_suffix: str | None = None
    max_length: int | None = 2048
    overlong: str = "truncate"
    image: ImageConfig = field(default_factory=ImageConfig)
    image_policy: str = "skip"
    max_skip_rate: float = 0.01
    max_image_pixels: int | None = 100_000_000  # fvl.data.images.MAX_IMAGE_PIXELS (not imported: it needs torch)
    sample_policy: str = "skip"
    max_malformed_rate: float = 0.01
    max_drop_rate: float = 0.01
    batch_size: int = 16
    val_batch_size: int | None = None
    num_workers: int = 0
    pin_memory: bool = False
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    packing: bool = False  # several samples per row, padding-free (fvl.data.packing); batch_size then counts rows
    pack_tokens: int | None = None  # a packed row's capacity in tokens (null: max_length)
    seed: int = 42
    num_scan_workers: int | None = None
    scan_cache: bool = True
    scan_cache_dir: str | None = None
    scan_cache_refresh: bool = False
    scan_cache_content_hash: bool = False
    feature_cache: str | None = None  # directory of cached Florence-2 features (python -m fvl.cache_features)

    def __post_init__(self) -> None:
        FORMATS.get(self.format)  # an unknown name raises naming the registered formats
        _one_of("data.conversation", self.conversation, (None, *CONVERSATIONS.names()))
        _one_of("data.plain_layout", self.plain_layout, PLAIN_LAYOUTS)
        _one_of("data.image_placement", self.image_placement, IMAGE_PLACEMENTS)
        _one_of("data.overlong", self.overlong, OVERLONG)
        _one_of("data.image_policy", self.image_policy, IMAGE_FAILURES)
        _one_of("data.sample_policy", self.sample_policy, SAMPLE_POLICIES)
        _positive("data.batch_size", self.batch_size)
        _positive("data.val_batch_size", self.val_batch_size, allow_none=True)
        _positive("data.max_length", self.max_length, allow_none=True)
        _positive("data.max_image_pixels", self.max_image_pixels, allow_none=True)
        _positive("data.pack_tokens", self.pack_tokens, allow_none=True)
        if self.packing and self.pack_tokens is None and self.max_length is None:
            raise ValueError("data.packing=true needs a row capacity: set data.pack_tokens (or data.max_length).")
        if self.num_workers < 0:
            raise ValueError(f"data.num_workers={self.num_workers} must be >= 0.")
        try:
            SkipLimits(self.max_skip_rate, self.max_drop_rate, self.max_malformed_rate)
        except ValueError as error:
            raise ValueError(f"data.{error}") from error
        if self.synthetic is not None:
            options = dict(self.synthetic)
            if not options.pop("root", None):
                raise ValueError("data.synthetic needs root: the directory the demo set is generated in.")
            try:
                SyntheticOptions(**options)
            except TypeError as error:
                known = ["root", *(f.name for f in fields(SyntheticOptions))]
                raise ValueError(f"data.synthetic: {error}; its keys are {known}.") from error
        if not self.train:
            raise ValueError("data.train lists no source: data.train='[{path: /data/my.json, image_root: /data/img}]'.")
