"""evaluate.py's mappings keyed by the user's names, open to new keys without Hydra's ``+``.

Hydra composes fvl/conf/evaluate.yaml in struct mode, which closes every mapping: ``benchmark_paths.custom=x``
would fail with "Key 'custom' is not in struct". ``benchmark_paths`` and ``options`` are keyed by benchmark
names and ``input_format`` by the model's input-format keys, so the node registered here (first in the config's
defaults) marks those three open; every other key stays closed, so a typo such as ``batch_sise=4`` still fails.
Importing this module registers the node (evaluate.py does).
"""

from __future__ import annotations

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

OPEN_MAPPINGS = ("benchmark_paths", "options", "input_format")
NODE_NAME = "evaluate_open_mappings"


def open_mappings() -> DictConfig:
    """A config holding the empty, open (non-struct) mappings that fvl/conf/evaluate.yaml then fills."""
    node = OmegaConf.create({key: {} for key in OPEN_MAPPINGS})
    for key in OPEN_MAPPINGS:
        OmegaConf.set_struct(node[key], False)
    return node


ConfigStore.instance().store(name=NODE_NAME, node=open_mappings())
