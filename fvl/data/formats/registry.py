"""The registry of conversation formats (``data.format``): :data:`FORMATS`, ``name → format class``.

A format class renders samples to text and supervised character spans (the contract:
:class:`~fvl.data.formats.rendering.ConversationFormat`). The built-ins register themselves where they are
defined (``plain``: :mod:`fvl.data.formats.plain`, ``chat``: :mod:`fvl.data.formats.chat`); the package's
``__init__`` imports them, so every import of this module sees them. Add one with::

    @FORMATS.register("qa")
    class QAFormat: ...

and select it with ``data.format=qa`` (a module outside fvl goes in the config's ``imports`` list).
:func:`~fvl.data.encoding.make_format` builds the entry, passing the encoder settings its constructor names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fvl.registry import Registry

if TYPE_CHECKING:
    from fvl.data.formats.rendering import ConversationFormat

FORMATS: Registry[type[ConversationFormat]] = Registry("conversation format", "data.format")
