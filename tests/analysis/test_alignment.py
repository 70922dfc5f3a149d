"""``fvl alignment``: connector-only caption runs per feature subset, shrunk to a few steps of a tiny model.

The study must train the connector alone (Florence-2 and the LLM bit-for-bit as they started, checked here from
each subset's checkpoint, not from the study's own record), give each subset its own features (the connector's
input width differs), and write the table, CSV and picture with one finite row per subset.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch
from eval_models import export_tiny_model
from picture_checks import assert_png

from fvl.analysis.alignment import Subset, main, parse_subsets
from fvl.analysis.alignment_report import SubsetResult, write_report
from fvl.commands import main as fvl_main
from fvl.models.loading import load

FEATURES = ["depth", "caption", "ocr", "grounding"]
SHRINK_STAGE = ["trainer.max_steps=1", "data.batch_size=2"]  # each of the demo's caption stages: one step of two


def tiny_data(root: Path) -> list[str]:
    """Overrides for 16 synthetic captions in batches of 4 and 8 held-out captions, all under ``root``."""
    return [
        f"data.synthetic.root={root}/synthetic",
        "data.synthetic.num_captions=16",
        "data.synthetic.num_instruct=4",
        "data.synthetic.num_eval=2",
        "data.batch_size=4",
        "data.val_batch_size=8",
        "--heldout",
        "8",
    ]


def read_rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "alignment.csv").open(newline="", encoding="utf-8") as file:
        return {row["subset"]: row for row in csv.DictReader(file)}


def same_weights(part: torch.nn.Module, source: torch.nn.Module) -> bool:
    """Every tensor of ``part`` equals the source's of the same name (a depth-only Florence-2 keeps no encoder)."""
    mine, theirs = part.state_dict(), source.state_dict()
    return bool(mine) and mine.keys() <= theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def trained(out: Path, subset: str):
    return load(out / subset / "checkpoints" / "last.ckpt")


def test_parse_subsets_defaults_and_combinations():
    assert [s.name for s in parse_subsets(None, FEATURES)] == [*FEATURES, "all"]
    assert parse_subsets("depth+ocr, all", FEATURES) == [
        Subset("depth+ocr", ("depth", "ocr")),
        Subset("all", tuple(FEATURES)),
    ]


def test_only_the_connector_learns_and_each_subset_has_its_features(tmp_path, capsys):
    source = export_tiny_model(tmp_path / "source")
    out = tmp_path / "study"
    argv = ["--subsets", "depth,all", "--steps", "3", "--init-from", str(source), "--out", str(out)]
    assert main([*argv, *tiny_data(tmp_path)]) == 0
    printed = capsys.readouterr().out
    plan = printed[: printed.index("[alignment] depth")]  # printed before any subset trains
    assert "Alignment study — 2 feature subsets" in plan and "Each subset: 3 steps of 4 samples" in plan
    assert "frozen (eval mode): Florence-2 and the LLM" in plan

    rows = read_rows(out)
    assert list(rows) == ["depth", "all"]
    for row in rows.values():
        assert math.isfinite(float(row["heldout_loss"])) and math.isfinite(float(row["train_loss_last_k"]))
        assert row["steps"] == "3" and row["frozen_unchanged"] == "True"
    # channel concat: one 64-wide feature against four
    assert (rows["depth"]["connector_input_width"], rows["all"]["connector_input_width"]) == ("64", "256")
    assert_png(out / "alignment.png")
    markdown = (out / "alignment.md").read_text(encoding="utf-8")
    assert "| depth | depth | 64 |" in markdown and "| all | depth+caption+ocr+grounding | 256 |" in markdown

    start = load(source)
    for subset, features in (("depth", ["depth"]), ("all", FEATURES)):
        model = trained(out, subset)
        assert list(model.fusion.features) == features
        assert model.projector[0].in_features == int(rows[subset]["connector_input_width"])
        assert same_weights(model.vision, start.vision), f"{subset}: Florence-2 changed"
        assert same_weights(model.llm, start.llm), f"{subset}: the LLM changed"
    # the "all" connector has the source's shape, and was trained afresh, not copied from it
    assert not same_weights(trained(out, "all").projector, start.projector)


def test_the_random_tiny_llm_starts_from_the_demo_caption_stages(tmp_path, capsys):
    out = tmp_path / "study"
    shrink = [f"pre_stage.{'pre_stage.' * nested}{key}" for nested in (0, 1) for key in SHRINK_STAGE]
    argv = ["--subsets", "caption+ocr", "--steps", "2", "--out", str(out), *tiny_data(tmp_path), *shrink]
    assert main(argv) == 0
    florence, captioner = load(out / "reference" / "pre_stage" / "model"), load(out / "reference" / "model")
    model = trained(out, "caption+ocr")
    assert same_weights(model.vision, florence.vision) and same_weights(model.llm, captioner.llm)
    assert read_rows(out)["caption+ocr"]["connector_input_width"] == "128"
    capsys.readouterr()
    assert fvl_main(["alignment", *argv[: -len(shrink)], "--subsets", "depth"]) == 0  # via the command table
    assert "reusing the reference models" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--subsets", "depth+nope"], "is not a set of features"),
        (["--subsets", "depth,depth"], "the same subset twice"),
        (["--init-from", "/no/such/model"], "not an exported model"),
        (["model.fusion.features=[depth]"], "Choose the features with --subsets"),
        (["stage=pretrain"], "the study sets stage itself"),
        (["--steps", "0"], "must be positive"),
        (["no_equals_sign"], "neither an option nor a Hydra override"),
    ],
)
def test_mistakes_are_named_with_exit_status_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_report_ranks_by_heldout_loss_and_falls_back_to_train_loss(tmp_path):
    results = [
        SubsetResult("depth", ["depth"], str(tmp_path / "a"), 64, 5, 100, heldout_loss=0.3, train_loss_last_k=0.2),
        SubsetResult("all", FEATURES, str(tmp_path / "b"), 256, 5, 200, heldout_loss=0.1, train_loss_last_k=0.4),
    ]
    write_report(results, tmp_path, ["setup"], 20, "title")
    rows = read_rows(tmp_path)
    assert (rows["depth"]["rank"], rows["all"]["rank"]) == ("2", "1")
    for result in results:
        result.heldout_loss = None  # no held-out split: the training loss ranks
    write_report(results, tmp_path, ["setup"], 20, "title")
    rows = read_rows(tmp_path)
    assert (rows["depth"]["rank"], rows["all"]["rank"]) == ("1", "2")
    assert_png(tmp_path / "alignment.png")
