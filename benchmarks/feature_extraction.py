"""Benchmark: fvl's batched depth–breadth extraction vs the reference code's way, same random weights.

Reference way (the public Florence-VL code): for each of the P prompts, the image is repeated and the
full Florence-2 runs ``generate(max_new_tokens=1)`` — DaViT once per (image, prompt) row and a wasted
decoder step — and the encoder's last hidden state at the image positions is kept.
fvl's way: DaViT once per image, then one BART-encoder pass over B×P rows, no decoder.

Prints the median time of each over alternating repeats, the speed-up and the largest feature difference.
``--memory`` instead runs each side once in its own process and prints its peak RSS above the built
models. Real Florence-2 shapes, random weights (no download), CPU, one thread by default:

    python benchmarks/feature_extraction.py --size base --image-size 768 --batch 2
    python benchmarks/feature_extraction.py --size base --image-size 768 --batch 2 --memory
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from transformers import Florence2ForConditionalGeneration

from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_sizes import florence2_config
from fvl.models.tiny import tiny_florence_tokenizer


def reference_features(model, pixels, prompt_ids, n_img):
    """One row per (image, prompt): images repeated P times, a one-token ``generate`` over the full model."""
    batch, n_prompts = pixels.shape[0], prompt_ids.shape[0]
    image_ids = torch.full((batch * n_prompts, n_img), model.config.image_token_id)
    ids = torch.cat([image_ids, prompt_ids.repeat(batch, 1)], dim=1)
    out = model.generate(
        input_ids=ids,
        pixel_values=pixels.repeat_interleave(n_prompts, dim=0),
        max_new_tokens=1,
        do_sample=False,
        num_beams=1,
        return_dict_in_generate=True,
        output_hidden_states=True,
    )
    return out.encoder_hidden_states[-1][:, :n_img].reshape(batch, n_prompts, n_img, -1)


def build(size: str, image_size: int):
    """The full Florence-2 and fvl's encoder with the same random weights."""
    torch.manual_seed(0)
    config = florence2_config(size)
    full = Florence2ForConditionalGeneration(config).eval()
    state = {
        **{k: v for k, v in full.model.state_dict().items() if k.startswith(("vision_tower.", "multi_modal"))},
        **{f"encoder.{k}": v for k, v in full.model.language_model.encoder.state_dict().items()},
    }
    ours = FlorenceEncoder(config, tiny_florence_tokenizer(), image_size=image_size)
    ours.load_state_dict(state)
    return full, ours.eval()


def runners(full, ours, pixels):
    def breadth():
        features = ours(pixels)
        return torch.stack([features[name] for name in ours.prompts], dim=1)

    return {
        "reference": lambda: reference_features(full, pixels, ours.prompt_ids, ours.num_tokens),
        "fvl": breadth,
    }


def peak_rss_of_one_side(args, side: str) -> float:
    """Peak resident memory (MiB) of a child process that builds everything and runs only ``side`` once."""
    code = (
        "import resource, sys, torch; sys.argv=['x']; import benchmarks.feature_extraction as b; "
        f"torch.set_num_threads({args.threads}); full, ours = b.build({args.size!r}, {args.image_size}); "
        f"px = torch.randn({args.batch}, 3, {args.image_size}, {args.image_size}); "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"run = b.runners(full, ours, px)[{side!r}]; torch.inference_mode()(run)(); "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="base", choices=["base", "large"])
    parser.add_argument("--image-size", type=int, default=768)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="peak RSS of each side, each in its own process")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    header = f"Florence-2-{args.size}, {args.image_size} px, batch {args.batch}, {args.threads} CPU threads"

    if args.memory:
        peaks = {side: peak_rss_of_one_side(args, side) for side in ("reference", "fvl")}
        print(header + " — peak RSS above the built models, one process per side")
        for side, mib in peaks.items():
            print(f"{side:9s} {mib:8.0f} MiB   ratio to reference {mib / peaks['reference']:.2f}")
        return

    full, ours = build(args.size, args.image_size)
    pixels = torch.randn(args.batch, 3, args.image_size, args.image_size)
    runs = runners(full, ours, pixels)
    times = {name: [] for name in runs}
    results = {}
    with torch.inference_mode():
        for name, fn in runs.items():
            results[name] = fn()  # warm-up, and the features compared below
        for repeat in range(args.repeats):
            order = list(runs) if repeat % 2 == 0 else list(reversed(runs))  # alternate the sides
            for name in order:
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{header}, {len(ours.prompts)} prompts, {args.repeats} repeats (medians)")
    for name, median in medians.items():
        diff = (results[name] - results["reference"]).abs().max().item()
        print(
            f"{name:9s} {median:7.2f} s/batch   speed-up vs reference {medians['reference'] / median:5.2f}x   "
            f"max |feature diff| vs reference {diff:.2e}   runs {[round(t, 2) for t in times[name]]}"
        )


if __name__ == "__main__":
    main()
