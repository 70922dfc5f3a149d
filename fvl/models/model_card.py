"""The model card (``README.md``) written into every exported model directory.

Hugging Face model-card style: YAML front matter (``library_name: fvl``, ``license``, ``pipeline_tag``, ``tags``,
``base_model`` when the weights started from hub models), then the model (vision, features, fusion, projector,
LLM, image size, visual tokens, dtype, parameters), what the training run passed on (stage, steps, data sources
and sample counts, final metrics; :func:`fvl.training.export.card_facts`), and how to load it. Everything comes
from the model itself and those facts; nothing is guessed.

The license: ``training["license"]`` when given (``--license`` / ``export.license``); a model built without base
weights (tiny random) is fvl's own, ``apache-2.0``; weights derived from base models get ``other`` and a line
naming them, as their licenses apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CARD_FILE = "README.md"
FVL_LICENSE = "apache-2.0"
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
SPLITS = ("train", "val")
TINY = "a tiny random configuration (no base weights)"


def base_models(spec: Mapping[str, Any]) -> list[str]:
    """The hub ids (``org/name``, not a local path) of the base weights the model's spec names."""
    names = [(spec.get(part) or {}).get("name_or_path") for part in ("vision", "llm")]
    return [name for name in names if isinstance(name, str) and HUB_ID.match(name) and not Path(name).exists()]


def model_facts(model: Any) -> dict[str, Any]:
    """What the card says about ``model`` (a :class:`~fvl.models.florence_vl.FlorenceVL`), as plain values."""
    config = model.export_config()
    text = model.llm.config.get_text_config()
    parts = {"vision": model.vision, "fusion": model.fusion, "projector": model.projector, "llm": model.llm}
    return {
        "config": config,
        "llm_class": type(model.llm).__name__,
        "llm_type": text.model_type,
        "llm_layers": text.num_hidden_layers,
        "vocab_size": len(model.tokenizer),
        "vision_width": model.vision.feature_dim,
        "parameters": {name: sum(p.numel() for p in part.parameters()) for name, part in parts.items()},
    }


def front_matter(facts: Mapping[str, Any], training: Mapping[str, Any]) -> dict[str, Any]:
    config = facts["config"]
    spec = config.get("spec") or {}
    bases = base_models(spec)
    derived = any((spec.get(part) or {}).get("name_or_path") for part in ("vision", "llm"))
    meta: dict[str, Any] = {
        "library_name": "fvl",
        "license": training.get("license") or ("other" if derived else FVL_LICENSE),
        "pipeline_tag": "image-text-to-text",
        "tags": ["fvl", "florence-vl", "florence-2", "vision-language", config["fusion"]["name"], facts["llm_type"]],
    }
    if bases:
        meta["base_model"] = bases
    return meta


def count(number: float) -> str:
    """``1234567`` → ``1.23M``."""
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if number >= size:
            return f"{number / size:.2f}{unit}"
    return str(int(number))


def model_section(facts: Mapping[str, Any]) -> list[str]:
    config = facts["config"]
    spec = config.get("spec") or {}
    fusion, fmt, parameters = config["fusion"], config["input_format"], facts["parameters"]
    vision_source = (spec.get("vision") or {}).get("name_or_path") or TINY
    llm_source = (spec.get("llm") or {}).get("name_or_path") or TINY
    kind, prompts = config.get("vision_kind", "florence2"), config["vision"].get("prompts")
    vision = f"{kind} vision encoder (width {facts['vision_width']}) from {vision_source}"
    if prompts is not None:  # Florence-2's depth-breadth encoder
        vision = f"Florence-2 encoder (width {facts['vision_width']}) from {vision_source}; prompts: "
        vision += ", ".join(prompts) or "none"
    norm = f", feature norm {fusion['feature_norm']}" if fusion["feature_norm"] else ""
    conversation = f" ({fmt['conversation']} conversation)" if fmt.get("conversation") else ""
    shares = ", ".join(f"{name} {count(value)}" for name, value in parameters.items())
    rows = [
        ("Vision", vision),
        ("Features", ", ".join(fusion["features"])),
        ("Fusion", fusion["name"] + norm),
        ("Projector", config["projector"]),
        (
            "LLM",
            f"{facts['llm_class']} ({facts['llm_type']}, {facts['llm_layers']} layers, vocabulary "
            f"{facts['vocab_size']}) from {llm_source}",
        ),
        ("Image size", f"{config['image']['size']} px ({fmt['image_policy']})"),
        ("Visual tokens", f"{config['num_image_tokens']} per image"),
        ("Prompt format", fmt["format"] + conversation),
        ("dtype", config["dtype"]),
        ("Parameters", f"{count(sum(parameters.values()))} ({shares})"),
    ]
    return ["## Model", "", "| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows), ""]


def training_section(training: Mapping[str, Any], derived: list[str]) -> list[str]:
    lines = ["## Training", ""]
    stage = training.get("stage")
    if stage:
        frozen = ", ".join(training.get("frozen") or ()) or "nothing"
        lora = " with LoRA (merged into the exported LLM)" if training.get("lora") else ""
        done = training.get("steps")
        steps = "" if done is None else f", {done} optimizer step{'' if done == 1 else 's'}"
        lines.append(
            f"Stage `{stage}`{lora}{steps}; frozen: {frozen}."
            + (f" Run: `{training['task']}`." if training.get("task") else "")
        )
    if training.get("init_from"):
        lines.append(f"Started from `{training['init_from']}`.")
    sources = [(split, source) for split in SPLITS for source in (training.get("data") or {}).get(split) or ()]
    samples = training.get("samples") or {}
    if sources:
        lines += ["", "| Split | Source | Path | Weight |", "|---|---|---|---|"]
        lines += [f"| {split} | {s['name']} | `{s['path']}` | {s['weight']} |" for split, s in sources]
    if samples:
        lines += ["", "Samples: " + ", ".join(f"{split} {int(value)}" for split, value in samples.items()) + "."]
    if len(lines) == 2:
        lines.append("Not recorded (the model was saved outside a training run's export).")
    if derived:
        lines += ["", f"The weights derive from {', '.join(derived)}; their licenses apply."]
    return [*lines, ""]


def metrics_section(metrics: Mapping[str, float]) -> list[str]:
    if not metrics:
        return []
    rows = [f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items())]
    return ["## Metrics", "", "Final validation of the training run.", "", "| Metric | Value |", "|---|---|", *rows, ""]


def usage_section(directory: Path, dtype: str, repo_id: str | None) -> list[str]:
    where = str(directory)
    hub = repo_id or "<repo id>"
    return [
        "## How to load",
        "",
        "```python",
        "from fvl.models.loading import load",
        "",
        f"model = load({where!r})  # FlorenceVL in eval mode, in the saved dtype ({dtype})",
        "```",
        "",
        f'From the Hugging Face Hub: `load(huggingface_hub.snapshot_download({hub!r}))`; `load(dir, dtype="float32")`'
        " overrides the dtype.",
        "",
        "```bash",
        f'fvl chat {where} --image picture.png "What is in the picture?"',
        f"fvl eval checkpoint={where} benchmarks=[pope,mme]",
        f"python -m fvl.training.export {where} <new dir> --dtype bfloat16   # a copy in another dtype",
        "```",
        "",
    ]


def render_model_card(
    facts: Mapping[str, Any], directory: str | Path, training: Mapping[str, Any] | None = None
) -> str:
    """The card text for a model described by ``facts`` (:func:`model_facts`) exported to ``directory``."""
    training = training or {}
    config = facts["config"]
    spec = config.get("spec") or {}
    derived = [name for part in ("vision", "llm") if (name := (spec.get(part) or {}).get("name_or_path"))]
    meta = yaml.safe_dump(front_matter(facts, training), sort_keys=False).strip()
    title = training.get("task") or Path(directory).name
    lines = [
        "---",
        meta,
        "---",
        "",
        f"# {title}",
        "",
        f"A Florence-VL model exported by fvl: Florence-2 depth and breadth features ({config['fusion']['name']} "
        f"fusion) → {config['projector']} projector → {facts['llm_class']}.",
        "",
        *model_section(facts),
        *training_section(training, derived),
        *metrics_section(training.get("metrics") or {}),
        *usage_section(Path(directory).resolve(), config["dtype"], training.get("repo_id")),
    ]
    return "\n".join(lines)


def write_model_card(model: Any, into: Path, directory: str | Path, training: Mapping[str, Any] | None) -> None:
    """Write ``model``'s card to ``into/README.md``, naming ``directory`` (where the export will live) in it."""
    (into / CARD_FILE).write_text(render_model_card(model_facts(model), directory, training), encoding="utf-8")
