"""``python -m fvl.convert``: tiny checkpoints written in exactly the released layouts, converted and checked.

The LLaVA-layout release (3 safetensors shards + index, config.json with LLaVA's fields, a Llama-3-style tokenizer,
a ``vision_tower/`` folder with the remote-code Florence-2 config and tokenizer) is converted, loaded with
``fvl.models.loading.load`` and compared with the released model's forward written directly on the released keys
(``released_reference``: functional DaViT/BART on the remote-code names, the ``encoder_mlp`` projector, a
Hugging Face Llama on ``model.*``/``lm_head``). Remote-code Florence-2 weights alone round-trip exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from released_reference import (
    VISION,
    reference_logits,
    released_features,
    remote_florence_config,
    remote_florence_state,
)
from safetensors.torch import load_file, save_file
from tiny_release import HIDDEN, IMAGE_SIZE, write_tiny_release

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.convert import convert, main
from fvl.data.synthetic.generate import ensure_synthetic
from fvl.models.builder import build_florence_vl
from fvl.models.florence_encoder import DEFAULT_PROMPTS, FlorenceEncoder
from fvl.models.loading import load
from fvl.models.released_config import SYSTEM_PROMPTS, reference_template
from fvl.models.released_layout import Target
from fvl.models.released_matching import match
from fvl.models.released_tensors import Stored
from fvl.models.tiny import tiny_florence_tokenizer, tiny_llm_tokenizer

ROOT = Path(__file__).resolve().parents[2]
# fp32 throughout; the native modules use SDPA, the reference explicit softmax attention.
TOLERANCE = 1e-4


def mpt_prompt(system: str, roles: tuple[str, str], sep: str, turns: list[str | None]) -> str:
    """The reference's ``SeparatorStyle.MPT`` rendering (conversation.py): system + sep, then role + message + sep,
    a bare role for the turn to generate."""
    text = system + sep
    for i, message in enumerate(turns):
        text += roles[i % 2] + (message + sep if message is not None else "")
    return text


@pytest.fixture(scope="module")
def release(tmp_path_factory, hf_florence):
    """A tiny jiuhai/florence-vl-8b-sft: (source dir, state written, LLM config, remote Florence config)."""
    source = tmp_path_factory.mktemp("florence-vl-tiny-sft")
    return (source, *write_tiny_release(source, hf_florence))


@pytest.fixture(scope="module")
def converted(release, tmp_path_factory):
    lines: list[str] = []
    out = convert(release[0], tmp_path_factory.mktemp("converted") / "model", log=lines.append)
    return out, load(out), lines


def test_converted_logits_equal_the_released_forward(release, converted):
    source, state, llm_config, remote = release
    _, model, _ = converted
    torch.manual_seed(4)
    pixels = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    florence_tokenizer = tiny_florence_tokenizer()
    prompt_ids = florence_tokenizer(list(DEFAULT_PROMPTS.values()), padding="longest")["input_ids"]
    prefix = torch.tensor(model.tokenizer("What is the shape?", add_special_tokens=False)["input_ids"])
    suffix = torch.tensor(model.tokenizer("Answer with a single word.", add_special_tokens=False)["input_ids"])
    image = torch.full((model.num_image_tokens,), model.image_token_id)
    input_ids = torch.cat([prefix, image, suffix]).repeat(2, 1)
    with torch.no_grad():
        ours = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=pixels).logits
        theirs = reference_logits(state, llm_config, remote, pixels, torch.tensor(prompt_ids), prefix, suffix)
        features = model.vision(pixels)
        depth, breadth, _ = released_features(state, pixels, torch.tensor(prompt_ids), remote)
    assert ours.shape == theirs.shape == (2, input_ids.shape[1], llm_config.vocab_size)
    deltas = {"depth": (features["depth"] - depth).abs().max().item()}
    for name, reference in zip(DEFAULT_PROMPTS, breadth, strict=True):
        deltas[name] = (features[name] - reference).abs().max().item()
    deltas["logits"] = (ours - theirs).abs().max().item()
    print(f"max |Δ| remote-layout maths vs converted native model: {deltas}")
    assert max(deltas.values()) < TOLERANCE, deltas
    assert ours.abs().max() > 0.1, "logits near zero would make the comparison vacuous"


def test_converted_weights_are_the_released_tensors(release, converted, florence_dir):
    _, state, _, _ = release
    _, model, _ = converted
    native = FlorenceEncoder.from_pretrained(florence_dir, image_size=IMAGE_SIZE).state_dict()
    assert set(model.vision.state_dict()) == set(native)
    assert all(torch.equal(model.vision.state_dict()[k], v) for k, v in native.items())
    llm = model.llm.state_dict()
    assert all(torch.equal(llm[k], v) for k, v in state.items() if k.startswith(("model.layers", "lm_head")))
    for ours, theirs in ((0, "0"), (2, "1.1"), (4, "2.1")):
        assert torch.equal(model.projector[ours].weight, state[f"model.mm_projector.encoder_mlp.{theirs}.weight"])


def test_export_records_the_reference_model_and_input_format(converted):
    out, model, lines = converted
    exported = json.loads((out / "fvl_config.json").read_text())
    features = ["depth", "caption", "ocr", "grounding"]
    assert exported["fusion"] == {"name": "channel_concat", "features": features, "feature_norm": None}
    assert exported["vision"]["prompts"] == DEFAULT_PROMPTS
    assert exported["vision"]["mask_prompt_padding"] is False and exported["vision"]["keep_global_token"] is True
    assert exported["projector"] == "mlp3x_gelu" and exported["num_image_tokens"] == 17
    assert exported["image"] == {"size": IMAGE_SIZE, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    assert exported["input_format"]["format"] == "chat" and exported["input_format"]["image_policy"] == "pad"
    llm_config = json.loads((out / "llm" / "config.json").read_text())
    assert llm_config["model_type"] == "llama" and llm_config["architectures"] == ["LlamaForCausalLM"]
    assert not [key for key in llm_config if key.startswith("mm_") or key.startswith("image_")]
    # The reference's llama3 conversation, with one BOS (the reference wrote a second one by mistake).
    messages = [{"role": "system", "content": SYSTEM_PROMPTS["llama3"]}, {"role": "user", "content": "<image>\nHi"}]
    rendered = model.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    header = "<|start_header_id|>{}<|end_header_id|>\n\n"
    roles = (header.format("user"), header.format("assistant"))
    system = header.format("system") + SYSTEM_PROMPTS["llama3"]
    expected = mpt_prompt(system, roles, "<|eot_id|>", ["<image>\nHi", None])
    assert rendered == "<|begin_of_text|>" + expected
    generation = json.loads((out / "llm" / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [model.tokenizer.eos_token_id, 1]
    plan = "\n".join(lines)
    assert "keep llm" in plan and "keep vision" in plan and "keep projector" in plan
    assert "Florence-2 decoder" in plan and "tied copies of" in plan and "mm_vision_tower" in plan


def test_phi3_conversation_is_the_references():
    tokenizer = tiny_llm_tokenizer()
    tokenizer.chat_template = reference_template("phi3", tokenizer)
    messages = [{"role": "system", "content": SYSTEM_PROMPTS["phi3"]}, {"role": "user", "content": "<image>\nHi"}]
    for answer in (None, "A cat."):
        turns = messages + ([{"role": "assistant", "content": answer}] if answer else [])
        rendered = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=answer is None)
        system = "<|system|>\n" + SYSTEM_PROMPTS["phi3"]
        expected = mpt_prompt(system, ("\n<|user|>\n", "\n<|assistant|>\n"), "<|end|>", ["<image>\nHi", answer])
        assert rendered == expected


def test_a_pretraining_checkpoint_gets_the_plain_format_and_square_images(release, tmp_path):
    source = tmp_path / "pretrain"
    shutil.copytree(release[0], source)
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps({**config, "image_aspect_ratio": "square"}))
    out = convert(source, tmp_path / "out", log=lambda _: None)
    fmt = json.loads((out / "fvl_config.json").read_text())["input_format"]
    assert fmt["format"] == "plain" and fmt["image_policy"] == "square" and fmt["system_prompt"] is None


def test_remote_code_florence_round_trips_to_the_native_weights(florence_dir, hf_florence, tmp_path):
    """microsoft/Florence-2-large-ft's layout (pytorch_model.bin, remote-code config) → native, bit for bit."""
    source = tmp_path / "Florence-2-tiny-ft"
    source.mkdir()
    vocab = hf_florence.config.text_config.vocab_size
    torch.save(remote_florence_state(hf_florence.state_dict(), vocab), source / "pytorch_model.bin")
    (source / "config.json").write_text(json.dumps(remote_florence_config(hf_florence.config)))
    tiny_florence_tokenizer().save_pretrained(source)
    # As in the remote-code repos: no tokenizer class named (their processor picks BART's tokenizer).
    (source / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 1024}))
    out = convert(source, tmp_path / "native", log=lambda _: None)
    ours = FlorenceEncoder.from_pretrained(out).state_dict()
    native = FlorenceEncoder.from_pretrained(florence_dir).state_dict()
    assert set(ours) == set(native) and all(torch.equal(ours[k], v) for k, v in native.items())
    assert not [key for key in load_file(str(out / "model.safetensors")) if "decoder" in key or "lm_head" in key]
    model = build_florence_vl({"name_or_path": str(out), "image_size": IMAGE_SIZE}, {"tiny": True, "hidden_size": 32})
    assert model.vision.feature_dim == hf_florence.config.text_config.d_model


def _edit(source: Path, changes: dict[str, torch.Tensor | None]) -> Path:
    """Remove each key whose value is None, set the others (a new key goes to the first shard), keeping the index in
    step; each shard is rewritten once. Returns ``source``."""
    index_file = source / "model.safetensors.index.json"
    index = json.loads(index_file.read_text())
    weight_map = index["weight_map"]
    first = sorted(weight_map.values())[0]
    for shard in sorted(set(weight_map.values())):
        state = load_file(str(source / shard))
        for key, value in changes.items():
            if weight_map.get(key, first) != shard:
                continue
            if value is None:
                del state[key], weight_map[key]
            else:
                state[key], weight_map[key] = value, shard
        save_file(state, str(source / shard))
    index_file.write_text(json.dumps(index))
    return source


def _set_config(source: Path, **changes) -> None:
    config = json.loads((source / "config.json").read_text())
    (source / "config.json").write_text(json.dumps({**config, **changes}))


BROKEN = {
    "not a directory": (lambda s: s / "config.json", r"config\.json is not a directory"),
    "no config.json": (lambda s: (s / "config.json").unlink() or s, r"has no config\.json"),
    "unknown model_type": (lambda s: _set_config(s, model_type="llava_mistral") or s, r"'llava_mistral'.*neither"),
    "a missing key": (
        lambda s: _edit(s, {"model.layers.1.mlp.up_proj.weight": None}),
        r"1 key\(s\) the checkpoint lacks, e\.g\. llm\.model\.layers\.1\.mlp\.up_proj\.weight",
    ),
    "a shape mismatch": (
        lambda s: _edit(s, {"model.mm_projector.encoder_mlp.0.weight": torch.zeros(3, 5)}),
        r"shape mismatch.*model\.mm_projector\.encoder_mlp\.0\.weight in model-0000\d-of-00003\.safetensors: \(3, 5\)",
    ),
    "no vision tower": (
        lambda s: shutil.rmtree(s / "vision_tower") or s,
        r"vision tower jiuhai/florence-llama-vision-tower could not be fetched.*pass --vision-tower <dir>",
    ),
    "an unexpected key": (
        lambda s: _edit(s, {"model.image_newline": torch.zeros(HIDDEN)}),
        r"1 unexpected tensor\(s\), e\.g\. model\.image_newline",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_refusals_name_the_problem(release, tmp_path, case):
    source = tmp_path / "source"
    shutil.copytree(release[0], source)
    breaks, message = BROKEN[case]
    with pytest.raises(ValueError, match=message):
        convert(breaks(source), tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out").exists(), "a refused conversion must write nothing"


def test_tower_given_elsewhere_and_vision_weights_kept_beside_it(release, tmp_path):
    """An SFT download has no vision_tower/: --vision-tower names it; a checkpoint without the Florence-2 tensors
    takes them from the tower's own weight file (remote-code layout)."""
    source, state, _, _ = release
    shutil.copytree(source, tmp_path / "source", ignore=shutil.ignore_patterns("vision_tower"))
    tower = shutil.copytree(source / "vision_tower", tmp_path / "tower")
    vision = {k[len(VISION) :]: v for k, v in state.items() if k.startswith(VISION)}
    save_file(vision, str(tower / "model.safetensors"))
    _edit(tmp_path / "source", {VISION + key: None for key in vision})
    lines: list[str] = []
    out = convert(tmp_path / "source", tmp_path / "out", vision_tower=str(tower), log=lines.append)
    assert f"taken from {tower}" in "\n".join(lines)
    converted = load(out).vision.state_dict()
    assert torch.equal(converted["encoder.embed_tokens.weight"], vision["language_model.model.shared.weight"])


def test_a_native_florence_needs_no_conversion(florence_dir, tmp_path):
    with pytest.raises(ValueError, match=r"native layout already.*point model\.vision\.name_or_path at"):
        convert(florence_dir, tmp_path / "out", log=lambda _: None)


def test_a_tied_weight_is_filled_once_and_its_stored_copy_dropped(tmp_path):
    module = torch.nn.Sequential(torch.nn.Embedding(4, 3), torch.nn.Linear(3, 4, bias=False))
    module[1].weight = module[0].weight
    stored = {
        name: Stored(tmp_path / "x.safetensors", name, (4, 3), torch.float32) for name in ("0.weight", "1.weight")
    }
    matching = match(stored, lambda name: Target("llm", name), module, tmp_path)
    assert list(matching.assigned) == ["0.weight"]
    assert [t.name for t in matching.dropped["tied copies of 0.weight"]] == ["1.weight"]


def test_help_explains_both_kinds_of_source(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    assert "released Florence-VL" in text and "remote-code Florence-2" in text and "--vision-tower" in text


def test_cli_error_exits_2_with_the_message(release, capsys, tmp_path):
    with pytest.raises(SystemExit) as done:
        main([str(release[0] / "config.json"), str(tmp_path / "out")])
    assert done.value.code == 2 and "is not a directory" in capsys.readouterr().err


# `python -m fvl.convert SRC OUT`, then `python evaluate.py ARGS`, both run as `__main__` in one child process (the
# interpreter and library start-up, most of the time here, paid once).
CONVERT_THEN_EVALUATE = """
import json, runpy, sys
convert_args, evaluate_args = json.loads(sys.argv[1])
sys.argv = ["fvl/convert.py", *convert_args]
runpy.run_module("fvl.convert", run_name="__main__", alter_sys=True)
sys.argv = ["evaluate.py", *evaluate_args]
runpy.run_path("evaluate.py", run_name="__main__")
"""


def test_cli_converts_and_evaluate_py_evaluates_the_output(release, tmp_path):
    out, run = tmp_path / "model", tmp_path / "run"
    data = ensure_synthetic(tmp_path / "synthetic", num_captions=4, num_instruct=4, num_eval=6, image_size=64)
    evaluate_args = [
        f"checkpoint={out}",
        f"benchmark_paths.synthetic={data.eval}",
        "batch_size=3",
        f"hydra.run.dir={run}",
        f"paths.log_dir={tmp_path / 'logs'}",
        "generation.max_new_tokens=3",
    ]
    command = [sys.executable, "-c", CONVERT_THEN_EVALUATE, json.dumps([[str(release[0]), str(out)], evaluate_args])]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "keep llm" in done.stdout and f"Wrote {out}" in done.stdout
    results = json.loads((run / "results.json").read_text())
    assert results["synthetic"]["num_scored"] == 6
    assert SYSTEM_PROMPTS["llama3"] in done.stdout  # the prompt log shows the reference conversation
