"""Other ways in: save_to_disk folders, custom JSON/JSONL data, the synthetic split; and the errors users meet."""

import json
from pathlib import Path

import datasets
import pytest
from eval_hub_files import BLUE, GREEN, RED, first_row, png, table, write_files
from eval_layouts import LAYOUTS
from PIL import Image

from fvl.data.synthetic.generate import SyntheticOptions, generate
from fvl.eval import get_benchmark, score_benchmark
from fvl.eval.benchmarks import SHORT_ANSWER, NotScorableError
from fvl.registry import UnknownVariant


def _save_images(folder: Path, **colors: tuple[int, int, int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, color in colors.items():
        Image.new("RGB", (4, 4), color).save(folder / f"{name}.png")


def test_save_to_disk_dataset_dict(tmp_path: Path) -> None:
    columns = LAYOUTS["pope"].files["data/test-00000-of-00001.parquet"]
    saved = datasets.DatasetDict({"test": table(columns), "validation": table(first_row(columns))})
    saved.save_to_disk(str(tmp_path / "pope"))
    samples = get_benchmark("pope").load(tmp_path / "pope")
    assert len(samples) == 4 and samples[3].image.size == (4, 4)
    assert score_benchmark("pope", samples, LAYOUTS["pope"].replies)["accuracy"] == 0.5
    assert len(get_benchmark("pope").load(tmp_path / "pope", split="validation")) == 1


def test_custom_jsonl_with_relative_image_paths(tmp_path: Path) -> None:
    _save_images(tmp_path / "imgs", a=RED, b=BLUE)
    records = [
        {"qid": "a", "q": "What color?", "ans": ["red", "crimson"], "img": "imgs/a.png", "kind": "color"},
        {"qid": "b", "q": "What shape?", "ans": ["circle"], "img": "imgs/b.png", "kind": "shape"},
    ]
    (tmp_path / "mine.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    benchmark = get_benchmark(
        "custom", name="mine", metric="exact_match", question="q", answers="ans", image="img", id="qid",
        category="kind", suffix=SHORT_ANSWER,
    )  # fmt: skip
    samples = benchmark.load(tmp_path / "mine.jsonl", cache_dir=tmp_path / "cache")
    assert samples.references[0].question == "What color?" + SHORT_ANSWER
    assert samples.references[0].answers == ("red", "crimson")
    assert samples[1].image.getpixel((0, 0)) == BLUE
    assert score_benchmark(benchmark, samples, ["Crimson.", "square"]) == {
        "accuracy": 0.5,
        "accuracy/color": 1.0,
        "accuracy/shape": 0.0,
        "macro_accuracy": 0.5,
        "num_samples": 2.0,
        "num_scored": 2.0,
    }


def test_custom_saved_dataset_with_image_bytes(tmp_path: Path) -> None:
    columns = {"question": ["Color?", "Count?"], "answer": ["green", "2"], "picture": [png(GREEN), png(RED)]}
    table(columns).save_to_disk(str(tmp_path / "saved"))
    benchmark = get_benchmark("custom", metric="vqa_accuracy_single_ref", image="picture")  # one answer each
    samples = benchmark.load(tmp_path / "saved")
    assert samples[0].image.getpixel((0, 0)) == GREEN
    assert score_benchmark(benchmark, samples, ["Green", "two"])["accuracy"] == 1.0


def test_custom_image_root(tmp_path: Path) -> None:
    _save_images(tmp_path / "pictures", a=BLUE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "set.json").write_text(
        json.dumps([{"question": "Color?", "answer": "blue", "image": "a.png"}])
    )
    benchmark = get_benchmark("custom", metric="exact_match", image_root=str(tmp_path / "pictures"))
    assert (
        benchmark.load(tmp_path / "data" / "set.json", cache_dir=tmp_path / "cache")[0].image.getpixel((0, 0)) == BLUE
    )


def test_missing_image_names_the_sample(tmp_path: Path) -> None:
    (tmp_path / "set.json").write_text(json.dumps([{"question": "Color?", "answer": "blue", "image": "gone.png"}]))
    samples = get_benchmark("custom", metric="exact_match").load(tmp_path / "set.json", cache_dir=tmp_path / "cache")
    with pytest.raises(ValueError, match=r"sample '0'.*gone.png not found"):
        samples[0]


def test_unlabelled_split_is_kept_but_not_scored(tmp_path: Path) -> None:
    columns = {**LAYOUTS["docvqa"].files["DocVQA/validation-00000-of-00001.parquet"], "answers": [None, None]}
    write_files(tmp_path, {"DocVQA/test-00000-of-00001.parquet": columns})
    samples = get_benchmark("docvqa", split="test").load(tmp_path, cache_dir=tmp_path / "cache")
    assert score_benchmark("docvqa", samples, ["a", "b"]) == {"num_samples": 2.0, "num_scored": 0.0}


def test_synthetic_llava_json(tmp_path: Path) -> None:
    _save_images(tmp_path / "images", a=RED, b=BLUE)
    questions = [("What color is the shape?", "red", "color"), ("What color is the shape?", "blue", "color")]
    questions += [("How many shapes?", "2", "count")] * 2
    records = [
        {
            "id": f"eval-{i}",
            "image": f"images/{'ab'[i % 2]}.png",
            "type": kind,
            "conversations": [{"from": "human", "value": f"<image>\n{text}"}, {"from": "gpt", "value": answer}],
        }
        for i, (text, answer, kind) in enumerate(questions)
    ]
    (tmp_path / "heldout.json").write_text(json.dumps(records))
    samples = get_benchmark("synthetic").load(tmp_path / "heldout.json")
    assert samples.references[0].question == "What color is the shape?"
    assert samples[1].image.getpixel((0, 0)) == BLUE
    scores = score_benchmark("synthetic", samples, ["Red", "red", "2", "3"])
    assert scores["accuracy"] == 0.5
    assert scores["accuracy/color"] == 0.5 and scores["accuracy/count"] == 0.5
    assert scores["question_only_baseline"] == 0.75
    assert scores["question_only_baseline/color"] == 0.5


def test_synthetic_generator_output(tmp_path: Path) -> None:
    generate(tmp_path, SyntheticOptions(num_captions=1, num_instruct=1, num_eval=12, image_size=16))
    samples = get_benchmark("synthetic").load(tmp_path)
    assert len(samples) == 12 and samples[0].image.size == (16, 16)
    assert all(sample.category and "<image>" not in sample.question for sample in samples.references)
    scores = score_benchmark("synthetic", samples, [sample.answers[0] for sample in samples.references])
    assert scores["accuracy"] == 1.0
    assert 0.0 < scores["question_only_baseline"] <= 1.0


def test_missing_column_lists_columns_found(tmp_path: Path) -> None:
    write_files(tmp_path, {"data/test-00000-of-00001.parquet": {"question": ["q"], "image": [png()]}})
    with pytest.raises(
        ValueError, match=r"column\(s\) \['answer', 'type'\] not found; columns found: \['question', 'image'\]"
    ):
        get_benchmark("chartqa").load(tmp_path, cache_dir=tmp_path / "cache")


def test_split_errors_list_the_splits_found(tmp_path: Path) -> None:
    columns = LAYOUTS["chartqa"].files["data/test-00000-of-00001.parquet"]
    write_files(tmp_path, {"data/val-00000-of-00001.parquet": columns, "data/train-00000-of-00001.parquet": columns})
    with pytest.raises(ValueError, match=r"split 'test' not found .* splits found: \['train', 'val'\]"):
        get_benchmark("chartqa").load(tmp_path, cache_dir=tmp_path / "cache")
    assert len(get_benchmark("chartqa").load(tmp_path, split="val", cache_dir=tmp_path / "cache")) == 3


def test_benchmark_settings_errors() -> None:
    with pytest.raises(UnknownVariant, match=r"Unknown benchmark 'vqa-v2' \(benchmarks\); choose one of \[.*'vqav2'"):
        get_benchmark("vqa-v2")
    with pytest.raises(ValueError, match="custom benchmark needs metric="):
        get_benchmark("custom", question="q")
    with pytest.raises(TypeError, match="table benchmark fields"):
        get_benchmark("chartqa", question_column="q")


def test_gpt_judged_benchmarks_are_skipped_with_a_reason(tmp_path: Path) -> None:
    for name in ("mmvet", "llava_wild", "hallusionbench", "mathvista"):
        benchmark = get_benchmark(name)
        assert "GPT judge" in benchmark.skip_reason and "skipped" in benchmark.skip_reason
        with pytest.raises(NotScorableError, match=name):
            benchmark.load(tmp_path)


def test_limit_takes_the_first_samples_and_filtered_rows_are_counted(tmp_path: Path) -> None:
    write_files(tmp_path, LAYOUTS["seedbench"].files)
    samples = get_benchmark("seedbench").load(tmp_path, limit=1, cache_dir=tmp_path / "cache")
    assert [sample.id for sample in samples.references] == ["101"]
    assert samples.num_filtered == 1  # the video question, whatever the limit
    assert score_benchmark("seedbench", samples, ["B"])["num_filtered"] == 1.0


def test_gqa_image_missing_from_the_image_config(tmp_path: Path) -> None:
    files = dict(LAYOUTS["gqa"].files)
    files["testdev_balanced_images/testdev-00000-of-00001.parquet"] = {"id": ["n2"], "image": [png(BLUE)]}
    write_files(tmp_path, files)
    samples = get_benchmark("gqa").load(tmp_path, cache_dir=tmp_path / "cache")
    assert samples[1].image.getpixel((0, 0)) == BLUE
    with pytest.raises(ValueError, match="image 'n1' is not in the testdev_balanced_images files"):
        samples[0]
