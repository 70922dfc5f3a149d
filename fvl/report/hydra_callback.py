"""The Hydra callback that writes the sweep report into the sweep dir when a multirun ends.

Registered in fvl/conf/hydra/default.yaml (``hydra.callbacks.sweep_report``). Hydra calls ``on_multirun_end`` once
every job has returned, for the basic sweeper and Optuna's alike; it is not called when a job's exception
ends the sweep early, so regenerate with ``python -m fvl.report <sweep dir>`` then. Writing the report never
fails a finished sweep: an error becomes a warning naming that command.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class SweepReport(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = None
        try:
            # Resolved as the sweeper resolved it: Hydra caches ${now:...} per config object.
            sweep_dir = OmegaConf.select(config, "hydra.sweep.dir", throw_on_missing=True)
            # Imported here so that matplotlib loads only when a sweep ends, and an import error is caught too.
            from fvl.report.writer import write_report

            files = write_report(sweep_dir)
        except Exception as error:  # the sweep has finished: its report must not fail it
            log.warning(
                "No sweep report (%s: %s); regenerate it with: python -m fvl.report %s",
                type(error).__name__,
                error,
                sweep_dir or "<sweep dir>",
            )
            return
        log.info("Sweep report: %s", ", ".join(str(path) for path in files))
