"""Training throughput and MFU logs: ``train/tokens_per_s``, ``train/samples_per_s``, ``train/tflops_per_s``,
``train/mfu`` (per device, rolling over ``window`` batches, Lightning's :class:`Throughput`).

FLOPs per batch come from shapes (:mod:`fvl.models.flops`: what each part computes, with its training
multiplier from what trains); tokens are real (non-pad) tokens, samples the batch's samples (a packed row counts
each of its samples). MFU needs the device's peak: ``peak_flops_per_s`` (the config's
``callbacks.throughput.peak_flops_per_s``) or Lightning's ``get_available_flops`` for the device and precision —
except the H200, where Lightning's table holds the with-sparsity figure (2×) or misses the plain "NVIDIA H200"
name, so the dense figure is used. On CPU there is no peak: no ``train/mfu`` (said once at the start).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from lightning import Callback
from lightning.fabric.utilities.throughput import Throughput, get_available_flops
from lightning.pytorch.callbacks.throughput_monitor import _plugin_to_compute_dtype
from lightning.pytorch.utilities import rank_zero_info

from fvl.models.flops import model_forward_flops, training_flops, training_modes

# Dense bf16/fp16 tensor-core peaks (NVIDIA datasheets list twice these "with sparsity").
DENSE_PEAKS = {"h200 nvl": 835.5e12, "h200": 989.4e12}


def peak_flops(device: torch.device, dtype: torch.dtype) -> float | None:
    """The device's dense peak FLOP/s for ``dtype``; None where unknown (CPU)."""
    if device.type == "cuda" and dtype in (torch.bfloat16, torch.float16):
        name = torch.cuda.get_device_name(device).lower()
        for chip, peak in DENSE_PEAKS.items():
            if chip in name:
                return peak
    if device.type == "cpu":
        return None
    return get_available_flops(device, dtype)


def batch_counts(batch: dict[str, Any]) -> dict[str, int]:
    """Images, LLM positions, attended (query, key) pairs, real tokens and samples of a training batch."""
    rows, length = batch["input_ids"].shape
    features = batch.get("image_features")
    pixels = batch.get("pixel_values")
    images = pixels.shape[0] if pixels is not None else (next(iter(features.values())).shape[0] if features else 0)
    ids = batch.get("sample_ids") or [None] * rows
    samples = sum(len(i) if isinstance(i, (list, tuple)) else 1 for i in ids)
    return {
        "images": images,
        "positions": rows * length,
        "pairs": rows * length * length,
        "tokens": int(batch["attention_mask"].sum()),
        "samples": samples,
        "vision_runs": features is None,
    }


def batch_flops(model, batch: dict[str, Any], modes: dict[str, tuple[str, int]]) -> dict[str, int]:
    """Training FLOPs per part of one batch through ``model`` (a FlorenceVL)."""
    counts = batch_counts(batch)
    forward = model_forward_flops(
        model, counts["images"], counts["positions"], counts["pairs"], vision_runs=counts["vision_runs"]
    )
    return training_flops(forward, modes, counts["positions"])


class ThroughputLog(Callback):
    """Logs tokens/s, samples/s, TFLOP/s and MFU of this device (module docstring)."""

    def __init__(self, peak_flops_per_s: float | None = None, window: int = 10) -> None:
        self.peak_flops_per_s = peak_flops_per_s
        self.window = window
        self._throughput: Throughput | None = None
        self._modes: dict[str, tuple[str, int]] = {}
        self._start = 0.0
        self._totals = {"batches": 0, "samples": 0, "tokens": 0}

    def on_train_start(self, trainer, pl_module) -> None:
        dtype = _plugin_to_compute_dtype(trainer.precision_plugin)
        peak = self.peak_flops_per_s or peak_flops(trainer.strategy.root_device, dtype)
        if peak is None:
            rank_zero_info(
                f"Throughput: no peak FLOP/s known for {trainer.strategy.root_device}: train/mfu not logged "
                "(set callbacks.throughput.peak_flops_per_s to log it)."
            )
        self._throughput = Throughput(available_flops=peak, window_size=self.window)
        self._modes = training_modes(pl_module.model)
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._throughput is None:
            return
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()
        counts = batch_counts(batch)
        flops = sum(batch_flops(pl_module.model, batch, self._modes).values())
        totals = self._totals
        totals["batches"] += 1
        totals["samples"] += counts["samples"]
        totals["tokens"] += max(counts["tokens"], counts["samples"])
        self._throughput.update(
            time=time.perf_counter() - self._start,
            batches=totals["batches"],
            samples=totals["samples"],
            lengths=totals["tokens"],
            flops=flops,
        )
        metrics = self._throughput.compute()
        names = {
            "device/items_per_sec": "train/tokens_per_s",
            "device/samples_per_sec": "train/samples_per_s",
            "device/flops_per_sec": "train/tflops_per_s",
            "device/mfu": "train/mfu",
        }
        for key, name in names.items():
            if key in metrics:
                value = metrics[key] / 1e12 if name == "train/tflops_per_s" else metrics[key]
                pl_module.log(name, float(value), on_step=True, batch_size=1)
