"""The tensors of a checkpoint directory, known from its files' headers: names, shapes, dtypes (:class:`Stored`).

``*.safetensors`` (sharded by ``model.safetensors.index.json`` or not) or ``pytorch_model*.bin`` (memory-mapped):
listing them touches no tensor data, so a checkpoint that does not fit is refused
(:func:`fvl.models.released_matching.match`) before anything heavy is loaded; :func:`open_tensors` reads the data
itself, one file at a time. A damaged, foreign or incomplete download is a ``ReleaseLayoutError`` naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from fvl.models.export_files import safetensors_problem
from fvl.models.released_layout import ReleaseLayoutError

INDEX_FILE = "model.safetensors.index.json"
SAFETENSORS_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64}


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


@contextmanager
def open_tensors(file: Path) -> Iterator[Callable[[str], torch.Tensor]]:
    """A reader of ``file``'s tensors by name (safetensors: one tensor at a time; a torch file: memory-mapped)."""
    if file.suffix == ".safetensors":
        with safe_open(str(file), framework="pt") as handle:
            yield handle.get_tensor
    else:
        yield _load_torch_file(file).__getitem__
