"""Training data for fvl: files on disk → encoded, length-grouped batches.

Subpackages and modules, in data-flow order:

- :mod:`fvl.data.sources`: ``SourceSpec`` and one reader per source kind (LLaVA JSON/JSONL, Hugging Face
  ``datasets``), mixed with weights;
- :mod:`fvl.data.sample`: the validated ``Sample`` (conversation + optional image);
- :mod:`fvl.data.formats`, :mod:`fvl.data.encoding`: conversation formats (rendering and supervised spans), exact
  label masking and image-token expansion (``SampleEncoder``, also for generation prompts);
- :mod:`fvl.data.images`, :mod:`fvl.data.image_modes`: the one image decoder (every fault an ``ImageLoadError``,
  every PIL mode to RGB) and Florence-2 preprocessing (``square`` / ``pad``);
- :mod:`fvl.data.scan`: the up-front scan of exact lengths, in parallel and cached on disk, and what its faults do;
- :mod:`fvl.data.dataset`, :mod:`fvl.data.stats`: the dataset and its counts;
- :mod:`fvl.data.collate`, :mod:`fvl.data.packing`, :mod:`fvl.data.sampler`, :mod:`fvl.data.datamodule`: batches
  and the ``FVLDataModule``;
- :mod:`fvl.data.synthetic`: the demo dataset (ordinary LLaVA files; nothing above knows about it).

Submodules are imported directly (``from fvl.data.encoding import SampleEncoder``) so that using one part
does not import Lightning or ``datasets``.
"""
