"""Fixtures for model tests: a tiny random Florence-2 saved in the Hugging Face layout, and a tiny FlorenceVL."""

import pytest
import torch
from transformers import Florence2ForConditionalGeneration

from fvl.models.builder import build_florence_vl
from fvl.models.tiny import tiny_florence_config, tiny_florence_tokenizer

IMAGE_SIZE = 128  # 4×4 grid + 1 global token = 17 visual tokens


@pytest.fixture(scope="session")
def florence_dir(tmp_path_factory):
    """A full tiny Florence2ForConditionalGeneration (decoder included) saved like a hub checkpoint."""
    torch.manual_seed(0)
    tokenizer = tiny_florence_tokenizer()
    config = tiny_florence_config(tokenizer.convert_tokens_to_ids("<image>"), len(tokenizer))
    path = tmp_path_factory.mktemp("florence2")
    Florence2ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def hf_florence(florence_dir):
    return Florence2ForConditionalGeneration.from_pretrained(florence_dir).eval()


@pytest.fixture
def make_vlm():
    """Factory: a tiny FlorenceVL (random weights, seeded) with the given fusion."""

    def make(fusion: str = "channel_concat", features=None, seed: int = 0, feature_norm=None):
        torch.manual_seed(seed)
        return build_florence_vl(
            {"tiny": True, "image_size": IMAGE_SIZE},
            {"tiny": True, "hidden_size": 64},
            {"name": fusion, "features": features, "feature_norm": feature_norm},
            "mlp2x_gelu",
        )

    return make


@pytest.fixture
def image_size():
    return IMAGE_SIZE
