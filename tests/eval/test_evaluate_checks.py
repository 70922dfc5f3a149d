"""evaluate.py checks every benchmark name and local copy before it loads the model, and says what to fix."""

import json
from pathlib import Path

import pytest
from eval_config import evaluate_config
from eval_hub_files import write_files
from eval_layouts import LAYOUTS

from fvl.eval import entry


class ModelLoaded(Exception):
    """Raised instead of loading a model: the benchmark checks have passed."""


@pytest.fixture(autouse=True)
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(checkpoint: str, dtype: str | None = None) -> None:
        raise ModelLoaded(checkpoint)

    monkeypatch.setattr(entry, "load_model", refuse)


def check_error(tmp_path: Path, *overrides: str) -> str:
    cfg = evaluate_config("checkpoint=/nowhere/model", *overrides, out_dir=tmp_path / "run")
    with pytest.raises(ValueError) as info:
        entry.run_evaluation(cfg)
    return str(info.value)


def assert_checks_pass(tmp_path: Path, *overrides: str) -> None:
    """The checks pass for a text-only custom benchmark scored by exact match (the model load is reached)."""
    options = "options.custom={metric: exact_match, image: null}"
    cfg = evaluate_config("checkpoint=/nowhere/model", *overrides, options, out_dir=tmp_path / "run")
    with pytest.raises(ModelLoaded):
        entry.run_evaluation(cfg)


def test_missing_copy_names_benchmark_path_and_fix(tmp_path: Path) -> None:
    message = check_error(tmp_path, "benchmarks=[pope]", f"benchmark_root={tmp_path / 'lmms-lab'}")
    assert "pope" in message and str(tmp_path / "lmms-lab" / "pope") in message
    assert "lmms-lab/POPE" in message  # what to download
    assert "benchmark_paths.pope=" in message and "benchmark_root=" in message


def test_typo_lists_the_known_names(tmp_path: Path) -> None:
    message = check_error(tmp_path, "benchmarks=[popee]")
    assert "'popee'" in message and "Did you mean 'pope'" in message
    assert all(name in message for name in ("vqav2", "mmbench", "custom", "synthetic"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("not data")
    columns = LAYOUTS["chartqa"].files["data/test-00000-of-00001.parquet"]
    write_files(tmp_path / "charts", {f"data/{split}-00000-of-00001.parquet": columns for split in ("train", "val")})
    message = check_error(
        tmp_path,
        "benchmarks=[pope,chartqa,custom]",
        f"benchmark_paths.pope={tmp_path / 'notes'}",
        f"benchmark_paths.chartqa={tmp_path / 'charts'}",
        f"benchmark_paths.custom={tmp_path / 'mine.jsonl'}",
        "options.custom={metric: exact_match}",
    )
    assert f"no data files (.arrow, .csv, .json, .jsonl, .parquet) under {tmp_path / 'notes'}" in message
    assert "split 'test' not found" in message and "splits found: ['train', 'val']" in message
    assert "options.chartqa={split: <name>}" in message
    assert f"no local copy at {tmp_path / 'mine.jsonl'}" in message and "benchmark_paths.custom=" in message


def test_custom_benchmark_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Color?", "answer": "red"}]))
    message = check_error(tmp_path, "benchmarks=[custom]", f"benchmark_paths.custom={tmp_path / 'mine.json'}")
    assert "custom benchmark needs metric=" in message and "options.custom={metric:" in message


def test_missing_synthetic_split_says_how_to_make_it(tmp_path: Path) -> None:
    message = check_error(tmp_path, "benchmarks=[synthetic]", f"paths.data_dir={tmp_path}")
    assert str(tmp_path / "synthetic" / "eval.json") in message and "python -m fvl.data.synthetic.generate" in message


def test_gpt_judged_benchmarks_are_still_skipped(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Color?", "answer": "red"}]))
    message = check_error(tmp_path, "benchmarks=[mmvet,pope]", f"benchmark_root={tmp_path}")
    assert "pope" in message and "mmvet" not in message
    assert_checks_pass(tmp_path, "benchmarks=[mmvet,custom]", f"benchmark_paths.custom={tmp_path / 'mine.json'}")


def test_a_bad_name_after_a_good_one_stops_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text(json.dumps([{"question": "Color?", "answer": "red"}]))
    message = check_error(
        tmp_path,
        "benchmarks=[custom,popee]",
        f"benchmark_paths.custom={tmp_path / 'mine.json'}",
        "options.custom={metric: exact_match, image: null}",
    )
    assert message.startswith("1 problem(s) with the requested benchmarks; nothing was evaluated")
    assert "Unknown benchmark 'popee' (benchmarks); choose one of" in message and "Did you mean 'pope'?" in message
    assert not (tmp_path / "run" / "results.json").exists()  # nothing half done to mistake for results


def custom_error(tmp_path: Path, content: str, name: str = "mine.jsonl") -> tuple[Path, str]:
    """The up-front message for a custom benchmark whose file holds `content`."""
    path = tmp_path / name
    path.write_text(content)
    options = "options.custom={metric: exact_match, image: null}"
    return path, check_error(tmp_path, "benchmarks=[custom]", f"benchmark_paths.custom={path}", options)


def test_an_empty_custom_file_is_named_before_the_model_loads(tmp_path: Path) -> None:
    path, message = custom_error(tmp_path, "\n\n")
    assert f"benchmark custom: {path} holds no records (it is empty)" in message
    assert 'fix: write one JSON object per line, e.g. {"question": ' in message


def test_a_line_that_is_not_json_is_named_with_its_number(tmp_path: Path) -> None:
    good = json.dumps({"question": "Color?", "answer": "red"})
    path, message = custom_error(tmp_path, f"{good}\n{{'question': 'Shape?'}}\n{good}\n")
    assert f"{path}: 1 of 3 records cannot be read:" in message
    assert "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)" in message


def test_missing_fields_are_named_with_their_lines(tmp_path: Path) -> None:
    lines = [{"question": "Color?", "answer": "red"}, {"question": "Shape?"}, {"q": "Size?", "a": "big"}, [1, 2]]
    path, message = custom_error(tmp_path, "".join(json.dumps(line) + "\n" for line in lines))
    assert f"{path}: 3 of 4 records cannot be read:" in message
    assert "line 2: missing field(s) ['answer'] (it has ['question'])" in message
    assert "line 3: missing field(s) ['question', 'answer'] (it has ['a', 'q'])" in message
    assert "line 4: a JSON list, not an object" in message
    assert "fix: one JSON object per line, each with the fields ['question', 'answer']" in message
    assert "or name the fields your file uses: options.custom={question: <field>, answers: <field>," in message


def test_a_json_array_with_a_null_question(tmp_path: Path) -> None:
    records = [{"question": "Color?", "answer": "red"}, {"question": None, "answer": "box"}]
    path, message = custom_error(tmp_path, json.dumps(records, indent=1), name="mine.json")
    assert f"{path}: 1 of 2 records cannot be read:" in message
    assert "array element 1: the question field 'question' is null" in message


def test_a_well_formed_custom_file_passes(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"question": "Color?", "answer": "red"}) + "\n")
    assert_checks_pass(tmp_path, "benchmarks=[custom]", f"benchmark_paths.custom={path}")
