"""The registry of data source kinds (``data.train[i].kind``): :data:`SOURCE_KINDS`, ``name → RecordSource class``.

A source kind is a :class:`~fvl.data.sources.spec.RecordSource` subclass (its docstring is the contract): how
rows are read (``__len__``, ``record``), and as class methods whether it claims a path for ``kind: auto``
(``claims``; ``catch_all`` for the kind that takes what no other claims), how a spec is opened (``open``), and
what the pre-flight check (:mod:`fvl.data.sources.check`) reads (``inspect``, ``remote``, ``hint``). The built-in
kinds register themselves where they are defined: ``llava`` (:mod:`fvl.data.sources.llava`, ``.json``/``.jsonl``)
and ``hf`` (:mod:`fvl.data.sources.hf`, the catch-all). Add one with::

    @SOURCE_KINDS.register("tsv")
    class TsvSource(RecordSource): ...

and use it with ``data.train='[{path: rows.tsv, kind: tsv}]'`` (or ``kind: auto`` when it claims the path).

The built-in modules import the spec, which checks kinds here, so they cannot be imported by this module up
front; :data:`SOURCE_KINDS` imports them by name on its first lookup instead (``built_in`` of
:class:`~fvl.registry.Registry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fvl.registry import Registry, UnknownVariant

if TYPE_CHECKING:
    from fvl.data.sources.spec import RecordSource

AUTO = "auto"  # the kind that picks one from the path (resolve_kind)
BUILT_IN_KINDS = ("fvl.data.sources.llava", "fvl.data.sources.hf")


SOURCE_KINDS: Registry[type[RecordSource]] = Registry("data source kind", "data.train[i].kind", built_in=BUILT_IN_KINDS)


def check_kind(kind: str, path: str) -> None:
    """Raise naming the registered kinds (and ``auto``) when ``kind`` is neither."""
    if kind == AUTO:
        return
    try:
        SOURCE_KINDS.get(kind)
    except UnknownVariant as error:
        raise UnknownVariant(f"source {path!r}: {error} Or {AUTO!r}: picked from the path.") from None


def resolve_kind(path: str) -> str:
    """The kind ``kind: auto`` gives ``path``: the one kind that claims it, else the catch-all kind."""
    claiming = [name for name, kind in SOURCE_KINDS.items() if not kind.catch_all and kind.claims(path)]
    if len(claiming) > 1:
        raise ValueError(f"source {path!r}: kinds {claiming} all claim this path; set its kind to one of them")
    if claiming:
        return claiming[0]
    catch_all = [name for name, kind in SOURCE_KINDS.items() if kind.catch_all]
    if len(catch_all) != 1:
        raise ValueError(
            f"source {path!r}: no source kind claims this path (catch-all kinds: {catch_all}); set its kind to one "
            f"of {SOURCE_KINDS.names()}"
        )
    return catch_all[0]
