"""Benchmark: evaluation throughput of batched greedy generation vs one sample at a time, same samples.

The model is random and mid-size so that generation, not the vision forward, dominates: the tiny Florence-2
tower in front of a 2-layer Llama-style LLM of Phi-3.5-mini's width (3072). Both sides run the path
``evaluate.py`` takes — :func:`fvl.eval.runner.generate_shard` (longest prompts first) over
:class:`fvl.eval.predictor.ModelPredictor` (prompt encoding, image preprocessing, left padding, KV-cached greedy
decoding) — on the same samples; their replies must be identical. The two sides alternate, each repeated;
medians are reported, with the batched side's time split into the vision forward (Florence-2, fusion,
projector), the prompt forward (prefill) and decoding.

    python benchmarks/generation.py --samples 32 --batch 16 --new-tokens 16 --repeats 3 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from fvl.eval.benchmarks import get_benchmark
from fvl.eval.predictor import ModelPredictor
from fvl.eval.runner import generate_shard
from fvl.eval.sample import EvalSample
from fvl.models.builder import build_florence_vl

QUESTIONS = ("What colour is the shape?", "How many shapes are there?", "Is the circle left of the square?")


def samples(count: int, image_size: int) -> list[EvalSample]:
    rng = np.random.default_rng(0)
    return [
        EvalSample(
            id=str(i),
            image=Image.fromarray(rng.integers(0, 256, (image_size, image_size, 3), dtype=np.uint8)),
            question=QUESTIONS[i % len(QUESTIONS)] + " Answer" + " in detail" * (i % 4),
        )
        for i in range(count)
    ]


def run(predictor: ModelPredictor, items: list[EvalSample], batch: int) -> tuple[float, list[str]]:
    start = time.perf_counter()
    _, replies = generate_shard(get_benchmark("synthetic"), items, predictor, batch_size=batch)
    return time.perf_counter() - start, replies


def batches(items: list[EvalSample], batch: int) -> list[list[EvalSample]]:
    """The batches `generate_shard` forms: longest prompt first."""
    ordered = sorted(items, key=lambda sample: -len(sample.question))
    return [ordered[i : i + batch] for i in range(0, len(ordered), batch)]


@torch.no_grad()
def split_seconds(predictor: ModelPredictor, items: list[EvalSample], batch: int) -> tuple[float, float]:
    """Seconds of the vision forward and of the prompt forward (prefill, KV cache written) over the batches."""
    vision = prefill = 0.0
    model = predictor.model
    for chunk in batches(items, batch):
        inputs = predictor.collate([predictor.encode(sample) for sample in chunk])
        start = time.perf_counter()
        embeds = model.embed_inputs(inputs["input_ids"], inputs["pixel_values"], inputs["sample_ids"])
        middle = time.perf_counter()
        model.llm(inputs_embeds=embeds, attention_mask=inputs["attention_mask"], use_cache=True, logits_to_keep=1)
        vision, prefill = vision + middle - start, prefill + time.perf_counter() - middle
    return vision, prefill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=3072, help="LLM width (Phi-3.5-mini: 3072)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": args.hidden}).eval()
    llm_params = sum(p.numel() for p in model.llm.parameters())
    print(f"model: tiny Florence-2 + 2-layer LLM of width {args.hidden} ({llm_params / 1e6:.0f}M LLM parameters)")
    # eos never ends a reply early, so both sides decode exactly --new-tokens tokens per sample
    predictor = ModelPredictor(model, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)
    items = samples(args.samples, model.image_size)
    run(predictor, items[: args.batch], args.batch)  # warm-up
    times: dict[int, list[float]] = {1: [], args.batch: []}
    replies: dict[int, list[str]] = {}
    for _ in range(args.repeats):
        for batch in (1, args.batch):  # alternate the sides
            seconds, replies[batch] = run(predictor, items, batch)
            times[batch].append(seconds)
    single, batched = statistics.median(times[1]), statistics.median(times[args.batch])
    vision, prefill = split_seconds(predictor, items, args.batch)
    print(
        f"{args.samples} samples, {args.new_tokens} new tokens each, {args.threads} thread(s), median of {args.repeats}"
    )
    print(f"batch 1:  {single:7.2f} s  {args.samples / single:6.2f} samples/s")
    print(f"batch {args.batch}: {batched:7.2f} s  {args.samples / batched:6.2f} samples/s")
    print(f"speed-up: {single / batched:.2f}x   identical replies: {replies[1] == replies[args.batch]}")
    decoding = batched - vision - prefill
    print(
        f"batched time split: vision forward {vision / batched:.0%}, prompt forward {prefill / batched:.0%}, "
        f"decoding {decoding / batched:.0%}"
    )


if __name__ == "__main__":
    main()
