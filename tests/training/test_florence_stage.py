"""stage=florence: Florence-2 learns to caption its own features; the connector and the LLM do not move."""

import pytest
import torch

from fvl.constants import IGNORE_INDEX
from fvl.models.caption_decoder import supervised_targets
from fvl.models.florence_vl import FlorenceVL


def test_supervised_targets_keep_their_order_and_drop_the_rest():
    labels = torch.tensor([[IGNORE_INDEX, 5, 6, IGNORE_INDEX], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 7]])
    assert supervised_targets(labels).tolist() == [[5, 6], [7, IGNORE_INDEX]]


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
