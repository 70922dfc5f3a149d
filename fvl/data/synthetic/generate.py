"""The embedded demo dataset: coloured shapes and short words, as LLaVA-format files (deterministic by seed).

``python -m fvl.data.synthetic.generate --out DIR`` writes into DIR:

- ``images/*.png``: small images (``--image-size``, default 64 px);
- ``captions.json``: the pretraining caption set (image → description of every shape and its position, or
  the word), for the ``plain`` format;
- ``florence_tasks.json`` (empty unless ``task_prompts`` names Florence-VL's prompts, as the demo does): Florence-2's
  own task mixture on the caption images, one record per image and prompt, the question being the prompt's
  text and the answer that task's target (:data:`~fvl.data.synthetic.scene.TASK_TARGETS`), for ``stage=florence``;
- ``instruct.json``: the instruction set for finetuning: one-word answers to questions that need the image
  (colour, shape, count, left/right, top/bottom, reading the word), a fraction with a follow-up turn;
- ``eval.json``: a held-out evaluation split (single-turn, with ``question_type`` and ``answer`` fields);
- ``stats.json``: counts, chance accuracy per question type and the question-only baseline (the accuracy of
  the best constant answer per question text on the eval split; answers are balanced per question text, so it
  is near chance). It is written last and records the options: :func:`ensure_synthetic` regenerates a
  directory whose stats file is missing (half-written) or was made with other options.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from filelock import FileLock

from fvl.constants import IMAGE_TOKEN
from fvl.data.synthetic.questions import QUESTION_TYPES, BalancedStream, follow_up
from fvl.data.synthetic.scene import SHAPES, TASK_TARGETS, WORDS, Scene, draw_scene, random_shapes

# Bumped whenever the generated content changes, so `ensure_synthetic` regenerates an older copy.
GENERATOR_VERSION = 4
CAPTION_PROMPT = "Describe the image."


@dataclass(frozen=True)
class SyntheticOptions:
    """What to generate; the defaults give ~4000 captions, ~8000 instructions and 500 eval samples in seconds."""

    seed: int = 0
    image_size: int = 64
    num_captions: int = 4000
    num_instruct: int = 8000
    num_eval: int = 500
    multi_turn_fraction: float = 0.2
    word_fraction: float = 0.2
    # Shapes besides the one a colour/shape/position question asks about (0–3): with distractors the model must
    # bind the question's reference (position or colour) to the right object.
    distractors: int = 0
    # Florence-VL's prompts by name (the demo passes ${model.vision.prompts}); names must be TASK_TARGETS keys.
    task_prompts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "task_prompts", {str(k): str(v) for k, v in dict(self.task_prompts).items()})
        unknown = sorted(set(self.task_prompts) - set(TASK_TARGETS))
        if unknown:
            raise ValueError(
                f"data.synthetic.task_prompts names {unknown}; the synthetic set has targets for "
                f"{sorted(TASK_TARGETS)}."
            )
        for key in ("image_size", "num_captions", "num_instruct", "num_eval"):
            if getattr(self, key) <= 0:
                raise ValueError(f"data.synthetic.{key}={getattr(self, key)} must be a positive integer.")
        if not 0 <= self.distractors <= 3:
            raise ValueError(f"data.synthetic.distractors={self.distractors} must be between 0 and 3.")
        for key in ("multi_turn_fraction", "word_fraction"):
            if not 0.0 <= getattr(self, key) <= 1.0:
                raise ValueError(f"data.synthetic.{key}={getattr(self, key)} must be a fraction between 0 and 1.")


@dataclass(frozen=True)
class SyntheticPaths:
    """Where the generated files are."""

    root: Path
    images: Path
    captions: Path
    tasks: Path
    instruct: Path
    eval: Path
    stats: Path

    @classmethod
    def under(cls, root: str | os.PathLike) -> SyntheticPaths:
        root = Path(root)
        names = ("images", "captions.json", "florence_tasks.json", "instruct.json", "eval.json", "stats.json")
        return cls(root, *(root / name for name in names))


def _turns(*exchanges: tuple[str, str]) -> list[dict[str, str]]:
    turns = []
    for position, (question, answer) in enumerate(exchanges):
        prefix = f"{IMAGE_TOKEN}\n" if position == 0 else ""
        turns += [{"from": "human", "value": prefix + question}, {"from": "gpt", "value": answer}]
    return turns


class _Writer:
    """Saves images under ``images/`` and returns their path relative to the dataset root."""

    def __init__(self, paths: SyntheticPaths, size: int) -> None:
        self.paths = paths
        self.size = size

    def image(self, name: str, scene: Scene, rng: random.Random) -> str:
        draw_scene(scene, self.size, rng).save(self.paths.images / f"{name}.png", compress_level=1)
        return f"images/{name}.png"


def _captions(
    writer: _Writer, options: SyntheticOptions, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The caption records and Florence-2's task records (one per prompt of ``options.task_prompts``) of the
    same images."""
    records, tasks = [], []
    for i in range(options.num_captions):
        if rng.random() < options.word_fraction:
            scene = Scene(word=rng.choice(WORDS))
        else:
            scene = Scene(random_shapes(rng, rng.randint(1, 3)))
        sample_id = f"cap-{i:05d}"
        image = writer.image(sample_id, scene, rng)
        records.append({"id": sample_id, "image": image, "conversations": _turns((CAPTION_PROMPT, scene.caption()))})
        for name, prompt in options.task_prompts.items():
            target = TASK_TARGETS[name](scene)
            tasks.append({"id": f"{sample_id}-{name}", "image": image, "conversations": _turns((prompt, target))})
    return records, tasks


def _questions(
    writer: _Writer, prefix: str, count: int, distractors: int, multi_turn_fraction: float, rng: random.Random
) -> list[dict[str, Any]]:
    streams = [BalancedStream(question_type, rng, distractors) for question_type in QUESTION_TYPES]
    records = []
    for i in range(count):
        question = streams[i % len(streams)].draw()
        exchanges = [(question.text, question.answer)]
        extra = follow_up(question.scene, rng) if rng.random() < multi_turn_fraction else None
        if extra is not None:
            exchanges.append(extra)
        sample_id = f"{prefix}-{i:05d}"
        records.append(
            {
                "id": sample_id,
                "image": writer.image(sample_id, question.scene, rng),
                "question_type": question.kind,
                "question": question.text,
                "answer": question.answer,
                "conversations": _turns(*exchanges),
            }
        )
    return records


def question_only_baseline(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy of answering every question text with its most frequent answer, overall and per question type."""
    by_text: dict[str, Counter[str]] = defaultdict(Counter)
    type_of: dict[str, str] = {}
    for record in records:
        by_text[record["question"]][record["answer"]] += 1
        type_of[record["question"]] = record["question_type"]
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for text, answers in by_text.items():
        hits[type_of[text]] += answers.most_common(1)[0][1]
        totals[type_of[text]] += sum(answers.values())
    per_type = {kind: hits[kind] / totals[kind] for kind in sorted(totals)}
    return {"overall": sum(hits.values()) / max(sum(totals.values()), 1), "per_type": per_type}


def _stats(options: SyntheticOptions, splits: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    evaluation = splits["eval"]
    answer_counts = defaultdict(Counter)
    for record in evaluation:
        answer_counts[record["question_type"]][record["answer"]] += 1
    chance = {question_type.name: 1 / len(question_type.answers) for question_type in QUESTION_TYPES}
    return {
        "generator_version": GENERATOR_VERSION,
        "options": asdict(options),
        "counts": {name: len(records) for name, records in splits.items()},
        "multi_turn_instruct": sum(len(r["conversations"]) > 2 for r in splits["instruct"]),
        "chance": {"per_type": chance, "mean": sum(chance.values()) / len(chance)},
        "question_only_baseline": question_only_baseline(evaluation),
        "eval_answer_counts": {kind: dict(sorted(counts.items())) for kind, counts in sorted(answer_counts.items())},
        "vocabulary": {"shapes": list(SHAPES), "question_types": [q.name for q in QUESTION_TYPES]},
    }


def _write_json(path: Path, content: Any) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def generate(root: str | os.PathLike, options: SyntheticOptions = SyntheticOptions()) -> SyntheticPaths:
    """(Re)write the whole dataset under ``root``; the stats file goes last and marks it complete."""
    paths = SyntheticPaths.under(root)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.stats.unlink(missing_ok=True)
    shutil.rmtree(paths.images, ignore_errors=True)
    paths.images.mkdir()
    writer = _Writer(paths, options.image_size)
    captions, tasks = _captions(writer, options, random.Random(f"{options.seed}-captions"))
    splits = {
        "captions": captions,
        "tasks": tasks,
        "instruct": _questions(
            writer,
            "inst",
            options.num_instruct,
            options.distractors,
            options.multi_turn_fraction,
            random.Random(f"{options.seed}-instruct"),
        ),
        "eval": _questions(
            writer, "eval", options.num_eval, options.distractors, 0.0, random.Random(f"{options.seed}-eval")
        ),
    }
    for name, records in splits.items():
        _write_json(getattr(paths, name), records)
    _write_json(paths.stats, _stats(options, splits))
    return paths


def ensure_synthetic(root: str | os.PathLike, **options: Any) -> SyntheticPaths:
    """The dataset under ``root`` with these options (see :class:`SyntheticOptions`), generated only if needed."""
    wanted = SyntheticOptions(**options)
    paths = SyntheticPaths.under(root)
    paths.root.parent.mkdir(parents=True, exist_ok=True)
    # Runs started together (a parallel sweep, DDP ranks) wait for the first one's generation instead of racing it.
    with FileLock(paths.root.parent / f".{paths.root.name}.lock"):
        if paths.stats.is_file():
            recorded = json.loads(paths.stats.read_text(encoding="utf-8"))
            same = recorded.get("options") == asdict(wanted) and recorded.get("generator_version") == GENERATOR_VERSION
            if same and all(p.exists() for p in (paths.captions, paths.tasks, paths.instruct, paths.eval)):
                return paths
        return generate(root, wanted)


def prepare_configured(data: Mapping[str, Any]) -> None:
    """Generate the demo set that a data config's ``synthetic`` node describes (nothing without one), before the
    run reads ``data.train``; the data pipeline itself only sees the LLaVA files it wrote."""
    if data.get("synthetic"):
        ensure_synthetic(**data["synthetic"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    for option in fields(SyntheticOptions):
        flag = "--" + option.name.replace("_", "-")
        if option.name == "task_prompts":
            parser.add_argument(flag, type=json.loads, default={}, help='JSON, e.g. \'{"ocr": "What is the text?"}\'')
            continue
        parser.add_argument(flag, type=type(option.default), default=option.default, help=f"default {option.default}")
    arguments = vars(parser.parse_args(argv))
    root = arguments.pop("out")
    started = time.perf_counter()
    paths = generate(root, SyntheticOptions(**arguments))
    stats = json.loads(paths.stats.read_text(encoding="utf-8"))
    print(f"wrote {stats['counts']} to {paths.root} in {time.perf_counter() - started:.1f}s")
    print(f"chance (mean over types): {stats['chance']['mean']:.3f}")
    print(f"question-only baseline: {json.dumps(stats['question_only_baseline'])}")


if __name__ == "__main__":
    main()
