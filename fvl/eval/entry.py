"""What ``evaluate.py`` runs: load a model (exported directory or Lightning ``.ckpt``), set up devices and ranks,
build the benchmark requests from config, and hand them with a :class:`ModelPredictor` to ``evaluate_suite``."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from fvl.eval.predictor import ModelPredictor
from fvl.eval.suite import evaluate_suite
from fvl.models.florence_vl import FlorenceVL
from fvl.models.loading import load

log = logging.getLogger(__name__)


def load_model(checkpoint: str | Path) -> FlorenceVL:
    """An exported model directory, a run directory or a training ``.ckpt`` (:func:`fvl.models.loading.load`)."""
    try:
        return load(checkpoint)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"checkpoint={checkpoint}: {error}") from error


def setup_distributed() -> tuple[int, int]:
    """Join the process group that torchrun describes (if any). Returns (local rank, world size)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if world_size > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return local_rank, world_size


def pick_device(requested: str, local_rank: int) -> torch.device:
    if requested != "auto":
        return torch.device(requested)
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def benchmark_requests(cfg: DictConfig) -> list[dict[str, Any]]:
    """One request per name in ``cfg.benchmarks``: its local path, options and the global ``limit``."""
    names = [cfg.benchmarks] if isinstance(cfg.benchmarks, str) else list(cfg.benchmarks)
    paths = cfg.get("benchmark_paths") or {}
    options = OmegaConf.to_container(cfg.options, resolve=True)
    requests = []
    for name in names:
        request = {"name": name, "path": paths.get(name) or str(Path(cfg.benchmark_root) / name)}
        if cfg.get("limit") is not None:
            request["limit"] = cfg.limit
        request.update(options.get(name, {}))
        requests.append(request)
    return requests


def run_evaluation(cfg: DictConfig) -> None:
    local_rank, _ = setup_distributed()
    device = pick_device(cfg.device, local_rank)
    model = load_model(cfg.checkpoint).eval()
    model = model.to(device=device, dtype=getattr(torch, cfg.dtype) if cfg.get("dtype") else None)
    predictor = ModelPredictor(
        model,
        max_new_tokens=cfg.generation.max_new_tokens,
        device=device,
        input_format=OmegaConf.to_container(cfg.input_format, resolve=True),
    )
    settings = {"checkpoint": str(cfg.checkpoint), "batch_size": cfg.batch_size, **predictor.settings()}
    out_dir = HydraConfig.get().runtime.output_dir
    evaluate_suite(benchmark_requests(cfg), predictor, out_dir=out_dir, settings=settings, batch_size=cfg.batch_size)
    log.info("results written to %s", out_dir)
