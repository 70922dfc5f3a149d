"""Convert the released Florence-VL checkpoints, or remote-code Florence-2 weights, into fvl's formats.

    python -m fvl.convert <source dir> <out dir>

Two kinds of source, told apart by ``model_type`` in ``<source dir>/config.json``:

* a released Florence-VL (``jiuhai/florence-vl-8b-sft``, ``-8b-pretrain``, ``-3b-sft``, ``-3b-pretrain``;
  ``llava_llama`` / ``llava_phi``) → an exported fvl model (``fvl_config.json``, ``florence/``, ``llm/``,
  ``connector.safetensors``) that ``fvl.models.loading.load(<out dir>)`` and ``evaluate.py checkpoint=<out dir>``
  load in one call, and ``train.py init_from=<out dir>`` trains further. The Florence-2 config and tokenizer come
  from ``--vision-tower`` (a directory or hub id), else ``<source>/vision_tower/``, else the hub repo the config
  names (``mm_vision_tower``).
* remote-code Florence-2 weights alone (``microsoft/Florence-2-large-ft``, ``jiuhai/florence-*-vision-tower``;
  ``florence2`` with ``vision_config.dim_embed``) → a native Florence-2 directory (encoder side) for
  ``model.vision.name_or_path=<out dir>``.

A plan (what was found, parameters per part, what is dropped and why, the input format) is printed before any
weight is read; a source that does not fit (missing or unexpected tensors, shape mismatches, an unknown
``model_type``) is refused naming the file and the fix. Weights are read one shard at a time into a model built
without initialisation, so one copy of the model is held, and the output directory appears only when complete.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import GenerationConfig

from fvl.models.export_files import write_directory
from fvl.models.finite import check_finite
from fvl.models.florence_encoder import DEFAULT_PROMPTS, DEPTH
from fvl.models.florence_vl import FlorenceVL
from fvl.models.released_build import (
    TOKENIZER_FILES,
    build_encoder,
    build_release,
    load_florence_tokenizer,
    load_tokenizer_files,
)
from fvl.models.released_config import (
    LlavaRelease,
    image_size_of,
    input_format,
    llava_release,
    native_florence_config,
    read_config,
    reference_template,
    source_kind,
)
from fvl.models.released_layout import VISION_PREFIX, ReleaseLayoutError, florence_target, llava_target
from fvl.models.released_matching import Matching, copy_into, match
from fvl.models.released_tensors import Stored, list_tensors
from fvl.models.spec import ModelSpec

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
Log = Callable[[str], None]
TOWER_FILES = ["config.json", "preprocessor_config.json", *TOKENIZER_FILES]


def count(n: int) -> str:
    return f"{n / 1e9:.3f} B" if n >= 1e9 else f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n:,}"


def pick_dtype(requested: str, stored: dict[str, Stored]) -> torch.dtype:
    """``auto``: the floating dtype holding most of the checkpoint's values."""
    if requested != "auto":
        return DTYPES[requested]
    values: Counter[torch.dtype] = Counter()
    for tensor in stored.values():
        if tensor.dtype.is_floating_point:
            values[tensor.dtype] += tensor.numel
    return max(values, key=values.get) if values else torch.float32


def check_out(source: Path, out: Path, overwrite: bool) -> None:
    source, target = source.resolve(), out.resolve()
    if target == source or source in target.parents:
        raise ReleaseLayoutError(f"The output {out} is inside the source {source}; write it somewhere else.")
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseLayoutError(f"{out} exists and is not empty; pass --overwrite to replace it, or another path.")


def resolve_tower(source: Path, release: LlavaRelease, given: str | None) -> Path:
    """The directory with the Florence-2 config and tokenizer the release was built on: ``given`` (a directory or a
    hub id), else ``<source>/vision_tower``, else the config's ``mm_vision_tower`` from the hub (or its cache)."""
    if given is None and (source / "vision_tower" / "config.json").is_file():
        return source / "vision_tower"
    name = given or release.vision_tower
    if name and Path(name).expanduser().is_dir():
        return Path(name).expanduser()
    fix = (
        f"download the vision tower's config and tokenizer (hf download {name or '<tower repo>'} "
        "--local-dir <dir> --include '*.json' --include '*.txt') and pass --vision-tower <dir>"
    )
    if not name or name.startswith(("/", ".", "~")):
        raise ReleaseLayoutError(
            f"{source}: the Florence-2 config and tokenizer ({name or 'no mm_vision_tower'}) are not here; {fix}."
        )
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name, allow_patterns=TOWER_FILES))
    except Exception as error:  # noqa: BLE001 — offline, unknown repo, no access: all mean the same fix
        raise ReleaseLayoutError(
            f"{source}: the vision tower {name} could not be fetched ({type(error).__name__}); {fix}."
        ) from None


def carry_generation_config(source: Path, model: FlorenceVL) -> str:
    """The release's generation_config.json (its stop tokens) onto the LLM, when it is a valid one."""
    file = source / "generation_config.json"
    if not file.is_file():
        return "no generation_config.json: the LLM's defaults from config.json"
    try:
        config = GenerationConfig.from_pretrained(source)
        config.validate(strict=True)
    except (OSError, ValueError) as error:
        return f"{file.name} not carried over ({str(error).splitlines()[0]})"
    model.llm.generation_config = config
    return f"{file.name} carried over"


def describe(stored: dict[str, Stored], matching: Matching, parts: dict[str, str], log: Log) -> None:
    files = sorted({tensor.file.name for tensor in stored.values()})
    total = sum(tensor.numel for tensor in stored.values())
    log(f"  found: {len(stored)} tensors, {count(total)} parameters in {len(files)} file(s): {', '.join(files[:6])}")
    for part, where in parts.items():
        log(f"  keep {part:<9} {count(matching.numel(part)):>12} ({matching.tensors(part)} tensors) -> {where}")
    for reason, tensors in sorted(matching.dropped.items()):
        log(f"  drop {count(sum(t.numel for t in tensors)):>12} ({len(tensors)} tensors): {reason}")


def convert_release(source: Path, out: Path, config: dict, options: argparse.Namespace, log: Log) -> None:
    release = llava_release(config, source / "config.json")
    tower = resolve_tower(source, release, options.vision_tower)
    florence_tokenizer = load_florence_tokenizer(tower)
    tower_config = read_config(tower)
    florence = native_florence_config(tower_config, tower / "config.json", florence_tokenizer)
    d_model = florence.text_config.d_model
    if release.mm_hidden_size != d_model:
        raise ReleaseLayoutError(
            f"{source / 'config.json'}: mm_hidden_size={release.mm_hidden_size}, but the vision "
            f"tower in {tower} has d_model {d_model}: they are not one model. Fix --vision-tower."
        )
    image_size, notes = image_size_of(tower)
    stored = list_tensors(source)
    tower_weights = [*tower.glob("*.safetensors"), *tower.glob("pytorch_model*.bin")]
    if not any(name.startswith(VISION_PREFIX) for name in stored) and tower_weights:
        stored.update({VISION_PREFIX + name: tensor for name, tensor in list_tensors(tower).items()})
        notes.append(f"the checkpoint holds no Florence-2 weights: taken from {tower}")
    tokenizer = load_tokenizer_files(source)
    dtype = pick_dtype(options.dtype, stored)
    fmt = input_format(release, options.format, options.image_policy)
    conversation = release.family.conversation
    model = build_release(florence, florence_tokenizer, release, tokenizer, image_size, dtype)
    if fmt["format"] == "chat":
        tokenizer.chat_template = reference_template(conversation, tokenizer)
    model.input_format.update(fmt)
    generation = carry_generation_config(source, model)
    hidden, dtype_name = model.llm_hidden_size, str(dtype).removeprefix("torch.")
    log(f"Converting {source}: released Florence-VL ({config['model_type']}) -> fvl export {out}")
    log(
        f"  LLM: {release.family.architecture} (model_type {release.family.model_type}), hidden {hidden}; config "
        f"fields dropped: {', '.join(release.dropped_fields)}; {generation}"
    )
    log(f"  vision: Florence-2 config and tokenizer from {tower}; d_model {d_model}; " + "; ".join(notes))
    matching = match(stored, llava_target, model, source)
    describe(stored, matching, {"llm": "llm/", "vision": "florence/", "projector": "connector.safetensors"}, log)
    features = [DEPTH, *DEFAULT_PROMPTS]
    log(
        f"  features: channel concat {features} -> {len(features)}x{d_model} -> {release.projector} -> {hidden}; "
        f"{model.num_image_tokens} image tokens at {image_size} px (global token kept, prompt pads attended)"
    )
    log(
        f"  input: format {fmt['format']}"
        + (f" ({conversation} conversation, system prompt {fmt['system_prompt']!r})" if fmt["format"] == "chat" else "")
        + f"; image policy {fmt['image_policy']} (image_aspect_ratio="
        f"{release.aspect}); dtype {dtype_name}"
    )
    copy_into(model, matching, log)
    model.spec = ModelSpec.parse(
        {
            "vision": {
                "name_or_path": str(tower),
                "d_model": d_model,
                "image_size": image_size,
                "prompts": dict(DEFAULT_PROMPTS),
                "mask_prompt_padding": False,
                "keep_global_token": True,
            },
            "llm": {"name_or_path": str(source), "hidden_size": hidden, "dtype": dtype_name},
            "fusion": {"name": "channel_concat", "features": features},
            "projector": {"name": release.projector},
        }
    ).to_dict()
    model.save_pretrained(out)
    log(f"Wrote {out}: load it with fvl.models.loading.load('{out}') or evaluate.py checkpoint={out}")


def convert_florence(source: Path, out: Path, config: dict, options: argparse.Namespace, log: Log) -> None:
    tokenizer = load_florence_tokenizer(source)
    florence = native_florence_config(config, source / "config.json", tokenizer)
    stored = list_tensors(source)
    dtype = pick_dtype(options.dtype, stored)
    encoder = build_encoder(florence, tokenizer, dtype)
    log(f"Converting {source}: remote-code Florence-2 -> native Florence-2 (encoder side) {out}")
    matching = match(stored, florence_target, encoder, source)
    describe(stored, matching, {"vision": "model.safetensors (native names)"}, log)
    copy_into(encoder, matching, log)
    check_finite(encoder, f"The Florence-2 weights in {source}", "Nothing was written; download them again.")
    write_directory(out, encoder.save_pretrained)
    log(f"Wrote {out}: use it as model.vision.name_or_path={out} (d_model {florence.text_config.d_model})")


def convert(
    source: str | Path,
    out: str | Path,
    vision_tower: str | None = None,
    prompt_format: str | None = None,
    image_policy: str | None = None,
    dtype: str = "auto",
    overwrite: bool = False,
    log: Log = print,
) -> Path:
    """Convert ``source`` (module docstring) into ``out``; returns ``out``."""
    source, out = Path(source).expanduser(), Path(out).expanduser()
    config = read_config(source)
    kind = source_kind(config, source / "config.json")
    check_out(source, out, overwrite)
    options = argparse.Namespace(
        vision_tower=vision_tower, format=prompt_format, image_policy=image_policy, dtype=dtype
    )
    (convert_release if kind == "llava" else convert_florence)(source, out, config, options, log)
    return out


EPILOG = """examples:
  hf download jiuhai/florence-vl-8b-sft --local-dir ckpt/florence-vl-8b-sft
  python -m fvl.convert ckpt/florence-vl-8b-sft models/florence-vl-8b-sft
  python evaluate.py checkpoint=models/florence-vl-8b-sft benchmarks=[pope] dtype=bfloat16

  hf download microsoft/Florence-2-large-ft --local-dir ckpt/Florence-2-large-ft
  python -m fvl.convert ckpt/Florence-2-large-ft models/Florence-2-large-ft
  python train.py experiment=florence_vl_8b_pretrain model.vision.name_or_path=models/Florence-2-large-ft
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fvl.convert",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", type=Path, help="downloaded repository: a released Florence-VL or a Florence-2 tower")
    parser.add_argument("out", type=Path, help="directory to write (an fvl export, or a native Florence-2)")
    parser.add_argument("--vision-tower", help="Florence-2 config + tokenizer of a release (directory or hub id)")
    parser.add_argument(
        "--format",
        choices=["chat", "plain"],
        help="override the prompt format (default: chat for "
        "image_aspect_ratio=pad, i.e. SFT; plain for square, i.e. pretraining)",
    )
    parser.add_argument("--image-policy", choices=["pad", "square"], help="override image_aspect_ratio's policy")
    parser.add_argument(
        "--dtype", choices=["auto", *DTYPES], default="auto", help="weights' dtype (auto: the source's)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty output directory")
    args = parser.parse_args(argv)
    try:
        convert(args.source, args.out, args.vision_tower, args.format, args.image_policy, args.dtype, args.overwrite)
    except (FileNotFoundError, ValueError) as error:  # a wrong path, or a source that does not fit
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()
