"""The Hydra configs shipped inside the package (so an installed fvl, not only a clone, can compose them).

Groups mirror the object graph: ``model/{vision,llm,fusion,projector}``, ``stage``, ``data``, ``optim``, ``trainer``,
``logger``, ``callbacks``; ``experiment`` files are small diffs on ``train.yaml``. ``evaluate.yaml`` configures
evaluation.
"""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
