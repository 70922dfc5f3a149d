"""The benchmark requests of ``evaluate.py``'s config: one per name, how its command line fixes a failed check,
and the prompt suffix a ``custom`` benchmark takes from the model.

A model records in ``input_format["prompt_suffix"]`` the instruction its training data appended to questions
(e.g. LLaVA's "\\nAnswer the question using a single word or phrase."). Registered benchmarks keep their own
(lmms-eval's) suffixes; a ``custom`` benchmark has none of its own, so it asks in the form the model was trained
on unless ``options.custom={suffix: ...}`` says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fvl.eval.checks import FixHints

logger = logging.getLogger(__name__)

COMMAND_LINE_FIXES = FixHints(
    path="benchmark_paths.{name}=<folder or file of its local copy>, or benchmark_root=<folder that holds {name}/>",
    split="options.{name}={{split: <name>}} with one of the splits found",
    settings="options.{name}={{<field>: <value>, ...}}, e.g. options.custom={{metric: vqa_accuracy}}",
    fields="options.{name}={{question: <field>, answers: <field>, image: <field, or null for text only>, ...}}",
)


def benchmark_requests(cfg: DictConfig) -> list[dict[str, Any]]:
    """One request per name in ``cfg.benchmarks``: its local path, options and the global ``limit``."""
    names = [cfg.benchmarks] if isinstance(cfg.benchmarks, str) else list(cfg.benchmarks)
    paths = cfg.get("benchmark_paths") or {}
    options = OmegaConf.to_container(cfg.options, resolve=True)
    unused = sorted(set(options) - set(names))
    if unused:
        logger.warning("options for %s are not used: they are not in benchmarks=%s", unused, names)
    requests = []
    for name in names:
        request = {"name": name, "path": paths.get(name) or str(Path(cfg.benchmark_root) / name)}
        if cfg.get("limit") is not None:
            request["limit"] = cfg.limit
        request.update(options.get(name, {}))
        requests.append(request)
    return requests


def with_model_suffix(
    requests: Sequence[Mapping[str, Any]], model_format: Mapping[str, Any], override: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The requests, a ``custom`` one given the prompt suffix the model was trained with when it sets none.

    ``model_format`` is the model's recorded ``input_format``, ``override`` the config's ``input_format``
    (its ``prompt_suffix``, when given, wins over the model's). Logs which suffix a custom benchmark uses.
    """
    out = [dict(request) for request in requests]
    for request in out:
        if request["name"] != "custom":
            continue
        if "suffix" in request:
            logger.info("custom: prompt suffix %r from options.custom.suffix", request["suffix"])
            continue
        given = "prompt_suffix" in override
        suffix = override["prompt_suffix"] if given else model_format.get("prompt_suffix")
        source = "input_format.prompt_suffix=" if given else "the model's input_format.prompt_suffix"
        if suffix:
            request["suffix"] = suffix
            trained = "" if given else " (how it was trained)"
            logger.info(
                "custom: prompt suffix %r from %s%s; options.custom={suffix: ...} sets another", suffix, source, trained
            )
        else:
            logger.info("custom: no prompt suffix (%s is unset); options.custom={suffix: ...} sets one", source)
    return out
