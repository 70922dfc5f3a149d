"""fvl.registry.Registry: lookups, misspelt names, and built-in entries imported on the first lookup."""

from __future__ import annotations

import sys

import pytest

from fvl.registry import Registry, UnknownVariant


def test_a_misspelt_name_names_the_choices_and_the_closest() -> None:
    colours = Registry("colour", "paint.name")
    colours.register("crimson", 1)
    colours.register("navy", 2)
    with pytest.raises(
        UnknownVariant,
        match=r"Unknown colour 'crimsn' \(paint.name\); choose one of \['crimson', "
        r"'navy'\]. Did you mean 'crimson'\?",
    ):
        colours.get("crimsn")
    with pytest.raises(ValueError, match="registered twice"):
        colours.register("navy", 3)


def test_built_in_modules_are_imported_once_on_the_first_lookup(tmp_path, monkeypatch) -> None:
    shapes = Registry("shape", "shape.name", built_in=["fvl_test_built_in_shapes"])
    monkeypatch.setitem(sys.modules, "fvl_test_registry_under_test", type(sys)("holder"))
    sys.modules["fvl_test_registry_under_test"].SHAPES = shapes
    (tmp_path / "fvl_test_built_in_shapes.py").write_text(
        "import fvl_test_registry_under_test as holder\n"
        "holder.SHAPES.register('circle', 'round')\n"
        "holder.imported = getattr(holder, 'imported', 0) + 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fvl_test_built_in_shapes", raising=False)
    shapes.register("square", "corners")  # registering does not import the built-in module
    assert "fvl_test_built_in_shapes" not in sys.modules
    assert shapes.names() == ["circle", "square"]
    assert shapes.get("circle") == "round" and "circle" in shapes and len(shapes) == 2
    assert sys.modules["fvl_test_registry_under_test"].imported == 1
