"""What ``evaluate.py`` runs: build the benchmark requests from config and check them all, then load a model
(exported directory or Lightning ``.ckpt``), set up devices and ranks, and hand the requests (a custom benchmark
given the model's prompt suffix) with a :class:`ModelPredictor` to ``evaluate_suite``, with the fingerprint of
the model and its generation settings and where ``resume`` looks for predictions to reuse. Under torchrun every
rank writes into rank 0's run directory."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from fvl.distributed import in_process_group, launched_world_size, local_rank
from fvl.eval.checks import BenchmarkSetupError, plan_benchmarks
from fvl.eval.fingerprint import model_fingerprint
from fvl.eval.predictor import ModelPredictor
from fvl.eval.ranks import from_main, pick_device
from fvl.eval.requests import COMMAND_LINE_FIXES, benchmark_requests, with_model_suffix
from fvl.eval.reuse import reuse_dirs
from fvl.eval.suite import evaluate_suite
from fvl.models.florence_vl import FlorenceVL
from fvl.models.loading import load
from fvl.registry import import_plugins

log = logging.getLogger(__name__)


def load_model(checkpoint: str | Path, dtype: str | None = None) -> FlorenceVL:
    """An exported model directory, a run directory or a training ``.ckpt`` (:func:`fvl.models.loading.load`), in
    ``dtype`` when given (an export is read straight into it: an 8B model in bfloat16 never exists in float32).
    What ``load`` refuses — no model there, a damaged or foreign file, non-finite weights — is a
    :class:`BenchmarkSetupError` naming ``checkpoint=`` and the fix, without a traceback."""
    try:
        return load(checkpoint, **({"dtype": dtype} if dtype else {}))
    except (FileNotFoundError, ValueError) as error:
        raise BenchmarkSetupError(f"checkpoint={checkpoint}: {error}") from error


def setup_distributed() -> tuple[int, int]:
    """Join the process group that torchrun describes (if any). Returns (local rank, world size)."""
    world_size = launched_world_size()
    if world_size > 1 and not in_process_group():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return local_rank(), world_size


def run_evaluation(cfg: DictConfig) -> None:
    try:
        import_plugins(cfg.get("imports") or ())  # modules registering benchmarks/metrics (fvl/registry.py)
    except ValueError as error:
        raise BenchmarkSetupError(str(error)) from None
    requests = benchmark_requests(cfg)
    plan_benchmarks(requests, COMMAND_LINE_FIXES)  # names, settings and local copies, before any model is loaded
    rank_on_node, _ = setup_distributed()
    device = pick_device(cfg.device, rank_on_node)
    out_dir = Path(from_main(HydraConfig.get().runtime.output_dir))  # one run directory for every rank
    try:
        resume_from = reuse_dirs(cfg.get("resume", True), out_dir, Path(cfg.paths.log_dir) / cfg.task_name)
    except FileNotFoundError as error:
        raise BenchmarkSetupError(str(error)) from None
    model = load_model(cfg.checkpoint, cfg.get("dtype")).eval()
    model = model.to(device=device, dtype=getattr(torch, cfg.dtype) if cfg.get("dtype") else None)
    override = OmegaConf.to_container(cfg.input_format, resolve=True)
    max_new_tokens = cfg.generation.max_new_tokens
    predictor = ModelPredictor(model, max_new_tokens=max_new_tokens, device=device, input_format=override)
    requests = with_model_suffix(requests, model.input_format, override)
    generation = {**predictor.settings(), "dtype": cfg.get("dtype")}
    settings = {"checkpoint": str(cfg.checkpoint), "batch_size": cfg.batch_size, **generation}
    evaluate_suite(
        requests,
        predictor,
        out_dir=out_dir,
        settings=settings,
        batch_size=cfg.batch_size,
        fingerprint=model_fingerprint(cfg.checkpoint, generation),
        reuse_dirs=resume_from,
        hints=COMMAND_LINE_FIXES,
    )
    log.info("results written to %s", out_dir)
