"""Training data for fvl: files on disk → encoded, length-grouped batches.

Modules, in data-flow order:

- :mod:`fvl.data.sources`, :mod:`fvl.data.llava_source`, :mod:`fvl.data.hf_source`, :mod:`fvl.data.mixture`:
  ``SourceSpec`` and readers for LLaVA JSON/JSONL and Hugging Face ``datasets``, mixed with weights;
- :mod:`fvl.data.sample`: the validated ``Sample`` (conversation + optional image);
- :mod:`fvl.data.plain_format`, :mod:`fvl.data.chat_format`, :mod:`fvl.data.encoding`: rendering, exact label
  masking and image-token expansion (``SampleEncoder``, also for generation prompts);
- :mod:`fvl.data.images`, :mod:`fvl.data.image_modes`: the one image decoder (every fault an ``ImageLoadError``,
  every PIL mode to RGB) and Florence-2 preprocessing (``square`` / ``pad``);
- :mod:`fvl.data.scan`, :mod:`fvl.data.scan_workers`, :mod:`fvl.data.scan_key`, :mod:`fvl.data.scan_cache`,
  :mod:`fvl.data.scanner`: the up-front scan of exact lengths, in parallel and cached on disk;
- :mod:`fvl.data.scan_checks`: what a fault in a source's scan does (``sample_policy``, the skip-rate gates);
- :mod:`fvl.data.dataset`, :mod:`fvl.data.stats`: the dataset and its counts;
- :mod:`fvl.data.collate`, :mod:`fvl.data.sampler`, :mod:`fvl.data.datamodule`: batches and the
  ``FVLDataModule``;
- :mod:`fvl.data.synthetic` (+ ``synthetic_scene``, ``synthetic_questions``): the demo dataset.

Submodules are imported directly (``from fvl.data.encoding import SampleEncoder``) so that using one part
does not import Lightning or ``datasets``.
"""
