"""End to end per registered benchmark: tiny copy in its hub layout → samples → fake replies → scores → files."""

import json
from pathlib import Path

import pytest
from eval_hub_files import write_files
from eval_layouts import LAYOUTS

from fvl.eval import EvalSample, TableBenchmark, evaluate, get_benchmark, write_results
from fvl.eval.benchmarks import BENCHMARKS


def test_every_table_benchmark_has_a_layout() -> None:
    assert set(LAYOUTS) == {
        name for name, b in BENCHMARKS.items() if isinstance(b, TableBenchmark) and name != "custom"
    }


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_end_to_end(name: str, tmp_path: Path) -> None:
    layout = LAYOUTS[name]
    root = tmp_path / name
    write_files(root, layout.files)
    if layout.extra:
        layout.extra(root)
    benchmark = get_benchmark(name)
    samples = benchmark.load(root, cache_dir=tmp_path / "cache")

    assert len(samples) == len(layout.replies)
    for index, prompt in layout.prompts.items():
        assert samples.references[index].question == prompt
    first = samples[0]
    assert first.image is not None and first.image.mode == "RGB" and first.image.size == (4, 4)
    if layout.first_color:
        assert first.image.getpixel((0, 0)) == layout.first_color

    reply_of = {sample.id: reply for sample, reply in zip(samples.references, layout.replies, strict=True)}

    def predict(batch: list[EvalSample]) -> list[str]:
        assert all(sample.image is not None for sample in batch)
        return [reply_of[sample.id] for sample in batch]

    result = evaluate(benchmark, samples, predict, batch_size=3)
    for key, value in layout.expected.items():
        assert result.scores[key] == pytest.approx(value), key
    assert result.scores["num_scored"] == len(layout.replies)

    path = write_results(tmp_path / "out", [result], settings={"max_new_tokens": 16})
    saved = json.loads(path.read_text())
    assert saved[name][benchmark.primary] == pytest.approx(result.scores[benchmark.primary])
    assert saved["settings"]["generation"] == {"max_new_tokens": 16}
    assert saved["settings"]["code"]["fvl_version"]
    lines = (tmp_path / "out" / "predictions" / f"{name}.jsonl").read_text().splitlines()
    assert [json.loads(line)["prediction"] for line in lines] == layout.replies
