"""The up-front scan of every training record: exact lengths, over-long decisions, image checks, cached.

- :mod:`~fvl.data.scan.source_scan`: one source's records → :class:`SourceScan` (lengths, counts, examples);
- :mod:`~fvl.data.scan.workers`: the same scan split over processes (identical result);
- :mod:`~fvl.data.scan.key`, :mod:`~fvl.data.scan.cache`: what a scan depends on, and its copy on disk;
- :mod:`~fvl.data.scan.scanner`: cache first, otherwise scan and store (what the dataset calls);
- :mod:`~fvl.data.scan.checks`: what the counts do (``sample_policy``, the skip-rate gates, the report).
"""
