"""The key layout of the released Florence-VL checkpoints and of remote-code Florence-2, mapped onto fvl's modules.

Two source layouts are read:

* **LLaVA layout** (``jiuhai/florence-vl-{8b,3b}-{sft,pretrain}``): the whole model in one state dict. The LLM
  under ``model.{embed_tokens,layers,norm}`` and ``lm_head`` (Hugging Face Llama / Phi-3 names), the projector
  under ``model.mm_projector.encoder_mlp.{0, 1.1, 2.1}`` (``.1.0`` / ``.2.0`` are parameter-free GELUs), and
  Florence-2 under ``model.vision_tower.vision_tower.`` in the remote-code layout.
* **remote-code Florence-2** (``microsoft/Florence-2-large-ft``, the vision-tower repos): DaViT under
  ``vision_tower.`` with ``PreNorm`` wrappers (``conv1.fn.dw``, ``window_attn.norm``, ``ffn.fn.net.fc1`` ...),
  ``image_projection`` as a raw (in, out) matrix used as ``x @ W``, and BART under ``language_model.``.

Targets are the state-dict keys of :class:`~fvl.models.florence_vl.FlorenceVL` (``llm.``, ``projector.``,
``vision.``) or of :class:`~fvl.models.florence_encoder.FlorenceEncoder` (``vision_tower.``,
``multi_modal_projector.``, ``encoder.``), i.e. transformers' native Florence-2 modules. ``image_projection`` is
transposed into ``nn.Linear``'s (out, in); the BART decoder, ``lm_head`` and ``final_logits_bias`` are dropped
(fvl never runs the decoder); ``encoder.embed_tokens`` is a tied copy of ``shared`` (the remote code embeds the
prompts with ``shared``), so ``shared`` wins when both are stored.

Nothing here reads tensor data until :func:`copy_into`: names, shapes and dtypes come from the files' headers, so
a checkpoint that does not fit is refused (:func:`match`) before anything heavy is loaded.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn

from fvl.models.export_files import safetensors_problem

VISION_PREFIX = "model.vision_tower.vision_tower."
INDEX_FILE = "model.safetensors.index.json"
SAFETENSORS_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}
DECODER = "the Florence-2 decoder side (fvl runs only the encoder)"


class ReleaseLayoutError(ValueError):
    """A source directory that cannot be converted; the message names the file and the fix."""


@dataclass(frozen=True)
class Stored:
    """One tensor in a checkpoint file, known from the file's header only."""

    file: Path
    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def numel(self) -> int:
        return int(torch.Size(self.shape).numel())


@dataclass(frozen=True)
class Target:
    """Where a stored tensor goes: ``key`` of the target module, transposed or not; ``rank`` breaks ties between
    copies of one tensor (the lower rank wins)."""

    part: str
    key: str
    transpose: bool = False
    rank: int = 0


# What a source key maps to: a Target, a reason it is dropped (str), or None (unexpected).
Mapped = Target | str | None

# ---- remote-code Florence-2 → native ----------------------------------------------------------------------------
_BLOCK = r"^(vision_tower\.blocks\.\d+\.\d+\.(?:spatial|channel)_block)\."
_FLORENCE_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^vision_tower\.convs\.(\d+)\.proj\.", r"vision_tower.convs.\1.conv."),
        (r"^vision_tower\.convs\.(\d+)\.norm\.", r"vision_tower.convs.\1.norm."),
        (_BLOCK + r"conv([12])\.fn\.dw\.", r"\1.conv\2."),
        (_BLOCK + r"(?:window_attn|channel_attn)\.norm\.", r"\1.norm1."),
        (_BLOCK + r"(window_attn|channel_attn)\.fn\.(qkv|proj)\.", r"\1.\2.\3."),
        (_BLOCK + r"ffn\.norm\.", r"\1.norm2."),
        (_BLOCK + r"ffn\.fn\.net\.(fc[12])\.", r"\1.ffn.\2."),
        (r"^image_proj_norm\.", "multi_modal_projector.image_proj_norm."),
        (r"^image_pos_embed\.((?:row|column)_embeddings)\.", r"multi_modal_projector.image_position_embed.\1."),
        (r"^visual_temporal_embed\.pos_idx_to_embed$", "multi_modal_projector.visual_temporal_embed.pos_idx_to_embed"),
        (r"^language_model\.model\.encoder\.(?!embed_tokens\.)", "encoder."),
    )
)


def florence_target(key: str, part: str = "vision") -> Mapped:
    """A remote-code Florence-2 key → a FlorenceEncoder key (or why it is dropped, or None)."""
    if key == "image_projection":
        return Target(part, "multi_modal_projector.image_projection.weight", transpose=True)
    if key == "language_model.model.shared.weight":
        return Target(part, "encoder.embed_tokens.weight")
    if key == "language_model.model.encoder.embed_tokens.weight":
        return Target(part, "encoder.embed_tokens.weight", rank=1)  # tied copy of `shared`
    if key.startswith(("language_model.model.decoder.", "language_model.lm_head.")) or key in (
        "language_model.final_logits_bias",
        "final_logits_bias",
    ):
        return DECODER
    for pattern, replacement in _FLORENCE_RULES:
        if pattern.match(key):
            return Target(part, pattern.sub(replacement, key, count=1))
    return None


_PROJECTOR = re.compile(r"^model\.mm_projector\.encoder_mlp\.(\d+)((?:\.1)?)\.(weight|bias)$")
_LLM = re.compile(r"^(model\.(?:embed_tokens|layers|norm)\.|lm_head\.)")


def llava_target(key: str) -> Mapped:
    """A LLaVA-layout key → a FlorenceVL key (``llm.``, ``projector.``, ``vision.``), a drop reason, or None."""
    if key.startswith(VISION_PREFIX):
        mapped = florence_target(key[len(VISION_PREFIX) :])
        if isinstance(mapped, Target):
            return Target("vision", "vision." + mapped.key, mapped.transpose, mapped.rank)
        return mapped
    match = _PROJECTOR.match(key)
    if match:
        layer, wrapped, param = int(match.group(1)), bool(match.group(2)), match.group(3)
        if wrapped != (layer > 0):  # layer 0 is the bare Linear; layer k > 0 is Sequential(GELU, Linear)
            return None
        return Target("projector", f"projector.{2 * layer}.{param}")
    if key.endswith("rotary_emb.inv_freq"):
        return "rotary-embedding buffers (recomputed from the config)"
    if _LLM.match(key):
        return Target("llm", "llm." + key)
    return None


# ---- reading checkpoint headers ---------------------------------------------------------------------------------
def _safetensors_headers(files: list[Path]) -> dict[str, Stored]:
    found: dict[str, Stored] = {}
    for file in files:
        problem = safetensors_problem(file)
        if problem:
            raise ReleaseLayoutError(f"{file} is damaged ({problem}). Download it again.")
        with safe_open(str(file), framework="pt") as reader:
            for name in reader.keys():
                piece = reader.get_slice(name)
                dtype = SAFETENSORS_DTYPES.get(piece.get_dtype(), torch.float32)
                found[name] = Stored(file, name, tuple(piece.get_shape()), dtype)
    return found


def _torch_headers(files: list[Path]) -> dict[str, Stored]:
    found: dict[str, Stored] = {}
    for file in files:
        state = _load_torch_file(file)
        found.update({name: Stored(file, name, tuple(t.shape), t.dtype) for name, t in state.items()})
    return found


def _load_torch_file(file: Path) -> Mapping[str, torch.Tensor]:
    try:  # memory-mapped: reading the names and shapes touches no tensor data
        state = torch.load(file, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # noqa: BLE001 — torch raises many types for a damaged or foreign file
        raise ReleaseLayoutError(
            f"{file} is not a readable PyTorch weight file ({error}). Download it again."
        ) from None
    if not isinstance(state, Mapping):
        raise ReleaseLayoutError(f"{file} holds no state dict (a {type(state).__name__}).")
    return state


def list_tensors(directory: Path) -> dict[str, Stored]:
    """Every tensor of the checkpoint in ``directory``: ``*.safetensors`` (listed by ``model.safetensors.index.json``
    when there is one), else ``pytorch_model*.bin``. Raises naming a shard the index lists but the directory
    lacks, or a name the index puts in a shard that does not hold it."""
    index = directory / INDEX_FILE
    if index.is_file():
        try:
            weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError) as error:
            raise ReleaseLayoutError(f"{index} is not a safetensors index ({error}). Download it again.") from None
        files = sorted({directory / name for name in weight_map.values()})
        absent = [file.name for file in files if not file.is_file()]
        if absent:
            raise ReleaseLayoutError(
                f"{index} lists shards that {directory} lacks: {absent[:4]}. Download the whole repository "
                "(hf download <repo> --local-dir <dir>)."
            )
        found = _safetensors_headers(files)
        stray = [name for name, shard in weight_map.items() if name not in found or found[name].file.name != shard]
        if stray:
            raise ReleaseLayoutError(f"{index} names tensors its shards do not hold, e.g. {stray[:4]}.")
        return found
    files = sorted(directory.glob("*.safetensors"))
    if files:
        return _safetensors_headers(files)
    files = sorted(directory.glob("pytorch_model*.bin"))
    if files:
        return _torch_headers(files)
    raise ReleaseLayoutError(
        f"No weights in {directory}: neither *.safetensors nor pytorch_model*.bin. Download the repository's weight "
        "files too (hf download <repo> --local-dir <dir>)."
    )


# ---- matching a checkpoint against a module ---------------------------------------------------------------------
@dataclass
class Matching:
    """Which stored tensor fills which key of the target module, and what is left over."""

    assigned: dict[str, tuple[Stored, Target]] = field(default_factory=dict)
    dropped: dict[str, list[Stored]] = field(default_factory=lambda: defaultdict(list))

    def numel(self, part: str) -> int:
        return sum(stored.numel for stored, target in self.assigned.values() if target.part == part)

    def tensors(self, part: str) -> int:
        return sum(1 for _, target in self.assigned.values() if target.part == part)


def required_keys(module: nn.Module) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """The state-dict keys of ``module`` that need a tensor, with their shapes (one name per tied tensor: the first),
    and the other names of tied tensors → that first name."""
    first: dict[int, str] = {}
    keys: dict[str, tuple[int, ...]] = {}
    aliases: dict[str, str] = {}
    for name, tensor in module.state_dict(keep_vars=True).items():
        if id(tensor) in first:
            aliases[name] = first[id(tensor)]
        else:
            first[id(tensor)] = name
            keys[name] = tuple(tensor.shape)
    return keys, aliases


def _few(items: list[str], count: int = 5) -> str:
    more = f" and {len(items) - count} more" if len(items) > count else ""
    return ", ".join(items[:count]) + more


def match(stored: Mapping[str, Stored], mapper: Callable[[str], Mapped], module: nn.Module, source: Path) -> Matching:
    """Map every stored tensor onto ``module``; raise one ReleaseLayoutError listing unexpected names, keys the
    checkpoint lacks and shape mismatches (after the transposes), naming the files involved."""
    result = Matching()
    unexpected: list[str] = []
    required, aliases = required_keys(module)
    for name in sorted(stored):
        mapped = mapper(name)
        if isinstance(mapped, Target) and mapped.key in aliases:  # e.g. lm_head of an LLM with tied embeddings
            mapped = Target(mapped.part, aliases[mapped.key], mapped.transpose, mapped.rank + 1)
        if mapped is None:
            unexpected.append(name)
        elif isinstance(mapped, str):
            result.dropped[mapped].append(stored[name])
        else:
            held = result.assigned.get(mapped.key)
            if held is None or mapped.rank < held[1].rank:
                if held is not None:
                    result.dropped[f"tied copies of {name}"].append(held[0])
                result.assigned[mapped.key] = (stored[name], mapped)
            else:
                result.dropped[f"tied copies of {held[0].name}"].append(stored[name])
    missing = [key for key in required if key not in result.assigned]
    alien = [key for key in result.assigned if key not in required]
    mismatched = []
    for key, (tensor, target) in result.assigned.items():
        shape = tensor.shape[::-1] if target.transpose else tensor.shape
        if key in required and shape != required[key]:
            mismatched.append(f"{tensor.name} in {tensor.file.name}: {shape} where the model needs {required[key]}")
    problems = []
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {_few(unexpected)}")
    if alien:
        problems.append(f"{len(alien)} tensor(s) mapped onto names the model lacks, e.g. {_few(alien)}")
    if missing:
        problems.append(f"{len(missing)} key(s) the checkpoint lacks, e.g. {_few(missing)}")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {_few(mismatched, 3)}")
    if problems:
        raise ReleaseLayoutError(
            f"{source} does not fit the layout it claims: " + "; ".join(problems) + ". Check that the directory "
            "holds one complete download of the repository, and that config.json describes these weights "
            "(a truncated or mixed download, or a config of another model size)."
        )
    return result


@contextmanager
def _reader(file: Path) -> Iterator[Callable[[str], torch.Tensor]]:
    if file.suffix == ".safetensors":
        with safe_open(str(file), framework="pt") as handle:
            yield handle.get_tensor
    else:
        yield _load_torch_file(file).__getitem__


@torch.no_grad()
def copy_into(module: nn.Module, matching: Matching, log: Callable[[str], None] = lambda _: None) -> None:
    """Fill ``module`` from the checkpoint, one file at a time (one tensor in flight besides the module)."""
    state = module.state_dict(keep_vars=True)
    by_file: dict[Path, list[tuple[str, Stored, Target]]] = defaultdict(list)
    for key, (stored, target) in matching.assigned.items():
        by_file[stored.file].append((key, stored, target))
    for number, file in enumerate(sorted(by_file), start=1):
        log(f"  reading {file.name} ({number}/{len(by_file)}, {len(by_file[file])} tensors)")
        with _reader(file) as read:
            for key, stored, target in by_file[file]:
                tensor = read(stored.name)
                state[key].copy_(tensor.t() if target.transpose else tensor)
                del tensor
