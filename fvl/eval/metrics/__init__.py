"""Benchmark metrics as torchmetrics `Metric`s with the official scoring rules, and their registry."""

from fvl.eval.metrics.anls import ANLS, anls_score
from fvl.eval.metrics.base import BenchmarkMetric, ScoreMetric, nested_mean
from fvl.eval.metrics.choice_parser import option_letters, parse_choice
from fvl.eval.metrics.exact_match import ExactMatch
from fvl.eval.metrics.mmbench import MMBenchAccuracy
from fvl.eval.metrics.mme import MMEScore
from fvl.eval.metrics.mmmu import MMMUAccuracy
from fvl.eval.metrics.multiple_choice import MultipleChoiceAccuracy, choice_correct
from fvl.eval.metrics.ocrbench import OCRBenchScore, ocrbench_correct
from fvl.eval.metrics.pope import POPEMetric
from fvl.eval.metrics.registry import METRICS, build_metric, update_metric
from fvl.eval.metrics.relaxed_accuracy import RelaxedAccuracy, relaxed_correct
from fvl.eval.metrics.text import normalize_answer
from fvl.eval.metrics.vqa_accuracy import VQAAccuracy, vqa_score
from fvl.eval.metrics.vqa_normalize import normalize_vqa_answer
from fvl.eval.metrics.yes_no import parse_mme, parse_pope

__all__ = [
    "ANLS",
    "METRICS",
    "BenchmarkMetric",
    "ExactMatch",
    "MMBenchAccuracy",
    "MMEScore",
    "MMMUAccuracy",
    "MultipleChoiceAccuracy",
    "OCRBenchScore",
    "POPEMetric",
    "RelaxedAccuracy",
    "ScoreMetric",
    "VQAAccuracy",
    "anls_score",
    "build_metric",
    "choice_correct",
    "nested_mean",
    "normalize_answer",
    "normalize_vqa_answer",
    "ocrbench_correct",
    "option_letters",
    "parse_choice",
    "parse_mme",
    "parse_pope",
    "relaxed_correct",
    "update_metric",
    "vqa_score",
]
