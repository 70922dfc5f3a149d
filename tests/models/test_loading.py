"""The real loading paths, exercised on local directories: Florence-2 + an LLM saved in Hugging Face layout."""

import pytest
import torch

from fvl.models.builder import build_florence_vl, build_llm
from fvl.models.spec import LLMSpec


def test_builds_from_local_florence_and_llm_directories(florence_dir, tmp_path, image_size):
    torch.manual_seed(0)
    llm, tokenizer = build_llm(LLMSpec(tiny=True, hidden_size=32))
    llm_dir = tmp_path / "llm"
    llm.save_pretrained(llm_dir)
    tokenizer.save_pretrained(llm_dir)

    model = build_florence_vl(
        {"name_or_path": str(florence_dir), "image_size": image_size},
        {"name_or_path": str(llm_dir)},
        {"name": "channel_concat"},
        "mlp3x_gelu",
    )
    assert model.num_image_tokens == 17
    torch.testing.assert_close(model.llm.lm_head.weight, llm.lm_head.weight)
    # The image token survives the round trip as one special token with the same id.
    assert model.image_token_id == tokenizer.convert_tokens_to_ids("<image>")
    assert len(model.tokenizer("<image>", add_special_tokens=False)["input_ids"]) == 1


def test_fusion_subset_runs_only_its_prompts(florence_dir, image_size):
    model = build_florence_vl(
        {"name_or_path": str(florence_dir), "image_size": image_size},
        {"tiny": True, "hidden_size": 32},
        {"name": "channel_concat", "features": ["depth", "ocr"]},
    )
    assert list(model.vision.prompts) == ["ocr"]
    assert model.vision.prompt_ids.shape[0] == 1
    assert model.projector[0].in_features == 2 * model.vision.feature_dim


def test_quantization_needs_a_gpu_and_names_the_fix(tmp_path):
    from fvl.models.language_model import quantization_config

    with pytest.raises(ValueError, match="unknown; use null or 4bit"):
        quantization_config("8bit")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="needs a CUDA GPU and bitsandbytes"):
            quantization_config("4bit")
    with pytest.raises(ValueError, match="tiny LLM is random"):
        LLMSpec(tiny=True, hidden_size=32, quantization="4bit")
