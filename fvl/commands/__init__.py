"""The ``fvl`` command line: one table of subcommands, each imported only when it runs.

``fvl <command> [arguments]`` (console script) and ``python -m fvl <command> ...`` are the same; ``fvl`` alone,
``fvl --help`` or an unknown command lists the commands. Hydra commands (``train``, ``eval``) take Hydra
overrides exactly as ``python train.py`` / ``python evaluate.py`` do.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    target: str  # "module:function"; the function reads sys.argv (Hydra) or takes the argument list
    summary: str
    hydra: bool = False  # a @hydra.main function: it parses sys.argv itself


COMMANDS: dict[str, Command] = {
    "train": Command("fvl.commands.train:main", "train (Hydra overrides; `fvl train` alone runs the CPU demo)", True),
    "eval": Command("fvl.commands.evaluate:main", "evaluate on benchmarks (checkpoint=<model> benchmarks=[...])", True),
    "chat": Command("fvl.inference.chat:main", "talk to a model: one question (--image) or an interactive session"),
    "predict": Command("fvl.inference.predict:main", "answer an images folder or a JSONL of questions into JSONL"),
    "serve": Command("fvl.inference.serve:main", "browser demo (the `web` extra): upload an image, ask, watch"),
    "export": Command("fvl.training.export:main", "a checkpoint to a model dir (--dtype, --push-to-hub)"),
    "pictures": Command("fvl.report.pictures:main", "(re)draw a run's curves and accuracy bars, or an evaluation's"),
    "feature-maps": Command("fvl.analysis.feature_maps:main", "PCA maps of the depth and each breadth feature"),
    "alignment": Command("fvl.analysis.alignment:main", "the paper's alignment study: caption loss per feature subset"),
    "cache-features": Command("fvl.cache_features:main", "write frozen Florence-2 features once for finetuning"),
    "convert": Command("fvl.convert:main", "convert released Florence-VL or remote-code Florence-2 weights"),
    "report": Command("fvl.report.__main__:main", "(re)write a sweep's report.md/csv/png from its job dirs"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    rows = "\n".join(f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items())
    return f"usage: fvl <command> [arguments]   (also: python -m fvl <command> ...)\n\ncommands:\n{rows}\n\n" + (
        "`fvl <command> --help` describes one."
    )


def main(argv: Sequence[str] | None = None) -> int | None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"fvl: unknown command {name!r}.\n\n{usage()}", file=sys.stderr)
        return 2
    command = COMMANDS[name]
    module, function = command.target.split(":")
    entry = getattr(importlib.import_module(module), function)
    if command.hydra:
        sys.argv = [f"fvl {name}", *rest]
        entry()  # exits non-zero itself on failure
        return 0
    return entry(rest)
