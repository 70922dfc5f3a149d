"""One prepared GPU check: bf16 training throughput and MFU of a Phi-3.5-mini-shaped FlorenceVL, run once on a GPU.

Random weights at real widths (LLM: hidden 3072, 32 heads, 32 kv heads, intermediate 8192, vocab 32064,
``--layers`` layers; vision: Florence-2-base shape at 768 px), nothing downloaded. Sections, each in
try/except under a time limit (``--section-timeout``): ``padded`` and ``packed`` (fvl.data.packing's collator;
"packing: not available" without it) manual bf16 training steps with tokens/s and MFU (FLOPs from
fvl.models.flops, peak from fvl.training.throughput.peak_flops); ``fsdp``, ``deepspeed_zero2``,
``deepspeed_zero3`` (one Lightning fit of ``--steps`` steps on fvl's strategies, world size 1); ``qlora``
(bitsandbytes NF4 LLM + peft LoRA as fvl.models.lora attaches it). Prints a table; writes JSON to ``--out``.

    python benchmarks/gpu_check.py --out gpu_check.json            # on the GPU (~ a few minutes)
    python benchmarks/gpu_check.py --cpu-dry-run --out dry.json    # same logic, tiny shapes, CPU
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import signal
import tempfile
import time
import traceback
from typing import Any

import torch
from transformers import Phi3Config, Phi3ForCausalLM

from fvl.constants import IGNORE_INDEX
from fvl.models.flops import training_modes
from fvl.models.florence_encoder import FlorenceEncoder
from fvl.models.florence_sizes import florence2_config
from fvl.models.florence_vl import FlorenceVL
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer, tiny_llm_tokenizer
from fvl.training.throughput import batch_counts, batch_flops, peak_flops

PHI35 = {"hidden_size": 3072, "num_attention_heads": 32, "num_key_value_heads": 32, "intermediate_size": 8192}
TINY_LLM = {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 128}


def shapes(dry: bool, layers: int) -> dict[str, Any]:
    if dry:
        return {"llm": {**TINY_LLM, "vocab_size": 600, "num_hidden_layers": 2}, "image": 64, "rows": 2, "text": 24}
    return {"llm": {**PHI35, "vocab_size": 32064, "num_hidden_layers": layers}, "image": 768, "rows": 4, "text": 512}


def build_model(shape: dict[str, Any], dry: bool, device: torch.device) -> FlorenceVL:
    florence_tok, llm_tok = tiny_florence_tokenizer(), tiny_llm_tokenizer()
    config = (
        tiny_florence_config(florence_tok.convert_tokens_to_ids("<image>"), len(florence_tok))
        if dry
        else florence2_config("base")
    )
    vision = FlorenceEncoder(config, florence_tok, image_size=shape["image"])
    ids = {
        "pad_token_id": llm_tok.pad_token_id,
        "bos_token_id": llm_tok.bos_token_id,
        "eos_token_id": llm_tok.eos_token_id,
    }
    llm = Phi3ForCausalLM(Phi3Config(**shape["llm"], **ids, attn_implementation="sdpa"))
    return FlorenceVL(vision, llm, llm_tok).to(device)


def samples(model: FlorenceVL, shape: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Items of varied text length (1/4 to all of ``text``), each ``[<image>×N, text]`` with the text supervised."""
    generator = torch.Generator().manual_seed(0)
    items = []
    for i in range(count):
        text = shape["text"] // 4 + (i * 37) % (shape["text"] - shape["text"] // 4 + 1)
        ids = torch.cat([torch.full((model.num_image_tokens,), model.image_token_id), torch.randint(10, 300, (text,))])
        labels = ids.clone()
        labels[: model.num_image_tokens] = IGNORE_INDEX
        pixels = torch.randn(3, shape["image"], shape["image"], generator=generator)
        items.append({"input_ids": ids, "labels": labels, "pixel_values": pixels, "sample_id": f"s{i}"})
    return items


def padded_batch(model: FlorenceVL, items: list[dict[str, Any]]) -> dict[str, Any]:
    from fvl.data.collate import TrainCollator

    return TrainCollator(model.tokenizer.pad_token_id)(items)


def packed_batch(model: FlorenceVL, items: list[dict[str, Any]], capacity: int) -> dict[str, Any] | None:
    """Rows packed by fvl.data.packing (None when that module is not there)."""
    if importlib.util.find_spec("fvl.data.packing") is None:
        return None
    from fvl.data.collate import PackedCollator
    from fvl.data.packing import pack_rows

    rows = pack_rows(range(len(items)), [len(item["input_ids"]) for item in items], capacity)
    ordered = [{**items[i], "pack_row": number} for number, row in enumerate(rows) for i in row]
    return PackedCollator(model.tokenizer.pad_token_id)(ordered)


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def train_steps(model: FlorenceVL, batch: dict[str, Any], steps: int, device: torch.device) -> dict[str, Any]:
    """Warm-up + ``steps`` timed bf16 steps (autocast on CUDA); tokens/s, samples/s, TFLOP/s and MFU."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    cuda = device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
    inputs = {k: batch.get(k) for k in ("input_ids", "attention_mask", "labels", "pixel_values", "position_ids")}
    inputs = {k: v for k, v in to_device(inputs, device).items() if v is not None}
    inputs["sample_ids"] = batch.get("sample_ids")

    def step():
        with autocast:
            loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    step()
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / steps
    counts = batch_counts(batch)
    flops = batch_flops(model, batch, training_modes(model))
    peak = peak_flops(device, torch.bfloat16)
    achieved = sum(flops.values()) / seconds
    return {
        "step_s": seconds,
        "loss": loss,
        "rows": int(batch["input_ids"].shape[0]),
        "length": int(batch["input_ids"].shape[1]),
        "tokens_per_s": counts["tokens"] / seconds,
        "samples_per_s": counts["samples"] / seconds,
        "tflops_per_s": achieved / 1e12,
        "flops_per_step": flops,
        "mfu": achieved / peak if peak else None,
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


def lightning_fit(model: FlorenceVL, batch: dict[str, Any], strategy_spec: dict[str, Any], steps: int) -> dict:
    """``steps`` steps of a Lightning fit on one GPU with fvl's strategy for ``strategy_spec``."""
    from lightning import LightningModule, Trainer
    from torch.utils.data import DataLoader

    from fvl.training.strategy import build_strategy

    class Wrapper(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def training_step(self, b, _):
            keys = ("input_ids", "attention_mask", "labels", "pixel_values", "position_ids", "sample_ids")
            return self.model(**{k: b[k] for k in keys if b.get(k) is not None}).loss

        def configure_optimizers(self):
            return torch.optim.AdamW([p for p in self.parameters() if p.requires_grad], lr=1e-5)

    plain = dict(batch)
    trainer = Trainer(
        accelerator="gpu",
        devices=1,
        strategy=build_strategy(strategy_spec, model),
        precision="bf16-mixed",
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    start = time.perf_counter()
    trainer.fit(Wrapper(), DataLoader([plain] * steps, batch_size=None))
    return {
        "fit_s": time.perf_counter() - start,
        "steps": steps,
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
    }


def qlora_steps(model: FlorenceVL, batch: dict[str, Any], steps: int, device: torch.device) -> dict:
    """The LLM saved, reloaded in NF4 (fvl.models.language_model), LoRA attached (fvl.models.lora), trained."""
    from fvl.models.language_model import load_language_model
    from fvl.models.lora import attach_lora

    with tempfile.TemporaryDirectory() as directory:
        model.llm.to(torch.bfloat16).save_pretrained(directory)
        model.llm = load_language_model(directory, dtype="bfloat16", quantization="4bit")
    model.vision.requires_grad_(False)
    attach_lora(model, r=16, alpha=32)
    return train_steps(model, batch, steps, device)


class SectionTimeout(Exception):
    pass


def run_section(name: str, fn, limit: int) -> dict[str, Any]:
    def expire(*_):
        raise SectionTimeout(f"over {limit} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    start = time.perf_counter()
    try:
        result = fn()
        result = {"status": "ok", **result} if isinstance(result, dict) else {"status": str(result)}
    except Exception as error:  # one failing section must not stop the others
        result = {"status": f"failed: {type(error).__name__}: {error}"[:300], "trace": traceback.format_exc()[-2000:]}
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    result["wall_s"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cpu-dry-run", action="store_true")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--section-timeout", type=int, default=60)
    args = parser.parse_args(argv)
    dry = args.cpu_dry_run
    device = torch.device("cpu" if dry or not torch.cuda.is_available() else "cuda")
    shape = shapes(dry, args.layers)
    torch.manual_seed(0)
    cuda = device.type == "cuda"
    needs_cuda = {"status": "skipped: needs CUDA"}

    def fresh():
        return build_model(shape, dry, device)

    def batch_of(kind: str, model: FlorenceVL):
        items = samples(model, shape, 2 * shape["rows"])
        if kind == "padded":
            return padded_batch(model, items[: shape["rows"]])
        capacity = model.num_image_tokens + shape["text"] * 2
        return packed_batch(model, items, capacity)

    def packed():
        model = fresh()
        batch = batch_of("packed", model)
        return "packing: not available" if batch is None else train_steps(model, batch, args.steps, device)

    strategies = {
        "fsdp": {"name": "fsdp", "sharding_strategy": "FULL_SHARD", "activation_checkpointing": True},
        "deepspeed_zero2": {"name": "deepspeed", "stage": 2},
        "deepspeed_zero3": {"name": "deepspeed", "stage": 3},
    }
    sections = {
        "padded": lambda: (lambda m: train_steps(m, batch_of("padded", m), args.steps, device))(fresh()),
        "packed": packed,
    }
    for name, spec in strategies.items():
        sections[name] = (
            lambda s: lambda: (lambda m: lightning_fit(m, batch_of("padded", m), s, args.steps))(fresh())
        )(spec)
    sections["qlora"] = lambda: (lambda m: qlora_steps(m, batch_of("padded", m), args.steps, device))(fresh())

    results: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "peak_flops_per_s": peak_flops(device, torch.bfloat16),
        "shape": shape,
        "sections": {},
    }
    for name, fn in sections.items():
        if not cuda and name not in ("padded", "packed"):
            results["sections"][name] = dict(needs_cuda)
            continue
        results["sections"][name] = run_section(name, fn, args.section_timeout)
        print(name, results["sections"][name]["status"], flush=True)
    with open(args.out, "w") as handle:
        json.dump(results, handle, indent=1, default=str)
    print(f"\n{'section':<17} {'status':<28} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} {'wall s':>7}")
    for name, r in results["sections"].items():
        mfu = f"{r['mfu']:.3f}" if r.get("mfu") is not None else "-"
        tokens = f"{r['tokens_per_s']:.0f}" if "tokens_per_s" in r else "-"
        tflops = f"{r['tflops_per_s']:.1f}" if "tflops_per_s" in r else "-"
        print(f"{name:<17} {r['status'][:28]:<28} {tokens:>10} {tflops:>8} {mfu:>6} {r.get('wall_s', 0):>7.1f}")
    return results


if __name__ == "__main__":
    main()
