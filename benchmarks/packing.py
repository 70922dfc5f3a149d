"""Benchmark: padding-free packing vs length-grouped padded batches on a LLaVA-665K-like length mix.

Generates ``--samples`` lengths: 90% image samples (577 image tokens + text), 10% text-only; text lengths
lognormal (median ~100, long tail), each sample capped at ``--cap`` tokens. Reports, over a whole epoch:

- the real-token fraction of the padded layout (:class:`~fvl.data.sampler.LengthGroupedSampler`, ``--batch-size``
  samples a batch, padded to the batch's longest) and of the packed one (:class:`~fvl.data.packing.PackingSampler`,
  ``--rows`` rows of ``--cap`` tokens a batch, padded to the batch's longest row);
- real tokens per second of a tiny random Llama forward+backward (CPU, sdpa) on the first ``--batches`` batches
  of each layout, alternating the layouts ``--repeats`` times; the medians and their ratio (packed / padded).

    python benchmarks/packing.py --samples 20000 --batches 4 --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from fvl.data.collate import PackedCollator, TrainCollator
from fvl.data.packing import PackingSampler
from fvl.data.sampler import LengthGroupedSampler

IMAGE_TOKENS = 577


def llava_like_lengths(count: int, cap: int, seed: int) -> tuple[list[int], list[bool]]:
    rng = random.Random(seed)
    lengths, has_image = [], []
    for _ in range(count):
        image = rng.random() < 0.9
        text = max(8, int(rng.lognormvariate(4.6, 0.9)))  # median e^4.6 ~ 100
        lengths.append(min(cap, text + IMAGE_TOKENS * image))
        has_image.append(image)
    return lengths, has_image


def real_fraction(batches: list[list[list[int]]], lengths: list[int]) -> float:
    """Real tokens over padded positions; each batch is a list of rows, each row a list of samples."""
    real = padded = 0
    for rows in batches:
        sizes = [sum(lengths[i] for i in row) for row in rows]
        real += sum(sizes)
        padded += len(sizes) * max(sizes)
    return real / padded


def packed_rows(batch) -> list[list[int]]:
    rows: dict[int, list[int]] = {}
    for index, row in zip(batch, batch.rows, strict=True):
        rows.setdefault(row, []).append(index)
    return list(rows.values())


def items(rows: list[list[int]], lengths: list[int]) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    out = []
    for number, row in enumerate(rows):
        for index in row:
            ids = torch.randint(3, 1000, (lengths[index],), generator=generator)
            out.append({"input_ids": ids, "labels": ids, "pixel_values": None, "sample_id": str(index),
                        "pack_row": number})  # fmt: skip
    return out


def tokens_per_second(model: LlamaForCausalLM, batches: list[dict]) -> float:
    start, tokens = time.perf_counter(), 0
    for batch in batches:
        inputs = {key: batch[key] for key in ("input_ids", "labels")}
        if "position_ids" in batch:
            inputs.update(position_ids=batch["position_ids"], use_cache=False)
        else:
            inputs["attention_mask"] = batch["attention_mask"]
        model(**inputs).loss.backward()
        tokens += int(batch["attention_mask"].sum())
    return tokens / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--cap", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rows", type=int, default=2)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    lengths, has_image = llava_like_lengths(args.samples, args.cap, seed=0)
    padded_sampler = LengthGroupedSampler(lengths, has_image, args.batch_size, seed=0)
    packing_sampler = PackingSampler(lengths, has_image, args.rows, pack_tokens=args.cap, seed=0)
    padded = [[[i] for i in batch] for batch in padded_sampler]
    packed = [packed_rows(batch) for batch in packing_sampler]
    print(f"{args.samples} samples, {sum(lengths)} tokens, median length {statistics.median(lengths)}")
    padded_fraction = real_fraction(padded, lengths)
    print(f"padded: {len(padded)} batches of {args.batch_size}, real-token fraction {padded_fraction:.4f}")
    print(f"packed: {len(packed)} batches of {args.rows} rows x {args.cap}, real-token fraction "
          f"{real_fraction(packed, lengths):.4f}")  # fmt: skip

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=args.cap)  # fmt: skip
    model = LlamaForCausalLM(config)
    model.config._attn_implementation = "sdpa"
    pad = TrainCollator(0)
    pack = PackedCollator(0)
    padded_batches = [pad(items(rows, lengths)) for rows in padded[: args.batches]]
    packed_batches = [pack(items(rows, lengths)) for rows in packed[: args.batches]]
    speeds: dict[str, list[float]] = {"padded": [], "packed": []}
    for repeat in range(args.repeats):
        order = ("padded", "packed") if repeat % 2 == 0 else ("packed", "padded")
        for name in order:
            speeds[name].append(tokens_per_second(model, padded_batches if name == "padded" else packed_batches))
    medians = {name: statistics.median(values) for name, values in speeds.items()}
    for name, values in speeds.items():
        print(f"{name}: real tokens/s {[round(v) for v in values]}, median {medians[name]:.0f}")
    print(f"ratio packed/padded (median real tokens/s): {medians['packed'] / medians['padded']:.3f}")


if __name__ == "__main__":
    main()
