"""Turn a training ``.ckpt`` into an exported model directory that ``FlorenceVL.from_pretrained`` loads in one call.

    python -m fvl.training.export outputs/<run>/checkpoints/last.ckpt outputs/<run>/model

The checkpoint alone is enough: it carries the resolved model config (see :mod:`fvl.training.checkpoint`).
LoRA adapters are merged into the exported LLM.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fvl.training.checkpoint import model_from_checkpoint


def export_checkpoint(checkpoint: str | Path, directory: str | Path) -> Path:
    """Write the model of ``checkpoint`` to ``directory`` (created if needed); returns the directory."""
    directory = Path(directory)
    model_from_checkpoint(checkpoint).save_pretrained(directory)
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a Lightning .ckpt written by train.py")
    parser.add_argument("directory", type=Path, help="where to write the model directory")
    args = parser.parse_args(argv)
    print(f"Exported {args.checkpoint} → {export_checkpoint(args.checkpoint, args.directory)}")


if __name__ == "__main__":
    main()
