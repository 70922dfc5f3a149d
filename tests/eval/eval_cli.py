"""evaluate.py run as a user runs it, in a subprocess, optionally killed mid-run (imported as ``eval_cli``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# evaluate.py with the predictor patched to SIGKILL its own process when batch number {batches} (0-based) starts.
KILLED_AFTER = """
import os, runpy, signal, sys
from fvl.eval.predictor import ModelPredictor
calls, original = [0], ModelPredictor.__call__
def call(self, samples):
    if calls[0] == {batches}:
        os.kill(os.getpid(), signal.SIGKILL)
    calls[0] += 1
    return original(self, samples)
ModelPredictor.__call__ = call
sys.argv = ["evaluate.py", *sys.argv[1:]]
runpy.run_path("evaluate.py", run_name="__main__")
"""


def run_evaluate(
    args: list[str], out_dir: Path, launcher: tuple[str, ...] = (), expect: int = 0, killed_after: int | None = None
) -> tuple[dict[str, Any] | None, subprocess.CompletedProcess]:
    """Run ``evaluate.py *args`` with ``out_dir`` as its run directory (and its sibling ``logs`` as
    ``paths.log_dir``); checks the exit status is `expect`. Returns results.json (None when there is none) and
    the finished process. `killed_after`: the process kills itself as that many batches have been generated."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    args = [*args, f"hydra.run.dir={out_dir}", f"paths.log_dir={Path(out_dir).parent / 'logs'}"]
    args.append("generation.max_new_tokens=6")
    if killed_after is not None:
        command = [sys.executable, "-c", KILLED_AFTER.format(batches=killed_after), *args]
    elif launcher:
        command = [*launcher, "evaluate.py", *args]
    else:
        command = [sys.executable, "evaluate.py", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == expect, f"exit {done.returncode}, expected {expect}\n{done.stderr[-3000:]}"
    results = Path(out_dir) / "results.json"
    return (json.loads(results.read_text()) if results.is_file() else None), done
