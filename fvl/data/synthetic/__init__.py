"""The embedded demo data: coloured shapes and short words drawn into small images, with captions and questions.

- :mod:`~fvl.data.synthetic.scene`: random scenes and their drawing;
- :mod:`~fvl.data.synthetic.questions`: question types, answer-balanced streams, follow-up turns;
- :mod:`~fvl.data.synthetic.generate`: the LLaVA-format files (``python -m fvl.data.synthetic.generate --out DIR``).

Nothing in the core pipeline knows about it: it writes ordinary LLaVA files, which ``data.train`` names.
"""
