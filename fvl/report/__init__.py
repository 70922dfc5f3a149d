"""Reports and pictures drawn from the files runs leave: sweep reports and the pictures of runs and evaluations.

Sweep reports: a Hydra multirun's jobs side by side in ``report.md``, ``report.csv`` and ``report.png``, written
into the sweep dir when a multirun ends (:mod:`fvl.report.hydra_callback`, registered in
fvl/conf/hydra/default.yaml) and regenerated from the job dirs with ``python -m fvl.report <sweep dir>``:

- :mod:`fvl.report.sweep` reads the sweep dir back (job dirs, overrides, ``metrics.json``, optimized metric);
- :mod:`fvl.report.table` writes the Markdown and CSV tables;
- :mod:`fvl.report.chart` draws the bar chart of the optimized metric;
- :mod:`fvl.report.writer` writes all three (:func:`~fvl.report.writer.write_report`).

Pictures of a run (drawn by training and evaluation as they go, redrawn by ``python -m fvl.report.pictures``):

- :mod:`fvl.report.curves` — ``curves.png``: loss, learning rate, throughput (and answer accuracy) per stage;
- :mod:`fvl.report.accuracy_bars` — ``answer_accuracy.png`` / ``<benchmark>_per_type.png``: accuracy per type
  beside chance and the question-only baseline;
- :mod:`fvl.report.token_lengths` — ``token_lengths.png``: the scanned token lengths against ``max_length``;
- :mod:`fvl.report.figures` — the one plotting style all of them (and :mod:`fvl.analysis`) share.

Nothing here imports torch or Lightning, so the command lines start in about a second and any layer (training,
evaluation, analysis) may draw with it.
"""
