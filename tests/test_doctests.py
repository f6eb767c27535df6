"""Every Examples section in the library's docstrings runs: the core and every built-in plugin
(the packages asktell's own distribution registers under the "asktell" entry-point group)."""

import doctest
import importlib
import importlib.metadata as md
import pkgutil

import pytest

import asktell


def packages():
    yield "asktell"
    for ep in md.distribution("asktell").entry_points:
        if ep.group == "asktell":
            yield ep.value


def modules():
    for name in packages():
        pkg = importlib.import_module(name)
        yield name
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            yield info.name


@pytest.mark.parametrize("name", sorted(modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_every_builtin_plugin_is_checked():
    assert {"asktell", "asktell_optim", "asktell_chem"} <= set(packages())
    assert asktell.__name__ == "asktell"
