"""The data axes as a user extends them: a toy conversation format (``data.format``) and a toy source kind
(``data.train[i].kind``) registered here, used through ``FVLDataModule`` and the pre-flight check, and misspelt
names failing with the registry's message that names the choices."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from data_helpers import llava_record, save_image, write_json

from fvl.constants import IGNORE_INDEX
from fvl.data.config import DataConfig
from fvl.data.datamodule import FVLDataModule
from fvl.data.encoding import SampleEncoder
from fvl.data.formats.registry import FORMATS
from fvl.data.formats.rendering import Rendering
from fvl.data.formats.templates import CONVERSATIONS, Conversation
from fvl.data.sample import Sample, Turn, make_sample
from fvl.data.sources.check import check_sources
from fvl.data.sources.kinds import SOURCE_KINDS
from fvl.data.sources.mixture import open_source
from fvl.data.sources.spec import MalformedRecord, RecordSource, SourceSpec
from fvl.registry import UnknownVariant

N_IMAGE = 3


class QAFormat:
    """``[system\\n]Q: question\\nA:\\nanswer<eos>``; the answer and EOS are supervised."""

    def __init__(self, tokenizer, system_prompt: str | None = None) -> None:
        self._eos = tokenizer.eos_token
        self._system = f"{system_prompt}\n" if system_prompt else ""

    def render_prompt(self, turns: Sequence[Turn], has_image: bool) -> str:
        return f"{self._system}Q: {turns[-1].content}\nA:\n"

    def render(self, sample: Sample) -> Rendering:
        question, answer = (turn.content for turn in sample.turns if turn.role != "system")
        prompt = self.render_prompt([Turn("user", question)], sample.has_image)
        text = prompt + answer + self._eos
        return Rendering(text, ((len(prompt), len(text)),))


class TsvSource(RecordSource):
    """One record per line: ``id<TAB>image<TAB>question<TAB>answer`` (an empty image: text-only)."""

    def __init__(self, spec: SourceSpec) -> None:
        super().__init__(spec)
        self._lines = Path(spec.path).read_text(encoding="utf-8").splitlines()

    @classmethod
    def claims(cls, path: str) -> bool:
        return path.endswith(".tsv")

    def __len__(self) -> int:
        return len(self._lines)

    def record(self, index: int):
        fields = self._lines[index].split("\t")
        if len(fields) != 4:
            return MalformedRecord(f"{self.spec.path}:{index + 1}", f"{len(fields)} fields, expected 4")
        sample_id, image, question, answer = fields
        turns = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
        return {"id": sample_id, "image": image, "conversations": turns}


@pytest.fixture
def qa_format():
    FORMATS.register("qa", QAFormat)
    yield "qa"
    FORMATS.unregister("qa")


@pytest.fixture
def tsv_kind():
    SOURCE_KINDS.register("tsv", TsvSource)
    yield "tsv"
    SOURCE_KINDS.unregister("tsv")


def supervised_text(batches: list[dict], tokenizer) -> dict[str, str]:
    """Each row's supervised tokens, decoded, by sample id."""
    texts = {}
    for batch in batches:
        for sample_id, labels in zip(batch["sample_ids"], batch["labels"], strict=True):
            texts[sample_id] = tokenizer.decode(labels[labels != IGNORE_INDEX].tolist())
    return texts


def batches_of(tokenizer, tmp_path: Path, **options) -> list[dict]:
    datamodule = FVLDataModule(
        tokenizer=tokenizer,
        num_image_tokens=N_IMAGE,
        image={"size": 32},
        max_length=64,
        batch_size=2,
        num_scan_workers=0,
        scan_cache_dir=str(tmp_path / "cache"),
        sampler={"shuffle": False},
        **options,
    )
    datamodule.prepare_data()
    datamodule.setup("fit")
    return list(datamodule.train_dataloader())


def test_a_registered_format_is_chosen_by_name_and_its_labels_are_the_answers(tmp_path, tiny_tokenizer, qa_format):
    save_image(tmp_path / "red.png")
    records = [llava_record("q0", "red.png", ("What colour?", "red")), llava_record("q1", None, ("Shape?", "a disc"))]
    data = write_json(tmp_path / "qa.json", records)
    assert DataConfig(train=[str(data)], format=qa_format).format == "qa"
    batches = batches_of(tiny_tokenizer, tmp_path, train=[str(data)], format=qa_format, system_prompt="Be brief.")
    eos = tiny_tokenizer.eos_token
    assert supervised_text(batches, tiny_tokenizer) == {"q0": f"red{eos}", "q1": f"a disc{eos}"}
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, qa_format, system_prompt="Be brief.")
    assert encoder.render_prompt("What colour?", has_image=True) == "Be brief.\nQ: <image>\nWhat colour?\nA:\n"
    sample = make_sample("q1", [{"from": "human", "value": "Shape?"}, {"from": "gpt", "value": "a disc"}], None)
    assert encoder.encode(sample).input_ids == tiny_tokenizer(f"Be brief.\nQ: Shape?\nA:\na disc{eos}")["input_ids"]


def test_a_format_is_given_only_the_settings_it_names(tiny_tokenizer, qa_format):
    encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, qa_format, conversation="phi3", plain_layout="eos")
    assert encoder.render_prompt("Hi", has_image=False) == "Q: Hi\nA:\n"  # no system prompt: QAFormat takes none


def test_a_registered_source_kind_is_read_by_name_by_suffix_and_in_the_preflight_check(
    tmp_path, tiny_tokenizer, tsv_kind
):
    save_image(tmp_path / "red.png")
    rows = tmp_path / "rows.tsv"
    rows.write_text("t0\tred.png\tWhat colour?\tred\nt1\t\tShape?\ta disc\nbroken line\n", encoding="utf-8")
    explicit = {"path": str(rows), "kind": tsv_kind, "image_root": str(tmp_path)}
    assert SourceSpec.coerce({"path": str(rows)}).resolved_kind == "tsv"  # kind: auto, claimed by its suffix
    assert check_sources([explicit], "train") == [f"data.train[0] 'rows': tsv, 3 records, weight 1, {rows}"]
    source = open_source(SourceSpec.coerce(explicit))
    assert source.sample(0).image == str(tmp_path / "red.png") and source.sample(1).image is None
    closing = "<|end|>\n<|endoftext|>"  # the tiny Phi-3.5-style template closes the last turn with EOS
    for train in ([explicit], [{"path": str(rows), "image_root": str(tmp_path)}]):
        batches = batches_of(tiny_tokenizer, tmp_path, train=train, format="chat", max_malformed_rate=0.5)
        assert supervised_text(batches, tiny_tokenizer) == {"t0": f"red{closing}", "t1": f"a disc{closing}"}


def test_without_the_kind_tsv_files_go_back_to_the_catch_all(tmp_path):
    assert SourceSpec(str(tmp_path / "rows.tsv")).resolved_kind == "hf"
    assert SOURCE_KINDS.names() == ["hf", "llava"]


def test_misspelt_names_and_keys_fail_naming_the_choices(tmp_path, tiny_tokenizer, qa_format, tsv_kind):
    formats = r"Unknown conversation format 'qaa' \(data.format\); choose one of \['chat', 'plain', 'qa'\]. "
    with pytest.raises(UnknownVariant, match=formats + "Did you mean 'qa'?"):
        DataConfig(train=["x.json"], format="qaa")
    with pytest.raises(UnknownVariant, match=formats):
        SampleEncoder(tiny_tokenizer, N_IMAGE, "qaa")
    kinds = r"Unknown data source kind 'tvs' \(data.train\[i\].kind\); choose one of \['hf', 'llava', 'tsv'\]. "
    with pytest.raises(UnknownVariant, match=kinds + "Did you mean 'tsv'?"):
        SourceSpec("rows.tsv", kind="tvs")
    with pytest.raises(ValueError, match=r"data.train\[0\]: source spec has unknown keys \['knid'\]; known keys"):
        check_sources([{"path": "rows.tsv", "knid": "tsv"}], "train")
    with pytest.raises(ValueError, match=r"data.conversation='phi4' is not one of \[None, 'llama3', "):
        DataConfig(train=["x.json"], conversation="phi4")


def test_a_registered_conversation_renders_chat_samples(tiny_tokenizer):
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    CONVERSATIONS.register(
        "bracket", Conversation(template + "{% if add_generation_prompt %}[assistant] {% endif %}", "Be kind.")
    )
    try:
        assert DataConfig(train=["x.json"], conversation="bracket").conversation == "bracket"
        encoder = SampleEncoder(tiny_tokenizer, N_IMAGE, "chat", conversation="bracket")
        assert encoder.render_prompt("Hi", has_image=False) == "[system] Be kind.\n[user] Hi\n[assistant] "
    finally:
        CONVERSATIONS.unregister("bracket")
