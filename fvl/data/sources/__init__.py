"""Where records come from: a :class:`~fvl.data.sources.spec.SourceSpec` per file or dataset, one reader per kind.

- :mod:`~fvl.data.sources.spec`: the spec and the record → sample logic every kind shares;
- :mod:`~fvl.data.sources.kinds`: the registry of source kinds (``llava``, ``hf``; add one with
  ``@SOURCE_KINDS.register``);
- :mod:`~fvl.data.sources.llava`, :mod:`~fvl.data.sources.arrow_rows`: LLaVA JSON/JSONL, read once into a
  memory-mapped Arrow table;
- :mod:`~fvl.data.sources.hf`: Hugging Face ``datasets`` (saved directories, data files, hub names);
- :mod:`~fvl.data.sources.mixture`: opening a spec and its weighted share of an epoch;
- :mod:`~fvl.data.sources.check`: the cheap pre-flight check of every configured source.
"""
