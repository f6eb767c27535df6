"""Every Examples section of asktell_qml's docstrings runs."""

import doctest
import importlib
import pkgutil

import pytest

import asktell_qml


def modules():
    yield asktell_qml.__name__
    for info in pkgutil.iter_modules(asktell_qml.__path__):
        yield f"asktell_qml.{info.name}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
