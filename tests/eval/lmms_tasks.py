"""lmms-eval 0.7.3's own task code, for the parity tests: a task's ``utils.py`` (or another file) loaded by path.

Loading by path runs only that file's imports, not ``lmms_eval.tasks``' registry. The tests that use it start
with ``pytest.importorskip("lmms_eval")`` and are skipped without the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import lmms_eval

TASKS = Path(lmms_eval.__file__).parent / "tasks"


def task_utils(task: str, file: str = "utils.py") -> ModuleType:
    """The module ``lmms_eval/tasks/<task>/<file>``, freshly loaded."""
    path = TASKS / task / file
    spec = importlib.util.spec_from_file_location(f"lmms_task_{task}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
