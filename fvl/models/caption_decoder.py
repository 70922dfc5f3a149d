"""Florence-2's own training objective for a Florence-2 that starts random: a BART decoder captions its features.

Florence-2 is a *pretrained* generative vision encoder: its encoder–decoder learnt to caption, read and ground
before Florence-VL uses the encoder's features. A random tiny Florence-2 (the CPU demo) has learnt nothing, and
training it only through the LLM does not teach it *what* things are (measured on the demo: a direct caption
or shape objective trains the tiny DaViT to 100 % shape accuracy in 400 steps, while 1,700 steps through the
LLM leave shape answers at 0.45). :class:`CaptionDecoder` is that direct objective, used by the ``florence``
stage (:mod:`fvl.training.stages`): a BART decoder of Florence-2's text width cross-attends to every named
feature (depth and each prompt's breadth feature, concatenated along tokens) and predicts the supervised tokens
of a sample — a caption, or the answer to a question, which it reads first (a VQA-style task for Florence-2).
A sample that asks one of Florence-VL's prompts is one of Florence-2's own tasks: the decoder then reads that
prompt's feature and the depth feature only (:func:`features_read`), so each breadth feature learns its own task,
as in Florence-2's multi-task pretraining, while DaViT's depth feature learns all of them.
It reads the LLM tokenizer's ids, so the data pipeline is shared with the other stages; it is dropped after
the stage, as Florence-VL drops Florence-2's decoder.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers import BartConfig
from transformers.models.bart.modeling_bart import BartDecoder

from fvl.constants import IGNORE_INDEX
from fvl.models.florence_encoder import DEPTH


def task_of(text: str, prompts: Mapping[str, str]) -> str | None:
    """The prompt (by name) that ``text`` asks, the longest if several appear in it; None when it asks none."""
    asked = [name for name, prompt in prompts.items() if prompt and prompt in text]
    return max(asked, key=lambda name: len(prompts[name]), default=None)


def features_read(tasks: Sequence[str | None], feature_names: Sequence[str], depth: str = DEPTH) -> torch.Tensor:
    """Which features each row's decoder reads, (rows, features) bool: for a task, the depth feature (DaViT's,
    which every Florence-2 task trains) and its prompt's feature, of those this model runs (all features when
    it runs neither); for a row that is no task (a caption), all of them."""
    rows = torch.ones(len(tasks), len(feature_names), dtype=torch.bool)
    for row, task in enumerate(tasks):
        wanted = [name in (depth, task) for name in feature_names]
        if task is not None and any(wanted):
            rows[row] = torch.tensor(wanted)
    return rows


def text_rows(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor, image_token_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's text (real tokens other than ``<image>``) moved to the front in order, and its labels alongside:
    ``(tokens, targets)``, both (B, T), padded with IGNORE_INDEX."""
    keep = attention_mask.bool() & (input_ids != image_token_id)
    order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices  # kept first, order kept
    length = max(int(keep.sum(dim=1).max()), 1)
    kept = keep.gather(1, order)[:, :length]
    tokens = input_ids.gather(1, order)[:, :length].masked_fill(~kept, IGNORE_INDEX)
    targets = labels.gather(1, order)[:, :length].masked_fill(~kept, IGNORE_INDEX)
    return tokens, targets


class CaptionDecoder(nn.Module):
    """A small conditional LM over a sample's text that cross-attends to the features; ``loss`` is its token
    cross-entropy on the supervised tokens (a caption; the answer to a question, which it reads first)."""

    def __init__(self, text_config: BartConfig, vocab_size: int, start_token_id: int, memory_tokens: int) -> None:
        super().__init__()
        config = copy.deepcopy(text_config)
        config.vocab_size = vocab_size
        # Florence-2's features are mostly one vector shared by all images (fvl.models.fusion): standardised
        # per channel, what varies between images is what the decoder reads.
        self.memory_norm = nn.BatchNorm1d(config.d_model)
        # Where each memory token sits (which feature, which grid cell), so that Florence-2 need not encode it.
        self.memory_positions = nn.Parameter(torch.randn(memory_tokens, config.d_model))
        self.decoder = BartDecoder(config)
        self.lm_head = nn.Linear(config.d_model, vocab_size, bias=False)
        self.start_token_id = start_token_id

    def logits(
        self, memory: torch.Tensor, tokens: torch.Tensor, memory_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Teacher-forced logits (B, T, vocab): position t sees ``tokens[:, :t]`` and ``memory`` (where
        ``memory_mask``, (B, M), is 1; all of it without one)."""
        inputs = torch.cat([tokens.new_full((tokens.shape[0], 1), self.start_token_id), tokens[:, :-1]], dim=1)
        mask = (inputs != IGNORE_INDEX).long()
        hidden = self.decoder(
            input_ids=inputs.masked_fill(inputs == IGNORE_INDEX, self.start_token_id),
            attention_mask=mask,
            encoder_hidden_states=memory,
            encoder_attention_mask=memory_mask,
        ).last_hidden_state
        return self.lm_head(hidden)

    def loss(
        self,
        features: Mapping[str, torch.Tensor],
        tokens: torch.Tensor,
        targets: torch.Tensor,
        reads: torch.Tensor | None = None,
    ):
        """The token mean of the loss on ``targets`` (see :func:`text_rows`); each row reads the features that
        ``reads`` (B, features) marks (:func:`features_read`), all of them without it."""
        memory = torch.cat(list(features.values()), dim=1)
        memory = self.memory_norm(memory.flatten(0, 1)).view_as(memory) + self.memory_positions
        memory_mask = None
        if reads is not None:
            tokens_each = [feature.shape[1] for feature in features.values()]
            memory_mask = reads.to(memory.device).repeat_interleave(torch.tensor(tokens_each, device=memory.device), 1)
            memory_mask = memory_mask.long()
        logits = self.logits(memory, tokens, memory_mask)
        total = F.cross_entropy(
            logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
        )
        return total / (targets != IGNORE_INDEX).sum().clamp(min=1)
