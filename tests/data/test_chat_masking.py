"""Rendering and label masking: exactly the answers (+ end-of-turn) are supervised, image tokens expand exactly."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from fvl.constants import IGNORE_INDEX
from fvl.data.encoding import EncodedSample, SampleEncoder
from fvl.data.formats.rendering import LabelMaskError
from fvl.data.sample import make_sample
from fvl.models.tiny import DEFAULT_CORPUS, TINY_CHAT_TEMPLATE, tiny_llm_tokenizer

N_IMAGE = 17
# What a supervised assistant turn ends with: (a middle turn, the last turn).
END_OF_TURN = {
    "tiny": ("<|end|>\n", "<|end|>\n<|endoftext|>"),
    "llama": ("<|eot_id|>", "<|eot_id|>"),
}


@pytest.fixture(params=["tiny", "llama"])
def named_tokenizer(request: pytest.FixtureRequest) -> tuple[str, PreTrainedTokenizerFast]:
    return request.param, request.getfixturevalue(f"{request.param}_tokenizer")


def supervised_texts(tokenizer: PreTrainedTokenizerFast, encoded: EncodedSample) -> list[str]:
    """Decoded runs of consecutive supervised tokens; labels must copy the ids there."""
    runs: list[list[int]] = []
    previous = IGNORE_INDEX
    for token, label in zip(encoded.input_ids, encoded.labels, strict=True):
        if label != IGNORE_INDEX:
            assert label == token
            if previous == IGNORE_INDEX:
                runs.append([])
            runs[-1].append(label)
        previous = label
    return [tokenizer.decode(run) for run in runs]


def turns(*exchanges: tuple[str, str]) -> list[dict[str, str]]:
    return [turn for q, a in exchanges for turn in ({"from": "human", "value": q}, {"from": "gpt", "value": a})]


def image_positions(encoder: SampleEncoder, encoded: EncodedSample) -> list[int]:
    return [i for i, token in enumerate(encoded.input_ids) if token == encoder.image_token_id]


def test_single_turn_supervises_answer_and_end_token(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat")
    encoded = encoder.encode(make_sample("one", turns(("What colour is the circle?", "red")), "a.png"))
    assert supervised_texts(tokenizer, encoded) == ["red" + END_OF_TURN[name][1]]
    positions = image_positions(encoder, encoded)
    assert len(positions) == N_IMAGE and positions == list(range(positions[0], positions[0] + N_IMAGE))
    assert all(encoded.labels[i] == IGNORE_INDEX for i in positions)


def test_multi_turn_supervises_every_answer_only(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat")
    exchanges = (("<image>\nWhat shape?", "A circle."), ("Which colour?", "red"), ("How many?", "two"))
    encoded = encoder.encode(make_sample("multi", turns(*exchanges), "a.png"))
    middle, last = END_OF_TURN[name]
    assert supervised_texts(tokenizer, encoded) == ["A circle." + middle, "red" + middle, "two" + last]


def test_image_stays_where_the_sample_puts_it_as_given(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, 3, "chat", image_placement="as_given")
    sample = make_sample("late", turns(("Hello", "hi"), ("Look: <image> what is it?", "a cat")), "a.png")
    text = tiny_tokenizer.decode(encoder.encode(sample).input_ids)
    assert text.index("Look: <image><image><image> what") > text.index("hi<|end|>")


def test_text_only_sample_has_no_image_tokens(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat")
    encoded = encoder.encode(make_sample("text", turns(("Say yes.", "yes")), None))
    assert image_positions(encoder, encoded) == [] and not encoded.has_image
    assert supervised_texts(tokenizer, encoded) == ["yes" + END_OF_TURN[name][1]]


def test_system_prompt_is_context_not_target(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat", system_prompt="Answer with one word.")
    encoded = encoder.encode(make_sample("sys", turns(("Colour?", "blue")), "a.png"))
    assert "Answer with one word." in tokenizer.decode(encoded.input_ids)
    assert supervised_texts(tokenizer, encoded) == ["blue" + END_OF_TURN[name][1]]
    own = [{"from": "system", "value": "Be brief."}, *turns(("Colour?", "blue"))]
    text = tokenizer.decode(encoder.encode(make_sample("own", own, "a.png")).input_ids)
    assert "Be brief." in text and "Answer with one word." not in text


def test_llama_prompt_keeps_knowledge_date_block_and_single_bos(llama_tokenizer) -> None:
    encoder = SampleEncoder(llama_tokenizer, N_IMAGE, "chat")
    encoded = encoder.encode(make_sample("date", turns(("Colour?", "blue")), "a.png"))
    assert "Cutting Knowledge Date: December 2023" in llama_tokenizer.decode(encoded.input_ids)
    assert encoded.input_ids[:2].count(llama_tokenizer.bos_token_id) == 1


def test_plain_eos_layout_supervises_caption_and_eos_only(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, N_IMAGE, "plain", plain_layout="eos")
    sample = make_sample("cap", turns(("<image>\nDescribe the image.", "A red circle at the top left.")), "a.png")
    encoded = encoder.encode(sample)
    assert supervised_texts(tokenizer, encoded) == ["A red circle at the top left." + tokenizer.eos_token]
    assert "Describe" not in tokenizer.decode(encoded.input_ids)
    assert len(image_positions(encoder, encoded)) == N_IMAGE
    text_only = encoder.encode(make_sample("cap-text", turns(("Describe.", "Nothing.")), None))
    assert supervised_texts(tokenizer, text_only) == ["Nothing." + tokenizer.eos_token]


def test_plain_rejects_conversations(tiny_tokenizer) -> None:
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "plain")
    with pytest.raises(LabelMaskError, match="'conv-7'.*format='chat'"):
        encoder.encode(make_sample("conv-7", turns(("a", "b"), ("c", "d")), "a.png"))


def test_generation_prompt(named_tokenizer) -> None:
    name, tokenizer = named_tokenizer
    encoder = SampleEncoder(tokenizer, 4, "chat")
    text = tokenizer.decode(encoder.encode_prompt("What colour is the star?", has_image=True))
    header = {"tiny": "<|assistant|>\n", "llama": "<|start_header_id|>assistant<|end_header_id|>\n\n"}[name]
    assert text.endswith("What colour is the star?" + END_OF_TURN[name][0] + header)
    assert text.count("<image>") == 4 and text.index("<image>") < text.index("What colour")
    for layout, after_image in (("reference", ""), ("eos", "\n")):
        plain = SampleEncoder(tokenizer, 4, "plain", plain_layout=layout).encode_prompt("ignored", has_image=True)
        assert tokenizer.decode(plain).replace(tokenizer.bos_token, "") == "<image>" * 4 + after_image


def with_template(template: str, specials: tuple[str, ...] = ()) -> PreTrainedTokenizerFast:
    tokenizer = tiny_llm_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": [*specials, "<image>"]})
    tokenizer.chat_template = template
    return tokenizer


# SmolLM2-Instruct's ChatML template: it injects a default system prompt when the conversation has none.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_chatml_template_with_injected_system_prompt() -> None:
    tokenizer = with_template(SMOLLM2_TEMPLATE, ("<|im_start|>", "<|im_end|>"))
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat")
    encoded = encoder.encode(make_sample("chatml", turns(("Shape?", "star"), ("Colour?", "red")), "a.png"))
    assert supervised_texts(tokenizer, encoded) == ["star<|im_end|>\n", "red<|im_end|>\n"]
    assert "named SmolLM" in tokenizer.decode(encoded.input_ids)
    prompt = tokenizer.decode(encoder.encode_prompt("Shape?", has_image=True))
    assert prompt.endswith("Shape?<|im_end|>\n<|im_start|>assistant\n")


def sentencepiece_style_tokenizer() -> PreTrainedTokenizerFast:
    """Like Phi-3.5's (Llama-2 family): Metaspace that prepends "▁" to the start of each encode call, byte fallback."""
    backend = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    backend.decoder = decoders.Sequence(
        [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
    )
    specials = ["<unk>", "<s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|end|>", "<|pad|>"]
    byte_tokens = [f"<0x{i:02X}>" for i in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=specials + byte_tokens, show_progress=False)
    backend.train_from_iterator([DEFAULT_CORPUS], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        unk_token="<unk>",
        chat_template=TINY_CHAT_TEMPLATE,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    return tokenizer


def test_segment_dependent_tokenizers_are_masked_from_one_tokenization() -> None:
    # Tokenized alone, "red circle" starts with "▁"; inside the conversation it does not. Masking maps character
    # spans onto the offsets of the full tokenization, so this is exact rather than an error.
    tokenizer = sentencepiece_style_tokenizer()
    assert tokenizer.convert_ids_to_tokens(tokenizer("red", add_special_tokens=False)["input_ids"])[0].startswith("▁")
    encoder = SampleEncoder(tokenizer, N_IMAGE, "chat")
    encoded = encoder.encode(make_sample("sp", turns(("What colour?", "red circle"), ("Shape?", "star")), "a.png"))
    assert supervised_texts(tokenizer, encoded) == ["red circle<|end|>\n", "star<|end|>\n<|endoftext|>"]


def test_tokens_merging_across_a_turn_boundary_raise_naming_the_sample() -> None:
    # The assistant header ends in letters, so "Ans" + "wer" tokenizes as "A" + "nswer" across the boundary.
    tokenizer = with_template(
        "{% for m in messages %}{% if m.role == 'user' %}Q: {{ m.content }}\n{% else %}Ans{{ m.content }}\n"
        "{% endif %}{% endfor %}{% if add_generation_prompt %}Ans{% endif %}"
    )
    encoder = SampleEncoder(tokenizer, 2, "chat")
    with pytest.raises(LabelMaskError, match="'merge-3'.*crosses"):
        encoder.encode(make_sample("merge-3", turns(("Say it", "wer")), None))


def test_template_rewriting_earlier_turns_raises() -> None:
    tokenizer = with_template(
        "{% for m in messages %}{% if loop.last %}LAST {% endif %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    with pytest.raises(LabelMaskError, match="'rewrite'.*rewrites earlier turns"):
        SampleEncoder(tokenizer, 2, "chat").encode(make_sample("rewrite", turns(("a", "b")), None))


def test_template_errors_name_the_sample() -> None:
    tokenizer = with_template(
        "{% if messages[0].role == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
        "{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    encoder = SampleEncoder(tokenizer, 2, "chat", system_prompt="Be brief.")
    with pytest.raises(LabelMaskError, match="'sys-1'.*no system role"):
        encoder.encode(make_sample("sys-1", turns(("a", "b")), None))


def test_unregistered_image_token_is_refused() -> None:
    with pytest.raises(ValueError, match="register it as a special token"):
        SampleEncoder(tiny_llm_tokenizer(), N_IMAGE, "chat")
