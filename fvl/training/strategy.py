"""Lightning strategies from the ``trainer.strategy`` config node: a plain name, or a mapping with ``name``.

* a string (``auto``, ``ddp``, ...) is passed to the Trainer unchanged;
* ``{name: ddp, ...}``: :class:`DDPStrategy` with the remaining keys (e.g. ``process_group_backend: gloo``);
* ``{name: fsdp, sharding_strategy, activation_checkpointing, ...}``: :class:`FSDPStrategy`, one FSDP unit per
  LLM decoder layer (the Hugging Face models' ``_no_split_modules``) and per Florence-2 block (DaViT
  ``Florence2VisionBlock``, ``BartEncoderLayer``), so frozen and trainable parameters sit in separate units;
  ``use_orig_params`` keeps per-parameter ``requires_grad`` and named parameter groups; full state dicts
  are saved (one ``.ckpt`` file); ``activation_checkpointing: true`` checkpoints the same blocks;
* ``{name: deepspeed, stage: 2|3, ...}``: :class:`DeepSpeedStrategy` (ZeRO-2 / ZeRO-3; needs ``deepspeed``).

:data:`STRATEGIES` is the ``strategy`` axis of :mod:`fvl.registry`: an entry is a factory
``(model, options) -> Strategy`` (``options``: the mapping's keys other than ``name``), registered with
``@STRATEGIES.register("<name>")`` and picked by ``trainer.strategy={name: <name>, ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lightning.pytorch.strategies import DDPStrategy, DeepSpeedStrategy, FSDPStrategy, Strategy
from torch import nn
from transformers import PreTrainedModel

from fvl.models.vision import VisionEncoder
from fvl.registry import Registry

StrategyFactory = Callable[[nn.Module, dict[str, Any]], Strategy]
STRATEGIES: Registry[StrategyFactory] = Registry("strategy", "trainer.strategy.name")


def block_classes(model: nn.Module) -> set[type[nn.Module]]:
    """Classes of the repeated blocks: those every vision encoder declares (``block_class_names``, see
    :mod:`fvl.models.vision`) plus every Hugging Face submodel's ``_no_split_modules``."""
    names: set[str] = set()
    for module in model.modules():
        if isinstance(module, VisionEncoder):
            names.update(module.block_class_names)
        elif isinstance(module, PreTrainedModel):
            names.update(module._no_split_modules or ())
    classes = {type(m) for m in model.modules() if type(m).__name__ in names}
    if not classes:
        raise ValueError(f"No block classes {sorted(names)} found in the model; FSDP would wrap nothing.")
    return classes


@STRATEGIES.register("ddp")
def _ddp(model: nn.Module, options: dict[str, Any]) -> Strategy:
    return DDPStrategy(**options)


@STRATEGIES.register("fsdp")
def _fsdp(model: nn.Module, options: dict[str, Any]) -> Strategy:
    blocks = block_classes(model)
    checkpointing = options.pop("activation_checkpointing", False)
    return FSDPStrategy(
        auto_wrap_policy=blocks,
        activation_checkpointing_policy=blocks if checkpointing else None,
        use_orig_params=True,
        state_dict_type="full",
        **options,
    )


@STRATEGIES.register("deepspeed")
def _deepspeed(model: nn.Module, options: dict[str, Any]) -> Strategy:
    if options.get("stage") not in (1, 2, 3):
        raise ValueError(f"trainer.strategy.stage must be a ZeRO stage 1, 2 or 3, got {options.get('stage')!r}.")
    return DeepSpeedStrategy(**options)


def build_strategy(spec: str | Mapping[str, Any] | None, model: nn.Module) -> str | Strategy:
    """The Trainer's ``strategy`` argument for ``spec``; ``model`` (the FlorenceVL) decides FSDP's units."""
    if spec is None or isinstance(spec, str):
        return spec or "auto"
    options = dict(spec)
    name = options.pop("name", None)
    return STRATEGIES.get(name)(model, options)  # an unknown name raises naming the registered strategies
