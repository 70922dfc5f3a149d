"""The reference recipe's text layout, and fvl's earlier one an option away.

``data.plain_layout``: ``reference`` renders captions as ``[bos] <image> caption \\n`` (caption and ``\\n``
supervised, no EOS), ``eos`` as ``[bos] <image> \\n caption eos``. ``data.image_placement``: ``turn_start`` moves
``<image>`` to the start of its user turn as ``<image>\\n`` + the rest, ``as_given`` leaves it. Both are checked at
config time, part of the scan cache key, and recorded in the model so evaluation prompts the way training did.
"""

import json
import re

import pytest
from omegaconf import OmegaConf
from PIL import Image
from tokenizers import processors

from fvl.constants import IGNORE_INDEX
from fvl.data.config import DataConfig
from fvl.data.encoding import SampleEncoder
from fvl.data.formats.plain import PlainFormat
from fvl.data.sample import SampleError, Turn, make_sample, place_image_token
from fvl.data.scan.key import scan_key, tokenizer_identity
from fvl.data.sources.spec import SourceSpec
from fvl.eval.predictor import ModelPredictor
from fvl.eval.sample import EvalSample
from fvl.models.builder import build_florence_vl
from fvl.models.florence_vl import FlorenceVL
from fvl.models.language_model import prepare_tokenizer
from fvl.models.model_directory import CONFIG_FILE
from fvl.models.tiny import tiny_llm_tokenizer
from fvl.training.run import input_format

N_IMAGE = 2
LATE_TAG = "Describe this.\n<image>"  # as LLaVA-665K has it
CAPTION = [{"from": "human", "value": LATE_TAG}, {"from": "gpt", "value": "A red disc."}]
TEXT_ONLY = [{"from": "human", "value": "Describe."}, {"from": "gpt", "value": "Nothing."}]
BOS, IMAGE, NEWLINE, EOS = 626, 627, 204, 0  # of the tiny tokenizer with a BOS it adds (fixture below)
RED_DISC = [38, 524, 226, 73, 475, 72, 19]  # "A red disc."
NOTHING = [51, 84, 89, 77, 277, 76, 19]  # "Nothing."
# (layout, with image) → (rendered text, token ids with the image expanded, first supervised position); every
# position from there to the end is supervised, none before.
PLAIN = {
    ("reference", True): ("<s><image>A red disc.\n", [BOS, IMAGE, IMAGE, *RED_DISC, NEWLINE], 3),
    ("eos", True): ("<s><image>\nA red disc.<|endoftext|>", [BOS, IMAGE, IMAGE, NEWLINE, *RED_DISC, EOS], 4),
    ("reference", False): ("<s>Nothing.\n", [BOS, *NOTHING, NEWLINE], 1),
    ("eos", False): ("<s>Nothing.<|endoftext|>", [BOS, *NOTHING, EOS], 1),
}


@pytest.fixture(scope="module")
def bos_tokenizer():
    """The tiny tokenizer (whose BOS is its EOS and is not added) with a distinct BOS ``<s>`` that it adds."""
    tokenizer = tiny_llm_tokenizer()
    tokenizer.add_special_tokens({"bos_token": "<s>"})
    single = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tokenizer.bos_token_id)])
    tokenizer.backend_tokenizer.post_processor = single
    prepare_tokenizer(tokenizer)
    assert (tokenizer.bos_token_id, tokenizer.convert_tokens_to_ids("<image>")) == (BOS, IMAGE)
    return tokenizer


def supervised_positions(labels: list[int]) -> list[int]:
    return [i for i, label in enumerate(labels) if label != IGNORE_INDEX]


@pytest.mark.parametrize("layout, has_image", sorted(PLAIN))
def test_plain_layouts_render_encode_and_supervise_exactly(bos_tokenizer, layout, has_image):
    text, ids, first = PLAIN[layout, has_image]
    encoder = SampleEncoder(bos_tokenizer, N_IMAGE, "plain", plain_layout=layout)
    sample = make_sample("cap", CAPTION if has_image else TEXT_ONLY, "a.png" if has_image else None)
    assert encoder.format.render(sample).text == text
    encoded = encoder.encode(sample)
    assert encoded.input_ids == ids
    assert supervised_positions(encoded.labels) == list(range(first, len(ids)))
    assert [encoded.labels[i] for i in range(first, len(ids))] == ids[first:]
    prompt = encoder.encode_prompt("ignored", has_image=has_image)
    assert prompt == ids[:first]  # generation starts where the supervised caption starts


def test_the_default_plain_layout_is_the_references(bos_tokenizer):
    encoder = SampleEncoder(bos_tokenizer, N_IMAGE, "plain")
    assert encoder.encode(make_sample("cap", CAPTION, "a.png")).input_ids == PLAIN["reference", True][1]
    assert DataConfig(train=["x"]).plain_layout == "reference"


@pytest.mark.parametrize("name", ["bos_tokenizer", "llama_tokenizer"])
def test_reference_layout_has_one_bos_no_eos_and_the_newline_supervised(name, request):
    tokenizer = request.getfixturevalue(name)
    encoded = SampleEncoder(tokenizer, N_IMAGE, "plain").encode(make_sample("cap", CAPTION, "a.png"))
    ids, labels = encoded.input_ids, encoded.labels
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    assert tokenizer.eos_token_id not in ids
    assert tokenizer.decode(ids[-1:]).endswith("\n") and labels[-1] == ids[-1]
    # The reference's own construction: BOS, the image, then "caption\n" tokenized alone; only the latter supervised.
    caption = tokenizer("A red disc.\n", add_special_tokens=False)["input_ids"]
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    assert ids == [tokenizer.bos_token_id, *[image_id] * N_IMAGE, *caption]
    assert labels == [IGNORE_INDEX] * (1 + N_IMAGE) + caption


def test_the_eos_layout_still_needs_an_eos_token_and_the_reference_layout_does_not():
    tokenizer = tiny_llm_tokenizer()
    prepare_tokenizer(tokenizer)
    tokenizer.eos_token = None
    with pytest.raises(ValueError, match="plain layout 'eos' needs a tokenizer with an eos_token"):
        PlainFormat(tokenizer, "eos")
    PlainFormat(tokenizer, "reference")


@pytest.mark.parametrize(
    "content, turn_start",
    [
        (LATE_TAG, "<image>\nDescribe this."),
        ("  Look: <image> what is it?  ", "<image>\nLook:  what is it?"),  # the rest stripped, not rewritten
        ("<image>", "<image>"),  # nothing else: the reference strips the trailing newline too
        ("<image>\nWhat colour?", "<image>\nWhat colour?"),
    ],
)
def test_turn_start_moves_the_tag_to_the_start_of_its_turn_and_as_given_leaves_it(content, turn_start):
    turns = [Turn("user", "Hello"), Turn("assistant", "hi"), Turn("user", content), Turn("assistant", "A.")]
    moved = place_image_token(turns, "s", has_image=True)
    assert moved == [*turns[:2], Turn("user", turn_start), turns[3]]  # in its own turn, the first one untouched
    assert place_image_token(turns, "s", True, "as_given") == turns


@pytest.mark.parametrize("placement", ["turn_start", "as_given"])
def test_both_placements_keep_the_checks_and_put_a_missing_tag_first(placement):
    untagged = [Turn("user", "What colour?"), Turn("assistant", "red")]
    assert place_image_token(untagged, "s", True, placement)[0] == Turn("user", "<image>\nWhat colour?")
    with pytest.raises(SampleError, match="'<image>' is in a assistant turn, put it in a user turn"):
        place_image_token([Turn("user", "Q"), Turn("assistant", "<image>")], "s", True, placement)
    with pytest.raises(SampleError, match="2 '<image>' placeholders"):
        place_image_token([Turn("user", "<image><image>"), Turn("assistant", "A")], "s", True, placement)
    with pytest.raises(SampleError, match="has no image"):
        place_image_token([Turn("user", "<image>"), Turn("assistant", "A")], "s", False, placement)


def test_chat_training_text_and_prompts_follow_the_placement(tiny_tokenizer):
    sample = make_sample("late", CAPTION, "a.png")
    assert sample.turns[0].content == LATE_TAG  # samples keep the data's placement; the encoder applies its own
    rendered = {}
    for placement in ("turn_start", "as_given"):
        encoder = SampleEncoder(tiny_tokenizer, 1, "chat", image_placement=placement)
        rendered[placement] = tiny_tokenizer.decode(encoder.encode(sample).input_ids)
        assert encoder.render_prompt(LATE_TAG, True) == rendered[placement].split("A red disc.")[0]
    assert rendered["turn_start"].startswith("<|user|>\n<image>\nDescribe this.<|end|>\n<|assistant|>\n")
    assert rendered["as_given"].startswith("<|user|>\nDescribe this.\n<image><|end|>\n<|assistant|>\n")
    assert SampleEncoder(tiny_tokenizer, 1, "chat").image_placement == "turn_start"


@pytest.mark.parametrize(
    "key, value, choices",
    [("plain_layout", "bos", "['reference', 'eos']"), ("image_placement", "first", "['turn_start', 'as_given']")],
)
def test_an_unknown_value_fails_at_config_time_naming_the_key(tiny_tokenizer, key, value, choices):
    with pytest.raises(ValueError, match=re.escape(f"data.{key}='{value}' is not one of {choices}.")):
        DataConfig(train=["x"], **{key: value})
    with pytest.raises(ValueError, match=f"'{value}' is unknown; use one of"):
        SampleEncoder(tiny_tokenizer, 1, "plain", **{key: value})


def test_each_option_changes_the_scan_cache_key(tiny_tokenizer, tmp_path):
    spec = SourceSpec((tmp_path / "data.json").as_posix())
    (tmp_path / "data.json").write_text("[]")
    identity = tokenizer_identity(tiny_tokenizer)
    options = [{}, {"plain_layout": "eos"}, {"image_placement": "as_given"}]
    keys = {scan_key(spec, SampleEncoder(tiny_tokenizer, 1, "plain", **o), "skip", identity) for o in options}
    assert len(keys) == 3


def test_the_options_reach_the_exported_model_and_its_predictor(tmp_path):
    data = OmegaConf.structured(DataConfig(train=["x"], format="plain", plain_layout="eos", image_placement="as_given"))
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {}, "linear")
    default = ModelPredictor(model, input_format={"format": "plain"})
    assert default.render_prompt(EvalSample("q", Image.new("RGB", (8, 8)), "Describe.")) == "<image>"
    model.input_format.update(input_format(data))
    model.save_pretrained(tmp_path / "model")
    loaded = FlorenceVL.from_pretrained(tmp_path / "model")
    assert (loaded.input_format["plain_layout"], loaded.input_format["image_placement"]) == ("eos", "as_given")
    predictor = ModelPredictor(loaded)
    assert predictor.render_prompt(EvalSample("q", Image.new("RGB", (8, 8)), "Describe.")) == "<image>\n"
    assert predictor.encoder.render_prompt(LATE_TAG, True) == "<image>\n"  # plain: the image alone, eos layout
    chat = ModelPredictor(loaded, input_format={"format": "chat"}).encoder
    assert chat.image_placement == "as_given" and chat.render_prompt(LATE_TAG, True).startswith("<|user|>\n" + LATE_TAG)
    assert "(eos layout)" in predictor.describe_input()


def test_a_model_saved_before_the_layout_was_recorded_keeps_the_layout_it_was_trained_with(tmp_path):
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {}, "linear")
    model.input_format.update(input_format(OmegaConf.structured(DataConfig(train=["x"], format="plain"))))
    model.save_pretrained(tmp_path / "new")
    loaded = FlorenceVL.from_pretrained(tmp_path / "new").input_format
    assert (loaded["plain_layout"], loaded["image_placement"]) == ("reference", "turn_start")
    config = json.loads((tmp_path / "new" / CONFIG_FILE).read_text())
    for key in ("plain_layout", "image_placement"):
        del config["input_format"][key]
    (tmp_path / "new" / CONFIG_FILE).write_text(json.dumps(config))
    older = FlorenceVL.from_pretrained(tmp_path / "new").input_format
    assert (older["plain_layout"], older["image_placement"]) == ("eos", "as_given")
