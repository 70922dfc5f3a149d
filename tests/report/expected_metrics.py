"""The metric columns of the fake fusion sweep (conftest.py), optimized metric first (imported by the tests)."""

FUSION_METRICS = [
    "val/answer_accuracy",
    "val/answer_accuracy/color",
    "val/answer_accuracy/shape",
    "val/chance",
    "val/loss",
    "val/question_only_baseline",
]
