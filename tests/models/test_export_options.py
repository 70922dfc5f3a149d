"""Export options: the dtype (and loading back in it), file modes others can read, the model card and its load
snippet, and ``--push-to-hub`` against a recording stand-in for ``HfApi`` (no network)."""

from __future__ import annotations

import inspect
import json
import os
import re
import stat
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import HfApi
from huggingface_hub.errors import LocalTokenNotFoundError

from fvl.models import hub_push
from fvl.models.builder import build_florence_vl
from fvl.models.florence_vl import FlorenceVL
from fvl.models.hub_push import push_to_hub
from fvl.models.loading import load
from fvl.models.model_card import CARD_FILE
from fvl.models.model_directory import CONFIG_FILE
from fvl.training.export import card_facts
from fvl.training.export import main as export_main

FEATURES = ["depth", "ocr"]


def tiny(features=None) -> FlorenceVL:
    torch.manual_seed(0)
    fusion = {"name": "channel_concat", "features": features}
    return build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, fusion, "linear")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A tiny model with two features, saved in float32."""
    folder = tmp_path_factory.mktemp("export") / "model"
    tiny(FEATURES).eval().save_pretrained(folder)
    return folder


def front_matter_and_body(folder: Path) -> tuple[dict, str]:
    text = (folder / CARD_FILE).read_text(encoding="utf-8")
    _, meta, body = text.split("---\n", 2)
    return yaml.safe_load(meta), body


def test_dtype_option_casts_the_export_and_loading_gives_that_dtype_back(exported, tmp_path, capsys):
    assert export_main([str(exported), str(tmp_path / "bf16"), "--dtype", "bf16"]) == 0
    assert "Exported" in capsys.readouterr().out
    assert json.loads((tmp_path / "bf16" / CONFIG_FILE).read_text())["dtype"] == "bfloat16"
    source, loaded = load(exported), load(tmp_path / "bf16")
    assert source.llm.dtype == torch.float32  # the float32 export still loads as float32
    assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}
    for (name, ours), (_, theirs) in zip(loaded.state_dict().items(), source.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs.to(ours.dtype) if theirs.is_floating_point() else theirs), name
    assert FlorenceVL.from_pretrained(tmp_path / "bf16", dtype="float32").llm.dtype == torch.float32  # override
    front, body = front_matter_and_body(tmp_path / "bf16")
    assert "| dtype | bfloat16 |" in body


def test_an_export_without_a_recorded_dtype_loads_in_its_llm_config_dtype(exported, tmp_path):
    export_main([str(exported), str(tmp_path / "half"), "--dtype", "float16"])
    config = json.loads((tmp_path / "half" / CONFIG_FILE).read_text())
    del config["dtype"]  # as exports written before the dtype was recorded
    (tmp_path / "half" / CONFIG_FILE).write_text(json.dumps(config))
    assert FlorenceVL.from_pretrained(tmp_path / "half").llm.dtype == torch.float16


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dtype", "bf17"], "--dtype='bf17' is unknown; use bfloat16 (bf16)"),
        (["--push-to-hub", "no/such/repo"], "--push-to-hub 'no/such/repo' is not a Hub repository id"),
        (["--push-to-hub", "name-only"], "names no owner; give <user or organisation>/name-only"),
        (["--revision", "dev"], "--revision and --private apply to --push-to-hub"),
    ],
)
def test_bad_options_exit_2_naming_them_before_anything_loads(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as stopped:  # the checkpoint does not exist: nothing was opened
        export_main([str(tmp_path / "missing.ckpt"), str(tmp_path / "out"), *argv])
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def modes(folder: Path) -> set[tuple[str, int]]:
    return {("dir" if p.is_dir() else "file", stat.S_IMODE(p.stat().st_mode)) for p in (folder, *folder.rglob("*"))}


@pytest.mark.parametrize(
    ("umask", "expected"), [(0o022, {("dir", 0o755), ("file", 0o644)}), (0o027, {("dir", 0o750), ("file", 0o640)})]
)
def test_export_is_readable_by_others_as_the_umask_allows(exported, tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        export_main([str(exported), str(tmp_path / "model")])
    finally:
        os.umask(previous)
    # mkdtemp makes its directory 0700 and safetensors writes 0600; every entry now has the plain mkdir/open mode
    assert modes(tmp_path / "model") == expected
    assert not list(tmp_path.glob(".*"))  # no partial directory or mode probe left behind


def test_model_card_names_the_model_and_its_load_snippet_loads_it(exported):
    front, body = front_matter_and_body(exported)
    assert front["library_name"] == "fvl" and front["license"] == "apache-2.0"  # no base weights: fvl's license
    assert front["pipeline_tag"] == "image-text-to-text" and "channel_concat" in front["tags"]
    assert "base_model" not in front
    assert "| Features | depth, ocr |" in body and "| Fusion | channel_concat |" in body
    assert "| dtype | float32 |" in body and "| Visual tokens | 5 per image |" in body
    assert "Not recorded" in body  # saved outside a training run
    snippet = re.search(r"## How to load\n\n```python\n(.*?)```", body, re.S).group(1)
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 — the card's own snippet, as a reader would run it
    model = scope["model"]
    assert isinstance(model, FlorenceVL) and model.fusion.features == tuple(FEATURES)
    assert not model.training and model.llm.dtype == torch.float32
    assert f"fvl chat {exported.resolve()} --image" in body and f"fvl eval checkpoint={exported.resolve()} " in body


def test_model_card_shows_the_runs_facts_and_the_base_weights_license(tmp_path):
    model = tiny()
    model.spec["llm"]["name_or_path"] = "HuggingFaceTB/SmolLM2-135M-Instruct"  # as if finetuned from hub weights
    config = {
        "task_name": "my_run",
        "stage": {"name": "finetune", "frozen": ["vision"], "lora": {"r": 8}},
        "init_from": "outputs/pre/model",
        "data": {"train": [{"path": "/data/mix.json", "weight": 2.0}, "/data/more.jsonl"], "val": None},
        "export": {"license": None},
    }
    report = {"val/loss": 0.5, "val/answer_accuracy": 0.75, "data/train/samples": 120.0, "data/train/truncated": 3.0}
    model.save_pretrained(tmp_path / "model", card_facts(config, 42, report))
    front, body = front_matter_and_body(tmp_path / "model")
    assert front["license"] == "other" and front["base_model"] == ["HuggingFaceTB/SmolLM2-135M-Instruct"]
    assert "# my_run" in body and "their licenses apply" in body
    assert "Stage `finetune` with LoRA (merged into the exported LLM), 42 optimizer steps; frozen: vision." in body
    assert "Started from `outputs/pre/model`." in body
    assert "| train | mix | `/data/mix.json` | 2.0 |" in body and "| train | more | `/data/more.jsonl` | 1.0 |" in body
    assert "Samples: train 120." in body
    assert "| val/answer_accuracy | 0.7500 |" in body and "| val/loss | 0.5000 |" in body


class RecordingHub:
    """Stands in for ``HfApi``: records each call (checked against HfApi's own signature) and, for the upload,
    the files of ``folder_path`` at that moment."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.uploaded: set[str] = set()

    def __getattr__(self, name):
        def call(*args, **kwargs):
            inspect.signature(getattr(HfApi, name)).bind(None, *args, **kwargs)  # a real HfApi would take these
            self.calls.append((name, kwargs))
            if name == "upload_folder":
                root = Path(kwargs["folder_path"])
                self.uploaded = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
                return f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"
            return None

        return call


def test_push_uploads_the_whole_export_to_the_repo_and_revision(exported):
    hub = RecordingHub()
    url = push_to_hub(exported, "me/tiny-fvl", revision="dev", private=True, api=hub)
    assert url == "https://huggingface.co/me/tiny-fvl/commit/abc"
    assert [name for name, _ in hub.calls] == ["create_repo", "create_branch", "upload_folder"]
    assert hub.calls[0][1] == {"repo_id": "me/tiny-fvl", "repo_type": "model", "private": True, "exist_ok": True}
    upload = hub.calls[2][1]
    assert (upload["repo_id"], upload["revision"], upload["repo_type"]) == ("me/tiny-fvl", "dev", "model")
    assert {CARD_FILE, CONFIG_FILE, "connector.safetensors", "llm/config.json", "florence/model.safetensors"} <= (
        hub.uploaded
    )
    assert hub.uploaded == {str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file()}


def test_export_command_pushes_and_names_the_repo_in_the_card(exported, tmp_path, monkeypatch, capsys):
    hub = RecordingHub()
    monkeypatch.setattr(hub_push, "HfApi", lambda: hub)
    argv = [str(exported), str(tmp_path / "model"), "--dtype", "bfloat16", "--push-to-hub", "me/tiny-fvl"]
    assert export_main(argv) == 0
    assert "Pushed" in capsys.readouterr().out
    upload = hub.calls[-1][1]
    assert [name for name, _ in hub.calls] == ["create_repo", "upload_folder"]  # no --revision: the default branch
    assert upload["folder_path"] == str(tmp_path / "model") and upload["revision"] is None
    assert "snapshot_download('me/tiny-fvl')" in (tmp_path / "model" / CARD_FILE).read_text()


def test_a_refused_push_exits_2_naming_the_login_and_keeps_the_export(exported, tmp_path, monkeypatch, capsys):
    class NoToken(RecordingHub):
        def create_repo(self, **kwargs):
            raise LocalTokenNotFoundError("Token is required (`token=True`), but no token found.")

    monkeypatch.setattr(hub_push, "HfApi", NoToken)
    assert export_main([str(exported), str(tmp_path / "model"), "--push-to-hub", "me/tiny-fvl"]) == 2
    assert "hf auth login" in capsys.readouterr().err
    assert load(tmp_path / "model").num_image_tokens == 5
