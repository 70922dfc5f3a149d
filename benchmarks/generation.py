"""Benchmark: evaluation throughput of batched greedy generation vs one sample at a time, same samples.

The model is random and mid-size so that generation, not the vision forward, dominates: the tiny Florence-2
tower in front of a 2-layer Llama-style LLM of Phi-3.5-mini's width (3072). Both sides run
:class:`fvl.eval.predictor.ModelPredictor` — the path ``evaluate.py`` takes: prompt encoding, image
preprocessing, left padding, KV-cached greedy decoding — on the same samples; their replies must be identical.
The two sides alternate, each repeated; medians are reported, with the share of time spent in the vision
forward (Florence-2, fusion, projector) on the batched side.

    python benchmarks/generation.py --samples 32 --batch 16 --new-tokens 16 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from fvl.eval.predictor import ModelPredictor
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
    replies = [reply for i in range(0, len(items), batch) for reply in predictor(items[i : i + batch])]
    return time.perf_counter() - start, replies


def vision_seconds(predictor: ModelPredictor, items: list[EvalSample], batch: int) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(items), batch):
            pixels = torch.stack([predictor.processor(sample.image) for sample in items[i : i + batch]])
            predictor.model.encode_images(pixels)
    return time.perf_counter() - start


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
    vision = vision_seconds(predictor, items, args.batch)
    print(
        f"{args.samples} samples, {args.new_tokens} new tokens each, {args.threads} thread(s), median of {args.repeats}"
    )
    print(f"batch 1:  {single:7.2f} s  {args.samples / single:6.2f} samples/s")
    print(f"batch {args.batch}: {batched:7.2f} s  {args.samples / batched:6.2f} samples/s")
    print(f"speed-up: {single / batched:.2f}x   identical replies: {replies[1] == replies[args.batch]}")
    print(f"batched time split: vision forward {vision / batched:.0%}, prompt + decoding {1 - vision / batched:.0%}")


if __name__ == "__main__":
    main()
