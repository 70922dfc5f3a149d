"""Conversation formats: how a sample's turns become text, and which characters of it are supervised.

- :mod:`~fvl.data.formats.rendering`: the contract (a format renders strings and supervised spans);
- :mod:`~fvl.data.formats.registry`: the registry of formats (``plain``, ``chat``; add one with
  ``@FORMATS.register``);
- :mod:`~fvl.data.formats.plain`, :mod:`~fvl.data.formats.chat`: the two formats;
- :mod:`~fvl.data.formats.templates`: the reference's ``llama3`` / ``phi3`` conversation templates (the
  ``CONVERSATIONS`` registry, ``data.conversation``).

The built-in formats are imported here, so they are registered whatever module of the package is imported first.
"""

from fvl.data.formats import chat, plain  # noqa: F401  (they register themselves in FORMATS)
