"""ChatModel: conversations become the prompts training renders, and streamed replies equal evaluation's replies."""

from __future__ import annotations

import threading

import pytest

from fvl.data.images import load_image
from fvl.eval.sample import EvalSample
from fvl.inference.options import DecodingOptions
from fvl.inference.session import ChatModel, Conversation, ConversationError

QUESTION = "What colour is the shape?"


def test_streamed_pieces_join_to_the_evaluation_reply(predictor, images):
    chat = ChatModel(predictor)
    for name in ("red.png", "green.png", "blue.png"):
        image = load_image(images / name)
        conversation = Conversation(image)
        pieces = list(chat.stream(conversation, QUESTION))
        expected = predictor([EvalSample(name, image, QUESTION)])[0]
        assert len(pieces) > 1  # streamed, not one block
        assert "".join(pieces).strip() == expected
        assert conversation.turns[-1].content == expected


def test_replies_differ_between_images(predictor, images):
    chat = ChatModel(predictor)
    replies = {chat.reply(Conversation(load_image(images / name)), QUESTION) for name in ("red.png", "blue.png")}
    assert len(replies) == 2  # otherwise the comparisons above prove little


def test_a_second_turn_holds_the_first_question_and_answer(predictor, images):
    chat = ChatModel(predictor)
    conversation = Conversation(load_image(images / "red.png"))
    first = chat.reply(conversation, QUESTION)
    prompt = chat.render_prompt(conversation, "And its size?")
    assert prompt.count("<image>") == 1
    assert prompt.index("<image>") < prompt.index(QUESTION) < prompt.index(first) < prompt.index("And its size?")
    ids = chat.prompt_ids(conversation, "And its size?")
    tokenizer = predictor.model.tokenizer
    expected = predictor.encoder.encode_prompt(conversation.with_question("And its size?"), has_image=True)
    assert ids == expected
    assert ids.count(predictor.model.image_token_id) == predictor.model.num_image_tokens
    assert tokenizer.decode(ids).count(first) == 1
    # the second reply is what evaluation answers for the whole conversation as a prompt
    batch = chat.batch(conversation, "And its size?")
    second = chat.reply(conversation, "And its size?")
    generated = predictor.model.generate(
        batch["input_ids"], batch["attention_mask"], batch["pixel_values"], max_new_tokens=predictor.max_new_tokens
    )
    assert second == tokenizer.batch_decode(generated, skip_special_tokens=True)[0].strip()
    assert [turn.role for turn in conversation.turns] == ["user", "assistant"] * 2


def test_a_text_only_conversation_has_no_image_tokens(predictor):
    chat = ChatModel(predictor)
    ids = chat.prompt_ids(Conversation(), "Hello?")
    assert predictor.model.image_token_id not in ids
    assert chat.reply(Conversation(), "Hello?") == predictor([EvalSample("t", None, "Hello?")])[0]


def test_refused_questions(predictor, images):
    chat = ChatModel(predictor)
    with pytest.raises(ConversationError, match="stands for the image"):
        chat.stream(Conversation(load_image(images / "red.png")), "<image> what is it?")
    conversation = Conversation()
    chat.context_length = 40
    with pytest.raises(ConversationError, match="context of 40 tokens.*/reset"):
        chat.stream(conversation, "word " * 40)
    assert conversation.turns == []


def test_leaving_a_stream_early_stops_generation_and_records_nothing(predictor, images):
    chat = ChatModel(predictor)
    conversation = Conversation(load_image(images / "red.png"))
    pieces = chat.stream(conversation, QUESTION)
    next(pieces)
    pieces.close()
    assert conversation.turns == []
    assert not any(thread.name == "fvl-generate" for thread in threading.enumerate())


def test_sampling_options():
    assert DecodingOptions().generate_kwargs() == {}
    sampled = DecodingOptions(do_sample=True, temperature=0.7, top_p=0.9, top_k=5, seed=3)
    assert sampled.generate_kwargs() == {"do_sample": True, "temperature": 0.7, "top_p": 0.9, "top_k": 5}
    assert "temperature 0.7" in sampled.describe() and "seed 3" in sampled.describe()


def test_the_trained_prompt_suffix_is_the_recorded_one(predictor, model_dir):
    from fvl.eval.predictor import ModelPredictor
    from fvl.inference.loading import prompt_suffix, startup_lines

    recorded = ModelPredictor(predictor.model, input_format={"prompt_suffix": "\nOne word."})
    assert prompt_suffix("trained", recorded) == "\nOne word."
    assert prompt_suffix("\\nShort.", recorded) == "\nShort."
    assert prompt_suffix(None, recorded) == ""
    assert ChatModel(recorded, "\nOne word.").render_prompt(Conversation(), "Hi?").count("Hi?\nOne word.") == 1
    note = startup_lines(model_dir, recorded, DecodingOptions(), "")[3]
    assert note == "prompt suffix: none (the model was trained with '\\nOne word.'; --prompt-suffix trained adds it)"
