"""Answer accuracy on the synthetic held-out split, measured at every validation by greedy generation.

Uses the evaluation package as ``evaluate.py`` does — the ``synthetic`` benchmark (``eval.json`` of
:mod:`fvl.data.synthetic.generate`), :class:`~fvl.eval.predictor.ModelPredictor` (prompts encoded as in training,
left-padded, greedy) and :func:`fvl.eval.runner.evaluate` (normalised exact match, sharded over ranks) — so
the number in training equals the number ``evaluate.py`` gives for the exported model.

Logged: ``val/answer_accuracy``, ``val/answer_accuracy/<question type>``, ``val/question_only_baseline``
(computed by the benchmark on the same samples) and ``val/chance`` (from the generator's stats file); the
two references are constants, logged beside the accuracy so the progress bar, the CSV log and
``metrics.json`` all show the comparison.

On rank zero each validation also draws ``<run dir>/answer_accuracy.png`` (the run dir: the trainer's
``default_root_dir``): a bar per question type beside that type's chance and question-only baseline, with the
values in ``answer_accuracy.json`` beside it (:mod:`fvl.report.accuracy_bars`).
"""

from __future__ import annotations

from pathlib import Path

from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.strategies import DeepSpeedStrategy, FSDPStrategy
from lightning.pytorch.utilities import rank_zero_info

from fvl.eval.benchmarks.synthetic import SyntheticBenchmark
from fvl.eval.predictor import ModelPredictor
from fvl.eval.runner import evaluate
from fvl.eval.sample_set import SampleSet
from fvl.report.accuracy_bars import read_chance, write_answer_accuracy
from fvl.report.figures import try_drawing

REFERENCE_LABELS = {"val/chance": "chance", "val/question_only_baseline": "question-only baseline"}


class AnswerAccuracy(Callback):
    """Greedy-generation exact-match accuracy on ``eval_file`` after each validation epoch (see module docstring)."""

    # What it logs, for the up-front check of ``optimized_metric`` (fvl.training.config).
    logged_metrics = ("val/answer_accuracy", "val/question_only_baseline", "val/chance")

    def __init__(
        self,
        eval_file: str | Path,
        stats_file: str | Path | None = None,
        batch_size: int = 64,
        max_new_tokens: int = 8,
        limit: int | None = None,
    ) -> None:
        self.eval_file = Path(eval_file)
        self.stats_file = Path(stats_file) if stats_file else None
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.limit = limit
        self.benchmark = SyntheticBenchmark()
        self._samples: SampleSet | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if isinstance(trainer.strategy, (FSDPStrategy, DeepSpeedStrategy)):
            raise ValueError(
                "callbacks.answer_accuracy generates with full weights on every rank, which sharded strategies "
                "(FSDP, DeepSpeed) do not hold; use callbacks=default and evaluate the exported model instead."
            )

    def samples(self) -> SampleSet:
        if self._samples is None:
            self._samples = self.benchmark.load(self.eval_file, limit=self.limit)
        return self._samples

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        predictor = ModelPredictor(pl_module.model, max_new_tokens=self.max_new_tokens, device=pl_module.device)
        scores = evaluate(self.benchmark, self.samples(), predictor, batch_size=self.batch_size).scores
        logged = {f"val/answer_{name}": value for name, value in scores.items() if name.startswith("accuracy")}
        logged["val/question_only_baseline"] = scores["question_only_baseline"]
        chance = read_chance(self.stats_file) if self.stats_file is not None else {}
        if chance:
            logged["val/chance"] = chance["chance"]
        for name, value in logged.items():
            pl_module.log(name, value, prog_bar=name == "val/answer_accuracy")
        extras = [f"{label} {logged[key]:.3f}" for key, label in REFERENCE_LABELS.items() if key in logged]
        rank_zero_info(f"step {trainer.global_step}: answer accuracy {scores['accuracy']:.3f} ({', '.join(extras)})")
        if trainer.is_global_zero:
            shown = {**scores, **chance}
            draw = lambda: write_answer_accuracy(trainer.default_root_dir, shown, trainer.global_step)
            try_drawing("the answer-accuracy bars", draw)
