"""What ``fvl convert`` builds from a release before any weight is read: its tokenizers and the model skeleton.

* Tokenizers are read from their files alone (:data:`TOKENIZER_FILES`): a ``config.json`` beside them may name
  remote code or a model type transformers does not know. Florence-2's is BART's BPE, its pad token pads prompts.
* The skeleton (:func:`build_release`, :func:`build_encoder`) has uninitialised weights in the checkpoint's dtype
  (every one is loaded next, :func:`fvl.models.released_matching.copy_into`), computing depth and breadth as the
  reference did: the three task prompts in the order caption, OCR, grounding, prompt pads attended
  (``mask_prompt_padding=False``), the global token kept, features concatenated along channels in the order
  ``[V, caption, OCR, grounding]``.

The configs it is built from: :mod:`fvl.models.released_config`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import AutoTokenizer, BartTokenizer, Florence2Config, PreTrainedTokenizerBase
from transformers.initialization import no_init_weights

from fvl.models.florence_encoder import DEFAULT_PROMPTS, DEPTH, FlorenceEncoder
from fvl.models.florence_vl import FlorenceVL
from fvl.models.language_model import load_language_model
from fvl.models.released_config import LlavaRelease
from fvl.models.released_layout import ReleaseLayoutError

TOKENIZER_FILES = (
    "tokenizer.json tokenizer_config.json special_tokens_map.json added_tokens.json vocab.json merges.txt "
    "tokenizer.model chat_template.jinja chat_template.json"
).split()


def load_tokenizer_files(directory: Path, default: type | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer in ``directory``, read from its tokenizer files alone (a config.json beside them may name
    remote code or a model type transformers does not know). ``default``: the class for a tokenizer_config.json
    that names none (the remote-code Florence-2 repos: their processor picks ``BartTokenizer``)."""
    present = [directory / name for name in TOKENIZER_FILES if (directory / name).is_file()]
    if not any(file.name in ("tokenizer.json", "vocab.json", "tokenizer.model") for file in present):
        raise ReleaseLayoutError(
            f"{directory} holds no tokenizer (tokenizer.json, vocab.json + merges.txt or tokenizer.model). "
            "Download the repository's tokenizer files too."
        )
    settings = directory / "tokenizer_config.json"
    named = settings.is_file() and "tokenizer_class" in json.loads(settings.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        for file in present:
            shutil.copy(file, tmp)
        return (AutoTokenizer if named or default is None else default).from_pretrained(tmp)


def load_florence_tokenizer(directory: Path) -> PreTrainedTokenizerBase:
    """Florence-2's tokenizer (BART's BPE); the prompts are padded with its pad token."""
    tokenizer = load_tokenizer_files(directory, BartTokenizer)
    if tokenizer.pad_token is None:
        raise ReleaseLayoutError(
            f"The tokenizer in {directory} has no pad token; name one in its tokenizer_config.json."
        )
    return tokenizer


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """New floating-point tensors in ``dtype``: the skeleton is built in the checkpoint's dtype, no float32 copy."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_release(
    florence: Florence2Config,
    florence_tokenizer: PreTrainedTokenizerBase,
    release: LlavaRelease,
    tokenizer: PreTrainedTokenizerBase,
    image_size: int,
    dtype: torch.dtype,
) -> FlorenceVL:
    """The FlorenceVL the release computes, with uninitialised weights (every one is loaded next)."""
    with no_init_weights(), default_dtype(dtype):
        encoder = FlorenceEncoder(florence, florence_tokenizer, dict(DEFAULT_PROMPTS), False, True, image_size)
        llm = load_language_model(config=release.llm_config, dtype=dtype)
        model = FlorenceVL(encoder, llm, tokenizer, "channel_concat", [DEPTH, *DEFAULT_PROMPTS], release.projector)
    return model.to(dtype)


def build_encoder(florence: Florence2Config, tokenizer: PreTrainedTokenizerBase, dtype: torch.dtype) -> FlorenceEncoder:
    """Florence-2's encoder alone (a vision tower's conversion), with uninitialised weights in ``dtype``."""
    with no_init_weights(), default_dtype(dtype):
        encoder = FlorenceEncoder(florence, tokenizer)
    return encoder.to(dtype)
