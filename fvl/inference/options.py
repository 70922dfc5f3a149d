"""Command-line options shared by ``fvl chat``, ``fvl predict`` and ``fvl serve``: the model, where it runs, decoding.

Decoding is greedy by default (the reply evaluation scores); ``--do-sample`` switches to sampling with
``--temperature``, ``--top-p`` and ``--top-k``, and ``--seed`` seeds it once at startup, so a session fed the same
inputs repeats itself. Bad values are refused by argparse (exit status 2) before the model loads. This module
imports nothing heavy, so ``--help`` and option errors answer at once.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class DecodingOptions:
    """How replies are generated (see module docstring)."""

    max_new_tokens: int = 64
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50
    seed: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> DecodingOptions:
        return cls(args.max_new_tokens, args.do_sample, args.temperature, args.top_p, args.top_k, args.seed)

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``FlorenceVL.generate`` besides ``max_new_tokens`` (none for greedy decoding)."""
        if not self.do_sample:
            return {}
        return {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k}

    def describe(self) -> str:
        if not self.do_sample:
            return f"greedy, at most {self.max_new_tokens} new tokens"
        seed = "unseeded" if self.seed is None else f"seed {self.seed}"
        return (
            f"sampling (temperature {self.temperature}, top-p {self.top_p}, top-k {self.top_k}, {seed}), "
            f"at most {self.max_new_tokens} new tokens"
        )


def bounded(kind: type, low: float, high: float | None = None, low_open: bool = False):
    """An argparse type: a ``kind`` number in [low, high] (or (low, high] when ``low_open``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a{'n integer' if kind is int else ' number'}") from None
        if value < low or (low_open and value == low) or (high is not None and value > high):
            left = "(" if low_open else "["
            right = f"{high}]" if high is not None else "inf)"
            raise argparse.ArgumentTypeError(f"{text} is outside {left}{low}, {right}")
        return value

    return parse


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model path and where it runs."""
    parser.add_argument("model", help="an exported model dir (<run>/model), a run dir, or a .ckpt file")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: cuda when available, else cpu)")
    parser.add_argument(
        "--dtype", choices=DTYPES, default=None, help="weights' dtype (default: as saved, float32 for a checkpoint)"
    )
    parser.add_argument(
        "--prompt-suffix",
        metavar="TEXT",
        default=None,
        help="text appended to every question (\\n for a newline); 'trained' for the suffix the model's training "
        "data appended (input_format.prompt_suffix, e.g. LLaVA's short-answer instruction). Default: none",
    )


def add_decoding_arguments(parser: argparse.ArgumentParser, max_new_tokens: int = 256) -> None:
    """The decoding options of :class:`DecodingOptions`."""
    group = parser.add_argument_group("decoding (greedy unless --do-sample)")
    group.add_argument(
        "--max-new-tokens",
        type=bounded(int, 1),
        default=max_new_tokens,
        metavar="N",
        help=f"longest reply in tokens (default {max_new_tokens})",
    )
    group.add_argument("--do-sample", action="store_true", help="sample instead of greedy decoding")
    group.add_argument(
        "--temperature",
        type=bounded(float, 0.0, low_open=True),
        default=1.0,
        help="sampling temperature > 0 (default 1.0)",
    )
    group.add_argument(
        "--top-p",
        type=bounded(float, 0.0, 1.0, low_open=True),
        default=1.0,
        help="nucleus sampling mass in (0, 1] (default 1.0: off)",
    )
    group.add_argument(
        "--top-k",
        type=bounded(int, 0),
        default=50,
        help="sample among the k likeliest tokens; 0 turns it off (default 50)",
    )
    group.add_argument("--seed", type=int, default=None, help="seed sampling once at startup (default: unseeded)")


def check_sampling_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Sampling options without ``--do-sample`` would be ignored silently: refuse them."""
    given = [
        flag
        for flag, value, default in (
            ("--temperature", args.temperature, 1.0),
            ("--top-p", args.top_p, 1.0),
            ("--top-k", args.top_k, 50),
            ("--seed", args.seed, None),
        )
        if value != default
    ]
    if given and not args.do_sample:
        parser.error(f"{', '.join(given)} only apply to sampling; add --do-sample (decoding is greedy without it)")


def parse_command(
    parser: argparse.ArgumentParser, argv: list[str] | None
) -> tuple[argparse.Namespace, DecodingOptions]:
    """The arguments (positionals may come after options) and the decoding options; mistakes exit with status 2."""
    args = parser.parse_intermixed_args(argv)
    check_sampling_flags(parser, args)
    return args, DecodingOptions.from_args(args)
