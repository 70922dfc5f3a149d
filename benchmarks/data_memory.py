"""Benchmark: memory and time of opening and reading a LLaVA file, as a list of dicts vs memory-mapped Arrow.

Writes N generated LLaVA-665K-like records (``data_scan.generate``: 1–3 exchanges of random length, two thirds
with an image) as a ``.json`` array (LLaVA-665K's format) or ``.jsonl``, then measures each side in a fresh
subprocess, alternating the sides over ``--repeats`` rounds:

- ``dicts``: the file read into a Python list of dicts, as ``LlavaSource`` did before the Arrow cache (the
  baseline);
- ``convert``: ``LlavaSource`` with an empty cache directory (the first run: parse, write, memory-map);
- ``hit``: ``LlavaSource`` with that cache filled (every later run and every other rank).

For each: seconds to open, seconds to read every record as the scan does (``source.sample(i)``: parse and
validate; tokenization is left out, it costs the same on every side), and the process's memory over the RSS
it had before opening: after opening and after reading (``RSS``: all resident pages; ``anon``: the private
ones, which memory-mapped file pages are not) and the peak (``VmHWM``). Prints medians and the ratio to the
baseline of the same run::

    python benchmarks/data_memory.py --samples 100000 300000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from data_scan import generate

from fvl.data.sources.llava import LlavaSource
from fvl.data.sources.spec import RecordSource, SourceSpec

SIDES = ("dicts", "convert", "hit")
MIB = 1 << 20


class DictListSource(RecordSource):
    """The baseline: every record of the file parsed up front into a list of dicts (the reader before Arrow)."""

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        path = Path(spec.path)
        if path.suffix == ".jsonl":
            with path.open("rb") as handle:
                self._records = [json.loads(line) for line in handle if line.strip()]
        else:
            self._records = json.loads(path.read_text())

    def __len__(self) -> int:
        return len(self._records)

    def record(self, index: int):
        return self._records[index]


def _proc_status_kib(field: str) -> int:
    """A ``/proc/self/status`` field in KiB (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _memory() -> dict[str, float]:
    return {"rss": psutil.Process().memory_info().rss / MIB, "anon": _proc_status_kib("RssAnon") / 1024}


def measure(side: str, data: Path, cache: Path) -> dict[str, float]:
    """One side in this process: open, read every sample; seconds and MiB over the RSS before opening."""
    spec = SourceSpec(path=str(data))
    before = _memory()
    started = time.perf_counter()
    source = DictListSource(spec) if side == "dicts" else LlavaSource(spec, cache_dir=str(cache))
    opened = time.perf_counter()
    after_open = _memory()
    for index in range(len(source)):
        source.sample(index)
    read = time.perf_counter()
    after_read = _memory()
    result = {"open_s": opened - started, "read_s": read - opened}
    for label, memory in (("open", after_open), ("read", after_read)):
        for kind in ("rss", "anon"):
            result[f"{kind}_{label}_mib"] = memory[kind] - before[kind]
    result["peak_mib"] = _proc_status_kib("VmHWM") / 1024 - before["rss"]
    return result


def _run_side(side: str, data: Path, cache: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--side", side, "--data", str(data), "--cache", str(cache)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _write_data(folder: Path, count: int, fmt: str) -> Path:
    lines = folder / "records.jsonl"
    generate(lines, count)
    if fmt == "jsonl":
        return lines
    array = folder / "records.json"
    with lines.open() as source, array.open("w") as target:
        target.write("[\n" + ",\n".join(line.rstrip("\n") for line in source) + "\n]\n")
    lines.unlink()
    return array


def bench(count: int, fmt: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        data = _write_data(folder, count, fmt)
        runs: dict[str, list[dict[str, float]]] = {side: [] for side in SIDES}
        for round_ in range(repeats):
            cache = folder / f"cache{round_}"
            order = SIDES if round_ % 2 == 0 else ("convert", "hit", "dicts")  # the hit needs its conversion first
            for side in order:
                runs[side].append(_run_side(side, data, cache))
        size = data.stat().st_size / MIB
    print(f"\n{count:,} records, {fmt} ({size:.0f} MiB), medians of {repeats} runs, MiB over the RSS before opening")
    header = f"{'side':8s} {'open s':>8s} {'read s':>8s} {'RSS open':>9s} {'anon open':>9s} {'RSS read':>9s}"
    print(header + f" {'anon read':>9s} {'peak':>8s}  open+read vs dicts")
    medians = {
        side: {key: statistics.median(r[key] for r in results) for key in results[0]} for side, results in runs.items()
    }
    base = medians["dicts"]["open_s"] + medians["dicts"]["read_s"]
    for side, m in medians.items():
        row = f"{side:8s} {m['open_s']:8.3f} {m['read_s']:8.3f} {m['rss_open_mib']:9.1f} {m['anon_open_mib']:9.1f}"
        row += f" {m['rss_read_mib']:9.1f} {m['anon_read_mib']:9.1f} {m['peak_mib']:8.1f}"
        print(row + f"  {(m['open_s'] + m['read_s']) / base:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[100_000])
    parser.add_argument("--format", default="json", choices=["json", "jsonl"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # a child process: measure one side
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:
        print(json.dumps(measure(args.side, args.data, args.cache)))
        return
    for count in args.samples:
        bench(count, args.format, args.repeats)


if __name__ == "__main__":
    main()
