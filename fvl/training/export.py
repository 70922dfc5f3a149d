"""Turn a training ``.ckpt`` into an exported model directory that ``FlorenceVL.from_pretrained`` loads in one call.

    python -m fvl.training.export outputs/<run>/checkpoints/last.ckpt outputs/<run>/model

The checkpoint alone is enough: it carries the model spec and an architecture snapshot (see
:mod:`fvl.models.loading`), so neither the hub nor the base weights are needed. LoRA adapters are merged into
the exported LLM. The directory appears only when complete (written aside, then renamed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fvl.models.loading import load


def export_checkpoint(checkpoint: str | Path, directory: str | Path) -> Path:
    """Write the model of ``checkpoint`` to ``directory`` (created if needed); returns the directory."""
    directory = Path(directory)
    load(checkpoint).save_pretrained(directory)
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "checkpoint", type=Path, help="a Lightning .ckpt written by train.py (or a run / DeepSpeed checkpoint dir)"
    )
    parser.add_argument("directory", type=Path, help="where to write the model directory")
    args = parser.parse_args(argv)
    try:
        print(f"Exported {args.checkpoint} → {export_checkpoint(args.checkpoint, args.directory)}")
    except (FileNotFoundError, ValueError) as error:  # a wrong path or a file that is no fvl checkpoint
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()
