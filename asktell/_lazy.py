"""Lazy module attributes (PEP 562): a package's public names imported on first use.

Kept free of any third-party import, so that ``import asktell`` and the entry modules of plugins
cost only what they use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], *, submodules: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` that import a submodule on first use of a name.

    Keeps a plugin's entry module light (PEP 562) while ``from package import Name`` still works.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : mapping
        Public name -> submodule that defines it, relative (``".estimator"``) or absolute.
    submodules : iterable of str
        Names in ``exports`` that are the submodule itself (``{"metrics": ".metrics"}`` with
        ``submodules=("metrics",)``), not an attribute of it.

    Returns
    -------
    (__getattr__, __dir__)
        Assign both in the package's ``__init__``.

    Notes
    -----
    A name that is also the name of the submodule defining it (the function ``rollout`` of the
    module ``rollout``) stays the function once that submodule is imported by anyone, as with
    ``from .rollout import rollout``: the package's module type is replaced by one that keeps
    the exported attribute when the import system sets the submodule on the package.

    Examples
    --------
    ::

        # my_plugin/__init__.py
        __getattr__, __dir__ = lazy_exports(__name__, {"Heavy": ".heavy"})
    """
    module = sys.modules[package]
    whole = frozenset(submodules)

    class _LazyPackage(ModuleType):
        def __setattr__(self, attr: str, value: Any) -> None:
            if (attr in exports and attr not in whole and isinstance(value, ModuleType)
                    and value.__name__ == f"{package}.{attr}" and hasattr(value, attr)):
                value = getattr(value, attr)
            super().__setattr__(attr, value)

    module.__class__ = _LazyPackage

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        found = importlib.import_module(where, package)
        value = found if name in whole else getattr(found, name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(module)) | set(exports))

    return __getattr__, __dir__
