"""The model side of evaluation: a ``PredictFn`` that answers ``EvalSample``s with a FlorenceVL.

Prompts are encoded exactly as training encoded them (the data pipeline's ``SampleEncoder`` in the model's
recorded ``input_format``: chat template or plain and its layout, system prompt, ``<image>`` placement), images
preprocessed with the model's size, statistics and image policy, left-padded by ``GenerationCollator`` and
answered by greedy generation with KV cache. Batched outputs equal batch-size-1 outputs (tested in
``tests/models`` and ``tests/eval``).
"""

from __future__ import annotations

from typing import Any

import torch

from fvl.data.collate import GenerationCollator
from fvl.data.encoding import SampleEncoder
from fvl.data.images import ImageProcessor, ImageSettings
from fvl.eval.sample import EvalSample
from fvl.models.florence_vl import FlorenceVL


class ModelPredictor:
    """``predict(samples) -> replies`` for :func:`fvl.eval.evaluate` / :func:`fvl.eval.evaluate_suite`."""

    def __init__(
        self,
        model: FlorenceVL,
        max_new_tokens: int = 64,
        device: torch.device | str | None = None,
        input_format: dict[str, Any] | None = None,
        **generate_kwargs: Any,
    ) -> None:
        fmt = {**model.input_format, **(input_format or {})}
        self.model = model
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.encoder = SampleEncoder(
            model.tokenizer,
            model.num_image_tokens,
            format=fmt["format"],
            system_prompt=fmt["system_prompt"],
            conversation=fmt.get("conversation"),
            plain_layout=fmt["plain_layout"],
            image_placement=fmt["image_placement"],
        )
        settings = ImageSettings(model.image_size, fmt["image_policy"], model.image_mean, model.image_std)
        self.processor = ImageProcessor(settings)
        self.collate = GenerationCollator(model.tokenizer.pad_token_id)
        self.max_new_tokens = max_new_tokens
        self.generate_kwargs = generate_kwargs
        self.input_format = fmt

    def settings(self) -> dict[str, Any]:
        """What shapes the predictions, for results.json."""
        options = {"max_new_tokens": self.max_new_tokens, "do_sample": False, **self.generate_kwargs}
        return {**options, **self.input_format, "image_size": self.model.image_size}

    def render_prompt(self, sample: EvalSample) -> str:
        """The text prompt of `sample` as the model is given it (chat template or plain rendering), before
        tokenization; its one ``<image>`` stands for the ``num_image_tokens`` image tokens."""
        return self.encoder.render_prompt(sample.question, sample.image is not None, sample.id)

    def describe_input(self) -> str:
        """How prompts and images are prepared, for the log."""
        fmt = self.input_format
        text = (
            f"format {fmt['format']}, system prompt {fmt['system_prompt']!r}, image policy {fmt['image_policy']}, "
            f"<image> = {self.model.num_image_tokens} image tokens"
        )
        if fmt["format"] == "plain":
            text += f" ({fmt['plain_layout']} layout): it shows the image only, the question text is not in the prompt"
        return text

    def encode(self, sample: EvalSample) -> dict[str, Any]:
        has_image = sample.image is not None
        return {
            "input_ids": torch.tensor(self.encoder.encode_prompt(sample.question, has_image=has_image)),
            "pixel_values": self.processor(sample.image) if has_image else None,
            "sample_id": sample.id,
        }

    @torch.no_grad()
    def __call__(self, samples: list[EvalSample]) -> list[str]:
        batch = self.collate([self.encode(sample) for sample in samples])
        pixels = batch["pixel_values"]
        new_tokens = self.model.generate(
            batch["input_ids"].to(self.device),
            batch["attention_mask"].to(self.device),
            None if pixels is None else pixels.to(self.device),
            sample_ids=batch["sample_ids"],
            max_new_tokens=self.max_new_tokens,
            **self.generate_kwargs,
        )
        return [text.strip() for text in self.model.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
