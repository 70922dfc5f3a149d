"""``fvl feature-maps <model> <images> [--out DIR]``: what each Florence-2 feature sees, as in the paper's figure.

For a few images (files, or the image files of a folder), the model's own vision encoder gives the depth feature
and one breadth feature per prompt (:class:`~fvl.models.florence_encoder.FlorenceEncoder`, the global token left
out); each feature's first three principal components, fitted jointly over the images so that colours compare
across them, become RGB over the token grid (:mod:`fvl.analysis.pca_maps`). Written to ``DIR`` (default
``feature_maps/``):

- ``feature_maps.png``: a row per image — the image as the model sees it, then a map per feature;
- ``fusion_weights.png`` when the model's fusion is ``adaptive``: a row per image — the image, then the weight
  the fusion gives each feature at each token (:meth:`fvl.models.fusion.Adaptive.weights`);
- ``feature_maps.npz``: the arrays behind both (``image_names``, ``pca/<feature>``, ``explained/<feature>``,
  ``fusion_weights``, ``fusion_features``).

``--image-size`` runs the encoder at another resolution than the model's (a multiple of 32: a finer grid, off
the resolution it was trained at). Mistakes (no such file, not a model, an unreadable image, a bad option) are
refused with exit status 2 before the model loads.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fvl.analysis.pca_maps import PcaMap, pca_rgb, token_grid
from fvl.usage import UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
FEATURE_MAPS_PNG, FUSION_WEIGHTS_PNG, ARRAYS_FILE = "feature_maps.png", "fusion_weights.png", "feature_maps.npz"
GRID_STRIDE = 32  # DaViT's total downsampling: one token per 32×32 pixels
DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class FeatureMaps:
    """What the figures show: the images as the model sees them (B, S, S, 3) in [0, 1], each feature's PCA map,
    and the adaptive fusion's weights (B, H, W, F) with the features they weigh (None for other fusions)."""

    image_names: list[str]
    images: np.ndarray
    maps: dict[str, PcaMap]
    fusion_weights: np.ndarray | None = None
    fusion_features: tuple[str, ...] = ()


def image_files(paths: list[str], limit: int) -> list[Path]:
    """The image files named, folders expanded to their image files (sorted), at most ``limit``."""
    found: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if path.is_dir():
            inside = sorted(item for item in path.iterdir() if item.suffix.lower() in IMAGE_SUFFIXES)
            if not inside:
                raise UsageError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)}); give images or a folder")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path} does not exist; give image files or a folder of images")
    if len(found) > limit:
        print(f"feature-maps: using the first {limit} of {len(found)} images (--max-images)", file=sys.stderr)
    return found[:limit]


def extract(model, pixel_values) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """The vision encoder's named features over the token grid, {name: (B, H, W, D)}, and the adaptive fusion's
    weights (B, H, W, F) (None for other fusions), for ``pixel_values`` (B, 3, S, S)."""
    import torch

    from fvl.models.fusion import Adaptive

    parameter = next(model.vision.parameters())
    with torch.no_grad():
        features = model.vision(pixel_values.to(parameter.device, parameter.dtype))
        weights = model.fusion.weights(features) if isinstance(model.fusion, Adaptive) else None
    keep_global = model.vision.keep_global_token
    grids = {name: token_grid(value.float().cpu().numpy(), keep_global) for name, value in features.items()}
    return grids, None if weights is None else token_grid(weights.float().cpu().numpy(), keep_global)


def feature_maps(model, images: list, image_names: list[str], image_size: int | None = None) -> FeatureMaps:
    """:class:`FeatureMaps` of PIL ``images`` for ``model``, preprocessed as the model's recorded input format says
    (at ``image_size`` when given)."""
    import torch

    from fvl.data.images import ImageProcessor, ImageSettings

    size = image_size or model.image_size
    settings = ImageSettings(size, model.input_format["image_policy"], model.image_mean, model.image_std)
    pixels = torch.stack([ImageProcessor(settings)(image) for image in images])
    try:
        grids, weights = extract(model, pixels)
    except IndexError as error:  # the learned 2-D position table ends before this grid does
        raise UsageError(f"--image-size {size} is too large for this model's position embeddings ({error})") from None
    mean, std = torch.tensor(settings.mean).view(3, 1, 1), torch.tensor(settings.std).view(3, 1, 1)
    shown = (pixels * std + mean).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    maps = {name: pca_rgb(grid) for name, grid in grids.items()}
    fused = tuple(model.fusion.features) if weights is not None else ()
    return FeatureMaps(image_names, shown, maps, weights, fused)


def write_feature_maps(result: FeatureMaps, out_dir: str | Path) -> list[Path]:
    """The figures and ``feature_maps.npz`` of ``result`` in ``out_dir``; returns the files written."""
    from fvl.analysis.map_figures import draw_feature_maps, draw_fusion_weights
    from fvl.report.figures import save_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {"image_names": np.array(result.image_names)}
    arrays.update({f"pca/{name}": pca.rgb.astype(np.float32) for name, pca in result.maps.items()})
    arrays.update({f"explained/{name}": np.array(pca.explained) for name, pca in result.maps.items()})
    written = [save_png(draw_feature_maps(result.images, result.image_names, result.maps), out / FEATURE_MAPS_PNG)]
    if result.fusion_weights is not None:
        arrays["fusion_weights"] = result.fusion_weights.astype(np.float32)
        arrays["fusion_features"] = np.array(result.fusion_features)
        figure = draw_fusion_weights(result.images, result.image_names, result.fusion_weights, result.fusion_features)
        written.append(save_png(figure, out / FUSION_WEIGHTS_PNG))
    np.savez_compressed(out / ARRAYS_FILE, **arrays)
    return [*written, out / ARRAYS_FILE]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _image_size(text: str) -> int:
    value = _positive(text)
    if value % GRID_STRIDE:
        raise argparse.ArgumentTypeError(f"{value} is not a multiple of {GRID_STRIDE} (one token per 32×32 pixels)")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fvl feature-maps",
        description="PCA maps (3 components as RGB) of the depth feature and of each prompt's breadth feature over the "
        "token grid, per image; with an adaptive fusion also its weight per token and feature.",
        epilog=f"Writes {FEATURE_MAPS_PNG}, {FUSION_WEIGHTS_PNG} (adaptive fusion) and {ARRAYS_FILE} into --out.",
    )
    parser.add_argument("model", help="an exported model dir (<run>/model), a run dir, or a .ckpt file")
    parser.add_argument("images", nargs="+", help="image files, or folders of images")
    parser.add_argument("--out", default="feature_maps", help="folder for the pictures (default: feature_maps)")
    parser.add_argument("--max-images", type=_positive, default=6, help="at most this many images (default 6)")
    parser.add_argument("--image-size", type=_image_size, help="encoder resolution (default: the model's own)")
    parser.add_argument("--device", help="cpu, cuda or cuda:<index> (default: cuda when available)")
    parser.add_argument("--dtype", choices=DTYPES, help="load the model in this dtype (default: float32)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> list[Path]:
    """Check what is cheap to check, then load, extract and write (raises :class:`UsageError`)."""
    if not Path(args.model).exists():
        raise UsageError(f"{args.model} does not exist; give an exported model dir (<run>/model), a run dir or a .ckpt")
    files = image_files(args.images, args.max_images)
    import torch

    from fvl.data.images import ImageLoadError, load_image
    from fvl.models.loading import load, locate

    try:
        images = [load_image(path) for path in files]
    except ImageLoadError as error:
        raise UsageError(f"{error}; give readable image files (PNG, JPEG, …)") from None
    try:
        locate(args.model)
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if device.type == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: this machine has no CUDA GPU torch can use; use --device cpu")
        model = load(args.model, **({"dtype": args.dtype} if args.dtype else {})).to(device)
    except (OSError, ValueError, RuntimeError) as error:
        raise UsageError(str(error)) from None
    result = feature_maps(model, images, [path.name for path in files], args.image_size)
    return write_feature_maps(result, args.out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        written = run(args)
    except UsageError as error:
        print(f"fvl feature-maps: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
