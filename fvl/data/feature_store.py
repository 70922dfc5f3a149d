"""A directory of cached Florence-2 features, one subdirectory per encoder key, read by image content hash.

Layout: ``<root>/<key>/manifest.json`` (the key's fields, the storage dtype, the feature names) and
``<root>/<key>/shard-*.safetensors``, each holding tensors named ``<image sha256>/<feature name>`` of shape
(num_tokens, feature_dim). Shards are written whole or not at all (:func:`fvl.files.replace_atomically`); the
index (image hash → shard) is rebuilt from the shards' headers when the store opens. A changed encoder or
preprocessing gives a new key, hence a new subdirectory: old entries are never read for it.

:func:`image_digest` is the content hash of an image reference (file bytes, encoded bytes, or a PIL image's
mode, size and pixels). A lookup that finds nothing raises :class:`MissingFeaturesError` naming the image and
the command that fills the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save

from fvl.data.images import describe
from fvl.data.sample import ImageRef
from fvl.files import replace_atomically, write_text_atomically

MANIFEST = "manifest.json"
FILL_COMMAND = "python -m fvl.cache_features <this run's overrides, data.feature_cache included>"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_BLOCK = 1 << 20


class MissingFeaturesError(KeyError):
    """The cache has no features for an image (or no entries at all for this encoder key)."""

    def __str__(self) -> str:
        return str(self.args[0])


def image_digest(ref: ImageRef) -> str:
    """SHA-256 of the image's content: the file's bytes, the encoded bytes, or a PIL image's mode, size, pixels."""
    if isinstance(ref, dict):
        ref = ref["bytes"] if ref.get("bytes") is not None else ref.get("path")
    digest = hashlib.sha256()
    if isinstance(ref, (bytes, bytearray)):
        digest.update(ref)
    elif isinstance(ref, Image.Image):
        digest.update(f"{ref.mode}:{ref.size}".encode())
        digest.update(ref.tobytes())
    else:
        with open(os.fspath(ref), "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    return digest.hexdigest()


class FeatureStore:
    """The cached features of one encoder ``key`` under ``root`` (module docstring)."""

    def __init__(self, root: str | Path, key: str) -> None:
        self.root = Path(root)
        self.key = key
        self.directory = self.root / key
        self._index: dict[str, Path] | None = None

    # ---- state ------------------------------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        path = self.directory / MANIFEST
        return json.loads(path.read_text()) if path.is_file() else None

    def index(self) -> dict[str, Path]:
        """Image hash → shard, from the shards' headers (read once per process)."""
        if self._index is None:
            self._index = {}
            for shard in sorted(self.directory.glob("shard-*.safetensors")):
                with safe_open(str(shard), framework="pt") as reader:
                    for name in reader.keys():
                        self._index.setdefault(name.split("/", 1)[0], shard)
        return self._index

    def __contains__(self, digest: str) -> bool:
        return digest in self.index()

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers rebuild the index themselves
        return {**self.__dict__, "_index": None}

    def check_ready(self) -> None:
        """Raise :class:`MissingFeaturesError` when nothing was cached for this key (naming the other keys)."""
        if self.manifest() is None:
            others = sorted(path.parent.name for path in self.root.glob(f"*/{MANIFEST}"))
            hint = f" It holds other keys {others}: the encoder or preprocessing changed since." if others else ""
            raise MissingFeaturesError(
                f"The feature cache {self.root} has no entries for this model's encoder key {self.key}.{hint} "
                f"Fill it: {FILL_COMMAND}, or set data.feature_cache=null."
            )

    # ---- reading ----------------------------------------------------------------------------------------------
    def read(self, ref: ImageRef, sample_id: str) -> dict[str, torch.Tensor]:
        """The features of image ``ref`` as stored ({name: (num_tokens, feature_dim)})."""
        digest = image_digest(ref)
        shard = self.index().get(digest)
        if shard is None:
            raise MissingFeaturesError(
                f"sample {sample_id!r}: {describe(ref)} (sha256 {digest[:16]}…) has no cached features in "
                f"{self.directory}. Fill the cache: {FILL_COMMAND}."
            )
        names = (self.manifest() or {})["features"]
        with safe_open(str(shard), framework="pt") as reader:
            return {name: reader.get_tensor(f"{digest}/{name}") for name in names}

    # ---- writing ----------------------------------------------------------------------------------------------
    def start(self, fields: Mapping[str, Any], dtype: str, features: list[str]) -> None:
        """Write the manifest (first fill) or check that the existing one stores the same dtype and features."""
        if dtype not in DTYPES:
            raise ValueError(f"feature cache dtype {dtype!r} is unknown; use one of {list(DTYPES)}.")
        wanted = {"key": self.key, "fields": dict(fields), "dtype": dtype, "features": list(features)}
        found = self.manifest()
        if found is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self.directory / MANIFEST, json.dumps(wanted, indent=1) + "\n")
        elif (found["dtype"], found["features"]) != (dtype, list(features)):
            raise ValueError(
                f"{self.directory} stores {found['dtype']} features {found['features']}, not {dtype} {list(features)}: "
                f"use --dtype {found['dtype']}, or another data.feature_cache directory."
            )

    def write_shard(self, entries: Mapping[str, Mapping[str, torch.Tensor]]) -> Path:
        """Store ``{image hash: {name: tensor}}`` as one new shard, cast to the manifest's dtype."""
        dtype = DTYPES[(self.manifest() or {})["dtype"]]
        tensors = {
            f"{digest}/{name}": value.detach().to("cpu", dtype).contiguous()
            for digest, features in entries.items()
            for name, value in features.items()
        }
        shard = self.directory / f"shard-{uuid.uuid4().hex}.safetensors"
        replace_atomically(shard, lambda file: file.write(save(tensors)))
        if self._index is not None:
            self._index.update(dict.fromkeys(entries, shard))
        return shard
