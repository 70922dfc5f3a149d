"""An installed fvl (a wheel, not the clone) carries its configs and its commands.

The wheel is built from this checkout and unpacked into a folder that is put first on the path, so the commands
below import the installed copy, not the clone; they run from an empty directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The folder holding fvl installed from a freshly built wheel."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy, so the build leaves nothing (build/, *.egg-info) in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):  # what the build reads, besides the package
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "fvl", source / "fvl", ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source)]
    build += ["-w", str(out)]
    subprocess.run(build, check=True, capture_output=True, cwd=out)
    (wheel,) = out.glob("fvl-*.whl")
    target = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def run_installed(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_the_wheel_ships_every_config_and_the_console_script(installed):
    shipped = {p.relative_to(installed / "fvl" / "conf") for p in (installed / "fvl" / "conf").rglob("*.yaml")}
    in_clone = {p.relative_to(ROOT / "fvl" / "conf") for p in (ROOT / "fvl" / "conf").rglob("*.yaml")}
    assert shipped == in_clone and len(shipped) > 50
    (entry_points,) = installed.glob("fvl-*.dist-info/entry_points.txt")
    assert "fvl = fvl.commands:main" in entry_points.read_text()


def test_the_installed_copy_lists_its_commands_and_composes_train_and_eval(installed, tmp_path):
    where = run_installed(installed, "-c", "import fvl; print(fvl.__file__)", cwd=tmp_path)
    assert where.stdout.strip().startswith(str(installed)), where  # not the clone
    listing = run_installed(installed, "-m", "fvl", cwd=tmp_path)
    assert listing.returncode == 0 and "train" in listing.stdout and "chat" in listing.stdout
    train = run_installed(installed, "-m", "fvl", "train", "model/fusion=average", "--cfg", "job", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert "name: average" in train.stdout
    evaluate = run_installed(installed, "-m", "fvl", "eval", "--cfg", "job", cwd=tmp_path)
    assert evaluate.returncode == 0 and "benchmarks:" in evaluate.stdout, evaluate.stderr
    unknown = run_installed(installed, "-m", "fvl", "trian", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown command 'trian'" in unknown.stderr
