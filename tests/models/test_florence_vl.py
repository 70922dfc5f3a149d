"""FlorenceVL: visual-token splicing, placeholder checks, text-only batches, generation and export."""

import pytest
import torch

from fvl.models.florence_vl import FlorenceVL


def prompt_ids(model, question: str, with_image: bool) -> list[int]:
    content = ("<image>" * model.num_image_tokens if with_image else "") + question
    messages = [{"role": "user", "content": content}]
    return model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)["input_ids"]


def left_pad(model, rows):
    model.tokenizer.padding_side = "left"
    batch = model.tokenizer.pad({"input_ids": rows}, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


def test_visual_tokens_land_at_placeholders(make_vlm, image_size):
    model = make_vlm().eval()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    pixels = torch.randn(1, 3, image_size, image_size)
    embeds = model.embed_inputs(ids, pixels)
    visual = model.encode_images(pixels)[0]
    mask = ids[0] == model.image_token_id
    torch.testing.assert_close(embeds[0, mask], visual)
    torch.testing.assert_close(embeds[0, ~mask], model.llm.get_input_embeddings()(ids[0, ~mask]))


def test_placeholder_count_mismatch_names_the_sample(make_vlm, image_size):
    model = make_vlm()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    short = torch.cat([ids[:, :3], ids[:, 4:]], dim=1)  # one image token removed
    with pytest.raises(ValueError, match=r"'shapes-0042' has 16 image placeholder tokens .* 17"):
        model(short, pixel_values=torch.zeros(1, 3, image_size, image_size), sample_ids=["shapes-0042"])


def test_image_count_mismatch_raises(make_vlm, image_size):
    model = make_vlm()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    with pytest.raises(ValueError, match="1 rows contain <image> tokens but 2 images"):
        model(ids, pixel_values=torch.zeros(2, 3, image_size, image_size))


def test_text_only_batch_skips_vision(make_vlm):
    model = make_vlm()
    ids = torch.tensor([prompt_ids(model, "hello", False)])
    calls = []
    model.vision.register_forward_hook(lambda *args: calls.append(1))
    out = model(ids, labels=ids)
    assert calls == [] and torch.isfinite(out.loss)


def test_loss_backpropagates_to_every_trainable_part(make_vlm, image_size):
    model = make_vlm()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    model(ids, labels=ids, pixel_values=torch.randn(1, 3, image_size, image_size)).loss.backward()
    for part in (model.vision.vision_tower, model.vision.encoder, model.projector, model.llm):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters()), type(part).__name__


def test_frozen_vision_gets_no_gradient_but_projector_does(make_vlm, image_size):
    model = make_vlm()
    model.vision.requires_grad_(False)
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    model(ids, labels=ids, pixel_values=torch.randn(1, 3, image_size, image_size)).loss.backward()
    assert all(p.grad is None for p in model.vision.parameters())
    assert all(p.grad is not None for p in model.projector.parameters())


def test_batched_greedy_generation_equals_one_at_a_time(make_vlm, image_size):
    model = make_vlm(seed=3).eval()
    # Larger random weights make the untrained LM's greedy choices depend on its input.
    with torch.no_grad():
        for p in model.llm.parameters():
            p.mul_(8.0)
    questions = [("What colour is the shape?", True), ("hi", False), ("How many shapes are there in it?", True)]
    rows = [prompt_ids(model, q, img) for q, img in questions]
    pixels = torch.randn(2, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    ids, mask = left_pad(model, rows)
    batched = model.generate(ids, mask, pixels, max_new_tokens=8)
    image_of = {0: pixels[0:1], 2: pixels[1:2]}
    singles = []
    for i, row in enumerate(rows):
        out = model.generate(
            torch.tensor([row]), torch.ones(1, len(row), dtype=torch.long), image_of.get(i), max_new_tokens=8
        )
        singles.append(out[0])
        assert batched[i, : len(out[0])].tolist() == out[0].tolist()
    assert len({tuple(s.tolist()) for s in singles}) > 1, "all samples generated the same text: test is vacuous"


@pytest.mark.parametrize("fusion", ["channel_concat", "token_concat", "adaptive"])
def test_export_then_load_gives_identical_logits(make_vlm, image_size, tmp_path, fusion):
    model = make_vlm(fusion=fusion).eval()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    pixels = torch.randn(1, 3, image_size, image_size)
    model.save_pretrained(tmp_path)
    loaded = FlorenceVL.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, pixel_values=pixels).logits, model(ids, pixel_values=pixels).logits)
    assert loaded.num_image_tokens == model.num_image_tokens
    assert loaded.tokenizer.convert_tokens_to_ids("<image>") == model.image_token_id


def test_feature_norm_statistics_travel_with_the_export(make_vlm, image_size, tmp_path):
    model = make_vlm(feature_norm="batch").train()
    with torch.no_grad():  # update the running statistics away from their initial (0, 1)
        model.encode_images(torch.randn(4, 3, image_size, image_size))
    model.eval()
    ids = torch.tensor([prompt_ids(model, "What colour?", True)])
    pixels = torch.randn(1, 3, image_size, image_size)
    model.save_pretrained(tmp_path)
    loaded = FlorenceVL.from_pretrained(tmp_path).eval()
    assert loaded.fusion.feature_norm == "batch"
    torch.testing.assert_close(loaded.fusion.norms["depth"].running_mean, model.fusion.norms["depth"].running_mean)
    assert model.fusion.norms["depth"].running_mean.abs().sum() > 0
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids, pixel_values=pixels).logits, model(ids, pixel_values=pixels).logits)


def test_depth_only_model_runs_no_prompts(make_vlm, image_size):
    model = make_vlm(features=["depth"])
    assert model.vision.encoder is None and model.vision.prompts == {}
    assert model.projector[0].in_features == model.vision.feature_dim


def test_loading_a_non_export_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an exported fvl model"):
        FlorenceVL.from_pretrained(tmp_path)
