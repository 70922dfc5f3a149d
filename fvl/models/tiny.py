"""Tiny random components for tests and the CPU demo: Florence-2, an LLM, and tokenizers trained on the fly.

Everything here builds offline in well under a second. Shapes: a DaViT with
dims [16, 32, 48, 64] and one block per stage, a 2+2-layer BART with d_model 64, and a 2-layer Llama-style
LLM. The LLM tokenizer carries a Phi-3.5-style chat template so chat rendering and label masking are
exercised exactly as with a real instruct model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import BartConfig, Florence2Config, Florence2VisionConfig, LlamaConfig, PreTrainedTokenizerFast

from fvl.constants import IMAGE_TOKEN

# Phi-3.5-mini-instruct's template shape: role header, content, <|end|>; EOS closes a finished conversation.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and message['content'] %}{{ '<|system|>\n' + message['content'] + '<|end|>\n' }}"
    "{% elif message['role'] == 'user' %}{{ '<|user|>\n' + message['content'] + '<|end|>\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '<|assistant|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

# Words the synthetic dataset and the tests use; byte-level BPE can still encode any other text.
DEFAULT_CORPUS = (
    "The image shows a red circle, a green square, a blue triangle and a yellow star on a white background. "
    "What colour is the shape? What shape is it? How many shapes are there? Where is the circle? "
    "What is the text in the image? Describe in detail what is shown in the image. "
    "Locate the objects in the image, with their descriptions. left right top bottom center middle corner "
    "one two three four five six seven eight nine ten zero yes no orange purple pink brown black gray cyan "
    "cat dog sun tree box fish bird moon star car boat home lamp book cake door hat key cup pen "
    "Answer with a single word. Answer the question using a single word or phrase. There is a of the in on at "
    "0 1 2 3 4 5 6 7 8 9 A B C D E. Which option is correct? Options: The answer is"
)

_FLORENCE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
_LLM_SPECIALS = ["<|endoftext|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def _train_bpe(specials: list[str], vocab_size: int, corpus: Iterable[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus), trainer=trainer)
    return tok


def tiny_florence_tokenizer(
    vocab_size: int = 400, corpus: Iterable[str] = (DEFAULT_CORPUS,)
) -> PreTrainedTokenizerFast:
    """A BART-style tokenizer (``<s> text </s>``, pad id 1) with ``<image>`` inside the vocabulary."""
    tok = _train_bpe([*_FLORENCE_SPECIALS, IMAGE_TOKEN], vocab_size, corpus)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )


def with_bare_words(corpus: Iterable[str]) -> list[str]:
    """``corpus`` plus each of its words on its own, so that BPE learns a word at the start of a text (``circle``)
    as well as after a space (``Ġcircle``): a reply starts right after the chat template's newline."""
    texts = list(corpus)
    return texts + sorted({word for text in texts for word in re.findall(r"[A-Za-z]+", text)})


def tiny_llm_tokenizer(vocab_size: int = 640, corpus: Iterable[str] = (DEFAULT_CORPUS,)) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with a Phi-3.5-style chat template (no image token yet: the VLM adds it).

    Its vocabulary holds every word of ``corpus`` as one token, both at the start of a reply and mid-sentence
    (``with_bare_words``; the default corpus needs 626 ids), as a real tokenizer does for common words. With 512
    ids, 21 of the demo's 23 answers were split at the start of a reply into pieces that other answers share
    ("s"+"qu"+"are", "s"+"tar", "s"+"un"); the demo is steadier across seeds without that (README).
    """
    tok = _train_bpe(_LLM_SPECIALS, vocab_size, with_bare_words(corpus))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        chat_template=TINY_CHAT_TEMPLATE,
        padding_side="right",
    )


def tiny_florence_config(
    image_token_id: int, vocab_size: int, pad_token_id: int = 1, d_model: int = 64
) -> Florence2Config:
    """A ~0.3M-parameter Florence-2 (DaViT [16, 32, 48, 64] × 1 block, BART 2+2 layers of width ``d_model``)."""
    vision = Florence2VisionConfig(
        depths=[1, 1, 1, 1],
        embed_dim=[16, 32, 48, 64],
        num_heads=[1, 2, 3, 4],
        num_groups=[1, 2, 3, 4],
        window_size=4,
        drop_path_rate=0.0,
        projection_dim=d_model,
        max_position_embeddings=32,
        max_temporal_embeddings=4,
    )
    text = BartConfig(
        vocab_size=vocab_size,
        d_model=d_model,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_position_embeddings=256,
        pad_token_id=pad_token_id,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
    )
    return Florence2Config(vision_config=vision, text_config=text, image_token_id=image_token_id)


def tiny_llm_config(
    vocab_size: int, pad_token_id: int, eos_token_id: int, bos_token_id: int, hidden: int = 128
) -> LlamaConfig:
    """A 2-layer Llama-style decoder (hidden ``hidden``); special ids set explicitly for the small vocab."""
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=pad_token_id,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        tie_word_embeddings=False,
    )
