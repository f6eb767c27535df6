"""Run configurations: TOML files with ``--set`` overrides, validated with errors that name the key.

A configuration has these sections (``[optimiser]`` and one of ``[problem]`` or ``[reward]`` are
required)::

    [run]          out (directory), progress, log_every, plot, checkpoint_every,
                   checkpoint_seconds, commit_seconds, mode ("sync" or "async"),
                   max_in_flight
    [problem]      name = a registered problem, or callable = "module:function" (+ path);
                   other keys are passed to the problem's factory
    [reward]       instead of [problem] and [evaluator]: name = a registered reward, which
                   scores whole batches itself (SMILES generators); other keys are passed on
    [optimiser]    name = a registered optimiser; other keys (x0, sigma0, seed, ...) are passed on
    [boundaries]   lower = [...], upper = [...]
    [evaluator]    name = a registered evaluator ("sequential", "parallel", "batch", ...; default
                   "sequential"); other keys are passed on (n_workers, ...)
    [stop]         the fields of :class:`asktell.StoppingRules`

A configuration is checked and parsed once, by :func:`parse_config` (or :func:`load_config` for
a file), into a frozen :class:`RunConfig`: typed sections that the run machinery reads, and the
plain data it was parsed from (:meth:`RunConfig.to_dict`), which a run directory stores.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .stopping import StoppingRules

__all__ = [
    "BoundariesSection",
    "ConfigError",
    "FieldError",
    "PluginSection",
    "ProblemSection",
    "RunConfig",
    "RunSection",
    "apply_overrides",
    "load_config",
    "parse_config",
]

SECTIONS = ("run", "problem", "reward", "optimiser", "boundaries", "evaluator", "stop")


class FieldError(ValueError):
    """A section's field holds a bad value (raised by the sections' constructors; a
    configuration file reports it as a :class:`ConfigError` naming the file and key).

    Parameters
    ----------
    key : str
        The field, e.g. ``"commit_seconds"``.
    message : str
        What was expected and what was found.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")
        self.message = message


def _check(key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise FieldError(key, f"expected {what}, got {value!r} ({type(value).__name__})")


def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(dict(d)))


@dataclass(frozen=True)
class RunSection:
    """``[run]``: where the run goes and how it is driven and stored.

    Attributes
    ----------
    out : str or None
        Run directory (default: ``runs/<config name>-<timestamp>``).
    progress : bool or None
        Progress bar (None: only on a terminal).
    log_every : int
        Log a line every this many batches (0: never).
    plot : bool
        Write ``convergence.png`` and the reports at the end.
    checkpoint_every, checkpoint_seconds, commit_seconds
        See :class:`asktell.Controller`.
    mode : {"sync", "async"}
        Batch-synchronous, or asynchronous evaluation (see :class:`asktell.Controller`).
    max_in_flight : int or None
        Candidates in flight in asynchronous mode (None: the evaluator's worker count).
    """

    out: str | None = None
    progress: bool | None = None
    log_every: int = 0
    plot: bool = True
    checkpoint_every: int = 100
    checkpoint_seconds: float = 60.0
    commit_seconds: float = 0.1
    mode: Literal["sync", "async"] = "sync"
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        if self.out is not None:
            _check("out", self.out, str, "a directory (a string)")
        if self.progress is not None:
            _check("progress", self.progress, bool, "bool (true or false)")
        _check("plot", self.plot, bool, "bool (true or false)")
        _check("log_every", self.log_every, int, "a non-negative integer")
        if self.log_every < 0:
            raise FieldError("log_every", f"expected a non-negative integer, got {self.log_every}")
        _check("checkpoint_every", self.checkpoint_every, int, "a positive integer")
        if self.checkpoint_every < 1:
            raise FieldError("checkpoint_every",
                             f"expected a positive integer, got {self.checkpoint_every}")
        for key in ("checkpoint_seconds", "commit_seconds"):
            v = getattr(self, key)
            _check(key, v, (int, float), "a non-negative number")
            if not 0 <= v < float("inf"):
                raise FieldError(key, f"expected a non-negative number, got {v!r}")
        if self.mode not in ("sync", "async"):
            raise FieldError("mode", f"expected 'sync' or 'async', got {self.mode!r}")
        if self.max_in_flight is not None:
            _check("max_in_flight", self.max_in_flight, int, "a positive integer")
            if self.max_in_flight < 1:
                raise FieldError("max_in_flight",
                                 f"expected a positive integer, got {self.max_in_flight}")

    def controller_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :class:`asktell.Controller` this section sets.

        Returns
        -------
        dict
        """
        return {"log_every": self.log_every, "checkpoint_every": self.checkpoint_every,
                "checkpoint_seconds": self.checkpoint_seconds,
                "commit_seconds": self.commit_seconds, "mode": self.mode,
                "max_in_flight": self.max_in_flight}


#: The keys of ``[run]``: the fields of :class:`RunSection`.
_RUN_KEYS = tuple(f.name for f in fields(RunSection))


@dataclass(frozen=True)
class PluginSection:
    """A section that names a registered plugin (``[optimiser]``, ``[evaluator]``,
    ``[reward]``) and the options passed to it.

    Attributes
    ----------
    name : str
        The name in the registry (``asktell plugins`` lists them).
    options : mapping
        The other keys, read-only.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check("name", self.name, str, "a string (`asktell plugins` lists the names)")
        if not self.name:
            raise FieldError("name", "expected a name, got an empty string")


@dataclass(frozen=True)
class ProblemSection:
    """``[problem]``: a registered problem, or a callable named ``"module:attribute"``.

    Attributes
    ----------
    name : str or None
        A registered problem.
    callable : str or None
        ``"module:attribute"`` to import instead (see :mod:`asktell.trust`).
    path : str or None
        A directory to import it from (absolute).
    options : mapping
        The other keys (the factory's arguments), read-only.
    """

    name: str | None = None
    callable: str | None = None
    path: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.name is None) == (self.callable is None):
            raise FieldError("name", "give exactly one of name = ... or callable = ...")
        if self.name is not None:
            _check("name", self.name, str, "a string (`asktell plugins` lists the names)")
        if self.callable is not None:
            _check("callable", self.callable, str, '"module:attribute"')
            if ":" not in self.callable:
                raise FieldError("callable", f'expected "module:attribute", got '
                                 f"{self.callable!r}")
        if self.path is not None:
            _check("path", self.path, str, "a directory (a string)")


@dataclass(frozen=True)
class BoundariesSection:
    """``[boundaries]``: a rectangle.

    Attributes
    ----------
    lower, upper : tuple of float
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]

    def __post_init__(self) -> None:
        for key in ("lower", "upper"):
            v = getattr(self, key)
            if not isinstance(v, (list, tuple)) or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
                raise FieldError(key, f"expected a list of numbers, got {v!r}")
            object.__setattr__(self, key, tuple(float(x) for x in v))


@dataclass(frozen=True)
class RunConfig:
    """A checked run configuration, parsed once (see :func:`parse_config`).

    Attributes
    ----------
    source : str
        The file it came from (or ``"<dict>"``), for error messages.
    optimiser : PluginSection
        ``[optimiser]``.
    run : RunSection
        ``[run]``.
    stop : StoppingRules
        ``[stop]``.
    problem : ProblemSection or None
        ``[problem]`` (None with a ``[reward]``).
    reward : PluginSection or None
        ``[reward]``.
    evaluator : PluginSection
        ``[evaluator]`` (default ``sequential``; unused with a ``[reward]``).
    boundaries : BoundariesSection or None
        ``[boundaries]``.
    """

    source: str
    optimiser: PluginSection
    run: RunSection
    stop: StoppingRules
    problem: ProblemSection | None = None
    reward: PluginSection | None = None
    evaluator: PluginSection = PluginSection("sequential")
    boundaries: BoundariesSection | None = None
    _data: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The plain configuration it was parsed from (a copy), as a run directory stores it.

        Returns
        -------
        dict
        """
        return copy.deepcopy(dict(self._data))

    def with_overrides(self, overrides: Iterable[str]) -> RunConfig:
        """A new configuration with ``section.key=value`` overrides applied and checked.

        Parameters
        ----------
        overrides : iterable of str
            See :func:`apply_overrides`.

        Returns
        -------
        RunConfig
        """
        return parse_config(apply_overrides(self.to_dict(), overrides, self.source),
                            self.source)


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``).
    key : str
        Dotted key, e.g. ``"stop.max_iterations"``.
    message : str
        What was expected and what was found.
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source, self.key = source, key
        super().__init__(f"{source}: {key}: {message}")


def _parse_value(text: str, source: str, key: str) -> Any:
    """A TOML value; a bare word (``name=xnes``) is taken as a string, anything that looks like
    a number, list, table or quoted string must parse."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError as e:
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-.:/]*", text):
            return text
        raise ConfigError(source, key, f"not a valid value: {text!r} ({e}); write numbers as "
                          "1.5, lists as [1, 2], strings as \"text\"") from None


def apply_overrides(config: dict[str, Any], overrides: Iterable[str],
                    source: str) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as TOML, else taken as strings).

    Parameters
    ----------
    config : dict
        Parsed configuration (not modified).
    overrides : iterable of str
        E.g. ``["stop.max_iterations=2000", "optimiser.seed=3"]``.
    source : str
        Name for error messages.

    Returns
    -------
    dict
        A new configuration.
    """
    config = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(source, item, "an override must look like section.key=value")
        key, text = item.split("=", 1)
        parts = [p.strip() for p in key.strip().split(".")]
        if len(parts) < 2 or not all(parts):
            raise ConfigError(source, key, "an override key must look like section.key")
        node = config
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(source, key, f"{p!r} is not a table")
        node[parts[-1]] = _parse_value(text.strip(), source, ".".join(parts))
    return config


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """Read, override and parse a TOML run configuration.

    Parameters
    ----------
    path : path-like
        The TOML file.
    overrides : iterable of str
        ``section.key=value`` items (see :func:`apply_overrides`).

    Returns
    -------
    RunConfig
        With ``problem.path`` made absolute.

    Raises
    ------
    ConfigError
        Naming the file, the key and what was expected.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "-", "file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), "-", f"not valid TOML: {e}") from None
    config = apply_overrides(raw, overrides, str(path))
    problem = config.get("problem")
    if isinstance(problem, dict) and isinstance(problem.get("path"), str):
        problem["path"] = str((path.parent / problem["path"]).resolve())
    evaluator = config.get("evaluator")
    if isinstance(evaluator, dict) and isinstance(evaluator.get("scheduler"), str) \
            and "://" not in evaluator["scheduler"] \
            and (path.parent / evaluator["scheduler"]).exists():
        # a Dask scheduler file, as problem.path: relative to the configuration's directory
        evaluator["scheduler"] = str((path.parent / evaluator["scheduler"]).resolve())
    return parse_config(config, str(path))


def _expect(source: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in (
        kind if isinstance(kind, tuple) else (kind,)))
    if not ok:
        raise ConfigError(source, key, f"expected {what}, got {value!r} ({type(value).__name__})")


def _check_kwargs(source: str, section: str, factory: Callable[..., Any],
                  kwargs: dict[str, Any]) -> None:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    params = sig.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for k in kwargs:
        if k not in accepted:
            raise ConfigError(
                source, f"{section}.{k}",
                f"unknown key for {getattr(factory, '__name__', factory)}; accepted: "
                f"{', '.join(accepted)}",
            )


def parse_config(config: Mapping[str, Any], source: str = "<dict>") -> RunConfig:
    """Check a configuration's structure and types and parse it (see the module docstring).

    Parameters
    ----------
    config : mapping
        A configuration as plain data (a parsed TOML file).
    source : str
        Name for error messages.

    Returns
    -------
    RunConfig
        Frozen; :meth:`RunConfig.to_dict` gives the plain data back.

    Raises
    ------
    ConfigError
        Naming ``source``, the key and what was expected.
    """
    config = copy.deepcopy(dict(config))
    from .plugins import CREATE_KEYWORDS, UnknownNameError, registry

    for key in config:
        if key not in SECTIONS:
            raise ConfigError(source, key, f"unknown section; expected one of {list(SECTIONS)}")
        if not isinstance(config[key], dict):
            raise ConfigError(source, key, f"expected a table [{key}], got {config[key]!r}")
    reg = registry()

    run = config.get("run", {})
    for k in run:
        if k not in _RUN_KEYS:
            raise ConfigError(source, f"run.{k}",
                              f"unknown key; expected one of {list(_RUN_KEYS)}")
    run_section = _section(source, "run", RunSection, run)
    try:
        stop = StoppingRules.from_dict(config.get("stop", {}))
    except (ValueError, TypeError) as e:
        raise ConfigError(source, "stop", str(e)) from None

    def named(section: str, family: str, table: dict[str, Any] | None = None) -> Callable[..., Any]:
        table = config[section] if table is None else table
        if "name" not in table:
            raise ConfigError(source, f"{section}.name",
                              "missing; `asktell plugins` lists the names")
        _expect(source, f"{section}.name", table["name"], str, "a string")
        try:
            return reg.get(family, table["name"])
        except UnknownNameError as e:
            raise ConfigError(source, f"{section}.name", str(e)) from None

    if "optimiser" not in config:
        raise ConfigError(source, "optimiser", "missing section [optimiser] (with name = ...)")
    opt = config["optimiser"]
    factory = named("optimiser", "optimiser")
    # restarts / max_restarts are create()'s own keywords, for any population optimiser
    kwargs = {k: v for k, v in opt.items() if k != "name" and k not in CREATE_KEYWORDS}
    if "boundaries" in config:
        kwargs["boundaries"] = None
    _check_kwargs(source, "optimiser", factory, kwargs)
    if "seed" in opt:
        _expect(source, "optimiser.seed", opt["seed"], int, "a non-negative integer")
    optimiser_section = PluginSection(
        opt["name"], _frozen({k: v for k, v in opt.items() if k != "name"}))
    bounds: BoundariesSection | None = None

    if "boundaries" in config:
        b = config["boundaries"]
        for k in ("lower", "upper"):
            if k not in b:
                raise ConfigError(source, f"boundaries.{k}", "missing (a list of numbers)")
        extra = sorted(set(b) - {"lower", "upper"})
        if extra:
            raise ConfigError(source, f"boundaries.{extra[0]}",
                              "unknown key; expected lower, upper")
        bounds = _section(source, "boundaries", BoundariesSection, b)

    if "reward" in config:
        for other in ("problem", "evaluator"):
            if other in config:
                raise ConfigError(source, other, f"[reward] scores batches itself: give "
                                  f"[reward] or [{other}], not both")
        rew = config["reward"]
        rew_options = {k: v for k, v in rew.items() if k != "name"}
        _check_kwargs(source, "reward", named("reward", "reward"), rew_options)
        return RunConfig(source, optimiser_section, run_section, stop,
                         reward=PluginSection(rew["name"], _frozen(rew_options)),
                         boundaries=bounds, _data=_frozen(config))
    if "problem" not in config:
        raise ConfigError(source, "problem",
                          "missing section [problem] (name = ... or callable = ...), or [reward]")
    prob = config["problem"]
    problem = _section(source, "problem", ProblemSection, {
        "name": prob.get("name"), "callable": prob.get("callable"), "path": prob.get("path"),
        "options": _frozen({k: v for k, v in prob.items()
                            if k not in ("name", "callable", "path")})})
    if problem.name is not None:
        _check_kwargs(source, "problem", named("problem", "problem"), dict(problem.options))

    ev = {"name": "sequential", **config.get("evaluator", {})}
    ev_options = {k: v for k, v in ev.items() if k != "name"}
    _check_kwargs(source, "evaluator", named("evaluator", "evaluator", ev), ev_options)
    return RunConfig(source, optimiser_section, run_section, stop, problem=problem,
                     evaluator=PluginSection(ev["name"], _frozen(ev_options)),
                     boundaries=bounds, _data=_frozen(config))


_S = TypeVar("_S")


def _section(source: str, section: str, cls: Callable[..., _S], fields: Mapping[str, Any]) -> _S:
    """``cls(**fields)``, a bad field reported as a ConfigError naming ``section.field``."""
    try:
        return cls(**fields)
    except FieldError as e:
        raise ConfigError(source, f"{section}.{e.key}", e.message) from None


def build_problem(config: RunConfig) -> Callable[[Any], Any]:
    """The objective named by ``[problem]``.

    Parameters
    ----------
    config : RunConfig
        With a ``[problem]``.

    Returns
    -------
    callable

    Raises
    ------
    ConfigError
        If the callable cannot be imported or the factory refuses a value.
    """
    from .plugins import registry

    prob, source = config.problem, config.source
    if prob is None:
        raise ConfigError(source, "problem", "this configuration has a [reward], no [problem]")
    if prob.name is not None:
        factory = registry().get("problem", prob.name)
        problem: Callable[[Any], Any] = _construct(factory, dict(prob.options), source,
                                                   "problem")
        return problem
    assert prob.callable is not None
    if prob.path and prob.path not in sys.path:
        sys.path.insert(0, prob.path)
    module, _, attr = prob.callable.partition(":")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(source, "problem.callable",
                          f"cannot import module {module!r}: {e}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(source, "problem.callable",
                              f"module {module!r} has no attribute {attr!r}") from None
    if prob.options:
        made: Callable[[Any], Any] = _construct(obj, dict(prob.options), source, "problem")
        return made
    return obj  # type: ignore[no-any-return]


def build_optimiser(config: RunConfig) -> Any:
    """The optimiser named by ``[optimiser]`` with ``[boundaries]``.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    AskTell
    """
    from .boundaries import RectangularBoundaries
    from .plugins import registry

    kwargs = dict(config.optimiser.options)
    if config.boundaries is not None:
        try:
            kwargs["boundaries"] = RectangularBoundaries(config.boundaries.lower,
                                                         config.boundaries.upper)
        except (TypeError, ValueError) as e:
            raise ConfigError(config.source, "boundaries", str(e)) from None
    # create(): restarts = "ipop" | "bipop" apply to any population optimiser
    return _construct(functools.partial(registry().create, config.optimiser.name), kwargs,
                      config.source, "optimiser")


def build_scorer(config: RunConfig) -> Any:
    """What scores the asked batches: the ``[reward]`` (a batch callable), or the
    ``[evaluator]`` around the ``[problem]``.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    callable
    """
    if config.reward is not None:
        from .plugins import registry

        return _construct(registry().get("reward", config.reward.name),
                          dict(config.reward.options), config.source, "reward")
    return build_evaluator(config, build_problem(config))


def build_evaluator(config: RunConfig, f: Callable[[Any], Any]) -> Any:
    """The evaluator named by ``[evaluator]`` (a name in the registry) around ``f``.

    Parameters
    ----------
    config : RunConfig
    f : callable
        The objective.

    Returns
    -------
    Evaluator
    """
    from .plugins import registry

    ev = config.evaluator
    return _construct(functools.partial(registry().get("evaluator", ev.name), f),
                      dict(ev.options), config.source, "evaluator")


def _construct(factory: Callable[..., Any], kwargs: dict[str, Any], source: str,
               section: str) -> Any:
    """``factory(**kwargs)``, with a bad value reported as a ConfigError naming its key."""
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as e:
        msg = str(e)
        key = next((k for k in sorted(kwargs, key=len, reverse=True)
                    if re.match(rf"\W*{re.escape(k)}\b", msg)), None)
        raise ConfigError(source, f"{section}.{key}" if key else section, msg) from None
