"""Question types of the synthetic instruction set, drawn so that answers are balanced within each question.

Objects are referred to by position or colour (distinct within a scene); the shape itself is asked about
only in the ``shape`` type, so colour, count and position questions stay learnable for a ~1M-parameter
model at 64 px, while ``shape`` and ``text`` need finer vision (measured with the earlier, smaller shapes: a
tiny DaViT classified single colours perfectly within 100 steps at 64 px, shapes only ~45 % after 400).

Each type has a question template with slots (e.g. the shape asked about) and a one-word answer set. A
:class:`BalancedStream` walks through every (slot, answer) pair once per shuffled pass and builds a scene in
which that answer is true, so, per exact question text, every answer is (near) equally frequent: the
question alone predicts the answer no better than chance, and a model must look at the image (the answer-prior
trap of small VLMs trained from scratch; README, "Why the tiny model ignored attributes").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fvl.data.synthetic.scene import CELLS, COLOURS, COLUMNS, ROWS, SHAPES, WORDS, Scene, Shape, random_shapes

NUMBERS = ("one", "two", "three")
Slot = dict[str, str]


@dataclass(frozen=True)
class Question:
    """One drawn question: its type, text, answer and a scene where the answer holds."""

    kind: str
    text: str
    answer: str
    scene: Scene


@dataclass(frozen=True)
class QuestionType:
    """A template over ``slots`` with the answer set ``answers``; ``build`` makes a scene for (slot, answer)."""

    name: str
    template: str
    slots: tuple[Slot, ...]
    answers: tuple[str, ...]
    build: Callable[[Slot, str, random.Random, int], Scene]


def _with_target(rng: random.Random, target: Shape, distractors: int) -> Scene:
    return Scene(random_shapes(rng, rng.randint(1, 1 + distractors), (target,)))


def _colour_scene(slot: Slot, answer: str, rng: random.Random, distractors: int) -> Scene:
    return _with_target(rng, Shape(rng.choice(SHAPES), answer, CELLS[int(slot["cell"])]), distractors)


def _shape_scene(slot: Slot, answer: str, rng: random.Random, distractors: int) -> Scene:
    return _with_target(rng, Shape(answer, slot["colour"], rng.choice(CELLS)), distractors)


def _count_scene(slot: Slot, answer: str, rng: random.Random, distractors: int) -> Scene:
    return Scene(random_shapes(rng, NUMBERS.index(answer) + 1))


def _side(axis: int) -> Callable[[Slot, str, random.Random, int], Scene]:
    """Scenes for a left/right (``axis`` 1) or top/bottom (``axis`` 0) question."""
    names = (ROWS, COLUMNS)[axis]

    def build(slot: Slot, answer: str, rng: random.Random, distractors: int) -> Scene:
        cells = [cell for cell in CELLS if cell[axis] == names.index(answer)]
        return _with_target(rng, Shape(rng.choice(SHAPES), slot["colour"], rng.choice(cells)), distractors)

    return build


def _text_scene(slot: Slot, answer: str, rng: random.Random, distractors: int) -> Scene:
    return Scene(word=answer)


_CELL_SLOTS = tuple(
    {"cell": str(index), "position": f"{ROWS[row]} {COLUMNS[column]}"} for index, (row, column) in enumerate(CELLS)
)
_COLOUR_SLOTS = tuple({"colour": colour} for colour in COLOURS)

QUESTION_TYPES = (
    QuestionType("colour", "What colour is the shape at the {position}?", _CELL_SLOTS, tuple(COLOURS), _colour_scene),
    QuestionType("shape", "What shape is the {colour} one?", _COLOUR_SLOTS, SHAPES, _shape_scene),
    QuestionType("count", "How many shapes are there?", ({},), NUMBERS, _count_scene),
    QuestionType("horizontal", "Is the {colour} shape on the left or the right?", _COLOUR_SLOTS, COLUMNS, _side(1)),
    QuestionType("vertical", "Is the {colour} shape at the top or the bottom?", _COLOUR_SLOTS, ROWS, _side(0)),
    QuestionType("text", "What is the text in the image?", ({},), WORDS, _text_scene),
)


class BalancedStream:
    """Endless questions of one type: passes over the slots in shuffled order, all answers of a slot in a row.

    Each pass yields every (slot, answer) pair once; grouping a slot's answers keeps every question text
    balanced at any cut-off (at most one text is part-way through its answers). Scenes hold the shape asked
    about plus up to ``distractors`` other shapes (count questions: 1–3 shapes regardless).
    """

    def __init__(self, question_type: QuestionType, rng: random.Random, distractors: int = 2) -> None:
        self.question_type = question_type
        self._rng = rng
        self._distractors = distractors
        self._pairs = self._passes()

    def _passes(self) -> Iterator[tuple[Slot, str]]:
        slots, answers = self.question_type.slots, self.question_type.answers
        while True:
            for slot in self._rng.sample(slots, len(slots)):
                for answer in self._rng.sample(answers, len(answers)):
                    yield slot, answer

    def draw(self) -> Question:
        slot, answer = next(self._pairs)
        kind = self.question_type
        scene = kind.build(slot, answer, self._rng, self._distractors)
        return Question(kind.name, kind.template.format(**slot), answer, scene)


def follow_up(scene: Scene, rng: random.Random) -> tuple[str, str] | None:
    """A second question about a shape of ``scene`` (colour or shape of it), or None for a word scene."""
    if not scene.shapes:
        return None
    shape = rng.choice(scene.shapes)
    if rng.random() < 0.5:
        return QUESTION_TYPES[0].template.format(position=shape.position), shape.colour
    return QUESTION_TYPES[1].template.format(colour=shape.colour), shape.kind
