"""Sweep reports: a Hydra multirun's jobs side by side in ``report.md``, ``report.csv`` and ``report.png``.

Written into the sweep dir when a multirun ends (:mod:`fvl.report.hydra_callback`, registered in
fvl/conf/hydra/default.yaml) and regenerated from the job dirs with ``python -m fvl.report <sweep dir>``.

- :mod:`fvl.report.sweep` reads the sweep dir back (job dirs, overrides, ``metrics.json``, optimized metric);
- :mod:`fvl.report.table` writes the Markdown and CSV tables;
- :mod:`fvl.report.chart` draws the bar chart of the optimized metric;
- :mod:`fvl.report.writer` writes all three (:func:`~fvl.report.writer.write_report`).

Nothing here imports torch or Lightning, so the command line starts in about a second.
"""
