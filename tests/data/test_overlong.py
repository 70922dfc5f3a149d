"""Over-long samples: truncation cuts text only, never image tokens; drops are reported as OverlongError."""

from __future__ import annotations

import pytest

from fvl.constants import IGNORE_INDEX
from fvl.data.encoding import OverlongError, SampleEncoder
from fvl.data.sample import make_sample

N_IMAGE = 8
LONG = " ".join(["red circle"] * 30)


def sample(question: str, answer: str, image: str | None = "a.png", sample_id: str = "long"):
    turns = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    return make_sample(sample_id, turns, image)


def test_truncate_cuts_text_and_keeps_the_whole_image_block(tiny_tokenizer) -> None:
    full = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat").encode(sample("Describe.", LONG))
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=N_IMAGE + 20, overlong="truncate")
    encoded = encoder.encode(sample("Describe.", LONG))
    assert encoded.truncated and len(encoded.input_ids) == N_IMAGE + 20 < len(full.input_ids)
    assert encoded.input_ids == full.input_ids[: N_IMAGE + 20] and encoded.labels == full.labels[: N_IMAGE + 20]
    assert encoded.input_ids.count(encoder.image_token_id) == N_IMAGE
    assert any(label != IGNORE_INDEX for label in encoded.labels)


def test_short_samples_are_untouched(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=200)
    assert not encoder.encode(sample("Colour?", "red")).truncated


def test_truncation_never_cuts_through_image_tokens(tiny_tokenizer) -> None:
    turns = [
        {"from": "human", "value": LONG},
        {"from": "gpt", "value": "ok"},
        {"from": "human", "value": "<image>\nColour?"},
        {"from": "gpt", "value": "red"},
    ]
    late_image = make_sample("late-image", turns, "a.png")
    full = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat").encode(late_image)
    block_start = full.input_ids.index(tiny_tokenizer.convert_tokens_to_ids("<image>"))
    fits = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=block_start + N_IMAGE + 2).encode(late_image)
    assert fits.truncated and fits.input_ids.count(fits.input_ids[block_start]) == N_IMAGE
    through_image = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=block_start + N_IMAGE - 1)
    with pytest.raises(OverlongError, match="'late-image'.*image tokens do not fit"):
        through_image.encode(late_image)


def test_truncation_that_leaves_no_answer_drops(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=N_IMAGE + 10)
    with pytest.raises(OverlongError, match="'q-long'.*no supervised token"):
        encoder.encode(sample(LONG, "red", sample_id="q-long"))


def test_drop_policy(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", max_length=N_IMAGE + 20, overlong="drop")
    with pytest.raises(OverlongError, match="max_length 28 \\(policy drop\\)"):
        encoder.encode(sample("Describe.", LONG))
