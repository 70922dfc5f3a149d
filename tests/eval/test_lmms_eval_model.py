"""fvl's lmms-eval model: the command the README shows, ``python -m lmms_eval --model fvl …``, run on a built-in
lmms-eval task (POPE) pointed at a local copy, gives the predictions ``evaluate.py`` gives on the same samples.
Needs lmms-eval and the ``lmms`` extra (CI installs both); skipped without them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from eval_cli import ROOT, run_evaluate
from eval_hub_files import write_files
from eval_models import varied_model
from PIL import Image

lmms_eval = pytest.importorskip("lmms_eval")
pytest.importorskip("loguru")

from fvl.eval.lmms_eval_model import FlorenceVLForLmmsEval, cut_at_stop, decoding_options  # noqa: E402
from fvl.eval.lmms_local_tasks import local_task_yaml, write_local_tasks  # noqa: E402

TASKS = Path(lmms_eval.__file__).parent / "tasks"
NEW_TOKENS = 6


def pope_copy(root: Path, count: int = 10) -> Path:
    """A local POPE copy in the hub layout both lmms-eval's task and fvl's benchmark read; varied images."""
    rng = np.random.default_rng(0)

    def image() -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, format="PNG")
        return buffer.getvalue()

    objects = ("dog", "cat", "car", "tree", "cup")
    columns = {
        "id": [str(i) for i in range(count)],
        "question_id": [str(i + 1) for i in range(count)],
        "question": [f"Is there a {objects[i % 5]} in the image?" for i in range(count)],
        "answer": ["yes", "no"] * (count // 2),
        "image_source": ["COCO"] * count,
        "image": [image() for _ in range(count)],
        "category": [("adversarial", "popular", "random")[i % 3] for i in range(count)],
    }
    write_files(root, {"data/test-00000-of-00001.parquet": columns})
    return root


def test_lmms_eval_cli_runs_fvl_models_with_evaluate_py_predictions(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    varied_model().save_pretrained(model_dir)
    data = pope_copy(tmp_path / "root" / "pope")
    tasks = tmp_path / "tasks"
    assert write_local_tasks(tmp_path / "root", tasks) == ["pope_local"]  # every copy found
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "lmms_eval", "--model", "fvl",
        "--model_args", f"pretrained={model_dir},max_new_tokens={NEW_TOKENS}", "--batch_size", "4",
        "--tasks", "pope_local", "--include_path", str(tasks), "--output_path", str(tmp_path / "lmms"), "--log_samples",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    samples_file = next((tmp_path / "lmms").rglob("*samples_pope_local.jsonl"))
    theirs = {record["doc_id"]: record["filtered_resps"] for record in map(json.loads, samples_file.open())}
    lmms_results = json.loads(next((tmp_path / "lmms").rglob("*_results.json")).read_text())["results"]["pope_local"]

    results, _ = run_evaluate(
        [f"checkpoint={model_dir}", "benchmarks=[pope]", f"benchmark_paths.pope={data}"], tmp_path / "fvl"
    )  # generation.max_new_tokens=6, as above
    ours = {
        record["index"]: record["prediction"]
        for record in map(json.loads, (tmp_path / "fvl" / "predictions" / "pope.jsonl").open())
    }
    assert len(theirs) == 10 and len(set(theirs.values())) > 3  # replies differ from sample to sample
    assert theirs == ours
    for name in ("accuracy", "precision", "recall", "yes_ratio"):
        assert lmms_results[f"pope_{name},none"] == pytest.approx(results["pope"][name], abs=1e-12)


def test_local_tasks_include_the_installed_task_and_read_the_copy(tmp_path: Path) -> None:
    (tmp_path / "docvqa" / "DocVQA").mkdir(parents=True)
    text = local_task_yaml("docvqa", tmp_path / "docvqa", TASKS)
    assert text.splitlines() == [
        f"include: {TASKS / 'docvqa' / 'docvqa_val.yaml'}",
        "task: docvqa_val_local",
        f"dataset_path: {(tmp_path / 'docvqa').resolve()}",
        "dataset_name: null",
        "dataset_kwargs: {data_dir: DocVQA}",
    ]
    with pytest.raises(FileNotFoundError, match=r"no local copy of \['mme'\] under"):
        write_local_tasks(tmp_path, tmp_path / "out", ["mme"])
    with pytest.raises(ValueError, match="no lmms-eval task for \\['mmvet'\\]"):
        write_local_tasks(tmp_path, tmp_path / "out", ["mmvet"])


def test_stop_strings_and_decoding_options() -> None:
    assert cut_at_stop(" yes\n\nBecause", ["\n\n"]) == "yes"
    assert cut_at_stop("A. cat", []) == "A. cat"
    options, until = decoding_options({"max_new_tokens": 128, "temperature": 0, "until": "\n"}, None)
    assert options == {"max_new_tokens": 128} and until == ["\n"]
    assert decoding_options({"max_new_tokens": 128}, 6)[0] == {"max_new_tokens": 6}
    sampled, _ = decoding_options({"temperature": 0.7, "top_p": 0.9}, None)
    assert sampled == {"max_new_tokens": 64, "do_sample": True, "temperature": 0.7, "top_p": 0.9}


def test_unknown_model_args_are_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown --model_args \['conv_template'\].*pretrained"):
        FlorenceVLForLmmsEval(pretrained=str(tmp_path / "missing"), conv_template="llava_v1")


def test_fvl_is_found_through_the_entry_point() -> None:
    from lmms_eval.models import get_model

    assert get_model("fvl") is FlorenceVLForLmmsEval
    assert ROOT.joinpath("pyproject.toml").read_text().count('fvl = "fvl.eval.lmms_eval_model:manifest"') == 1
