"""stage=florence: Florence-2 learns to caption its own features; the connector and the LLM do not move."""

import pytest
import torch

from fvl.constants import IGNORE_INDEX
from fvl.models.caption_decoder import text_rows
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
