"""``fvl predict``: a folder or a JSONL in, one JSON line per input out, answers independent of the batch size."""

from __future__ import annotations

import json
import shutil

import pytest

from fvl.commands import main as fvl
from fvl.data.images import load_image
from fvl.eval.sample import EvalSample
from fvl.inference.predict import main as predict_main

MAX = ["--max-new-tokens", "8"]


def reference(predictor, image, question):
    return predictor([EvalSample("x", None if image is None else load_image(image), question)])[0]


def read_jsonl(text):
    return [json.loads(line) for line in text.splitlines()]


def test_a_folder_gets_one_line_per_image(model_dir, predictor, images, capsys):
    assert fvl(["predict", str(model_dir), str(images), "--question", "Colour?", "--batch-size", "3", *MAX]) == 0
    out, err = capsys.readouterr()
    records = read_jsonl(out)
    assert [record["id"] for record in records] == ["blue.png", "green.png", "more/yellow.jpg", "red.png"]
    for record in records:
        assert record["image"] == str(images / record["id"]) and record["question"] == "Colour?"
        assert record["answer"] == reference(predictor, images / record["id"], "Colour?")
    assert len({record["answer"] for record in records}) > 1
    assert "input: 4 question(s)" in err and "4 answers to stdout" in err


def test_a_jsonl_gets_answers_equal_to_batch_size_1(model_dir, predictor, images, tmp_path):
    shutil.copytree(images, tmp_path / "pics")
    rows = [
        {"id": "a", "image": "pics/red.png", "question": "What colour?"},
        {"id": 7, "image": "pics/more/yellow.jpg", "question": "How big is it?"},
        {"image": "pics/blue.png"},  # --question fills it in, the id is its line number
        {"id": "text", "image": None, "question": "Hello?"},
    ]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(row) for row in rows[:2]) + "\n\n" + "\n".join(map(json.dumps, rows[2:])))
    outputs = {}
    for size in (1, 3):
        out = tmp_path / "answers" / f"batch{size}.jsonl"
        argv = [str(model_dir), str(questions), "--out", str(out), "--batch-size", str(size), "--question", "Q?"]
        assert predict_main([*argv, *MAX]) == 0
        outputs[size] = read_jsonl(out.read_text())
    assert outputs[1] == outputs[3]
    assert [record["id"] for record in outputs[3]] == ["a", 7, 4, "text"]
    assert [record["question"] for record in outputs[3]] == ["What colour?", "How big is it?", "Q?", "Hello?"]
    for record in outputs[3]:
        image = None if record["image"] is None else tmp_path / record["image"]
        assert record["answer"] == reference(predictor, image, record["question"])


def test_a_bad_jsonl_is_refused_whole_naming_file_and_line(model_dir, images, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    good = json.dumps({"id": "a", "image": str(images / "red.png"), "question": "Q?"})
    lines = [good, "{oops", "[1, 2]", good, json.dumps({"id": "b", "image": "gone.png", "question": "Q?"})]
    questions.write_text("\n".join([*lines, json.dumps({"id": "c", "image": str(images / "red.png")})]) + "\n")
    assert predict_main([str(model_dir), str(questions)]) == 2
    err = capsys.readouterr().err
    assert f"{questions} has 5 problem(s); nothing was answered" in err
    assert f"{questions} line 2: not valid JSON" in err
    assert f"{questions} line 3: a JSON list" in err
    assert f"{questions} line 4: id 'a' repeats the id of line 1" in err
    assert f"{questions} line 5: missing image file" in err and "gone.png" in err
    assert f"{questions} line 6: no question" in err


def test_a_corrupt_image_stops_or_is_recorded(model_dir, images, tmp_path, capsys):
    folder = tmp_path / "pics"
    shutil.copytree(images, folder)
    (folder / "broken.png").write_bytes((images / "red.png").read_bytes()[:60])  # truncated
    argv = [str(model_dir), str(folder), "--question", "Q?", *MAX]
    assert predict_main([*argv, "--batch-size", "1"]) == 2
    out, err = capsys.readouterr()
    assert "broken.png" in err and "--on-error record" in err
    assert [record["id"] for record in read_jsonl(out)] == ["blue.png"]  # the batch before it stays written
    assert predict_main([*argv, "--batch-size", "2", "--on-error", "record"]) == 1
    records = read_jsonl(capsys.readouterr().out)
    assert len(records) == 5
    broken = next(record for record in records if record["id"] == "broken.png")
    assert "answer" not in broken and "cannot decode" in broken["error"]
    assert all("answer" in record for record in records if record is not broken)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{model}", "{images}"], "give the question to ask about each, --question"),
        (["{model}", "{tmp}/none.jsonl"], "does not exist"),
        (["{model}", "{tmp}/empty", "--question", "Q?"], "holds no image files"),
        (["{tmp}", "{images}", "--question", "Q?"], "is not a model"),
    ],
)
def test_input_mistakes_exit_2(model_dir, images, tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    argv = [arg.format(model=model_dir, images=images, tmp=tmp_path) for arg in args]
    assert predict_main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_output_may_not_overwrite_the_input(model_dir, tmp_path, capsys):
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "Q?"}) + "\n")
    with pytest.raises(SystemExit) as exit_info:
        predict_main([str(model_dir), str(questions), "--out", str(questions)])
    assert exit_info.value.code == 2 and "is the input file" in capsys.readouterr().err
    assert questions.read_text() == json.dumps({"question": "Q?"}) + "\n"
