"""Every command the README shows, run as written, in README order, in one fresh working directory.

Only size-shrinking overrides are appended (the tiny model in place of hub ids, a CPU trainer of one device,
two steps, a few synthetic samples, ``limit=``), decided from what the command composes to. The world a user
would bring is set up first: their files named as in the README (``my_data.json``, ``my_images/``, ...), the
recipes' data files under ``data/``, ``$MODELS`` with tiny local stand-ins, ``$DATA/lmms-lab`` with tiny copies
of every benchmark, ``ckpt/`` with a tiny release in the released Florence-VL layout where ``hf download`` would
put it (a download command only checks that its ``--local-dir`` is there). ``<time>`` resolves to the newest run
of the named task. Commands that need GPUs or several nodes (FSDP, DeepSpeed, QLoRA, multi-node torchrun) are
composed and validated instead of run: nothing here can run them. A README command that is not covered fails the
test; so does one that breaks.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

import fvl.eval.config  # noqa: F401  (registers what fvl/conf/evaluate.yaml composes onto, as evaluate.py does)
from fvl.data.synthetic.generate import ensure_synthetic
from fvl.models.loading import load
from fvl.report.sweep import parse_overrides
from fvl.training.config import validate_train_config

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "eval"), str(ROOT / "tests" / "models")]
from eval_hub_files import write_files  # noqa: E402
from eval_layouts import LAYOUTS  # noqa: E402
from tiny_release import write_tiny_release  # noqa: E402

GPU_ONLY = re.compile(r"trainer=(fsdp|deepspeed\w*|gpu|ddp)\b|quantization=4bit|torchrun")
STEPS = ["trainer.max_steps=2", "trainer.enable_progress_bar=false", "cpu_threads=1", "data.num_workers=0"]
EVALUATE = ["limit=2", "batch_size=2", "generation.max_new_tokens=2"]
EARLIER_STAGE = ["trainer.max_steps=1", "data.batch_size=2"]
ALIGNMENT = [*STEPS, "data.batch_size=2", "trainer.val_check_interval=2"] + [
    f"{stage}.{option}" for stage in ("pre_stage", "pre_stage.pre_stage") for option in EARLIER_STAGE
]


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def readme_commands() -> list[str]:
    commands = []
    for block in readme_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()  # a trailing comment, set off by spaces
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A working directory holding what a user of each README command would have."""
    cwd = tmp_path_factory.mktemp("readme")
    synth = ensure_synthetic(cwd / "synth", num_captions=8, num_instruct=8, num_eval=4)
    captions = json.loads(synth.captions.read_text())
    instruct = json.loads(synth.instruct.read_text())
    (cwd / "my_images").symlink_to(synth.root)
    (cwd / "my_data.json").write_text(json.dumps(instruct))
    from datasets import Dataset

    rows = {"uid": [r["id"] for r in instruct], "picture": [r["image"] for r in instruct]}
    rows["dialogue"] = [r["conversations"] for r in instruct]
    Dataset.from_dict(rows).save_to_disk(str(cwd / "my_dataset"))
    question = {
        "question": "What colour is the shape?",
        "answer": "red",
        "image": str(synth.root / instruct[0]["image"]),
    }
    (cwd / "my_benchmark.jsonl").write_text(json.dumps(question) + "\n" + json.dumps(question) + "\n")
    recipe_files = {  # fvl/conf/data/*: file → (records, image folder)
        "florence_vl/pixelprose.jsonl": (captions, "florence_vl/pixelprose"),
        "florence_vl/sharegpt4v_pt.json": (captions, "florence_vl/sharegpt4v"),
        "florence_vl/cambrian_7m.jsonl": (instruct, "florence_vl/cambrian"),
        "florence_vl/vision_flan.json": (instruct, "florence_vl/vision_flan"),
        "florence_vl/sharegpt4v_sft.json": (instruct, "florence_vl/sharegpt4v"),
        "florence_vl/docmatix.jsonl": (instruct, "florence_vl/docmatix"),
    }
    for name, (records, images) in recipe_files.items():
        for base in (cwd / "data", cwd / "DATA"):
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = [json.dumps(r) for r in records]
            path.write_text("\n".join(lines) if name.endswith(".jsonl") else json.dumps(records))
            if not (base / images).exists():
                (base / images).symlink_to(synth.root)
    (cwd / "DATA" / "pixelprose.jsonl").write_text("\n".join(json.dumps(r) for r in captions))
    (cwd / "DATA" / "pixelprose").symlink_to(synth.root)
    for block in readme_blocks("python"):  # files the README has the user write (first line: `# name.py`)
        first = block.splitlines()[0]
        if re.fullmatch(r"# \w+\.py", first):
            (cwd / first[2:]).write_text(block, encoding="utf-8")
    write_models(cwd / "MODELS")
    write_release(cwd / "ckpt")
    for name, layout in LAYOUTS.items():
        write_files(cwd / "DATA" / "lmms-lab" / name, layout.files)
        if layout.extra:
            layout.extra(cwd / "DATA" / "lmms-lab" / name)
    return cwd


def write_models(models: Path) -> None:
    """Tiny local stand-ins for the Florence-2 and Llama-3.1 directories of the local-weights command."""
    import torch
    from transformers import Florence2ForConditionalGeneration

    from fvl.models.builder import build_llm
    from fvl.models.spec import LLMSpec
    from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer

    torch.manual_seed(0)
    tokenizer = tiny_florence_tokenizer()
    config = tiny_florence_config(tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer))
    Florence2ForConditionalGeneration(config).save_pretrained(models / "Florence-2-large-ft")
    tokenizer.save_pretrained(models / "Florence-2-large-ft")
    llm, llm_tokenizer = build_llm(LLMSpec(tiny=True, hidden_size=128))  # the tiny preset's shapes
    llm.save_pretrained(models / "Llama-3.1-8B-Instruct")
    llm_tokenizer.save_pretrained(models / "Llama-3.1-8B-Instruct")


def write_release(ckpt: Path) -> None:
    """A tiny jiuhai/florence-vl-8b-sft and its vision tower's config and tokenizer, where the README downloads them."""
    import shutil

    from transformers import Florence2ForConditionalGeneration

    from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer

    torch.manual_seed(0)
    tokenizer = tiny_florence_tokenizer()
    florence = Florence2ForConditionalGeneration(
        tiny_florence_config(tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer))
    )
    (ckpt / "florence-vl-8b-sft").mkdir(parents=True)
    write_tiny_release(ckpt / "florence-vl-8b-sft", florence)
    shutil.copytree(ckpt / "florence-vl-8b-sft" / "vision_tower", ckpt / "florence-llama-vision-tower")


def newest(cwd: Path, pattern: str) -> str:
    found = sorted(cwd.glob(pattern), key=lambda p: p.stat().st_mtime)
    assert found, f"no {pattern} under {cwd}: an earlier README command should have made it"
    return str(found[-1].relative_to(cwd))


def resolve_placeholders(command: str, cwd: Path) -> str:
    return re.sub(r"outputs/(\w+)/(runs|multiruns)/<time>", lambda m: newest(cwd, f"outputs/{m[1]}/{m[2]}/*"), command)


def environment(cwd: Path) -> dict[str, str]:
    env = dict(os.environ, MODELS=str(cwd / "MODELS"), DATA=str(cwd / "DATA"), HEAD="localhost", HF_HUB_OFFLINE="1")
    env["HF_DATASETS_OFFLINE"] = "1"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def hydra_overrides(command: str, cwd: Path) -> list[str]:
    """The Hydra overrides of a ``train.py`` / ``evaluate.py`` command line, as the shell would pass them."""
    env = environment(cwd)
    for name in ("MODELS", "DATA", "HEAD"):
        command = command.replace(f"${name}", env[name])
    words = shlex.split(command)
    script = next(i for i, word in enumerate(words) if word.endswith(".py") or word == "fvl.cache_features")
    return [word for word in words[script + 1 :] if word != "-m"]


def train_shrink(overrides: list[str], cwd: Path) -> list[str]:
    """Size-shrinking overrides for a train.py command, from the config it composes to."""
    first_of_sweep = [re.sub(r"^([\w/.]+)=([^\[{'\"][^,]*),.*$", r"\1=\2", o) for o in overrides]  # a=x,y → a=x
    with initialize_config_dir(str(ROOT / "fvl" / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[o for o in first_of_sweep if not o.startswith("hydra")])
    extra = list(STEPS) + ["data.batch_size=2"]
    sets_weights = any(o.startswith(("model.vision.name_or_path", "model.llm.name_or_path")) for o in overrides)
    if sets_weights:  # the local stand-ins are tiny: other widths, a small image
        extra += ["model.vision.d_model=null", "model.llm.hidden_size=null", "model.vision.image_size=64"]
    else:
        extra += [] if cfg.model.vision.tiny else ["model/vision=tiny"]
        extra += [] if cfg.model.llm.tiny or "smollm2" in " ".join(overrides) else ["model/llm=tiny"]
    if cfg.trainer.accelerator != "cpu" or cfg.trainer.get("strategy") not in (None, "auto"):
        extra += ["trainer=cpu"] if "trainer=ddp_cpu" not in overrides else []
    if "trainer=ddp_cpu" not in overrides:
        extra += ["trainer.devices=1", "trainer.num_nodes=1"]
    extra += ["data.max_length=256"]
    if isinstance(cfg.trainer.get("val_check_interval"), int):
        extra.append("trainer.val_check_interval=2")
    if cfg.data.get("synthetic"):
        extra += ["data.synthetic.num_captions=16", "data.synthetic.num_instruct=16", "data.synthetic.num_eval=4"]
    stage, prefix = cfg, "pre_stage"
    while stage.get("pre_stage"):  # each earlier stage, nested ones included
        extra += [f"{prefix}.trainer.max_steps=1", f"{prefix}.data.batch_size=2"]
        stage, prefix = stage.pre_stage, f"{prefix}.pre_stage"
    if (cfg.get("callbacks") or {}).get("answer_accuracy"):
        extra.append("callbacks.answer_accuracy.max_new_tokens=2")
    if any(o.startswith("hparams_search=") for o in overrides):
        extra.append("hydra.sweeper.n_trials=2")
    return extra


def validate_only(command: str, cwd: Path) -> None:
    """Compose and check a GPU-only command (nothing runs): config errors and missing paths still fail here."""
    overrides = hydra_overrides(resolve_placeholders(command, cwd), cwd)
    name = "evaluate" if "evaluate.py" in command else "train"
    with initialize_config_dir(str(ROOT / "fvl" / "conf"), version_base="1.3"):
        cfg = compose(name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(cwd / "validate")
        del cfg.hydra
    if name == "train":
        validate_train_config(cfg)
        if cfg.init_from:
            assert (cwd / cfg.init_from).exists(), cfg.init_from
    else:
        assert (cwd / cfg.checkpoint).exists(), cfg.checkpoint


def run_command(command: str, cwd: Path) -> subprocess.CompletedProcess:
    command = resolve_placeholders(command, cwd)
    if command.startswith(("python train.py", "python -m fvl.cache_features")):  # the latter composes train.yaml
        command += " " + " ".join(shlex.quote(o) for o in train_shrink(hydra_overrides(command, cwd), cwd))
    elif "evaluate.py" in command:
        command += " " + " ".join(EVALUATE)
    elif command.startswith("python -m lmms_eval"):
        command += " --limit 2"
    elif command.startswith("fvl alignment"):  # its reference caption stages and each subset, a step or two
        command = command.replace("fvl alignment", "fvl alignment --heldout 4", 1) + " " + " ".join(ALIGNMENT)
    command = command.replace("train.py", str(ROOT / "train.py")).replace("evaluate.py", str(ROOT / "evaluate.py"))
    result = subprocess.run(  # no stdin: an interactive `fvl chat` session ends at once (EOF)
        ["bash", "-c", command],
        cwd=cwd,
        env=environment(cwd),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    return result


COMMANDS = readme_commands()


def test_the_readme_starts_with_the_two_quick_start_commands_and_the_setup_they_run():
    assert COMMANDS[:2] == ["./fvl.sh demo", "./fvl.sh test"]
    assert "python train.py" in COMMANDS and "pytest" in COMMANDS
    (setup,) = [command for command in COMMANDS if command.startswith("python -m venv")]
    script = (ROOT / "fvl.sh").read_text()
    for install in re.findall(r"pip install ([^&]+)", setup):  # fvl.sh runs the README's setup, quietly
        assert f".venv/bin/pip install -q {install.strip()}" in script, install
    assert "exec ./fvl.sh test" in (ROOT / ".ci" / "run").read_text()
    assert 'exec .venv/bin/python train.py "$@"' in script  # `./fvl.sh demo` is `python train.py`


def check_server(command: str, cwd: Path) -> None:
    """Start ``fvl serve`` on a free port, wait for the page to answer, then stop it."""
    import socket
    import time
    import urllib.request

    pytest.importorskip("gradio")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = environment(cwd)
    server = subprocess.Popen(["bash", "-c", f"exec {command} --port {port}"], cwd=cwd, env=env, text=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, f"{command} exited with {server.returncode}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200 and "gradio" in page.read().decode().lower()
                    return
            except OSError:
                time.sleep(1)
        raise AssertionError(f"{command} served nothing on port {port} within 180 s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def check_fusion_sweep(cwd: Path, result: subprocess.CompletedProcess) -> None:
    """Both stages per job: metrics beside chance and baseline, checkpoint, the two exports in their formats; a
    job per fusion and seed; with several seeds, the report's summary over them."""
    sweep = cwd / newest(cwd, "outputs/demo/multiruns/*")
    choices = re.search(r"model/fusion=([\w,]+)", result.args[-1]).group(1).split(",")
    seeds = re.search(r"\bseed=([\d,]+)", result.args[-1])
    seeds = seeds.group(1).split(",") if seeds else [None]
    jobs = sorted((path for path in sweep.iterdir() if path.name.isdigit()), key=lambda path: int(path.name))
    overrides = [parse_overrides(yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())) for job in jobs]
    assert sorted((o["model/fusion"], o.get("seed")) for o in overrides) == sorted(
        (choice, seed) for choice in choices for seed in seeds
    )
    for run, job_overrides in zip(jobs, overrides, strict=True):
        choice = job_overrides["model/fusion"]
        with initialize_config_dir(str(ROOT / "fvl" / "conf"), version_base="1.3"):
            expected = compose("train", overrides=[f"model/fusion={choice}"]).model.fusion
        metrics = json.loads((run / "metrics.json").read_text())
        assert 0.0 <= metrics["val/answer_accuracy"] <= 1.0 and metrics["val/chance"] > 0 and metrics["val/loss"] > 0
        model = load(run)
        assert (model.fusion.name, list(model.fusion.features)) == (expected.name, list(expected.features)), choice
        assert model.input_format["format"] == "chat"
        assert load(run / "pre_stage").input_format["format"] == "plain"
        checkpoint = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
        assert checkpoint["global_step"] == 2 and checkpoint["hyper_parameters"]["init_from"].endswith(
            "pre_stage/model"
        )
    assert len((sweep / "report.csv").read_text().splitlines()) == len(jobs) + 1
    summary = (sweep / "report.md").read_text()
    assert ("## Over seeds" in summary) == (len(seeds) > 1)
    if len(seeds) > 1:  # a row per fusion, over every seed
        assert all(f"| {choice} | {', '.join(seeds)} | " in summary for choice in choices), summary


def check_own_data(cwd: Path, result: subprocess.CompletedProcess) -> None:
    """Your data alone: no synthetic pre-stage or answer accuracy; the model records the chat format."""
    run = cwd / newest(cwd, "outputs/demo/runs/*")
    assert not (run / "pre_stage").exists() and "AnswerAccuracy" not in (run / ".hydra" / "config.yaml").read_text()
    fmt = load(run).input_format
    assert (fmt["format"], fmt["image_policy"]) == ("chat", "pad")


def check_ddp(cwd: Path, result: subprocess.CompletedProcess) -> None:
    plan = "2 per device × 1 accumulation × 2 devices × 1 nodes = 4 samples per optimizer step"
    assert plan in result.stdout + result.stderr


def check_resume(cwd: Path, result: subprocess.CompletedProcess) -> None:
    assert "Resuming from" in result.stdout + result.stderr


def check_task_mixture(cwd: Path, result: subprocess.CompletedProcess) -> None:
    """Stage 0 read Florence-2's task records (one per caption image and prompt), every job of a sweep."""
    read = re.findall(r"data.train\[0\] 'florence_tasks': llava, (\d+) records", result.stdout + result.stderr)
    jobs = (
        len(re.search(r"model/fusion=([\w,]+)", result.args[-1]).group(1).split(","))
        if " -m " in result.args[-1]
        else 1
    )
    assert read == ["48"] * jobs, read  # 16 caption images (data.synthetic.num_captions above) × 3 prompts


# What a command must leave behind, beyond exiting 0: (a pattern of the command, check).
def check_feature_cache(cwd: Path, result: subprocess.CompletedProcess) -> None:
    """The finetune run read the features the cache command wrote: nothing ran Florence-2."""
    assert re.search(r"read from the cache \S*feature_cache/\w+ \(float16, \d+ images\)", result.stdout + result.stderr)


CHECKS = [
    (r"-m model/fusion=channel_concat", check_fusion_sweep),
    (r"^python train.py data=llava_finetune", check_own_data),
    (r"trainer=ddp_cpu", check_ddp),
    (r"ckpt_path=", check_resume),
    (r"^python train.py .*data.feature_cache=", check_feature_cache),
    (r"data@pre_stage.pre_stage.data=synthetic_florence_tasks", check_task_mixture),
]


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=lambda i: COMMANDS[i][:60])
def test_readme_command(index, world):
    command = COMMANDS[index]
    if command in ("pytest", "./fvl.sh test"):
        return  # this very suite (.ci/run runs it through ./fvl.sh test)
    if command == "./fvl.sh demo" or command.startswith("python -m venv"):
        return  # the setup is the one this suite runs in (checked above); `python train.py` runs below
    if command.startswith("tensorboard --logdir"):  # a server: check that what it would show was written
        logdir = world / shlex.split(command)[2]
        assert list(logdir.glob("*/runs/*/tensorboard/events.out.tfevents.*")), logdir
        return
    if command.startswith("fvl serve"):  # a server: it must come up and say where
        check_server(resolve_placeholders(command, world), world)
        return
    if command == "fvl":  # the README shows what it prints
        listing = subprocess.run(["fvl"], capture_output=True, text=True, env=environment(world), check=True)
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert listing.stdout.strip() in readme, "the README's `fvl` listing is out of date"
        return
    if command.startswith("hf download"):  # the world holds what it downloads
        local_dir = shlex.split(command)[shlex.split(command).index("--local-dir") + 1]
        assert (world / local_dir / "config.json").is_file(), local_dir
        return
    if GPU_ONLY.search(command) and "trainer=ddp_cpu" not in command:
        validate_only(command, world)
        return
    result = run_command(command, world)
    single_run = " -m " not in command and "hparams_search" not in command and "ckpt_path=" not in command
    if command.startswith("python train.py") and single_run:  # (a resumed run may have no step left to plan)
        assert "Training plan" in result.stdout + result.stderr
    for pattern, check in CHECKS:
        if re.search(pattern, command):
            check(world, result)


def test_the_readme_python_snippet_loads_the_demo_model(world):
    (snippet,) = [block for block in readme_blocks("python") if "load(" in block]
    namespace: dict = {}
    cwd = os.getcwd()
    try:
        os.chdir(world)
        exec(resolve_placeholders(snippet, world), namespace)
    finally:
        os.chdir(cwd)
    assert namespace["model"].num_image_tokens == 5


def test_sweeps_left_their_reports(world):
    reports = sorted(world.glob("outputs/*/multiruns/*/report.csv"))
    assert len(reports) >= 3, reports
    for report in reports:  # a row per job of its sweep
        rows = [line for line in report.read_text().splitlines()[1:] if line]
        jobs = [path for path in report.parent.iterdir() if path.name.isdigit()]
        assert len(rows) == len(jobs) >= 2, report
