"""Benchmark: a finetuning step (forward + backward) reading cached Florence-2 features vs running Florence-2.

Florence-2-base shapes (random weights, no download) at 768 px, the channel_concat fusion + mlp2x_gelu projector,
and a 2-layer Llama-style LLM of Phi-3.5-mini width (hidden 3072, 32 heads, intermediate 8192; vocabulary 1024
instead of 32064, random weights). Vision frozen; fusion, projector and LLM train. The cache is written once in
float32 (so both sides see identical inputs, checked) and read back from its shards on every cached step.
Sides alternate; prints each side's median and the ratio uncached / cached:

    python benchmarks/feature_cache.py --batch 1 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time

import torch
from PIL import Image
from transformers import LlamaConfig, LlamaForCausalLM

from fvl.data.collate import stack_features
from fvl.data.feature_store import FeatureStore
from fvl.data.images import ImageProcessor, load_image
from fvl.models.feature_cache import cache_fields, cache_key, fill_cache, image_settings_of
from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_sizes import florence2_config
from fvl.models.florence_vl import FlorenceVL
from fvl.models.tiny import tiny_florence_tokenizer, tiny_llm_tokenizer


def build(image_size: int) -> FlorenceVL:
    vision = FlorenceEncoder(florence2_config("base"), tiny_florence_tokenizer(), image_size=image_size)
    tokenizer = tiny_llm_tokenizer()
    llm_config = LlamaConfig(
        vocab_size=1024, hidden_size=3072, num_attention_heads=32, num_key_value_heads=32, intermediate_size=8192,
        num_hidden_layers=2, max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = FlorenceVL(vision, LlamaForCausalLM(llm_config), tokenizer, "channel_concat", None, "mlp2x_gelu")
    model.vision.requires_grad_(False).eval()
    return model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build(args.image_size)
    images = []
    for i in range(args.batch):
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), (40 * i, 90, 200)).save(buffer, format="PNG")
        images.append(buffer.getvalue())
    settings = image_settings_of(model, "square")
    fields = cache_fields(model.vision, settings)
    store = FeatureStore(tempfile.mkdtemp(), cache_key(fields))
    store.start(fields, "float32", list(model.vision.feature_names))
    fill_cache(model.vision, store, images, settings, batch_size=args.batch)

    n = model.num_image_tokens
    ids = torch.randint(10, 1000, (args.batch, 1 + n + 64), generator=torch.Generator().manual_seed(0))
    ids[:, 1 : 1 + n] = model.image_token_id
    labels = ids.clone()
    labels[:, : 1 + n] = -100
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    processor = ImageProcessor(settings)

    def uncached() -> torch.Tensor:
        pixels = torch.stack([processor(load_image(data)) for data in images])
        return model(**batch, pixel_values=pixels).loss

    def cached() -> torch.Tensor:
        return model(
            **batch, image_features=stack_features([{"image_features": store.read(d, "b")} for d in images])
        ).loss

    times: dict[str, list[float]] = {"uncached": [], "cached": []}
    losses: dict[str, list[float]] = {"uncached": [], "cached": []}
    for repeat in range(args.repeats + 1):  # the first round warms both sides up and is not timed
        for name, step in (("uncached", uncached), ("cached", cached)):
            model.zero_grad(set_to_none=True)
            start = time.perf_counter()
            loss = step()
            loss.backward()
            if repeat:
                times[name].append(time.perf_counter() - start)
                losses[name].append(loss.item())
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"batch {args.batch}, image {args.image_size}, {n} visual tokens, threads {args.threads}")
    for name in times:
        print(f"{name:9s} median {medians[name]:.3f} s  all {[round(t, 3) for t in times[name]]}  loss {losses[name]}")
    print(f"speed-up uncached/cached: {medians['uncached'] / medians['cached']:.2f}x")
    print(f"losses identical: {losses['uncached'] == losses['cached']}")


if __name__ == "__main__":
    main()
