"""``fvl predict <model> <images folder | questions.jsonl>``: batched answers, one JSON line per input.

Each output line is ``{"id", "image", "question", "answer"}``, in input order, written as each batch finishes (to
stdout, or ``--out FILE``), so a long run can be watched and what was done survives an interruption. The input is
read and checked whole before the model loads (:mod:`fvl.inference.predict_inputs`: a folder with ``--question``, or
a JSONL of ``{"id", "image", "question"}`` records, image paths relative to the JSONL's folder); problems are listed
with file and line and nothing is answered (exit status 2). An image that exists but cannot be decoded shows only
when its batch is read: by default the run stops there naming it (status 2; the lines before it stay written);
with ``--on-error record`` its line carries ``"error"`` instead of ``"answer"``, the rest is answered and the
status is 1. Batches go through ``ModelPredictor`` as in evaluation, so answers do not depend on ``--batch-size``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import TextIO

from fvl.inference.options import add_decoding_arguments, add_model_arguments, bounded, parse_command
from fvl.usage import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fvl predict",
        description="Answer every image of a folder (one --question) or every record of a JSONL file; writes JSONL.",
        epilog='JSONL input: one {"id": ..., "image": "relative/path.png", "question": "..."} per line, image paths '
        'relative to the file\'s folder. Output: one {"id", "image", "question", "answer"} per line.',
    )
    add_model_arguments(parser)
    parser.add_argument("input", help="a folder of images (searched recursively) or a JSONL file of question records")
    parser.add_argument("--question", help="the question for every image of a folder (for JSONL: records without one)")
    parser.add_argument("--out", metavar="FILE", help="write the JSONL here (default: stdout)")
    parser.add_argument("--batch-size", type=bounded(int, 1), default=8, help="questions answered together (default 8)")
    parser.add_argument(
        "--on-error",
        choices=("stop", "record"),
        default="stop",
        help='an image that cannot be decoded: stop naming it (default), or record an "error" line and go on',
    )
    add_decoding_arguments(parser, max_new_tokens=64)
    return parser


def answer_all(predictor, items, suffix: str, batch_size: int, on_error: str, out: TextIO, err: TextIO) -> int:
    """Answer ``items`` (``suffix`` after each question) batch by batch, writing a line each; returns how many
    could not be answered."""
    from fvl.eval.sample import EvalSample
    from fvl.inference.loading import open_image

    failed = 0
    for start in range(0, len(items), batch_size):
        batch, samples = items[start : start + batch_size], []
        lines: dict[int, dict] = {}
        for position, item in enumerate(batch):
            try:
                image = None if item.image_path is None else open_image(item.image_path)
            except UsageError as error:
                if on_error == "stop":
                    raise UsageError(f"{item.source}: {error} (--on-error record answers the rest)") from None
                lines[position] = item.record(error=str(error))
                failed += 1
                continue
            samples.append((position, EvalSample(str(item.id), image, item.question + suffix)))
        answers = predictor([sample for _, sample in samples]) if samples else []
        for (position, _), answer in zip(samples, answers, strict=True):
            lines[position] = batch[position].record(answer=answer)
        for position in range(len(batch)):
            out.write(json.dumps(lines[position], ensure_ascii=False) + "\n")
        out.flush()
        if err.isatty():
            print(f"\rfvl predict: {start + len(batch)}/{len(items)}", end="", file=err, flush=True)
    if err.isatty():
        print(file=err)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, options = parse_command(parser, argv)
    out_path = None if args.out is None else Path(args.out)
    if out_path is not None and out_path.exists() and out_path.resolve() == Path(args.input).resolve():
        parser.error(f"--out {args.out} is the input file; write the answers elsewhere")
    try:
        from fvl.inference.loading import load_from_args
        from fvl.inference.predict_inputs import read_items

        items = read_items(args.input, args.question)  # checked whole before the model loads
        predictor, suffix, _ = load_from_args(args, options)
    except UsageError as error:
        print(f"fvl predict: {error}", file=sys.stderr)
        return 2
    print(f"input: {len(items)} question(s) from {args.input}, batches of {args.batch_size}", file=sys.stderr)
    began = time.perf_counter()
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") if out_path else nullcontext(sys.stdout) as out:
        try:
            failed = answer_all(predictor, items, suffix, args.batch_size, args.on_error, out, sys.stderr)
        except UsageError as error:
            print(f"fvl predict: {error}", file=sys.stderr)
            return 2
    seconds = time.perf_counter() - began
    where = args.out or "stdout"
    errors = f', {failed} could not be answered (their lines hold "error")' if failed else ""
    print(f"fvl predict: {len(items) - failed} answers to {where} in {seconds:.1f} s{errors}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
