"""ThroughputLog: tokens/s, samples/s, TFLOP/s logged on CPU; MFU only with a peak (config override)."""

import pytest

from fvl.models.flops import model_forward_flops, training_flops, training_modes
from fvl.training.throughput import ThroughputLog, batch_counts, batch_flops


@pytest.mark.parametrize("peak", [None, 1e12])
def test_logs_throughput_and_mfu_only_with_a_peak(tiny, peak):
    module = tiny.module("finetune_lora")
    trainer = tiny.trainer(4, callbacks=[ThroughputLog(peak_flops_per_s=peak, window=2)])
    trainer.fit(module, tiny.batches(module.model, 4))
    metrics = trainer.callback_metrics
    for name in ("train/tokens_per_s", "train/samples_per_s", "train/tflops_per_s"):
        assert float(metrics[name]) > 0
    assert ("train/mfu" in metrics) == (peak is not None)
    if peak:
        assert float(metrics["train/mfu"]) == pytest.approx(float(metrics["train/tflops_per_s"]) * 1e12 / peak)


def test_batch_flops_follow_what_trains(tiny):
    module = tiny.module("finetune_lora")
    batch = next(iter(tiny.batches(module.model, 1)))
    modes = training_modes(module.model)
    assert [modes[p][0] for p in ("vision", "connector", "llm")] == ["forward", "trainable", "backward"]
    assert modes["llm"][1] > 0  # LoRA adapters counted
    counts = batch_counts(batch)
    forward = model_forward_flops(module.model, counts["images"], counts["positions"], counts["pairs"])
    flops = batch_flops(module.model, batch, modes)
    assert flops == training_flops(forward, modes, counts["positions"])
    assert flops["vision"] == forward["vision"].total and flops["connector"] == 3 * forward["connector"].total
