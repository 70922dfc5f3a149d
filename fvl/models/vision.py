"""The vision-encoder contract and its registry (``model.vision.kind``): images → named features of one shape.

FlorenceVL never looks inside its vision encoder; it relies only on what :class:`VisionEncoder` declares:

* ``feature_names`` — the names of the features ``forward`` returns (Florence-2: ``depth`` and one per prompt);
  fusions pick a subset by name, so a config can be checked before any weight loads (:meth:`features_for`);
* ``feature_dim`` and ``num_tokens`` — every feature is ``(B, num_tokens, feature_dim)``;
* ``image_size``, ``image_mean``, ``image_std`` — what the data pipeline makes of an image;
* ``block_class_names`` — the repeated blocks: FSDP units and activation checkpointing;
* building from a spec (:meth:`from_spec`, tiny random or pretrained), saving into and loading from an export's
  ``export_dir`` (:meth:`save_pretrained`, :meth:`export_options`, :meth:`from_pretrained`), a snapshot that
  rebuilds it without its base weights (:meth:`snapshot`, :meth:`from_snapshot`, for training ``.ckpt`` files),
  what its features depend on besides the weights (:meth:`feature_settings`, the feature cache's key), and its
  forward FLOPs per image (:meth:`forward_flops`; measured once with ``FlopCounterMode`` unless overridden).

A new backbone is one module that subclasses :class:`VisionEncoder` and registers itself with
``@register_vision("<kind>")``, plus a ``model/vision/<kind>.yaml`` that sets ``kind: <kind>``; its own options
come from ``model.vision.options`` as keyword arguments of :meth:`~VisionEncoder.from_spec` (checked against its
signature when the config is composed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.models.checkpointing import checkpoint_blocks, modules_of_classes
from fvl.models.flops import ForwardFlops
from fvl.registry import Registry

if TYPE_CHECKING:
    from fvl.models.spec import VisionSpec

SUPPLIED = ("spec", "features")  # what from_spec always gets; its other keyword arguments are options


class VisionEncoder(nn.Module):
    """Base of every vision backbone (module docstring). ``forward(pixel_values) -> {name: (B, T, D)}``."""

    kind: ClassVar[str] = "base"
    export_dir: ClassVar[str] = "vision"  # the subdirectory of an export that holds it
    block_class_names: ClassVar[tuple[str, ...]] = ()
    image_mean: tuple[float, float, float] = IMAGENET_MEAN
    image_std: tuple[float, float, float] = IMAGENET_STD
    image_size: int  # the side of the square images it takes, set by the subclass

    # ---- what it declares -------------------------------------------------------------------------------------
    @property
    def feature_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def feature_dim(self) -> int:
        raise NotImplementedError

    @property
    def num_tokens(self) -> int:
        raise NotImplementedError

    @classmethod
    def features_for(cls, spec: VisionSpec) -> tuple[str, ...]:
        """The feature names an encoder built from ``spec`` gives (checked against the fusion's at compose time)."""
        raise NotImplementedError

    @classmethod
    def check_spec(cls, spec: VisionSpec) -> None:
        """Raise a ValueError naming the ``model.vision`` key for a spec this encoder cannot be built from."""

    @classmethod
    def num_tokens_for(cls, spec: VisionSpec) -> int:
        """The token count of each feature for ``spec`` (known before anything is built)."""
        raise NotImplementedError

    # ---- building, saving, loading ----------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: VisionSpec, features: Sequence[str], **options: Any) -> VisionEncoder:
        """Tiny random weights (``spec.tiny``) or pretrained ones (``spec.name_or_path``), computing ``features``;
        ``options`` are ``spec.options``."""
        raise NotImplementedError

    @classmethod
    def from_pretrained(cls, directory: str | Path, **options: Any) -> VisionEncoder:
        """Load what :meth:`save_pretrained` wrote, with :meth:`export_options` as ``options``."""
        raise NotImplementedError

    def save_pretrained(self, directory: str | Path) -> None:
        raise NotImplementedError

    def export_options(self) -> dict[str, Any]:
        """Plain values that, with the saved directory, rebuild this encoder (``fvl_config.json``'s ``vision``)."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """Everything but the weights :meth:`from_snapshot` needs (configs, tokenizer files), as plain values."""
        raise NotImplementedError

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any], spec: VisionSpec, features: Sequence[str]) -> VisionEncoder:
        """The encoder of ``spec`` with uninitialised weights from a :meth:`snapshot` (a checkpoint loads them)."""
        raise NotImplementedError

    def feature_settings(self) -> dict[str, Any]:
        """What the features depend on besides the weights and the image (part of the feature cache's key)."""
        return {**self.export_options(), "kind": self.kind}

    # ---- training helpers -------------------------------------------------------------------------------------
    def enable_activation_checkpointing(self) -> None:
        checkpoint_blocks(modules_of_classes(self, list(self.block_class_names)))

    def forward_flops(self, images: int) -> ForwardFlops:
        """Forward FLOPs (matrix products) for ``images`` images: one image measured once with FlopCounterMode
        (all counted as weight products; override with an analytic count that splits off attention)."""
        if not hasattr(self, "_flops_per_image"):
            parameter = next(self.parameters())
            image = torch.zeros(1, 3, self.image_size, self.image_size, dtype=parameter.dtype, device=parameter.device)
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                self(image)
            self._flops_per_image = counter.get_total_flops()
        return ForwardFlops(weight=images * self._flops_per_image)


VISION_ENCODERS: Registry[type[VisionEncoder]] = Registry("vision encoder", "model.vision.kind")


def register_vision(kind: str):
    """Register a :class:`VisionEncoder` subclass under ``kind`` (sets its ``kind`` too)."""

    def add(cls: type[VisionEncoder]) -> type[VisionEncoder]:
        cls.kind = kind
        return VISION_ENCODERS.register(kind, cls)

    return add
