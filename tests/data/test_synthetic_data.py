"""The synthetic demo set: deterministic, answers need the image and are balanced, stats and regeneration."""

from __future__ import annotations

import json
import multiprocessing
import random
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from fvl.data.synthetic.generate import SyntheticOptions, ensure_synthetic, generate, main, question_only_baseline
from fvl.data.synthetic.questions import QUESTION_TYPES, BalancedStream, Question
from fvl.data.synthetic.scene import COLOURS, COLUMNS, ROWS, SHAPES, WORDS
from fvl.models.tiny import tiny_llm_tokenizer

SMALL = {"image_size": 32, "num_captions": 10, "num_instruct": 24, "num_eval": 120}


def answer_holds(question: Question) -> bool:
    """Whether ``question.answer`` is true of ``question.scene``."""
    shapes = question.scene.shapes
    if question.kind == "colour":
        return [s.colour for s in shapes if question.text.endswith(f" {s.position}?")] == [question.answer]
    if question.kind == "shape":
        return [s.kind for s in shapes if f" {s.colour} " in question.text] == [question.answer]
    if question.kind == "count":
        return ("one", "two", "three")[len(shapes) - 1] == question.answer
    if question.kind in ("horizontal", "vertical"):
        axis, names = (1, COLUMNS) if question.kind == "horizontal" else (0, ROWS)
        target = [s for s in shapes if f" {s.colour} shape " in question.text]
        return len(target) == 1 and names[target[0].cell[axis]] == question.answer
    return question.scene.word == question.answer and not shapes


@pytest.mark.parametrize("question_type", QUESTION_TYPES, ids=lambda t: t.name)
def test_every_drawn_answer_is_true_of_its_scene_and_balanced_per_question(question_type) -> None:
    stream = BalancedStream(question_type, random.Random(0))
    per_text: dict[str, Counter[str]] = {}
    passes = 3 * len(question_type.slots) * len(question_type.answers)
    for _ in range(passes):
        question = stream.draw()
        assert answer_holds(question), question
        per_text.setdefault(question.text, Counter())[question.answer] += 1
    assert all(counts == {answer: 3 for answer in question_type.answers} for counts in per_text.values())


def test_question_only_baseline_is_best_constant_per_question_text() -> None:
    records = [{"question": "q1", "question_type": "a", "answer": x} for x in ("red", "red", "blue", "green")] + [
        {"question": "q2", "question_type": "b", "answer": x} for x in ("left", "right")
    ]
    assert question_only_baseline(records) == {"overall": 3 / 6, "per_type": {"a": 0.5, "b": 0.5}}


def test_generation_is_deterministic_and_reports_chance_and_baseline(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", SyntheticOptions(**SMALL))
    second = generate(tmp_path / "b", SyntheticOptions(**SMALL))
    for name in ("captions.json", "instruct.json", "eval.json", "stats.json", "images/inst-00003.png"):
        assert (first.root / name).read_bytes() == (second.root / name).read_bytes()
    other = generate(tmp_path / "c", SyntheticOptions(**SMALL, seed=1))
    assert other.instruct.read_bytes() != first.instruct.read_bytes()
    stats = json.loads(first.stats.read_text())
    assert stats["counts"] == {"captions": 10, "tasks": 0, "instruct": 24, "eval": 120}
    assert stats["chance"]["per_type"] == {
        "colour": 0.25,
        "shape": 0.25,
        "count": 1 / 3,
        "horizontal": 0.5,
        "vertical": 0.5,
        "text": 0.125,
    }
    baseline = stats["question_only_baseline"]
    for kind, accuracy in baseline["per_type"].items():
        assert accuracy <= stats["chance"]["per_type"][kind] + 0.1
    evaluation = json.loads(first.eval.read_text())
    assert {r["question_type"] for r in evaluation} == {t.name for t in QUESTION_TYPES}
    assert all(len(r["conversations"]) == 2 and r["conversations"][1]["value"] == r["answer"] for r in evaluation)
    assert Image.open(first.root / evaluation[0]["image"]).size == (32, 32)
    captions = json.loads(first.captions.read_text())
    assert captions[0]["conversations"][0]["value"].startswith("<image>\n")


def test_florence_task_records_ask_each_prompt_of_each_caption_image_and_keep_the_tasks_apart(tmp_path: Path) -> None:
    prompts = {"caption": "Describe it.", "ocr": "Read it.", "grounding": "Locate it."}
    paths = generate(tmp_path, SyntheticOptions(**{**SMALL, "num_captions": 40}, task_prompts=prompts))
    captions = json.loads(paths.captions.read_text())
    tasks = json.loads(paths.tasks.read_text())
    assert len(tasks) == 3 * len(captions) and json.loads(paths.stats.read_text())["counts"]["tasks"] == 120
    by_image: dict[str, dict[str, str]] = {}
    for record in tasks:
        question, answer = (turn["value"] for turn in record["conversations"])
        name = next(name for name, prompt in prompts.items() if question == f"<image>\n{prompt}")
        by_image.setdefault(record["image"], {})[name] = answer
    assert sorted(by_image) == sorted(record["image"] for record in captions)
    positions = [f"{row} {column}" for row in ROWS for column in COLUMNS]
    for record in captions:
        caption = record["conversations"][1]["value"]
        said = by_image[record["image"]]
        word = next((w for w in WORDS if f"The word {w}." == caption), None)
        assert said["ocr"] == (word or "No text.")
        assert word is None or (word not in said["caption"] and word not in said["grounding"])  # only ocr reads
        assert not any(position in said["caption"] for position in positions)  # caption: what, not where
        if word is None:
            assert said["grounding"] == caption  # where each shape is
            for colour in COLOURS:
                assert (colour in said["caption"]) == (colour in caption)
            for shape in SHAPES:
                assert (shape in said["caption"]) == (shape in caption)
    with pytest.raises(ValueError, match=r"task_prompts names \['region'\]"):
        SyntheticOptions(task_prompts={"region": "Where?"})


def test_instruction_set_has_multi_turn_samples(tmp_path: Path) -> None:
    paths = generate(tmp_path, SyntheticOptions(**{**SMALL, "num_instruct": 60}, multi_turn_fraction=0.5))
    records = json.loads(paths.instruct.read_text())
    multi = [r for r in records if len(r["conversations"]) == 4]
    assert 10 < len(multi) < 50 and json.loads(paths.stats.read_text())["multi_turn_instruct"] == len(multi)


def test_ensure_generates_only_when_missing_or_changed(tmp_path: Path) -> None:
    paths = ensure_synthetic(tmp_path, **SMALL)
    stamp = paths.instruct.stat().st_mtime_ns
    assert ensure_synthetic(tmp_path, **SMALL).instruct.stat().st_mtime_ns == stamp
    paths.stats.unlink()  # as if a previous run died half-way
    (paths.images / "inst-00000.png").unlink()
    ensure_synthetic(tmp_path, **SMALL)
    assert paths.stats.exists() and (paths.images / "inst-00000.png").exists()
    ensure_synthetic(tmp_path, **{**SMALL, "num_eval": 30})
    assert len(json.loads(paths.eval.read_text())) == 30


def test_runs_started_together_generate_the_set_once(tmp_path: Path) -> None:
    root = tmp_path / "synthetic"
    context = multiprocessing.get_context("fork")
    with context.Pool(3) as pool:
        results = pool.starmap(_ensure_and_stamp, [(str(root),)] * 3)
    assert len({stamp for _, stamp in results}) == 1  # one generation, which the others waited for and reused
    assert all(count == SMALL["num_instruct"] for count, _ in results)


def _ensure_and_stamp(root: str) -> tuple[int, int]:
    paths = ensure_synthetic(root, **SMALL)
    return len(json.loads(paths.instruct.read_text())), paths.stats.stat().st_mtime_ns


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--out", str(tmp_path), "--num-captions", "3", "--num-instruct", "6", "--num-eval", "12"])
    assert "question-only baseline" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "instruct.json").read_text())) == 6
    main(["--out", str(tmp_path), "--num-captions", "3", "--task-prompts", '{"ocr": "Read it."}'])
    assert len(json.loads((tmp_path / "florence_tasks.json").read_text())) == 3


@pytest.mark.parametrize("question_type", QUESTION_TYPES, ids=lambda t: t.name)
def test_every_answer_is_one_token_of_the_tiny_tokenizer_at_the_start_of_a_reply(question_type) -> None:
    """A reply starts after the template's newline, without a space: split there, answers shared their first
    pieces ("s"+"qu"+"are", "s"+"tar") and the demo answered shapes and the word near chance."""
    tokenizer = tiny_llm_tokenizer()
    reply = tokenizer.apply_chat_template(
        [{"role": "user", "content": "?"}, {"role": "assistant", "content": "ANSWER"}], tokenize=False
    )
    before = len(tokenizer(reply.split("ANSWER")[0], add_special_tokens=False)["input_ids"])
    for answer in question_type.answers:
        ids = tokenizer(reply.replace("ANSWER", answer), add_special_tokens=False)["input_ids"]
        assert tokenizer.convert_ids_to_tokens(ids[before : before + 1]) == [answer]
