"""``data.conversation=llama3|phi3``: chat samples rendered with the reference's conversation templates instead of
the tokenizer's, its system text by default, the answers and their end-of-turn tokens supervised; recorded in
the model so evaluation prompts the same way."""

import pytest

from fvl.data.config import DataConfig
from fvl.data.encoding import SampleEncoder
from fvl.data.formats.chat import ChatFormat
from fvl.data.formats.templates import SYSTEM_PROMPTS
from fvl.data.sample import Sample, Turn, make_sample
from fvl.eval.predictor import ModelPredictor
from fvl.eval.sample import EvalSample
from fvl.models.builder import build_florence_vl
from fvl.models.language_model import prepare_tokenizer
from fvl.models.tiny import tiny_llm_tokenizer

TURNS = (
    Turn("user", "<image>\nWhat colour?"),
    Turn("assistant", "red"),
    Turn("user", "Shape?"),
    Turn("assistant", "a disc"),
)


@pytest.fixture(scope="module")
def tokenizer():
    tokenizer = tiny_llm_tokenizer()
    prepare_tokenizer(tokenizer)
    return tokenizer


def supervised(fmt: ChatFormat) -> tuple[str, list[str]]:
    rendering = fmt.render(Sample("s", TURNS))
    return rendering.text, [rendering.text[start:end] for start, end in rendering.supervised]


def test_phi3_is_the_references_conversation(tokenizer):
    text, answers = supervised(ChatFormat(tokenizer, conversation="phi3"))
    assert text == (
        f"<|system|>\n{SYSTEM_PROMPTS['phi3']}<|end|>\n<|user|>\n<image>\nWhat colour?<|end|>\n"
        "<|assistant|>\nred<|end|>\n<|user|>\nShape?<|end|>\n<|assistant|>\na disc<|end|>"
    )
    assert answers == ["red<|end|>", "a disc<|end|>"]


def test_llama3_is_the_references_conversation_without_a_date_block(tokenizer):
    text, answers = supervised(ChatFormat(tokenizer, conversation="llama3"))
    header = "<|start_header_id|>{}<|end_header_id|>\n\n"
    assert text.startswith(header.format("system") + SYSTEM_PROMPTS["llama3"] + "<|eot_id|>" + header.format("user"))
    assert "Cutting Knowledge" not in text
    assert answers == ["red<|eot_id|>", "a disc<|eot_id|>"]


def test_a_given_system_prompt_wins_and_unknown_conversations_fail_at_compose_time(tokenizer):
    text, _ = supervised(ChatFormat(tokenizer, system_prompt="Be brief.", conversation="phi3"))
    assert text.startswith("<|system|>\nBe brief.<|end|>")
    known = r"\[None, 'llama3', 'llama3_double_bos', 'phi3'\]"
    with pytest.raises(ValueError, match=rf"data.conversation='llama4' is not one of {known}"):
        DataConfig(conversation="llama4")


def test_evaluation_prompts_with_the_recorded_conversation(tokenizer):
    model = build_florence_vl({"tiny": True, "image_size": 64}, {"tiny": True, "hidden_size": 32}, {}, "linear")
    model.input_format.update(conversation="phi3")
    prompt = ModelPredictor(model).render_prompt(EvalSample("q", None, "What colour?"))
    assert prompt == f"<|system|>\n{SYSTEM_PROMPTS['phi3']}<|end|>\n<|user|>\nWhat colour?<|end|>\n<|assistant|>\n"


def test_llama3_has_one_bos_and_the_references_double_bos_is_one_option_away(llama_tokenizer):
    turns = [{"from": "human", "value": "<image>\nWhat colour?"}, {"from": "gpt", "value": "red"}]
    sample = make_sample("s", turns, "a.png")
    bos = llama_tokenizer.bos_token_id
    ids = {
        name: SampleEncoder(llama_tokenizer, 2, "chat", conversation=name).encode(sample).input_ids
        for name in ("llama3", "llama3_double_bos")
    }
    assert ids["llama3"][:2] == [bos, llama_tokenizer.convert_tokens_to_ids("<|start_header_id|>")]
    assert ids["llama3_double_bos"] == [bos, *ids["llama3"]]
    assert ids["llama3"].count(bos) == 1
