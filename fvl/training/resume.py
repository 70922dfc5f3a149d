"""Which checkpoint ``ckpt_path=`` names: a ``.ckpt`` file, a run directory, or ``last`` (the newest run's).

Resuming restores everything Lightning saved — weights, optimizer and schedule state, loop counters — so the
run continues at the saved step. Every run writes ``<run dir>/checkpoints/last.ckpt``.
"""

from __future__ import annotations

from pathlib import Path

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"


def newest_last_checkpoint(log_dir: str | Path) -> Path:
    """The most recently written ``checkpoints/last.ckpt`` anywhere under ``log_dir``."""
    found = [path for path in Path(log_dir).glob(f"**/{LAST_CHECKPOINT}") if path.exists()]
    if not found:
        raise FileNotFoundError(f"ckpt_path=last, but no {LAST_CHECKPOINT} exists under {log_dir} (paths.log_dir).")
    return max(found, key=lambda path: path.stat().st_mtime)


def resolve_ckpt_path(ckpt_path: str | None, log_dir: str | Path) -> str | None:
    """The checkpoint to resume from, or None to start fresh."""
    if not ckpt_path:
        return None
    if ckpt_path == LAST:
        return str(newest_last_checkpoint(log_dir))
    path = Path(ckpt_path)
    if path.is_dir() and (path / LAST_CHECKPOINT).exists():
        return str(path / LAST_CHECKPOINT)
    if path.exists():  # a .ckpt file, or a DeepSpeed checkpoint directory
        return str(path)
    raise FileNotFoundError(
        f"ckpt_path={ckpt_path} does not exist. Give a .ckpt file, a run directory with {LAST_CHECKPOINT}, or 'last'."
    )
