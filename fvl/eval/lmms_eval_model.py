"""fvl as an lmms-eval 0.7.3 model: ``python -m lmms_eval --model fvl --model_args pretrained=<model> --tasks pope``.

Installing fvl registers :func:`manifest` in the entry-point group ``lmms_eval.models`` (``pyproject.toml``), so
lmms-eval finds the model by name without a plugin path. ``pretrained`` is anything :func:`fvl.models.loading.load`
accepts: an exported model directory (``save_pretrained``, ``python -m fvl.convert``), a run directory or a
training ``.ckpt``.

Requests are answered by :class:`fvl.eval.predictor.ModelPredictor`, the predictor ``evaluate.py`` uses: the same
prompt encoding (the model's recorded chat format and system prompt, its image placed as training placed it),
image preprocessing and batched, KV-cached greedy decoding. The task's prompt text (``doc_to_text``) is the question;
its first image (``doc_to_visual``) is the image — the model is single-image, as in ``evaluate.py``. From the
task's ``generation_kwargs`` fvl takes ``max_new_tokens`` and ``until`` (the reply is cut at the first stop
string); decoding stays greedy unless the task asks for sampling (``do_sample`` or a temperature above 0).

Model arguments: ``pretrained`` (required), ``dtype`` (e.g. ``bfloat16``; default: the checkpoint's) and
``max_new_tokens`` (overrides every task's). lmms-eval's own ``--batch_size`` sets the batch (its default is 1;
``auto`` means 16, or ``--max_batch_size``) and ``--device`` the device (default ``auto``: ``cuda:<LOCAL_RANK>``
when CUDA is available, else ``cpu``). Multi-GPU: ``accelerate launch -m lmms_eval …`` — lmms-eval shards
the requests over ranks itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import torch
from lmms_eval.api.model import lmms

from fvl.distributed import local_rank
from fvl.eval.predictor import ModelPredictor
from fvl.eval.ranks import pick_device
from fvl.eval.sample import EvalSample
from fvl.models.loading import load

log = logging.getLogger(__name__)

MODEL_NAME = "fvl"
MODEL_ARGS = ("pretrained", "dtype", "max_new_tokens")
AUTO_BATCH_SIZE = 16


def manifest() -> Any:
    """The entry point lmms-eval loads: fvl's model under the name ``fvl``."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_NAME, simple_class_path=f"{__name__}.FlorenceVLForLmmsEval")


def cut_at_stop(reply: str, until: Sequence[str]) -> str:
    """The reply up to the first occurrence of any stop string (lmms-eval's ``until``), stripped."""
    for stop in until:
        if stop:
            reply = reply.split(stop, 1)[0]
    return reply.strip()


def decoding_options(gen_kwargs: dict[str, Any], max_new_tokens: int | None) -> tuple[dict[str, Any], list[str]]:
    """``generate`` options and stop strings from a task's ``generation_kwargs`` (module docstring)."""
    until = gen_kwargs.get("until") or []
    until = [until] if isinstance(until, str) else list(until)
    options: dict[str, Any] = {"max_new_tokens": int(max_new_tokens or gen_kwargs.get("max_new_tokens") or 64)}
    temperature = float(gen_kwargs.get("temperature") or 0.0)
    if gen_kwargs.get("do_sample") or temperature > 0:
        options.update(do_sample=True, temperature=temperature or 1.0)
        if gen_kwargs.get("top_p") is not None:
            options["top_p"] = float(gen_kwargs["top_p"])
    return options, until


class FlorenceVLForLmmsEval(lmms):
    """A trained FlorenceVL answering lmms-eval ``generate_until`` requests (module docstring)."""

    is_simple = True

    def __init__(
        self,
        pretrained: str,
        batch_size: int | str = 1,
        max_batch_size: int | None = None,
        device: str = "auto",
        dtype: str | None = None,
        max_new_tokens: int | str | None = None,
        **unknown: Any,
    ) -> None:
        super().__init__()
        if unknown:
            raise ValueError(
                f"fvl model: unknown --model_args {sorted(unknown)}; it takes {', '.join(MODEL_ARGS)} "
                "(e.g. --model_args pretrained=runs/x/model,dtype=bfloat16); the batch size is lmms-eval's --batch_size"
            )
        self._device = pick_device(str(device), local_rank())
        model = load(pretrained, **({"dtype": dtype} if dtype else {}))
        self.model = model.to(device=self._device, dtype=getattr(torch, dtype) if dtype else None).eval()
        auto = str(batch_size).startswith("auto")
        self.batch_size = int(max_batch_size or AUTO_BATCH_SIZE) if auto else int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"fvl model: --batch_size {batch_size}; give a positive number or auto")
        self.max_new_tokens = int(max_new_tokens) if max_new_tokens not in (None, "") else None
        self.pretrained = pretrained

    @property
    def device(self) -> torch.device:
        return self._device

    def generate_until(self, requests: list[Any]) -> list[str]:
        """Replies in request order, generated in batches of requests sharing their generation settings."""
        replies: list[str | None] = [None] * len(requests)
        by_settings: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            by_settings.setdefault(json.dumps(request.args[1], sort_keys=True, default=str), []).append(index)
        for indices in by_settings.values():
            gen_kwargs = dict(requests[indices[0]].args[1])
            options, until = decoding_options(gen_kwargs, self.max_new_tokens)
            predictor = ModelPredictor(self.model, device=self._device, **options)
            # longest prompts first, as lmms-eval's own models batch, so that a batch pads little
            indices = sorted(indices, key=lambda i: -len(requests[i].args[0]))
            for start in range(0, len(indices), self.batch_size):
                chunk = indices[start : start + self.batch_size]
                answers = predictor([self._sample(requests[i]) for i in chunk])
                for i, answer in zip(chunk, answers, strict=True):
                    replies[i] = cut_at_stop(answer, until)
        return [reply if reply is not None else "" for reply in replies]

    def _sample(self, request: Any) -> EvalSample:
        context, _, doc_to_visual, doc_id, task, split = request.args
        visuals = doc_to_visual(self.task_dict[task][split][doc_id]) if doc_to_visual is not None else []
        images = [visual for visual in (visuals or []) if visual is not None]
        if len(images) > 1:
            log.warning("%s doc %s has %d images; the model sees the first (single-image)", task, doc_id, len(images))
        image = images[0].convert("RGB") if images else None
        return EvalSample(id=f"{task}/{doc_id}", image=image, question=context)

    def loglikelihood(self, requests: list[Any]) -> list[tuple[float, bool]]:
        raise NotImplementedError(
            "fvl's lmms-eval model answers generate_until tasks only; loglikelihood tasks (multiple choice scored by "
            "option likelihood) are not supported — use the task's generation variant"
        )

    def generate_until_multi_round(self, requests: list[Any]) -> list[str]:
        raise NotImplementedError("fvl's lmms-eval model answers single-round generate_until tasks only")
