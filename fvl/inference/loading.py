"""Loading for the inference commands: the model as a ``ModelPredictor`` on its device, images, and the startup lines.

The model is loaded by :func:`fvl.models.loading.load` (an export, a run dir or a ``.ckpt``) and wrapped in
:class:`fvl.eval.predictor.ModelPredictor`, which holds the encoder, image processor and collator built from the
model's recorded ``input_format``: chat, predict and serve encode prompts and images exactly as evaluation (and so
training) does. Mistakes a user can make (no such path, not a model, a device this machine lacks, an image that is
missing or no image) become :class:`~fvl.inference.options.UsageError` naming the thing and the fix.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

import torch
from PIL import Image

from fvl.data.images import ImageLoadError, load_image
from fvl.eval.predictor import ModelPredictor
from fvl.inference.options import DecodingOptions
from fvl.models.loading import load, locate
from fvl.usage import UsageError


def pick_device(requested: str | None) -> torch.device:
    """``requested`` (checked against this machine), or cuda when available, else cpu."""
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"--device {requested!r} is not a device; use cpu, cuda or cuda:<index>.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {requested}: this machine has no CUDA GPU torch can use; use --device cpu.")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"--device {requested}: there are only {torch.cuda.device_count()} GPUs (cuda:0 …).")
    return device


def check_model_path(path: str | Path) -> Path:
    """Where the model at ``path`` lives (an export dir or a checkpoint); refuses what is no model, cheaply."""
    try:
        return locate(path)[1]
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def load_predictor(
    path: str | Path, options: DecodingOptions, device: str | None = None, dtype: str | None = None
) -> ModelPredictor:
    """The model at ``path`` on ``device``, ready to answer with ``options``; seeds sampling once when asked."""
    target = pick_device(device)
    check_model_path(path)
    try:
        model = load(path, **({"dtype": dtype} if dtype else {}))
    except (OSError, ValueError) as error:  # damaged, truncated or foreign files: load names the file and the fix
        raise UsageError(str(error)) from None
    if options.seed is not None:
        torch.manual_seed(options.seed)
    return ModelPredictor(model.to(target), options.max_new_tokens, target, **options.generate_kwargs())


def open_image(path: str | Path) -> Image.Image:
    """The RGB image at ``path`` (the data pipeline's decoder); a missing, empty or undecodable file is refused."""
    try:
        return load_image(Path(path))
    except ImageLoadError as error:
        raise UsageError(f"{error}. Give a readable image file (PNG, JPEG, …).") from None


def prompt_suffix(requested: str | None, predictor: ModelPredictor) -> str:
    """The text appended to questions for ``--prompt-suffix``: none, the model's recorded one (``trained``), or
    the text given, ``\\n`` read as a newline."""
    if requested is None:
        return ""
    if requested == "trained":
        trained = predictor.input_format.get("prompt_suffix")
        if not trained:
            raise UsageError(
                "--prompt-suffix trained: this model records no prompt suffix (its training data set none); "
                "give the text itself, or leave the option out."
            )
        return trained
    return requested.replace("\\n", "\n")


def startup_lines(path: str | Path, predictor: ModelPredictor, options: DecodingOptions, suffix: str) -> list[str]:
    """What loaded and how it will answer, printed before the first prompt."""
    model = predictor.model
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    trained = predictor.input_format.get("prompt_suffix")
    if suffix:
        suffix_line = f"prompt suffix: {suffix!r} after every question"
    elif trained:
        suffix_line = f"prompt suffix: none (the model was trained with {trained!r}; --prompt-suffix trained adds it)"
    else:
        suffix_line = "prompt suffix: none"
    return [
        f"model: {check_model_path(path)} ({dtype} on {predictor.device})",
        f"images: {model.image_size}x{model.image_size} px, {model.num_image_tokens} image tokens",
        f"input format: {predictor.describe_input()}",
        suffix_line,
        f"decoding: {options.describe()}",
    ]


def load_from_args(args: Namespace, options: DecodingOptions) -> tuple[ModelPredictor, str, list[str]]:
    """For a command's parsed ``args`` (:func:`~fvl.inference.options.add_model_arguments`): the predictor, the
    prompt suffix, and the startup lines saying what loaded, which are also printed to stderr."""
    predictor = load_predictor(args.model, options, args.device, args.dtype)
    suffix = prompt_suffix(args.prompt_suffix, predictor)
    lines = startup_lines(args.model, predictor, options, suffix)
    print("\n".join(lines), file=sys.stderr, flush=True)
    return predictor, suffix, lines
