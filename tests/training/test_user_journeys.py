"""The jobs users come for beyond the README's own commands (tests/test_readme_commands.py runs those): a data
mistake, the demo with other callbacks, and a ``.ckpt`` rebuilt on a machine without its base weights."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from transformers import Florence2ForConditionalGeneration

from fvl.models.loading import load
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer
from fvl.training.stages import build_module

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["trainer.max_steps=2", "data.batch_size=4", "trainer.enable_progress_bar=false", "cpu_threads=1"]


def train(cwd: Path, *overrides: str, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), *overrides], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == expect, result.stderr[-3000:]
    return result


def only_run(cwd: Path, task: str = "demo") -> Path:
    (run,) = (cwd / "outputs" / task / "runs").iterdir()
    return run


def conversation(i: int) -> list[dict[str, str]]:
    colour = ("red", "blue")[i % 2]
    return [{"from": "human", "value": "<image>\nWhat colour is it?"}, {"from": "gpt", "value": colour}]


def test_a_wrong_column_fails_before_the_model_is_built(tmp_path):
    (tmp_path / "my.json").write_text(json.dumps([{"id": "a", "conversations": conversation(0)}]))
    result = train(tmp_path, "data=llava_finetune", "data.train=[{path: my.json, conversations_column: turns}]",
                   *SHORT, expect=2)  # fmt: skip
    assert "Config error" in result.stderr and "turns" in result.stderr
    assert "Training plan" not in result.stdout + result.stderr


def test_the_demo_with_default_callbacks_finishes_cleanly(tmp_path):
    tiny_data = ["data.synthetic.num_captions=16", "data.synthetic.num_instruct=16", "data.synthetic.num_eval=4"]
    train(tmp_path, "callbacks=default", "pre_stage.trainer.max_steps=1", "pre_stage.pre_stage.trainer.max_steps=1",
          "trainer.val_check_interval=2",
          "callbacks.answer_accuracy.max_new_tokens=2", *tiny_data, *SHORT)  # fmt: skip
    metrics = json.loads((only_run(tmp_path) / "metrics.json").read_text())
    assert 0.0 <= metrics["val/answer_accuracy"] <= 1.0 and metrics["val/loss"] > 0


def test_a_checkpoint_rebuilds_without_the_base_weights_it_was_trained_from(tiny, tmp_path):
    base = tmp_path / "florence-base-copy"
    tokenizer = tiny_florence_tokenizer()
    config = tiny_florence_config(tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer))
    Florence2ForConditionalGeneration(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    spec = {**tiny.model, "vision": {"name_or_path": str(base), "image_size": 64}}
    torch.manual_seed(0)
    module = build_module(spec, tiny.stages["finetune_lora"], tiny.optim)
    trainer = tiny.trainer(1)
    trainer.fit(module, train_dataloaders=tiny.batches(module.model, 1))
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    shutil.rmtree(base)  # the machine that loads it has no copy of the base weights
    batch = tiny.batch(module.model, seed=3)
    module.eval()
    with torch.no_grad():
        expected = module(batch).logits
        loaded = load(tmp_path / "last.ckpt")
        logits = loaded(**{k: v for k, v in batch.items() if k != "labels"}).logits
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)
    assert loaded.spec["vision"]["name_or_path"] == str(base)
