"""Packaging stays publishable: no package index named in the repository, extras complete,
package data declared. The wheel itself is built and run outside the clone by
``scripts/check_wheel.sh`` (a step of ``.ci/run``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parents[1]

# Built from pieces so that this file does not match its own patterns.
_DOT = r"\."
INDEX_PATTERNS = [
    re.compile(r"--(extra-)?index-url\b"),
    re.compile(r"\bindex-url\s*="),
    re.compile(r"\b(extra_)?index_url\s*=", re.I),
    re.compile(r"https?://\S*" + "pypi" + _DOT + "(org|python)"),
    re.compile(r"https?://\S*" + "pythonhosted" + _DOT + "org"),
    re.compile(r"https?://\S*" + "download" + _DOT + "pytorch"),
    re.compile(r"https?://\S*/" + "simple" + r"(/|\b)"),
    re.compile(r"https?://\S*/" + "whl" + r"/(cpu|cu\d+|rocm)"),
    re.compile(r"https?://\S*" + "anaconda" + _DOT + "org"),
]


def tracked_files() -> list[Path]:
    """Every text file of the repository (git's list, else a walk that skips build output)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=ROOT, capture_output=True,
                             check=True).stdout
        files = [ROOT / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "build", "dist", "site", "__pycache__", ".ruff_cache"}
        files = [p for p in ROOT.rglob("*")
                 if p.is_file() and not skip.intersection(p.relative_to(ROOT).parts)]
    return [p for p in files if p.is_file()]


def test_no_package_index_is_named_in_the_repository():
    found = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if any(p.search(line) for p in INDEX_PATTERNS):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not found, (
        "package index named in the repository (leave the choice to pip's configuration: "
        "PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, a constraints file):\n"
        + "\n".join(found)
    )


@pytest.mark.parametrize("line", [
    "pip install torch --" + "index-url https://example.invalid/x",
    "pip install --extra-index" + "-url=https://example.invalid/x torch",
    "PIP_INDEX_URL=https://example.invalid/" + "simple/",
    "https://" + "download." + "pytorch.org/whl/cpu",
    "see https://" + "pypi." + "org/project/asktell",
])
def test_the_index_check_catches(line):
    assert any(p.search(line) for p in INDEX_PATTERNS)


@pytest.mark.parametrize("line", [
    "point PIP_EXTRA_INDEX_URL at PyTorch's CPU wheels",
    "pip install --no-index --no-deps torch",
    "https://doi.org/10.1038/sdata.2014.22",
])
def test_the_index_check_lets_pass(line):
    assert not any(p.search(line) for p in INDEX_PATTERNS)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


PLUGIN_EXTRAS = ["optim", "chem", "organ", "qml", "rbm", "cinn"]


def test_one_extra_per_plugin_and_all_covers_them():
    proj = pyproject()["project"]
    extras = proj["optional-dependencies"]
    plugins = set(proj["entry-points"]["asktell"])
    assert plugins == set(PLUGIN_EXTRAS)
    for name in [*PLUGIN_EXTRAS, "dask", "plot", "dashboard"]:
        assert name in extras, f"pyproject.toml has no [{name}] extra"
    all_ = extras["all"]
    assert len(all_) == 1
    included = set(re.fullmatch(r"asktell\[(.*)\]", all_[0]).group(1).split(","))
    missing = {*PLUGIN_EXTRAS, "dask", "plot", "dashboard"} - included
    assert not missing, f"asktell[all] leaves out {sorted(missing)}"


def test_every_plugin_package_and_its_data_are_declared():
    tool = pyproject()["tool"]["setuptools"]
    packages = set(tool["packages"])
    for d in (ROOT / "plugins").iterdir():
        if (d / "__init__.py").exists():
            assert d.name in packages, f"{d.name} is not in [tool.setuptools] packages"
    data = tool["package-data"]
    for pkg_dir in [ROOT / "asktell", *(ROOT / "plugins").iterdir()]:
        data_dir = pkg_dir / "data"
        if not data_dir.is_dir():
            continue
        pkg = pkg_dir.name
        shipped = [p for p in data_dir.iterdir()
                   if p.is_file() and p.suffix not in {".py", ".md"}]
        globs = data.get(pkg, [])
        for f in shipped:
            rel = f.relative_to(pkg_dir).as_posix()
            assert any(Path(rel).match(g) for g in globs), (
                f"{pkg}/{rel} is not package data in pyproject.toml")
