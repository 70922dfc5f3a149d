"""The samples of one benchmark: references held in memory, images decoded only when a sample is accessed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from PIL import Image

from fvl.eval.sample import EvalSample

ImageLoader = Callable[[int], Image.Image | None]


class SampleImageError(ValueError):
    """The image of one sample cannot be read: its message names the sample's id and the benchmark's source."""

    def __init__(self, message: str, sample_id: str, source: str) -> None:
        super().__init__(message)
        self.sample_id = sample_id
        self.source = source


class SampleSet(Sequence[EvalSample]):
    """A lazy sequence of `EvalSample`s.

    `references[i]` is sample i without its image (cheap: what scoring needs); `self[i]` adds the image through
    `image_at(i)`, so a 200k-question benchmark never holds all its images at once. `num_filtered` counts the
    rows of the source that were left out on purpose (e.g. SEED-Bench video questions), so that nothing is
    dropped silently.
    """

    def __init__(
        self,
        references: Sequence[EvalSample],
        image_at: ImageLoader | None = None,
        *,
        num_filtered: int = 0,
        source: str = "",
    ) -> None:
        self.references: list[EvalSample] = list(references)
        self._image_at = image_at
        self.num_filtered = num_filtered
        self.source = source

    def __len__(self) -> int:
        return len(self.references)

    def __getitem__(self, index: int) -> EvalSample:  # type: ignore[override]
        if not isinstance(index, int):
            raise TypeError(f"SampleSet indices must be integers, got {type(index).__name__}")
        reference = self.references[index]
        if self._image_at is None:
            return reference
        try:
            image = self._image_at(index if index >= 0 else len(self) + index)
        except (OSError, ValueError, TypeError) as error:
            message = f"cannot read the image of sample {reference.id!r} in {self.source}: {error}"
            raise SampleImageError(message, reference.id, self.source) from error
        return replace(reference, image=image)
