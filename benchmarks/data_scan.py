"""Benchmark: the up-front scan of N generated samples, in-process vs a process pool vs a cache hit.

Writes N LLaVA-format samples (1–3 exchanges of random length; two thirds with an image, all the same file,
since the scan only stats it) to a temporary directory, then times with fvl's encoder:

- serial: ``scan_source`` in-process (the baseline);
- parallel: ``scan_source`` over ``--workers`` forked processes;
- first cached run: a ``Scanner`` with an empty cache (parallel scan + writing the cache file);
- cache hit: the same ``Scanner`` call again (key, file read, lists rebuilt), as every later run and rank sees.

Prints each time, its speed-up over the serial scan of the same run and the serial cost projected to the
recipe's 16.9M samples, and checks that all results agree. The tokenizer is fvl's tiny offline one unless
``--tokenizer DIR`` names a local Hugging Face tokenizer (with a chat template for ``--format chat``)::

    python benchmarks/data_scan.py --samples 20000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from fvl.data.encoding import SampleEncoder
from fvl.data.scan.scanner import Scanner, ScanOptions
from fvl.data.scan.source_scan import SourceScan
from fvl.data.scan.workers import default_num_scan_workers, scan_source
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import SourceSpec
from fvl.models.language_model import prepare_tokenizer
from fvl.models.tiny import DEFAULT_CORPUS, tiny_llm_tokenizer

RECIPE_SAMPLES = 16_900_000  # the paper's pretraining captions (16.9M)


def generate(path: Path, count: int, seed: int = 0) -> None:
    """``count`` LLaVA records with random questions and answers drawn from the tiny corpus's words."""
    rng = random.Random(seed)
    words = DEFAULT_CORPUS.split()
    Image.new("RGB", (8, 8)).save(path.parent / "image.png")

    def text(low: int, high: int) -> str:
        return " ".join(rng.choices(words, k=rng.randint(low, high)))

    with path.open("w") as handle:
        for i in range(count):
            turns = []
            for _ in range(rng.choice((1, 1, 2, 3))):
                turns += [{"from": "human", "value": text(4, 30)}, {"from": "gpt", "value": text(5, 150)}]
            record: dict[str, Any] = {"id": f"s{i}", "conversations": turns}
            if i % 3:
                record["image"] = "image.png"
            handle.write(json.dumps(record) + "\n")


def timed(run: Callable[[], SourceScan]) -> tuple[float, SourceScan]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def load_tokenizer(name: str | None) -> PreTrainedTokenizerBase:
    tokenizer = tiny_llm_tokenizer() if name is None else AutoTokenizer.from_pretrained(name)
    prepare_tokenizer(tokenizer)
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=default_num_scan_workers())
    parser.add_argument("--format", default="chat", choices=["chat", "plain"])
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--image-tokens", type=int, default=576)
    parser.add_argument("--tokenizer", default=None, help="local Hugging Face tokenizer directory (default: tiny)")
    args = parser.parse_args()

    tokenizer = load_tokenizer(args.tokenizer)
    encoder = SampleEncoder(tokenizer, args.image_tokens, args.format, max_length=args.max_length)
    with tempfile.TemporaryDirectory() as folder:
        spec = SourceSpec(path=str(Path(folder, "samples.jsonl")))
        generate(Path(spec.path), args.samples)
        source = open_source(spec)
        scanner = Scanner(encoder, "skip", ScanOptions(args.workers, cache_dir=str(Path(folder, "cache"))))
        runs = {
            "serial (in-process)": lambda: scan_source(source, encoder, "skip", num_workers=0),
            f"parallel ({args.workers} workers)": lambda: scan_source(source, encoder, "skip", args.workers),
            "first cached run (scan + write)": lambda: scanner.scan(spec, source),
            "cache hit": lambda: scanner.scan(spec, source),
        }
        results = {name: timed(run) for name, run in runs.items()}
    (serial, baseline), *others = results.values()
    if any(result != baseline for _, result in others):
        raise SystemExit("the scans disagree")
    name = args.tokenizer or "tiny"
    print(f"{args.samples} samples, {args.format} format, tokenizer {name}, max_length {args.max_length}")
    for label, (seconds, _) in results.items():
        print(f"{label:34s} {seconds:8.3f} s  {serial / seconds:7.1f}x")
    per_sample = serial / args.samples
    print(f"serial: {per_sample * 1e3:.3f} ms/sample -> {per_sample * RECIPE_SAMPLES / 3600:.2f} h for 16.9M samples")


if __name__ == "__main__":
    main()
