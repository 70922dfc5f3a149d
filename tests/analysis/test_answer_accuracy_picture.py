"""The answer-accuracy callback draws its bars at every validation, beside the values it shows."""

import json
from types import SimpleNamespace

import pytest
from eval_models import tiny_model
from picture_checks import assert_png

from fvl.data.synthetic.generate import ensure_synthetic
from fvl.training.answer_accuracy import AnswerAccuracy


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "synthetic"
    return ensure_synthetic(root, num_captions=2, num_instruct=2, num_eval=12)


def validate(callback, run_dir, rank_zero=True):
    logged = {}
    module = SimpleNamespace(
        model=tiny_model(), device="cpu", log=lambda name, value, **_: logged.update({name: value})
    )
    trainer = SimpleNamespace(sanity_checking=False, global_step=7, is_global_zero=rank_zero, default_root_dir=run_dir)
    callback.on_validation_epoch_end(trainer, module)
    return logged


def test_bars_beside_the_scores_with_chance_and_baseline_per_type(synthetic, tmp_path):
    callback = AnswerAccuracy(synthetic.eval, synthetic.stats, batch_size=12, max_new_tokens=2)
    logged = validate(callback, tmp_path)
    assert_png(tmp_path / "answer_accuracy.png")
    record = json.loads((tmp_path / "answer_accuracy.json").read_text())
    scores = record["scores"]
    stats = json.loads(synthetic.stats.read_text())
    assert record["step"] == 7 and scores["chance"] == pytest.approx(stats["chance"]["mean"]) == logged["val/chance"]
    types = {key.split("/")[1] for key in scores if key.startswith("accuracy/")}
    assert types and all(scores[f"chance/{kind}"] == stats["chance"]["per_type"][kind] for kind in types)
    assert all(f"question_only_baseline/{kind}" in scores for kind in types)
    assert scores["accuracy"] == logged["val/answer_accuracy"]
    assert all(logged[f"val/answer_accuracy/{kind}"] == scores[f"accuracy/{kind}"] for kind in types)
    assert not any(key.startswith(("val/chance/", "val/question_only_baseline/")) for key in logged)  # log unchanged


def test_other_ranks_draw_nothing(synthetic, tmp_path):
    validate(AnswerAccuracy(synthetic.eval, synthetic.stats, batch_size=12, max_new_tokens=2), tmp_path, False)
    assert not list(tmp_path.iterdir())
