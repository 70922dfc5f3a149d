"""The identity of a scan result: everything that can change what a scan of a source returns.

The key (canonical JSON) holds

- the source spec, with path and image root made absolute, without ``weight`` (mixing is done after the scan);
- the data: size and modification time of the source file, or of every file under a source directory, or
  with ``content_hash`` their SHA-256 (slower: it reads the data, but survives copies that reset times);
- the tokenizer: class, ``name_or_path``, vocabulary sizes, SHA-256 of its full definition (vocabulary,
  merges, normalisation, added tokens) and of its chat template, and its special tokens;
- the encoder settings (format, system prompt, conversation, plain layout, image placement, image-token
  count, max_length, overlong policy), the image-failure policy, the ``transformers`` and ``tokenizers``
  versions and :data:`SCAN_FORMAT_VERSION`.

Not in the key, since they do not change what the scan returns: ``sample_policy`` and the skip-rate limits
(applied to the scan's counts afterwards, :mod:`fvl.data.scan.checks`) and ``max_image_pixels`` (checked when
images are decoded). The image files are not in the key either: statting millions of them would cost much of
what the cache saves. After adding or repairing images, refresh the cache (``scan_cache_refresh``). Sources that
are not local paths (hub names) have no key and are scanned on every run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import tokenizers
import transformers
from transformers import PreTrainedTokenizerBase

from fvl.data.encoding import SampleEncoder
from fvl.data.sources.spec import SourceSpec

SCAN_FORMAT_VERSION = 3  # bump whenever a change to rendering, encoding or the scan changes its results
CACHE_FOLDER = ".fvl_cache"  # skipped when fingerprinting a source directory that holds its own cache

_READ_BLOCK = 1 << 20


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_fingerprint(path: Path, content_hash: bool) -> dict[str, Any]:
    if not content_hash:
        stat = path.stat()
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return {"sha256": digest.hexdigest()}


def data_fingerprint(path: Path, content_hash: bool = False) -> dict[str, Any]:
    """Size and mtime (or content hash) of ``path``, or of each file under it, by relative path."""
    if path.is_file():
        return _file_fingerprint(path, content_hash)
    files = {}
    for folder, subfolders, names in os.walk(path):
        subfolders[:] = sorted(name for name in subfolders if name != CACHE_FOLDER)
        for name in sorted(names):
            file = Path(folder, name)
            files[file.relative_to(path).as_posix()] = _file_fingerprint(file, content_hash)
    return files


def tokenizer_identity(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """What makes two tokenizers tokenize alike, as plain values (see module docstring)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    definition = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    return {
        "class": type(tokenizer).__name__,
        "name_or_path": str(tokenizer.name_or_path),
        "vocab_size": tokenizer.vocab_size,
        "size": len(tokenizer),
        "definition_sha256": _sha256_text(definition),
        "chat_template_sha256": _sha256_text(json.dumps(tokenizer.chat_template, sort_keys=True)),
        "special_tokens": {name: str(value) for name, value in sorted(tokenizer.special_tokens_map.items())},
        "added_tokens": [
            [i, added.content, added.special] for i, added in sorted(tokenizer.added_tokens_decoder.items())
        ],
    }


def source_identity(spec: SourceSpec) -> dict[str, Any]:
    """The spec's fields that change the scan, with paths made absolute (relative ones depend on the cwd)."""
    fields = dataclasses.asdict(spec)
    del fields["weight"]
    fields["kind"] = spec.resolved_kind
    fields["path"] = os.path.abspath(spec.path)
    if spec.image_root is not None:
        fields["image_root"] = os.path.abspath(spec.image_root)
    return fields


def scan_key(
    spec: SourceSpec,
    encoder: SampleEncoder,
    image_policy: str,
    tokenizer: dict[str, Any],
    content_hash: bool = False,
) -> str | None:
    """The canonical JSON key of scanning ``spec``, or None when its path is not a local file or directory.

    ``tokenizer``: :func:`tokenizer_identity` of ``encoder.tokenizer`` (computed once by the caller).
    """
    path = Path(spec.path)
    if not path.exists():
        return None
    key = {
        "version": SCAN_FORMAT_VERSION,
        "source": source_identity(spec),
        "data": data_fingerprint(path, content_hash),
        "tokenizer": tokenizer,
        "encoder": encoder.settings,
        "image_policy": image_policy,
        "libraries": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
    }
    return json.dumps(key, sort_keys=True)


def key_digest(key: str) -> str:
    return _sha256_text(key)
