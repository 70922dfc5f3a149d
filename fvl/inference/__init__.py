"""Using a trained model: ``fvl chat`` (one question or a session), ``fvl predict`` (JSONL answers), ``fvl serve``.

:mod:`fvl.inference.session` turns conversations into model inputs and streams replies; :mod:`.loading` loads the
model as a ``ModelPredictor``; :mod:`.options` holds the shared command-line options.
"""
