"""A tiny released Florence-VL checkpoint on disk (imported as ``tiny_release``): a jiuhai/florence-vl-8b-sft in
exactly its layout (``released_reference.write_release``: sharded safetensors + index, LLaVA config.json, a
Llama-3-style tokenizer) with the ``vision_tower/`` folder of jiuhai/florence-vl-8b-pretrain (remote-code Florence-2
config, tokenizer, preprocessor config). Used by the conversion tests and by the README test's world.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from released_reference import llava_config, remote_florence_config, remote_florence_state, write_release
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import Florence2ForConditionalGeneration, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from fvl.constants import IMAGENET_MEAN, IMAGENET_STD
from fvl.models.tiny import DEFAULT_CORPUS, tiny_florence_tokenizer

IMAGE_SIZE = 128  # 17 visual tokens with the tiny DaViT
HIDDEN = 48
# Llama-3.1-Instruct's template injects a dated system block; the release was trained without it.
LLAMA31_TEMPLATE = (
    "{{ bos_token }}{{ '<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n\n' }}"
    "{% for m in messages %}{{ m['content'] }}{% endfor %}"
)


def llama3_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE with Llama-3's special tokens; BOS added to every encoding, as Llama-3's tokenizer does."""
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    specials.append("<pad>")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([DEFAULT_CORPUS], trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 0)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<pad>",
        chat_template=LLAMA31_TEMPLATE,
    )


def write_tiny_release(source: Path, hf_florence: Florence2ForConditionalGeneration) -> tuple[dict, LlamaConfig, dict]:
    """Write the release into ``source`` around ``hf_florence``'s weights: (state written, LLM config, remote
    Florence-2 config)."""
    torch.manual_seed(3)
    tokenizer = llama3_tokenizer()
    ids = {"pad_token_id": tokenizer.pad_token_id, "bos_token_id": 0, "eos_token_id": tokenizer.eos_token_id}
    llm_config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=False,
        **ids,
    )
    llm = LlamaForCausalLM(llm_config)
    d_model = hf_florence.config.text_config.d_model
    widths = [(4 * d_model, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, HIDDEN)]
    projector = [(torch.randn(out, inp) / inp**0.5, 0.1 * torch.randn(out)) for inp, out in widths]
    florence = remote_florence_state(hf_florence.state_dict(), hf_florence.config.text_config.vocab_size)
    state = write_release(source, llm, projector, florence, llava_config(llm_config, d_model, "pad"))
    tokenizer.save_pretrained(source)
    generation = {"bos_token_id": 0, "eos_token_id": [tokenizer.eos_token_id, 1], "do_sample": True, "top_p": 0.9}
    (source / "generation_config.json").write_text(json.dumps(generation))
    tower = source / "vision_tower"  # as in jiuhai/florence-vl-8b-pretrain: the tower's config and tokenizer
    tower.mkdir()
    remote = remote_florence_config(hf_florence.config)
    (tower / "config.json").write_text(json.dumps(remote))
    processor = {
        "size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "image_mean": list(IMAGENET_MEAN),
        "image_std": list(IMAGENET_STD),
        "processor_class": "Florence2Processor",
    }
    (tower / "preprocessor_config.json").write_text(json.dumps(processor))
    tiny_florence_tokenizer().save_pretrained(tower)
    return state, llm_config, remote
