"""The frozen-feature cache: round trip, identical finetuning loss, key invalidation, refusal, and the CLI."""

import io

import pytest
import torch
from PIL import Image

from fvl.cache_features import main as cache_main
from fvl.data.collate import stack_features
from fvl.data.feature_store import FeatureStore, MissingFeaturesError, image_digest
from fvl.models.feature_cache import cache_fields, cache_key, check_vision_frozen, fill_cache, image_settings_of
from fvl.training.config import ConfigError
from fvl.training.factory import build_datamodule


def png(colour, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def frozen(model):
    model.vision.requires_grad_(False).eval()
    return model


def filled_store(tmp_path, model, images, dtype="float16"):
    settings = image_settings_of(model, "square")
    fields = cache_fields(model.vision, settings)
    store = FeatureStore(tmp_path / "cache", cache_key(fields))
    store.start(fields, dtype, list(model.vision.feature_names))
    assert fill_cache(model.vision, store, images, settings, batch_size=2, shard_images=2) == len(set(images))
    return store, settings


def pixels(model, settings, data: bytes) -> torch.Tensor:
    from fvl.data.images import ImageProcessor, load_image

    return ImageProcessor(settings)(load_image(data)).unsqueeze(0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_written_features_read_back_as_the_encoders(tmp_path, make_vlm, dtype):
    model = frozen(make_vlm())
    images = [png("red"), png("blue"), png("red")]  # a duplicate is encoded once
    store, settings = filled_store(tmp_path, model, images, dtype)
    assert len(list(store.directory.glob("shard-*.safetensors"))) == 1  # 2 distinct images, shards of 2
    fresh = FeatureStore(store.root, store.key)
    for data in images[:2]:
        cached = fresh.read(data, "s")
        with torch.no_grad():
            direct = model.vision(pixels(model, settings, data))
        assert set(cached) == {"depth", "caption", "ocr", "grounding"}
        for name, value in cached.items():
            assert value.dtype == getattr(torch, dtype)
            tolerance = 1e-2 if dtype == "float16" else 4e-2
            torch.testing.assert_close(value.float(), direct[name][0], atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("fusion", ["channel_concat", "token_concat", "average"])
def test_finetune_step_with_fp32_cache_gives_the_same_loss_and_gradients(tmp_path, make_vlm, fusion):
    model = frozen(make_vlm(fusion))
    images = [png("red"), png("green")]
    store, settings = filled_store(tmp_path, model, images, "float32")
    n = model.num_image_tokens
    input_ids = torch.randint(10, 300, (2, 1 + n + 5), generator=torch.Generator().manual_seed(0))
    input_ids[:, 1 : 1 + n] = model.image_token_id
    labels = input_ids.clone()
    labels[:, : 1 + n] = -100
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}
    pixel_values = torch.cat([pixels(model, settings, data) for data in images])
    features = stack_features([{"image_features": store.read(data, "s")} for data in images])

    def step(**images_given):
        model.zero_grad()
        loss = model(**batch, **images_given).loss
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.projector.parameters()]

    loss, grads = step(pixel_values=pixel_values)
    cached_loss, cached_grads = step(image_features=features)
    assert torch.equal(loss, cached_loss)
    assert all(torch.equal(a, b) for a, b in zip(grads, cached_grads, strict=True))


def test_key_changes_with_image_bytes_and_encoder_config(tmp_path, make_vlm):
    model = frozen(make_vlm())
    store, settings = filled_store(tmp_path, model, [png("red")])
    assert image_digest(png("red")) in store and image_digest(png("red", (41, 30))) not in store
    with pytest.raises(MissingFeaturesError, match="has no cached features.*python -m fvl.cache_features"):
        store.read(png("red", (41, 30)), "sample-7")
    key = store.key
    assert cache_key(cache_fields(model.vision, image_settings_of(model, "pad"))) != key
    with torch.no_grad():
        next(model.vision.parameters()).add_(1e-3)
    changed = FeatureStore(store.root, cache_key(cache_fields(model.vision, settings)))
    assert changed.key != key and image_digest(png("red")) not in changed
    with pytest.raises(MissingFeaturesError, match=f"other keys \\['{key}'\\]"):
        changed.check_ready()


def test_a_trainable_vision_tower_is_refused(make_vlm):
    model = make_vlm()
    with pytest.raises(ValueError, match="Florence-2 trains in this stage"):
        check_vision_frozen(model)
    features = {
        name: torch.zeros(1, model.vision.num_tokens, model.vision.feature_dim) for name in model.fusion.features
    }
    ids = torch.full((1, model.num_image_tokens), model.image_token_id)
    with pytest.raises(ValueError, match="trainable parameters"):
        model(input_ids=ids, image_features=features)


def test_cli_fills_the_cache_that_the_finetuning_data_reads(tmp_path, monkeypatch, capsys):
    from fvl.training.init_from import start_model
    from tests.training.compose_helpers import TINY_DEMO, compose_train

    overrides = [
        *TINY_DEMO,
        f"paths.root_dir={tmp_path}",
        f"data.feature_cache={tmp_path / 'fc'}",
        "data.synthetic.num_instruct=6",
        "data.synthetic.num_eval=2",
    ]
    assert cache_main(["--dtype", "float32", "--device", "cpu", *overrides]) == 0
    out = capsys.readouterr().out
    assert "projected size" in out and "Wrote the features of" in out
    cfg = compose_train(tmp_path, *overrides)
    torch.manual_seed(cfg.seed)  # train.py seeds before building: the tiny random model gets the CLI's weights
    model = frozen(start_model(dict(cfg.model)))
    datamodule = build_datamodule(cfg.data, model)
    datamodule.setup("fit")
    items = datamodule.datasets["train"][[0, 1]]
    assert all(
        item["pixel_values"] is None and set(item["image_features"]) == set(model.fusion.features) for item in items
    )
    batch = datamodule.collator(items)
    assert batch["pixel_values"] is None
    assert batch["image_features"]["depth"].shape == (2, model.vision.num_tokens, model.vision.feature_dim)
    assert torch.isfinite(
        model(**{k: batch[k] for k in ("input_ids", "attention_mask", "labels", "image_features")}).loss
    )
    torch.manual_seed(cfg.seed + 1)
    other = frozen(start_model(dict(cfg.model)))
    with pytest.raises(ConfigError, match="no entries for this model's encoder key"):
        build_datamodule(cfg.data, other)  # other weights: another key, refused with the fill command
    with pytest.raises(ConfigError, match="Florence-2 trains in this stage"):
        build_datamodule(cfg.data, start_model(dict(cfg.model)))
