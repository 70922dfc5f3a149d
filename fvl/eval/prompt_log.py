"""Showing, once as each benchmark starts, its first prompt exactly as the model is given it.

A predictor that can render its prompts (:class:`PromptRenderer`, e.g. :class:`fvl.eval.predictor.ModelPredictor`)
shows the full text after the chat template or plain rendering; any other ``predict`` callable shows the
question text it receives.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from fvl.eval.benchmarks import Benchmark
from fvl.eval.sample import EvalSample

logger = logging.getLogger(__name__)


@runtime_checkable
class PromptRenderer(Protocol):
    """A predictor that can show the text prompt it builds for a sample and how it builds it."""

    def render_prompt(self, sample: EvalSample) -> str: ...

    def describe_input(self) -> str: ...


def log_first_prompt(benchmark: Benchmark, samples: Sequence[EvalSample], predict: object) -> None:
    """Log the prompt of `samples[0]` as `predict` gives it to the model, with the benchmark's suffix and the
    predictor's input format."""
    if not len(samples):
        return
    sample = samples[0]
    if isinstance(predict, PromptRenderer):
        text, input_side = predict.render_prompt(sample), predict.describe_input()
    else:
        text, input_side = sample.question, "the predict function's own rendering, shown here as the question text"
    logger.info(
        "%s: first prompt as the model is given it (benchmark: %s; model input: %s):\n%s",
        benchmark.name,
        benchmark.describe_prompt(),
        input_side,
        text,
    )
