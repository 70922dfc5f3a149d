"""Benchmark: fvl's batched depth–breadth extraction vs the reference code's way, same random weights.

Reference way (the public Florence-VL code): for each of the P prompts, the image is repeated and the
full Florence-2 runs ``generate(max_new_tokens=1)`` — DaViT once per (image, prompt) row and a wasted
decoder step — and the encoder's last hidden state at the image positions is kept.
fvl's way: DaViT once per image, then one BART-encoder pass over B×P rows, no decoder.

Prints the time of each, the speed ratio and the largest feature difference. Real Florence-2 shapes,
random weights (no download), CPU by default:

    python benchmarks/feature_extraction.py --size base --image-size 768 --batch 2
"""

from __future__ import annotations

import argparse
import time

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


def timed(fn, repeats):
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        result = fn()
    return (time.perf_counter() - start) / repeats, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="base", choices=["base", "large"])
    parser.add_argument("--image-size", type=int, default=768)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    config = florence2_config(args.size)
    full = Florence2ForConditionalGeneration(config).eval()
    ours = FlorenceEncoder(config, tiny_florence_tokenizer(), image_size=args.image_size).eval()
    ours.load_state_dict(
        {
            **{k: v for k, v in full.model.state_dict().items() if k.startswith(("vision_tower.", "multi_modal"))},
            **{f"encoder.{k}": v for k, v in full.model.language_model.encoder.state_dict().items()},
        }
    )
    pixels = torch.randn(args.batch, 3, args.image_size, args.image_size)

    with torch.inference_mode():
        t_ours, features = timed(lambda: ours(pixels), args.repeats)
        t_ref, reference = timed(
            lambda: reference_features(full, pixels, ours.prompt_ids, ours.num_tokens), args.repeats
        )
    ours_breadth = torch.stack([features[name] for name in ours.prompts], dim=1)
    diff = (ours_breadth - reference).abs().max().item()
    print(
        f"Florence-2-{args.size}, {args.image_size} px, batch {args.batch} × {len(ours.prompts)} prompts, "
        f"{args.threads} CPU threads, {ours.num_tokens} tokens/feature"
    )
    print(f"reference (generate, images repeated per prompt): {t_ref:.2f} s/batch")
    print(f"fvl (DaViT once, one encoder pass over B×P rows):  {t_ours:.2f} s/batch")
    print(f"speed-up: {t_ref / t_ours:.2f}x   max |feature difference|: {diff:.2e}")


if __name__ == "__main__":
    main()
