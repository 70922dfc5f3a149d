"""The frozen-feature cache of the finetuning stage: its key, filling it, and opening it for a model.

The key (SHA-256 of canonical JSON, :func:`cache_fields`) covers everything that changes Florence-2's features:
the encoder's weights (every tensor's name, dtype, shape and bytes, so ``init_from`` weights count), its prompts,
padded prompt length, ``mask_prompt_padding``, ``keep_global_token``, image size, and the image preprocessing
(policy, size, mean, std). Changing any of them gives a new key and so a new subdirectory of the cache
(:class:`~fvl.data.feature_store.FeatureStore`); old entries are never read for it.

The cache holds the raw named features (``depth`` and one per prompt), so every fusion and projector trains
from it. It is only valid while Florence-2 is frozen: :func:`open_for_model` refuses a model whose vision
tower has trainable parameters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

import torch

from fvl.data.feature_store import DTYPES, FeatureStore, image_digest
from fvl.data.images import ImageProcessor, ImageSettings, load_image
from fvl.data.sample import ImageRef
from fvl.models.florence_vl import FlorenceVL
from fvl.models.vision import VisionEncoder

CACHE_FORMAT_VERSION = 1


def weights_digest(module: torch.nn.Module) -> str:
    """SHA-256 over every parameter and buffer of ``module``: name, dtype, shape and bytes."""
    digest = hashlib.sha256()
    for name, tensor in sorted({**dict(module.named_parameters()), **dict(module.named_buffers())}.items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def cache_fields(vision: VisionEncoder, image: ImageSettings) -> dict[str, Any]:
    """What the key covers (module docstring), as plain values."""
    return {
        "format_version": CACHE_FORMAT_VERSION,
        "weights_sha256": weights_digest(vision),
        **vision.feature_settings(),
        "image": asdict(image),
    }


def cache_key(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def image_settings_of(model: FlorenceVL, policy: str) -> ImageSettings:
    """The preprocessing the data pipeline applies for ``model`` under image ``policy`` (square|pad)."""
    return ImageSettings(model.image_size, policy, tuple(model.image_mean), tuple(model.image_std))


def check_vision_frozen(model: FlorenceVL) -> None:
    if any(p.requires_grad for p in model.vision.parameters()):
        raise ValueError(
            "data.feature_cache replaces Florence-2 by its cached features, but Florence-2 trains in this stage "
            "(its parameters require gradients). Use a stage that freezes it (stage=finetune, stage.frozen: "
            "[vision]) or set data.feature_cache=null."
        )


def open_for_model(root: str, model: FlorenceVL, image: ImageSettings) -> FeatureStore:
    """The store of ``model``'s key under ``root``, checked to hold entries and every feature the fusion needs."""
    check_vision_frozen(model)
    store = FeatureStore(root, cache_key(cache_fields(model.vision, image)))
    store.check_ready()
    missing = sorted(set(model.fusion.features) - set(store.manifest()["features"]))
    if missing:
        raise ValueError(f"{store.directory} lacks the features {missing} this fusion needs; fill it again.")
    return store


def projected_bytes(vision: VisionEncoder, images: int, dtype: str) -> int:
    """Bytes the features of ``images`` images take in ``dtype`` (headers aside)."""
    per_image = len(vision.feature_names) * vision.num_tokens * vision.feature_dim
    return images * per_image * DTYPES[dtype].itemsize


@torch.no_grad()
def fill_cache(
    vision: VisionEncoder,
    store: FeatureStore,
    images: Iterable[ImageRef],
    image: ImageSettings,
    batch_size: int = 8,
    shard_images: int = 256,
    max_pixels: int | None = None,
) -> int:
    """Encode every image of ``images`` not cached yet (deduplicated by content) into new shards; returns how many."""
    processor = ImageProcessor(image)
    device = next(vision.parameters()).device
    pending: dict[str, dict[str, torch.Tensor]] = {}
    batch: list[tuple[str, torch.Tensor]] = []
    seen: set[str] = set()
    written = 0

    def encode() -> None:
        features = vision(torch.stack([pixels for _, pixels in batch]).to(device))
        for row, (digest, _) in enumerate(batch):
            pending[digest] = {name: value[row] for name, value in features.items()}
        batch.clear()

    for ref in images:
        digest = image_digest(ref)
        if digest in seen or digest in store:
            continue
        seen.add(digest)
        batch.append((digest, processor(load_image(ref, max_pixels))))
        if len(batch) == batch_size:
            encode()
        if len(pending) >= shard_images:
            store.write_shard(pending)
            written += len(pending)
            pending.clear()
    if batch:
        encode()
    if pending:
        store.write_shard(pending)
        written += len(pending)
    return written
