"""Every Examples section in the library's docstrings runs."""

import doctest
import importlib
import pkgutil

import pytest

import asktell
import asktell_optim


def modules():
    for pkg in (asktell, asktell_optim):
        yield pkg.__name__
        for info in pkgutil.iter_modules(pkg.__path__):
            yield f"{pkg.__name__}.{info.name}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
