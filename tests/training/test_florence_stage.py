"""stage=florence: Florence-2 learns to caption its own features, each prompt's feature its own task; the
connector and the LLM do not move."""

import pytest
import torch

from fvl.constants import IGNORE_INDEX
from fvl.models.caption_decoder import features_read, task_of, text_rows
from fvl.models.florence_vl import FlorenceVL


def test_text_rows_drop_image_and_pad_positions_and_keep_the_order():
    image, pad, no = 9, 0, IGNORE_INDEX
    input_ids = torch.tensor([[1, image, image, 4, 5, pad], [1, image, image, 6, 7, 8]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
    labels = torch.tensor([[no, no, no, no, 5, no], [no, no, no, no, 7, 8]])
    tokens, targets = text_rows(input_ids, mask, labels, image)
    assert tokens.tolist() == [[1, 4, 5, no], [1, 6, 7, 8]]
    assert targets.tolist() == [[no, no, 5, no], [no, no, 7, 8]]


def test_only_florence_and_the_caption_decoder_train_and_the_export_drops_the_decoder(tiny, tmp_path):
    module = tiny.module("florence")
    before = {name: value.clone() for name, value in module.model.state_dict().items()}
    batch = tiny.batch(module.model, seed=0)  # the batch it trains on
    with torch.no_grad():
        first = module(batch).loss.item()
    tiny.trainer(30).fit(module, train_dataloaders=tiny.batches(module.model, 1))
    module.eval()
    with torch.no_grad():
        assert module(batch).loss.item() < 0.5 * first  # it learns to caption this batch
    after = module.model.state_dict()
    changed = {name.split(".")[0] for name in before if not torch.equal(before[name], after[name])}
    assert changed == {"vision"}, changed
    module.model.save_pretrained(tmp_path)
    loaded = FlorenceVL.from_pretrained(tmp_path)
    torch.testing.assert_close(loaded.vision.state_dict(), module.model.vision.state_dict())


def test_the_florence_stage_refuses_a_frozen_florence_and_image_free_batches(tiny):
    with pytest.raises(ValueError, match="trains Florence-2"):
        tiny.module("florence").check_frozen(["vision"])
    module = tiny.module("florence")
    batch = {key: value for key, value in tiny.batch(module.model).items() if key != "pixel_values"}
    with pytest.raises(ValueError, match="has none"):
        module(batch)


PROMPTS = {"caption": "Describe the picture.", "ocr": "What is the text?", "grounding": "Locate the objects."}


def test_a_rows_task_is_the_prompt_it_asks_and_it_reads_that_prompts_feature():
    assert task_of("<|user|>\nWhat is the text?<|end|>", PROMPTS) == "ocr"
    assert task_of("Describe the image.", PROMPTS) is None
    assert task_of("x", {**PROMPTS, "short": "", "ocr2": "What is the text? Now."}) is None
    assert task_of("What is the text? Now.", {**PROMPTS, "ocr2": "What is the text? Now."}) == "ocr2"  # longest
    names = ["depth", "caption", "ocr"]
    reads = features_read(["ocr", None, "grounding"], names)  # a task: depth and its prompt's feature, if run
    assert reads.tolist() == [[True, False, True], [True, True, True], [True, False, False]]
    assert features_read(["ocr"], ["caption", "ocr"]).tolist() == [[False, True]]
    assert features_read(["grounding"], ["caption", "ocr"]).tolist() == [[True, True]]  # neither run: all of them


def _asked(model, question: str, answer: str):
    """One row ``[bos, <image>×N, question, answer]`` with the answer supervised, as text_rows gives it."""
    tokenizer = model.tokenizer
    asked, said = tokenizer(question, add_special_tokens=False).input_ids, tokenizer(answer).input_ids
    tokens = torch.tensor([asked + said])
    targets = torch.tensor([[IGNORE_INDEX] * len(asked) + said])
    return tokens, targets


def test_a_task_row_is_decoded_from_its_prompts_feature_alone(tiny):
    module = tiny.module("florence")
    ocr_prompt = module.model.vision.prompts["ocr"]
    ocr_tokens, ocr_targets = _asked(module.model, f"\n{ocr_prompt}\n", "cat")
    caption_tokens, caption_targets = _asked(module.model, "\n", "A red circle.")
    assert module.row_tasks(ocr_tokens, ocr_targets) == ["ocr"]
    assert module.row_tasks(caption_tokens, caption_targets) == [None]
    module.eval()  # the memory norm's running statistics: one row's loss does not depend on the others
    generator = torch.Generator().manual_seed(0)
    features = {
        name: torch.randn(2, module.model.vision.num_tokens, 64, generator=generator)
        for name in ("depth", "caption", "ocr", "grounding")
    }
    other = {name: value if name in ("depth", "ocr") else torch.randn_like(value) for name, value in features.items()}
    moved_ocr = {**features, "ocr": torch.randn_like(features["ocr"])}
    pad = max(ocr_tokens.shape[1], caption_tokens.shape[1])
    tokens = torch.full((2, pad), IGNORE_INDEX)
    targets = torch.full((2, pad), IGNORE_INDEX)
    tokens[0, : ocr_tokens.shape[1]], targets[0, : ocr_targets.shape[1]] = ocr_tokens[0], ocr_targets[0]
    tokens[1, : caption_tokens.shape[1]], targets[1, : caption_targets.shape[1]] = caption_tokens[0], caption_targets[0]
    reads = features_read(module.row_tasks(tokens, targets), list(features))

    def row_losses(given):
        losses = []
        for i in range(2):
            row = {name: value[i : i + 1] for name, value in given.items()}
            with torch.no_grad():
                losses.append(module.caption_decoder.loss(row, tokens[i : i + 1], targets[i : i + 1], reads[i : i + 1]))
        return [loss.item() for loss in losses]

    base, others_moved, ocr_moved = row_losses(features), row_losses(other), row_losses(moved_ocr)
    assert others_moved[0] == pytest.approx(base[0], abs=1e-6)  # the ocr row ignores caption and grounding
    assert abs(ocr_moved[0] - base[0]) > 1e-5  # and reads the ocr feature
    assert abs(others_moved[1] - base[1]) > 1e-5  # the caption row reads everything
