"""``python -m fvl.cache_features [--dtype float16] [--batch-size 8] [--device cpu] <train.py overrides>``.

Composes ``fvl/conf/train.yaml`` with the overrides exactly as ``train.py`` does (so pass the finetuning run's own
overrides, ``init_from`` and ``data.feature_cache=<dir>`` included), builds that run's model, prints the projected
size, and writes each image's Florence-2 features (every configured prompt, :mod:`fvl.models.feature_cache`) of
the ``data.train`` and ``data.val`` sources once, skipping images already cached. Training with the same
overrides then reads them instead of running Florence-2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence

import lightning as L
import torch
from omegaconf import DictConfig

from fvl.data.feature_store import DTYPES, FeatureStore, image_digest
from fvl.data.sample import ImageRef
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import SourceSpec
from fvl.data.synthetic.generate import prepare_configured
from fvl.models.feature_cache import cache_fields, cache_key, fill_cache, image_settings_of, projected_bytes
from fvl.training.compose import compose_train
from fvl.training.factory import to_plain
from fvl.training.init_from import start_model


def source_images(data: DictConfig) -> Iterator[ImageRef]:
    """The image of every record with one, in the train then val sources."""
    for split in ("train", "val"):
        value = to_plain(data.get(split)) or []
        for item in [value] if isinstance(value, (str, dict)) else value:
            source = open_source(SourceSpec.coerce(item))
            for index in range(len(source)):
                sample = source.sample(index)
                if sample.has_image:
                    yield sample.image


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fvl.cache_features", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=list(DTYPES), default="float16", help="storage dtype (default float16)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per Florence-2 pass")
    parser.add_argument("--shard-images", type=int, default=256, help="images per safetensors shard")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("overrides", nargs="*", help="train.py overrides, data.feature_cache=<dir> included")
    args = parser.parse_args(argv)
    cfg = compose_train(args.overrides)
    root = cfg.data.get("feature_cache")
    if not root:
        print("Set data.feature_cache=<directory> (the same as for training).", file=sys.stderr)
        return 2
    prepare_configured(to_plain(cfg.data))
    L.seed_everything(cfg.seed)  # as train.py before building: a tiny random model gets the same weights and key
    model = start_model(to_plain(cfg.model), cfg.init_from)
    vision = model.vision.to(args.device).eval()
    settings = image_settings_of(model, cfg.data.image.policy)
    fields = cache_fields(vision, settings)
    store = FeatureStore(root, cache_key(fields))
    digests = {image_digest(ref) for ref in source_images(cfg.data)}
    todo = len([digest for digest in digests if digest not in store])
    size = projected_bytes(vision, todo, args.dtype)
    print(f"{len(digests)} distinct images, {todo} to encode into {store.directory}:")
    print(f"projected size ~{size / 2**30:.3f} GiB ({size:,} bytes) as {args.dtype}")
    store.start(fields, args.dtype, list(vision.feature_names))
    written = fill_cache(
        vision, store, source_images(cfg.data), settings, args.batch_size, args.shard_images, cfg.data.max_image_pixels
    )
    print(f"Wrote the features of {written} images to {store.directory}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
