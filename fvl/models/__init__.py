"""The Florence-VL model: a vision encoder (Florence-2 by default), a fusion, a projector and an LLM.

Each part is one axis of :mod:`fvl.registry` with its contract beside it: :mod:`fvl.models.vision`
(``VISION_ENCODERS``), :mod:`fvl.models.llms` (``LLMS``), :mod:`fvl.models.fusion` (``FUSIONS``) and
:mod:`fvl.models.projector` (``PROJECTORS``). :mod:`fvl.models.spec` is the typed ``model/*`` config,
:mod:`fvl.models.florence_vl` the assembled model and :func:`fvl.models.loading.load` the one way to read a trained
one back (an export, a run directory, a ``.ckpt``); the ``released_*`` modules convert the published checkpoints.
"""
