"""The plugin registry: named factories per family, contributed by pluggy plugins, loaded on
demand.

Plugins are found through the entry-point group ``asktell`` and loaded in our own loop, so one
plugin that fails to import (a syntax error, a missing dependency) is recorded with its error and
an install hint, and every other plugin still loads. Built-in plugins go through the same door.

Loading is three-staged, so that a name costs only the code that provides it:

1. **Finding the plugin.** A distribution may declare the names each of its plugins provides,
   one entry-point group per family (``asktell.optimiser``, ``asktell.problem``, ...), each
   entry naming the plugin's entry module: ``xnes = "asktell_optim"``. pip keeps these in step
   with what is installed. Looking up a declared name imports only the plugin that declares it;
   looking up any other name, or listing names, imports every plugin's entry module.
2. **Registration** imports a plugin's *entry module* (a light module: hook implementations
   and nothing heavy) and runs its hooks. A hook registers each name with a *lazy reference*,
   ``"package.module:attribute"``, and the top-level modules the name needs
   (``requires=("torch",)``), checked with :func:`importlib.util.find_spec` (nothing is imported).
3. **Resolution**: :meth:`Registry.get` imports the referenced module the first time that name
   is looked up. A name whose requirements are missing is listed (``asktell plugins`` says what
   is missing and how to install it) and says nothing until it is asked for; then
   :class:`PluginUnavailableError` names the install command.

A factory may also be registered as the object itself (``registry.add("x", X)``); it is then
imported with the entry module.

Two plugins registering one name is an error (:class:`DuplicateNameError`, recorded as the
second plugin's failure); with declared names it shows once both plugins are imported (when
names are listed, or a name neither declares is looked up).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from ._lazy import lazy_exports
from .hookspecs import FAMILIES, PROJECT

if TYPE_CHECKING:  # imported where used: a worker unpickling a plugin's object needs none
    import importlib.metadata as md

__all__ = [
    "CREATE_KEYWORDS",
    "DuplicateNameError",
    "Entry",
    "FamilyRegistry",
    "PluginFailure",
    "PluginUnavailableError",
    "Registry",
    "UnknownNameError",
    "create",
    "get",
    "lazy_exports",
    "registry",
]

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "asktell"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.]*(-[a-z0-9.]+)*$")
_REF_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

#: Keywords :func:`create` takes itself (not passed to the optimiser's factory): the restart
#: schedule, applied to any population optimiser by :class:`asktell.restarts.Restarts`.
CREATE_KEYWORDS = ("restarts", "max_restarts")


def normalise_name(name: str) -> str:
    """Canonical form of a registered name: lowercase, ``_`` and spaces read as ``-``."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


class DuplicateNameError(ValueError):
    """A name registered twice in one family."""


class UnknownNameError(KeyError):
    """No factory with this name in the family."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class PluginUnavailableError(UnknownNameError, ImportError):
    """The name is registered but its code cannot be imported (a missing extra, usually).

    Both a :class:`KeyError` (the lookup failed, like :class:`UnknownNameError`) and an
    :class:`ImportError` (what failed is an import). The message names the install command.
    """


@dataclass(frozen=True)
class Entry:
    """One registered name.

    Attributes
    ----------
    family, name : str
        Where it is registered.
    target : callable or str
        The factory, or a lazy reference ``"module:attribute"`` to it.
    plugin : str
        Name of the plugin that added it (the entry-point name).
    distribution, version : str or None
        The installed distribution the plugin came from.
    source : str
        Where the plugin's entry module lives (a file).
    summary : str
        One line for ``asktell plugins``.
    requires : tuple of str
        Top-level modules the factory needs (declared by the plugin).
    missing : tuple of str
        Those of :attr:`requires` that are not installed.
    hint : str
        How to install what is missing ("" when nothing is).
    """

    family: str
    name: str
    target: Callable[..., Any] | str
    plugin: str
    distribution: str | None
    version: str | None
    source: str
    summary: str
    requires: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    hint: str = ""
    _resolved: dict[str, Any] = field(default_factory=dict, init=False, compare=False,
                                      repr=False)

    @property
    def available(self) -> bool:
        """Whether every declared requirement is installed (nothing is imported to tell)."""
        return not self.missing

    @property
    def reference(self) -> str:
        """``"module:attribute"`` of the factory (without importing it when lazy)."""
        if isinstance(self.target, str):
            return self.target
        mod = getattr(self.target, "__module__", None) or "?"
        qual = getattr(self.target, "__qualname__", None) or type(self.target).__name__
        return f"{mod}:{qual}"

    @property
    def loaded(self) -> bool:
        """Whether the factory has been imported."""
        return not isinstance(self.target, str) or "factory" in self._resolved

    @property
    def factory(self) -> Callable[..., Any]:
        """The factory, imported on first access (see :meth:`load`)."""
        return self.load()

    def load(self) -> Callable[..., Any]:
        """Import the factory (once) and return it.

        Returns
        -------
        callable

        Raises
        ------
        PluginUnavailableError
            If a declared requirement is missing, or the import fails; the message says what to
            install.
        """
        cached: Callable[..., Any] | None = self._resolved.get("factory")
        if cached is not None:
            return cached
        what = f"{self.family} {self.name!r} (plugin {self.plugin!r})"
        if self.missing:
            raise PluginUnavailableError(
                f"{what} needs {', '.join(self.missing)}, which is not installed; "
                f"install it with: {self.hint}")
        if not isinstance(self.target, str):
            self._resolved["factory"] = self.target
            return self.target
        module, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
        except ImportError as e:
            dist = _distribution(self.distribution)
            raise PluginUnavailableError(
                f"{what} could not be imported from {module!r}: {type(e).__name__}: {e}; "
                f"{_install_hint(e, dist)}") from e
        try:
            for part in attr.split("."):
                obj = getattr(obj, part)
        except AttributeError as e:
            raise PluginUnavailableError(
                f"{what} is registered as {self.target!r}, but {module!r} has no {attr!r} "
                "(a bug in the plugin)") from e
        if not callable(obj):
            raise TypeError(f"{what}: {self.target!r} is not callable, got {type(obj).__name__}")
        factory: Callable[..., Any] = obj
        self._resolved["factory"] = factory
        return factory


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


@dataclass(frozen=True)
class _PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    source: str


class FamilyRegistry:
    """What a hook receives: adds names to one family on behalf of one plugin.

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

    def add(
        self,
        name: str,
        factory: Callable[..., Any] | str,
        *,
        summary: str | None = None,
        requires: Sequence[str] = (),
        extra: str | None = None,
    ) -> None:
        """Register ``factory`` under ``name``.

        Parameters
        ----------
        name : str
            Lowercase words joined by ``-`` (``"nelder-mead"``); ``_`` is read as ``-``.
        factory : callable or str
            The factory, or a lazy reference ``"package.module:attribute"`` to it, imported the
            first time the name is looked up (the way to keep start-up light: see the module
            docstring).
        summary : str, optional
            One line for ``asktell plugins``; default: the first line of the factory's docstring
            (empty for a lazy reference, which is not imported to read it).
        requires : sequence of str
            Top-level modules the factory needs (``("torch",)``). If one is not installed the
            name is listed as unavailable and looking it up raises
            :class:`PluginUnavailableError` with the install command.
        extra : str, optional
            The extra of the plugin's distribution that installs ``requires``
            (``pip install "dist[extra]"``); default: found from the distribution's metadata,
            else ``pip install MODULE``.

        Raises
        ------
        DuplicateNameError
            If the name is already registered in this family (the message names both plugins).
        TypeError, ValueError
            If the factory is neither callable nor a ``"module:attribute"`` string, or the name
            is malformed.
        """
        self._registry._add(self.family, name, factory, summary, self._plugin,
                            tuple(requires), extra)


def _first_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _distribution(name: str | None) -> md.Distribution | None:
    import importlib.metadata as md

    if name is None:
        return None
    try:
        return md.distribution(name)
    except md.PackageNotFoundError:
        return None


def _hint_for_module(missing: str, dist: md.Distribution | None, extra: str | None = None) -> str:
    """The install command for the top-level module ``missing``."""
    top = missing.split(".")[0]
    if dist is not None:
        dname = dist.metadata["Name"]
        if extra is not None:
            return f'pip install "{dname}[{extra}]"'
        norm = re.sub(r"[-_.]+", "-", top).lower()
        for req in dist.requires or ():
            m = re.match(r"^\s*([A-Za-z0-9_.\-]+).*;.*extra\s*==\s*['\"]([\w\-]+)['\"]", req)
            if m and re.sub(r"[-_.]+", "-", m.group(1)).lower() == norm:
                return f'pip install "{dname}[{m.group(2)}]"'
    return f"pip install {top}"


def _install_hint(exc: BaseException, dist: md.Distribution | None) -> str:
    """Suggest an install command for an import failure."""
    missing = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    if not missing:
        return "see the traceback (asktell plugins --json)"
    return _hint_for_module(missing, dist)


_SPEC_CACHE: dict[str, bool] = {}


def _installed(module: str) -> bool:
    """Whether the top-level ``module`` can be imported, without importing it."""
    top = module.split(".")[0]
    if top not in _SPEC_CACHE:
        if top in sys.modules:
            _SPEC_CACHE[top] = True
        else:
            try:
                _SPEC_CACHE[top] = importlib.util.find_spec(top) is not None
            except (ImportError, ValueError):
                _SPEC_CACHE[top] = False
    return _SPEC_CACHE[top]


def _installed_entry_points() -> list[md.EntryPoint]:
    """Installed entry points in the group ``asktell`` and the groups ``asktell.<family>``
    (the installed metadata is read once)."""
    import importlib.metadata as md

    found = md.entry_points()
    groups = [ENTRY_POINT_GROUP, *(f"{ENTRY_POINT_GROUP}.{f}" for f in FAMILIES)]
    return [ep for g in groups for ep in found.select(group=g)]


_PLURALS = {f"{f}s": f for f in FAMILIES} | {"summaries": "summary"}


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
        self._failures: list[PluginFailure] = []
        self._plugins: list[_PluginInfo] = []
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(hookspecs)
        #: Entry points found but not imported yet, by plugin (entry-point) name.
        self._pending: dict[str, md.EntryPoint] = {}
        #: (family, name) -> the pending plugin that declares it.
        self._declared: dict[tuple[str, str], str] = {}
        self._loading = threading.RLock()

    @property
    def failures(self) -> list[PluginFailure]:
        """Plugins that could not be loaded or failed while registering (imports every
        plugin's entry module first)."""
        self._load_all()
        return self._failures

    @property
    def plugins(self) -> list[_PluginInfo]:
        """The plugins registered (imports every plugin's entry module first)."""
        self._load_all()
        return self._plugins

    def versions(self) -> dict[str, str | None]:
        """Plugin name -> version of its distribution, for every plugin found, imported or not
        (read from the installed metadata: nothing is imported).

        Returns
        -------
        dict
        """
        out = {p.name: p.version for p in self._plugins}
        for name, ep in self._pending.items():
            dist = getattr(ep, "dist", None)
            out[name] = dist.version if dist is not None else None
        return dict(sorted(out.items()))

    # ------------------------------------------------------------------ building

    @classmethod
    def load(
        cls,
        *,
        entry_points: Iterable[md.EntryPoint] | None = None,
        plugins: Iterable[ModuleType | object] = (),
        core: bool = True,
    ) -> Registry:
        """Build a registry from entry points and extra plugin objects.

        Parameters
        ----------
        entry_points : iterable of importlib.metadata.EntryPoint, optional
            Default: every installed entry point. Those in the group ``asktell`` are plugins,
            those in ``asktell.<family>`` declare the names a plugin provides; others are
            ignored. Nothing is imported here: a plugin's entry module is imported when a name
            it provides is looked up (see the module docstring).
        plugins : iterable of modules or objects
            More plugins to register directly (for tests and scripts).
        core : bool
            Register the core's own plugin first (:mod:`asktell._core_plugin`: the evaluators).

        Returns
        -------
        Registry
        """
        reg = cls()
        if core:
            from . import __version__, _core_plugin

            reg.register(_core_plugin, name="asktell", distribution="asktell",
                         version=__version__)
        found = _installed_entry_points() if entry_points is None else list(entry_points)
        for ep in sorted(found, key=lambda e: e.name):
            if ep.group == ENTRY_POINT_GROUP:
                reg._pending.setdefault(ep.name, ep)
        reg._declare(found)
        for obj in plugins:
            reg.register(obj)
        return reg

    def _declare(self, found: Iterable[md.EntryPoint]) -> None:
        """Read the names plugins declare (groups ``asktell.<family>``, see the module
        docstring). A name declared for two plugins, or for an entry module no plugin has, is
        not indexed: looking it up imports every plugin."""
        by_module: dict[str, str] = {}
        for name, ep in self._pending.items():
            by_module.setdefault(ep.value.strip(), name)
        declared: dict[tuple[str, str], str | None] = {}
        for ep in found:
            family = ep.group.removeprefix(ENTRY_POINT_GROUP + ".")
            if family == ep.group or family not in self._entries:
                continue
            key = (family, normalise_name(ep.name))
            plugin = by_module.get(ep.value.strip())
            declared[key] = plugin if key not in declared or declared[key] == plugin else None
        self._declared = {k: v for k, v in declared.items() if v is not None}

    def _ensure(self, family: str, key: str) -> None:
        """Import what provides ``key`` in ``family`` if it is not registered yet: the plugin
        that declares it, else every plugin."""
        if not self._pending or key in self._entries[family]:
            return
        with self._loading:
            plugin = self._declared.get((family, key))
            if plugin is not None and plugin in self._pending:
                self._load_entry_point(self._pending.pop(plugin))
            if key not in self._entries[family]:
                self._load_all()

    def _load_all(self) -> None:
        """Import every plugin not imported yet."""
        if not self._pending:
            return
        with self._loading:
            while self._pending:
                self._load_entry_point(self._pending.pop(next(iter(self._pending))))

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
        import traceback

        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        failure = PluginFailure(plugin, dist, version, f"{type(exc).__name__}: {exc}", hint, tb)
        self._failures.append(failure)
        # A missing dependency is not news at start-up: it is reported when one of the plugin's
        # names is asked for (UnknownNameError lists failed plugins) and by `asktell plugins`.
        level = logging.DEBUG if isinstance(exc, ImportError) else logging.WARNING
        log.log(level, "asktell plugin %r failed to load: %s (%s)", plugin, failure.error, hint)

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
        self._plugins.append(info)

    def _add(
        self,
        family: str,
        name: str,
        factory: Callable[..., Any] | str,
        summary: str | None,
        plugin: _PluginInfo,
        requires: tuple[str, ...] = (),
        extra: str | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"plugin {plugin.name!r}: names must be strings, got {name!r}")
        key = normalise_name(name)
        if not _NAME_RE.match(key):
            raise ValueError(
                f"plugin {plugin.name!r}: {name!r} is not a valid name (expected lowercase "
                "letters and digits joined by '-')"
            )
        if isinstance(factory, str):
            if not _REF_RE.match(factory):
                raise ValueError(
                    f"plugin {plugin.name!r}: the factory of {key!r} must be a callable or a "
                    f"lazy reference 'package.module:attribute', got {factory!r}")
        elif not callable(factory):
            raise TypeError(f"plugin {plugin.name!r}: factory for {key!r} is not callable")
        if not all(isinstance(r, str) and r for r in requires):
            raise TypeError(f"plugin {plugin.name!r}: requires of {key!r} must be module names, "
                            f"got {requires!r}")
        existing = self._entries[family].get(key)
        if existing is not None:
            raise DuplicateNameError(
                f"{family} {key!r} is registered twice: by plugin {existing.plugin!r} "
                f"({existing.distribution or 'no distribution'}) and by plugin {plugin.name!r} "
                f"({plugin.distribution or 'no distribution'})"
            )
        missing = tuple(r for r in requires if not _installed(r))
        hint = ""
        if missing:
            dist = _distribution(plugin.distribution)
            hint = _hint_for_module(missing[0], dist, extra)
        if summary is None:
            summary = "" if isinstance(factory, str) else _first_line(factory)
        self._entries[family][key] = Entry(
            family=family,
            name=key,
            target=factory,
            plugin=plugin.name,
            distribution=plugin.distribution,
            version=plugin.version,
            source=plugin.source,
            summary=summary,
            requires=requires,
            missing=missing,
            hint=hint,
        )

    # ------------------------------------------------------------------ lookup

    def _family_name(self, family: str) -> str:
        fam = family if family in self._entries else normalise_name(family)
        fam = _PLURALS.get(fam, fam)
        if fam not in self._entries:
            raise ValueError(f"unknown family {family!r}; families are {sorted(self._entries)}")
        return fam

    def _family(self, family: str) -> dict[str, Entry]:
        return self._entries[self._family_name(family)]

    def entry(self, family: str, name: str) -> Entry:
        """The :class:`Entry` for ``name`` in ``family`` (its factory is not imported; the entry
        module of the plugin that provides it is, the first time).

        Raises
        ------
        UnknownNameError
            With the registered names, close matches and plugins that failed to load.
        """
        fam = self._family_name(family)
        entries = self._entries[fam]
        key = normalise_name(name) if isinstance(name, str) else name
        try:
            return entries[key]
        except (KeyError, TypeError):
            pass
        if isinstance(key, str) and self._pending:
            self._ensure(fam, key)
            if key in entries:
                return entries[key]
        msg = (f"no {family} named {name!r}; expected one of: "
               f"{', '.join(sorted(entries)) or 'none registered'}")
        import difflib

        close = difflib.get_close_matches(str(key), list(entries), n=3)
        if close:
            msg += f". Did you mean {' or '.join(repr(c) for c in close)}?"
        if self._failures:
            msg += ". Plugins that failed to load: " + "; ".join(
                f"{f.plugin} ({f.error}; {f.hint})" for f in self._failures
            )
        raise UnknownNameError(msg)

    def get(self, family: str, name: str) -> Callable[..., Any]:
        """The factory registered as ``name`` in ``family``, imported on first use.

        Parameters
        ----------
        family : str
            One of :data:`asktell.hookspecs.FAMILIES` (``"optimiser"``, ``"reward"``,
            ``"problem"``, ``"evaluator"``, ``"kernel"``, ``"simulator"``, ``"summary"``).
        name : str
            Registered name.

        Returns
        -------
        callable

        Raises
        ------
        UnknownNameError
            If no plugin registered the name.
        PluginUnavailableError
            If the name's code cannot be imported (its message names the install command).
        """
        return self.entry(family, name).load()

    def name_of(self, family: str, factory: Any) -> str | None:
        """The name ``factory`` is registered under in ``family``, or None.

        Only entries whose module is already imported are compared (``factory`` exists, so its
        module is): no factory is imported (every plugin's entry module is).
        """
        self._load_all()
        for key, e in sorted(self._family(family).items()):
            if not e.loaded:
                if e.missing or str(e.target).partition(":")[0] not in sys.modules:
                    continue
                try:
                    e.load()
                except (ImportError, TypeError):
                    continue
            if e.load() is factory:
                return key
        return None

    def create(
        self,
        name: str,
        /,
        *,
        restarts: str | None = None,
        max_restarts: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Create the optimiser ``name``, with restarts if asked: see :func:`create`."""
        factory = self.get("optimiser", name)
        if restarts is None:
            if max_restarts is not None:
                raise ValueError("max_restarts needs restarts='ipop' or 'bipop'")
            return factory(**kwargs)
        from .restarts import Restarts

        seed = kwargs.pop("seed", None)
        direction = kwargs.pop("direction", "minimise")
        return Restarts(factory, kwargs, schedule=restarts,
                        max_restarts=9 if max_restarts is None else max_restarts, seed=seed,
                        direction=direction)

    def names(self, family: str, *, available: bool = False) -> list[str]:
        """Sorted names registered in ``family`` (only the usable ones if ``available``)."""
        self._load_all()
        return sorted(k for k, e in self._family(family).items() if e.available or not available)

    def entries(self) -> list[Entry]:
        """Every entry, sorted by family then name."""
        self._load_all()
        return [e for f in sorted(self._entries) for _, e in sorted(self._entries[f].items())]

    def describe(self) -> dict[str, Any]:
        """Plain-data listing of entries and failures (what ``asktell plugins --json`` prints).

        Every plugin's entry module is imported, no factory: an entry's ``available`` and
        ``hint`` come from its declared requirements.
        """
        self._load_all()
        return {
            "entries": [
                {
                    "family": e.family,
                    "name": e.name,
                    "plugin": e.plugin,
                    "distribution": e.distribution,
                    "version": e.version,
                    "source": e.source,
                    "target": e.reference,
                    "summary": e.summary,
                    "requires": list(e.requires),
                    "available": e.available,
                    "missing": list(e.missing),
                    "hint": e.hint,
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

    Building it imports nothing; looking a name up imports the entry module of the plugin that
    declares it, or every plugin's (see the module docstring).

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


def create(
    name: str, /, *, restarts: str | None = None, max_restarts: int | None = None, **kwargs: Any
) -> Any:
    """Create an optimiser by name, optionally inside IPOP/BIPOP restarts.

    Parameters
    ----------
    name : str
        Registered optimiser name (``asktell plugins`` lists them).
    restarts : {None, "ipop", "bipop"}
        Restart the optimiser when it stops, in one ask/tell object
        (:class:`asktell.restarts.Restarts`); any population optimiser, built-in or
        third-party, can be restarted.
    max_restarts : int, optional
        Restarts after the first run (default 9); only with ``restarts``.
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
    return registry().create(name, restarts=restarts, max_restarts=max_restarts, **kwargs)
