"""The plugin registry: named factories per family, contributed by pluggy plugins.

Plugins are loaded from the entry-point group ``asktell`` in our own loop, so one plugin that
fails to import (a missing optional dependency, a syntax error) is recorded with its error and
an install hint, and every other plugin still loads. Built-in plugins go through the same door.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .hookspecs import FAMILIES, PROJECT

__all__ = [
    "DuplicateNameError",
    "Entry",
    "FamilyRegistry",
    "PluginFailure",
    "Registry",
    "UnknownNameError",
    "create",
    "get",
    "registry",
]

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "asktell"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.]*(-[a-z0-9.]+)*$")


def normalise_name(name: str) -> str:
    """Canonical form of a registered name: lowercase, ``_`` and spaces read as ``-``."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


@dataclass(frozen=True)
class Entry:
    """One registered factory.

    Attributes
    ----------
    family, name : str
        Where it is registered.
    factory : callable
        What :meth:`Registry.get` returns.
    plugin : str
        Name of the plugin that added it (the entry-point name).
    distribution, version : str or None
        The installed distribution the plugin came from.
    source : str
        Where the plugin's code lives (module file).
    summary : str
        One line for ``asktell plugins``.
    """

    family: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    distribution: str | None
    version: str | None
    source: str
    summary: str


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or failed while registering.

    Attributes
    ----------
    plugin : str
        Entry-point name.
    distribution, version : str or None
        Its distribution.
    error : str
        ``ExceptionType: message``.
    hint : str
        What to do about it (usually an install command).
    traceback : str
        The full traceback, for bug reports.
    """

    plugin: str
    distribution: str | None
    version: str | None
    error: str
    hint: str
    traceback: str


class DuplicateNameError(ValueError):
    """A name registered twice in one family."""


class UnknownNameError(KeyError):
    """No factory with this name in the family."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class FamilyRegistry:
    """What a hook receives: adds factories to one family on behalf of one plugin.

    Parameters
    ----------
    registry : Registry
        The registry being built.
    family : str
        Family this view adds to.
    plugin : _PluginInfo
        The plugin adding.
    """

    def __init__(self, registry: Registry, family: str, plugin: _PluginInfo) -> None:
        self._registry = registry
        self.family = family
        self._plugin = plugin

    def add(self, name: str, factory: Callable[..., Any], *, summary: str | None = None) -> None:
        """Register ``factory`` under ``name``.

        Parameters
        ----------
        name : str
            Lowercase words joined by ``-`` (``"nelder-mead"``); ``_`` is read as ``-``.
        factory : callable
            Returns the object (optimiser, reward, kernel, ...) when called with keywords.
        summary : str, optional
            One line; default: the first line of the factory's docstring.

        Raises
        ------
        DuplicateNameError
            If the name is already registered in this family (the message names both plugins).
        TypeError, ValueError
            If the factory is not callable or the name is malformed.
        """
        self._registry._add(self.family, name, factory, summary, self._plugin)


@dataclass(frozen=True)
class _PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    source: str


def _first_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _install_hint(exc: BaseException, dist: md.Distribution | None) -> str:
    """Suggest an install command for an import failure."""
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if not missing:
        return "see the traceback (asktell plugins --json)"
    top = missing.split(".")[0]
    norm = re.sub(r"[-_.]+", "-", top).lower()
    if dist is not None:
        for req in dist.requires or ():
            m = re.match(r"^\s*([A-Za-z0-9_.\-]+).*;.*extra\s*==\s*['\"]([\w\-]+)['\"]", req)
            if m and re.sub(r"[-_.]+", "-", m.group(1)).lower() == norm:
                return f'pip install "{dist.metadata["Name"]}[{m.group(2)}]"'
    return f"pip install {top}"


class Registry:
    """Factories by family and name, built from plugins.

    Use :meth:`load` to build one from installed entry points (what :func:`registry` does once
    per process); tests build their own.

    Examples
    --------
    >>> reg = Registry.load()
    >>> opt = reg.create("xnes", x0=[1.0, 2.0], seed=0)
    >>> opt.name
    'xnes'
    """

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {f: {} for f in FAMILIES}
        self.failures: list[PluginFailure] = []
        self.plugins: list[_PluginInfo] = []
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)

    # ------------------------------------------------------------------ building

    @classmethod
    def load(
        cls,
        *,
        entry_points: Iterable[md.EntryPoint] | None = None,
        plugins: Iterable[ModuleType | object] = (),
    ) -> Registry:
        """Build a registry from entry points and extra plugin objects.

        Parameters
        ----------
        entry_points : iterable of importlib.metadata.EntryPoint, optional
            Default: every entry point in the group ``asktell``.
        plugins : iterable of modules or objects
            More plugins to register directly (for tests and scripts).

        Returns
        -------
        Registry
        """
        reg = cls()
        if entry_points is None:
            entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
        for ep in sorted(entry_points, key=lambda e: e.name):
            reg._load_entry_point(ep)
        for obj in plugins:
            reg.register(obj)
        return reg

    def _load_entry_point(self, ep: md.EntryPoint) -> None:
        dist = getattr(ep, "dist", None)
        dname = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        try:
            obj = ep.load()
        except Exception as e:  # one bad plugin never stops the others
            self._fail(ep.name, dname, version, e, _install_hint(e, dist))
            return
        self.register(obj, name=ep.name, distribution=dname, version=version)

    def _fail(
        self, plugin: str, dist: str | None, version: str | None, exc: BaseException, hint: str
    ) -> None:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        failure = PluginFailure(plugin, dist, version, f"{type(exc).__name__}: {exc}", hint, tb)
        self.failures.append(failure)
        log.warning("asktell plugin %r failed to load: %s (%s)", plugin, failure.error, hint)

    def register(
        self,
        plugin: ModuleType | object,
        *,
        name: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        """Register one plugin object and run its hooks.

        Parameters
        ----------
        plugin : module or object
            Holds ``@asktell.hookimpl`` functions.
        name : str, optional
            Plugin name; default the module's or class's name.
        distribution, version : str, optional
            Where it came from, for ``asktell plugins``.

        Notes
        -----
        A plugin whose hook implementations do not match the specifications (a misspelt hook or
        argument), or whose hooks raise, is recorded in :attr:`failures` and its entries are
        removed; other plugins are unaffected.
        """
        pname = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        src = getattr(plugin, "__file__", None) or getattr(
            sys.modules.get(getattr(plugin, "__module__", "") or ""), "__file__", None
        )
        info = _PluginInfo(pname, distribution, version, str(src or "<unknown>"))
        try:
            self._pm.register(plugin, name=pname)
            self._pm.check_pending()
        except Exception as e:
            if self._pm.is_registered(plugin):
                self._pm.unregister(plugin)
            self._fail(pname, distribution, version, e, "fix the plugin's hook implementations")
            return
        try:
            for family, hook in FAMILIES.items():
                for impl in getattr(self._pm.hook, hook).get_hookimpls():
                    if impl.plugin is plugin:
                        impl.function(registry=FamilyRegistry(self, family, info))
        except Exception as e:
            for fam in self._entries.values():
                for key in [k for k, v in fam.items() if v.plugin == pname]:
                    del fam[key]
            self._pm.unregister(plugin)
            self._fail(pname, distribution, version, e, _install_hint(e, None))
            return
        self.plugins.append(info)

    def _add(
        self,
        family: str,
        name: str,
        factory: Callable[..., Any],
        summary: str | None,
        plugin: _PluginInfo,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"plugin {plugin.name!r}: names must be strings, got {name!r}")
        key = normalise_name(name)
        if not _NAME_RE.match(key):
            raise ValueError(
                f"plugin {plugin.name!r}: {name!r} is not a valid name (expected lowercase "
                "letters and digits joined by '-')"
            )
        if not callable(factory):
            raise TypeError(f"plugin {plugin.name!r}: factory for {key!r} is not callable")
        existing = self._entries[family].get(key)
        if existing is not None:
            raise DuplicateNameError(
                f"{family} {key!r} is registered twice: by plugin {existing.plugin!r} "
                f"({existing.distribution or 'no distribution'}) and by plugin {plugin.name!r} "
                f"({plugin.distribution or 'no distribution'})"
            )
        self._entries[family][key] = Entry(
            family=family,
            name=key,
            factory=factory,
            plugin=plugin.name,
            distribution=plugin.distribution,
            version=plugin.version,
            source=plugin.source,
            summary=summary if summary is not None else _first_line(factory),
        )

    # ------------------------------------------------------------------ lookup

    def _family(self, family: str) -> dict[str, Entry]:
        fam = normalise_name(family).rstrip("s") if family not in self._entries else family
        if fam not in self._entries:
            raise ValueError(f"unknown family {family!r}; families are {sorted(self._entries)}")
        return self._entries[fam]

    def entry(self, family: str, name: str) -> Entry:
        """The :class:`Entry` for ``name`` in ``family``.

        Raises
        ------
        UnknownNameError
            With the registered names, close matches and plugins that failed to load.
        """
        entries = self._family(family)
        key = normalise_name(name) if isinstance(name, str) else name
        try:
            return entries[key]
        except (KeyError, TypeError):
            pass
        msg = f"no {family} named {name!r}; registered: {', '.join(sorted(entries)) or 'none'}"
        close = difflib.get_close_matches(str(key), list(entries), n=3)
        if close:
            msg += f". Did you mean {' or '.join(repr(c) for c in close)}?"
        if self.failures:
            msg += ". Plugins that failed to load: " + "; ".join(
                f"{f.plugin} ({f.error}; {f.hint})" for f in self.failures
            )
        raise UnknownNameError(msg)

    def get(self, family: str, name: str) -> Callable[..., Any]:
        """The factory registered as ``name`` in ``family``.

        Parameters
        ----------
        family : str
            ``"optimiser"``, ``"reward"``, ``"kernel"``, ``"model"``, ``"simulator"`` or
            ``"problem"``.
        name : str
            Registered name.

        Returns
        -------
        callable
        """
        return self.entry(family, name).factory

    def create(self, name: str, **kwargs: Any) -> Any:
        """``get("optimiser", name)(**kwargs)``."""
        return self.get("optimiser", name)(**kwargs)

    def names(self, family: str) -> list[str]:
        """Sorted names registered in ``family``."""
        return sorted(self._family(family))

    def entries(self) -> list[Entry]:
        """Every entry, sorted by family then name."""
        return [e for f in sorted(self._entries) for _, e in sorted(self._entries[f].items())]

    def describe(self) -> dict[str, Any]:
        """Plain-data listing of entries and failures (what ``asktell plugins --json`` prints)."""
        return {
            "entries": [
                {
                    "family": e.family,
                    "name": e.name,
                    "plugin": e.plugin,
                    "distribution": e.distribution,
                    "version": e.version,
                    "source": e.source,
                    "summary": e.summary,
                }
                for e in self.entries()
            ],
            "failures": [
                {
                    "plugin": f.plugin,
                    "distribution": f.distribution,
                    "version": f.version,
                    "error": f.error,
                    "hint": f.hint,
                }
                for f in self.failures
            ],
        }


_default: Registry | None = None
_lock = threading.Lock()


def registry(*, reload: bool = False) -> Registry:
    """The process-wide registry, built from entry points on first use.

    Parameters
    ----------
    reload : bool
        Rebuild it (after installing a plugin in a running session).

    Returns
    -------
    Registry
    """
    global _default
    with _lock:
        if _default is None or reload:
            _default = Registry.load()
        return _default


def get(family: str, name: str) -> Callable[..., Any]:
    """The factory registered as ``name`` in ``family`` (see :meth:`Registry.get`).

    Examples
    --------
    >>> XNES = get("optimiser", "xnes")
    >>> XNES.__name__
    'XNES'
    """
    return registry().get(family, name)


def create(name: str, **kwargs: Any) -> Any:
    """Create an optimiser by name: ``get("optimiser", name)(**kwargs)``.

    Parameters
    ----------
    name : str
        Registered optimiser name (``asktell plugins`` lists them).
    **kwargs
        Passed to the factory.

    Returns
    -------
    Optimiser

    Examples
    --------
    >>> import asktell
    >>> b = asktell.RectangularBoundaries([0, 200], [1, 1000])
    >>> opt = create("xnes", x0=[0, 700], boundaries=b, seed=1)
    >>> opt.ask().shape
    (6, 2)
    """
    return registry().get("optimiser", name)(**kwargs)
