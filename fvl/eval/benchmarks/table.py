"""A benchmark read from a table (hub parquet, JSON/JSONL, CSV, `save_to_disk`), defined by data: its columns,
prompt format and metric. All hub benchmarks and `custom` are instances; see `registry.py` for the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from fvl.eval.benchmarks.base import Benchmark
from fvl.eval.benchmarks.files import BUILDERS, locate_table, read_table
from fvl.eval.benchmarks.json_records import check_json_records
from fvl.eval.benchmarks.options import gold_letter, index_letter, option_list, present
from fvl.eval.benchmarks.prompt import PromptFormat
from fvl.eval.images import to_pil
from fvl.eval.sample import EvalSample
from fvl.eval.sample_set import ImageLoader, SampleSet

logger = logging.getLogger(__name__)

Row = dict[str, Any]
Field = str | Callable[[Row], Any]  # a column name, or a function of the row


@dataclass(frozen=True)
class ImageJoin:
    """Images kept in another config of the dataset, joined on a key (GQA: `imageId` → images' `id`)."""

    subset: str
    key: str
    image_id: str = "id"
    image: str = "image"


@dataclass(frozen=True)
class TableBenchmark(Benchmark):
    """A benchmark whose rows are questions. Field values are column names or functions of the row.

    `options` is a list-valued column (or string-encoded list), a tuple of per-option columns (MMBench's A–E,
    SEED's choice_a–d) or a function; `answer_is_index` reads a 0-based option index as the gold letter.
    `image` is the image column (PIL/bytes/path cells; paths are relative to `image_root` or the data file's
    folder); `image_path` builds the path from the row instead; `image_join` reads images from another config.
    `keep` filters rows (the left-out count is reported). `strip_question=False` keeps the question text's
    surrounding whitespace, for benchmarks whose lmms-eval prompt sends the question as stored (most do; MMStar
    and RealWorldQA strip it).
    """

    name: str
    metric: str
    hub_id: str | None = None
    split: str | None = None
    subset: str | None = None
    question: Field = "question"
    answers: Field = "answer"
    id: Field | None = None
    image: str | None = "image"
    image_path: Callable[[Row], str] | None = None
    image_join: ImageJoin | None = None
    image_root: str | None = None
    options: Field | tuple[str, ...] | None = None
    answer_is_index: bool = False
    hint: str | None = None
    category: Field | None = None
    group: Field | None = None
    keep: Callable[[Row], bool] | None = None
    prompt: PromptFormat = PromptFormat()
    primary: str = "accuracy"
    strip_question: bool = True

    def load(
        self,
        path: str | Path,
        *,
        split: str | None = None,
        limit: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> SampleSet:
        table = read_table(path, subset=self.subset, split=split, default_split=self.split, cache_dir=cache_dir)
        source = f"{self.name} ({path}, split {split or self.split})"
        self._check_columns(table.column_names, source)
        text_columns = [name for name in table.column_names if not _holds_images(table.features[name])]
        rows = table.select_columns(text_columns).to_list()
        kept = [i for i, row in enumerate(rows) if self.keep is None or self.keep(row)]
        if len(kept) < len(rows):
            logger.info(
                "%s: %d of %d rows left out by the benchmark's filter", source, len(rows) - len(kept), len(rows)
            )
        num_filtered = len(rows) - len(kept)
        kept = kept[:limit] if limit is not None else kept
        references = [self._sample(rows[i], i, source) for i in kept]
        image_at = self._image_loader(table, rows, kept, Path(path), split, cache_dir)
        return SampleSet(references, image_at, num_filtered=num_filtered, source=source)

    @property
    def origin(self) -> str:
        return f"download the hub dataset {self.hub_id}" if self.hub_id else ""

    def check(self, path: str | Path, *, split: str | None = None) -> None:
        """The split is found; a JSON or JSON Lines file is read through: records, fields (`check_json_records`)."""
        location = locate_table(path, subset=self.subset, split=split, default_split=self.split)
        question = self.question if isinstance(self.question, str) else None
        for file in location.files:
            if BUILDERS[file.suffix] == "json":
                check_json_records(file, self._required_columns(), question)
        if self.image_join is not None:
            locate_table(path, subset=self.image_join.subset, split=split, default_split=self.split)

    def describe_prompt(self) -> str:
        return self.prompt.describe()

    def _columns(self) -> list[str]:
        fields: list[Any] = [self.question, self.answers, self.id, self.hint, self.category, self.group]
        fields += list(self.options) if isinstance(self.options, tuple) else [self.options]
        if self.image_path is None and self.image_join is None:
            fields.append(self.image)  # with `image_path`, the image column is used only when present
        if self.image_join is not None:
            fields.append(self.image_join.key)
        return [field for field in fields if isinstance(field, str)]

    def _required_columns(self) -> list[str]:
        required = self._columns()
        if isinstance(self.options, tuple):  # per-letter option columns: the first two are enough (MMBench's E)
            required = [name for name in required if name not in self.options[2:]]
        return required

    def _check_columns(self, found: Sequence[str], source: str) -> None:
        missing = [name for name in self._required_columns() if name not in found]
        if missing:
            raise ValueError(
                f"{source}: column(s) {missing} not found; columns found: {list(found)}. "
                "Point at the benchmark's own files, or set the column names of a custom benchmark."
            )

    def _value(self, row: Row, field: Field | None) -> Any:
        if field is None:
            return None
        return field(row) if callable(field) else row.get(field)

    def _options(self, row: Row) -> list[str]:
        if isinstance(self.options, tuple):
            values = [row.get(name) for name in self.options]
            count = next((i for i, value in enumerate(values) if not present(value)), len(values))
            return [str(value) for value in values[:count]]
        value = self._value(row, self.options)
        return list(value) if callable(self.options) else option_list(value)

    def _question(self, row: Row) -> str:
        question = str(self._value(row, self.question))
        return question.strip() if self.strip_question else question

    def _answers(self, row: Row, count: int) -> tuple[str, ...]:
        value = self._value(row, self.answers)
        if isinstance(value, (list, tuple)):
            items = list(value)
        elif present(value):
            items = [value]
        else:
            return ()
        answers = [str(item["answer"]) if isinstance(item, dict) else str(item) for item in items]
        if self.answer_is_index:
            return tuple(index_letter(answer, count) for answer in answers)
        return tuple(gold_letter(answer, count) for answer in answers) if count else tuple(answers)

    def _sample(self, row: Row, index: int, source: str) -> EvalSample:
        try:
            options = self._options(row)
            hint = self._value(row, self.hint)
            category, group, sample_id = (self._value(row, f) for f in (self.category, self.group, self.id))
            return EvalSample(
                id=str(index if sample_id is None else sample_id),
                image=None,
                question=self.prompt.render(self._question(row), options, str(hint) if present(hint) else None),
                answers=self._answers(row, len(options)),
                meta={"row": index},
                options=tuple(options),
                category=None if category is None else str(category),
                group=None if group is None else str(group),
            )
        except (KeyError, ValueError, SyntaxError) as error:
            raise ValueError(f"{source}: cannot read row {index} ({error!r}); columns: {sorted(row)}") from error

    def _image_loader(
        self, table: Any, rows: list[Row], kept: list[int], path: Path, split: str | None, cache_dir: Any
    ) -> ImageLoader | None:
        root = Path(self.image_root) if self.image_root else (path.parent if path.is_file() else path)
        if self.image_join is not None:
            join = self.image_join
            images = read_table(path, subset=join.subset, split=split, default_split=self.split, cache_dir=cache_dir)
            if join.image not in images.column_names or join.image_id not in images.column_names:
                raise ValueError(
                    f"{self.name}: no {join.subset} images found under {path}; point at the dataset root that holds "
                    f"both the {self.subset} and {join.subset} folders"
                )
            position = {str(key): i for i, key in enumerate(images.select_columns([join.image_id])[join.image_id])}
            column = images.select_columns([join.image])

            def joined(i: int) -> Image.Image | None:
                key = str(rows[kept[i]][join.key])
                if key not in position:
                    raise ValueError(f"image {key!r} is not in the {join.subset} files (column {join.image_id!r})")
                return to_pil(column[position[key]][join.image], root)

            return joined
        if self.image is not None and self.image in table.column_names:
            column = table.select_columns([self.image])
            return lambda i: to_pil(column[kept[i]][self.image], root)
        if self.image_path is not None:
            return lambda i: to_pil(self.image_path(rows[kept[i]]), root)
        return None


def _holds_images(feature: Any) -> bool:
    """Whether a `datasets` feature is an image or a list of images (kept out of the in-memory rows)."""
    import datasets

    if isinstance(feature, datasets.Image):
        return True
    inner = getattr(feature, "feature", None)
    return inner is not None and _holds_images(inner)
