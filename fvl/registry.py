"""Named variants of one extension axis: register a class, factory or value under a name; build it by name.

Every axis that users extend is one :class:`Registry` beside its base contract, plus one Hydra config group
that picks an entry by name:

==================  ======================================  ==============================
axis                registry                                config that picks an entry
==================  ======================================  ==============================
vision backbone     ``fvl.models.vision.VISION_ENCODERS``   ``model/vision`` (``kind``)
LLM                 ``fvl.models.language_model.LLMS``       ``model/llm`` (``kind``)
fusion              ``fvl.models.fusion.FUSIONS``           ``model/fusion`` (``name``)
projector           ``fvl.models.projector.PROJECTORS``     ``model/projector`` (``name``)
conversation format ``fvl.data.formats.registry.FORMATS``    ``data.format``
data source kind    ``fvl.data.sources.kinds.SOURCE_KINDS``  ``data.train[i].kind``
stage               ``fvl.training.stages.STAGES``          ``stage`` (``name``)
strategy            ``fvl.training.strategy.STRATEGIES``    ``trainer.strategy`` (``name``)
benchmark           ``fvl.eval.benchmarks.registry.BENCHMARKS``  ``benchmarks=[...]``
metric              ``fvl.eval.metrics.registry.METRICS``   a benchmark's ``metric``
==================  ======================================  ==============================

Adding a variant is one file that registers it (``@FUSIONS.register("gated")``) and, where the axis has a
config group, one YAML that names it. A variant's own options travel in the config's ``options`` mapping and
reach its constructor as keyword arguments; :meth:`Registry.check_options` compares them with the signature at
compose time, so a misspelt option fails naming the accepted ones instead of being dropped.

Variants defined outside fvl are imported by name before the config is checked: the top-level ``imports`` list
of ``train.yaml`` / ``evaluate.yaml`` (modules on ``sys.path``; the working directory is added, as ``python -m``
does). A model records the modules of its parts (``plugins`` in ``fvl_config.json`` and in checkpoints), so
loading it later imports them again (:func:`import_plugins`).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownVariant(ValueError):
    """A name that no entry of the registry has."""


class Registry(Generic[T]):
    """One axis: ``name → entry``. ``key`` is the config key that chooses an entry (used in messages).

    ``built_in``: modules holding built-in entries that cannot be imported where the registry is defined (they
    import a module that imports the registry); they are imported on the first lookup.
    """

    def __init__(self, axis: str, key: str, built_in: Iterable[str] = ()) -> None:
        self.axis = axis
        self.key = key
        self._built_in = tuple(built_in)
        self._own: dict[str, T] = {}

    @property
    def _entries(self) -> dict[str, T]:
        """Every entry, after importing the ``built_in`` modules once (they register into ``_own``)."""
        if self._built_in:
            modules, self._built_in = self._built_in, ()
            for module in modules:
                importlib.import_module(module)
        return self._own

    def register(self, name: str, entry: T | None = None) -> Any:
        """``REGISTRY.register("name", entry)``, or as a decorator ``@REGISTRY.register("name")``."""
        if entry is not None:
            self._add(name, entry)
            return entry

        def decorate(item: T) -> T:
            self._add(name, item)
            return item

        return decorate

    def _add(self, name: str, entry: T) -> None:
        if name in self._own and self._own[name] is not entry:
            raise ValueError(f"{self.axis} {name!r} is registered twice ({self._own[name]!r} and {entry!r}).")
        self._own[name] = entry

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register a toy variant clean up with this)."""
        self._own.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def get(self, name: str) -> T:
        """The entry named ``name``; an :class:`UnknownVariant` naming the choices (and the closest) otherwise."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            close = difflib.get_close_matches(str(name), self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownVariant(
                f"Unknown {self.axis} {name!r} ({self.key}); choose one of {self.names()}.{hint}"
            ) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def check_options(self, name: str, options: Mapping[str, Any], supplied: Iterable[str] = ()) -> None:
        """Raise naming every option the entry's signature does not take, and every required one missing.

        ``supplied``: the arguments the framework passes itself (widths, the model), which are not options.
        An entry taking ``**kwargs`` accepts any option.
        """
        check_call_options(self.get(name), options, supplied, f"{self.axis} {name!r}")

    def build(self, name: str, /, *args: Any, **options: Any) -> Any:
        """Call the entry named ``name`` with ``args`` and ``options`` (check them first with :meth:`check_options`
        where they come from a config, so the mistake is reported at compose time)."""
        return self.get(name)(*args, **options)


def import_plugins(modules: Iterable[str], key: str = "imports") -> None:
    """Import each module (which registers its variants); a module that cannot be imported fails naming it."""
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(
                f"{key}: cannot import {module!r} ({error}). Give a module importable from the working directory or "
                f"PYTHONPATH ({module} for ./{module.replace('.', '/')}.py), or install the package that holds it."
            ) from error


def defining_module(entry: Any) -> str:
    """The module an entry (class, function, instance) is defined in."""
    return getattr(entry, "__module__", None) or type(entry).__module__


def check_call_options(target: Any, options: Mapping[str, Any], supplied: Iterable[str], where: str) -> None:
    """:meth:`Registry.check_options` for any callable ``target`` (``where`` names it in the message)."""
    parameters = accepted_parameters(target)
    if parameters is None:
        return
    supplied = set(supplied)
    own = {key: p for key, p in parameters.items() if key not in supplied}
    unknown = sorted(set(options) - set(own))
    if unknown:
        raise ValueError(
            f"{where} has no option(s) {unknown}; it takes {sorted(own) or 'no options'}. Check the spelling."
        )
    missing = [key for key, p in own.items() if p.default is inspect.Parameter.empty and key not in options]
    if missing:
        raise ValueError(f"{where} needs option(s) {missing}; set them under its config's options.")


def accepted_parameters(entry: Any) -> dict[str, inspect.Parameter] | None:
    """The keyword parameters a class or callable takes (None when it takes ``**kwargs``: anything goes)."""
    target: Callable[..., Any] = entry
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    keywords = {}
    for key, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if parameter.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            keywords[key] = parameter
    return keywords
