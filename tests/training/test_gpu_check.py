"""benchmarks/gpu_check.py's CPU dry run: every section reported, CPU throughput measured, no MFU without a peak."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
SECTIONS = {"padded", "packed", "fsdp", "deepspeed_zero2", "deepspeed_zero3", "qlora"}


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("gpu_check") / "dry.json"
    module.main(["--cpu-dry-run", "--out", str(out), "--steps", "1"])
    return json.loads(out.read_text())


def test_dry_run_reports_every_section(dry_run):
    assert set(dry_run["sections"]) == SECTIONS
    for name in ("fsdp", "deepspeed_zero2", "deepspeed_zero3", "qlora"):
        assert dry_run["sections"][name]["status"] == "skipped: needs CUDA"


def test_dry_run_measures_cpu_throughput_without_mfu(dry_run):
    assert dry_run["device"] == "cpu" and dry_run["peak_flops_per_s"] is None
    padded = dry_run["sections"]["padded"]
    assert padded["status"] == "ok", padded
    assert padded["tokens_per_s"] > 0 and padded["tflops_per_s"] > 0
    assert padded["mfu"] is None
    assert set(padded["flops_per_step"]) == {"vision", "connector", "llm"}
    packed = dry_run["sections"]["packed"]
    assert packed["status"] in ("ok", "packing: not available"), packed
    if packed["status"] == "ok":  # several samples per row: fewer rows than the padded batch's samples
        assert packed["rows"] < 2 * padded["rows"] and packed["mfu"] is None
