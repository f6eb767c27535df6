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
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .stopping import StoppingRules

__all__ = ["ConfigError", "apply_overrides", "load_config", "validate_config"]

SECTIONS = ("run", "problem", "reward", "optimiser", "boundaries", "evaluator", "stop")
RUN_KEYS: dict[str, type | tuple[type, ...]] = {
    "out": str, "progress": bool, "log_every": int, "plot": bool, "checkpoint_every": int,
    "checkpoint_seconds": (int, float), "commit_seconds": (int, float),
    "mode": str, "max_in_flight": int,
}


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


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read, override and validate a TOML run configuration.

    Parameters
    ----------
    path : path-like
        The TOML file.
    overrides : iterable of str
        ``section.key=value`` items (see :func:`apply_overrides`).

    Returns
    -------
    dict
        The validated configuration, with ``problem.path`` made absolute.

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
    return validate_config(config, str(path))


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


def validate_config(config: dict[str, Any], source: str = "<dict>") -> dict[str, Any]:
    """Check a configuration's structure and types (see the module docstring).

    Parameters
    ----------
    config : dict
        Parsed configuration.
    source : str
        Name for error messages.

    Returns
    -------
    dict
        The same configuration.

    Raises
    ------
    ConfigError
    """
    from .plugins import CREATE_KEYWORDS, UnknownNameError, registry

    for key in config:
        if key not in SECTIONS:
            raise ConfigError(source, key, f"unknown section; expected one of {list(SECTIONS)}")
        if not isinstance(config[key], dict):
            raise ConfigError(source, key, f"expected a table [{key}], got {config[key]!r}")
    reg = registry()

    run = config.get("run", {})
    for k, v in run.items():
        if k not in RUN_KEYS:
            raise ConfigError(source, f"run.{k}", f"unknown key; expected one of {list(RUN_KEYS)}")
        kind = RUN_KEYS[k]
        _expect(source, f"run.{k}", v, kind,
                "a number" if isinstance(kind, tuple) else kind.__name__)
        if k in ("checkpoint_every", "log_every") and v < (1 if k == "checkpoint_every" else 0):
            raise ConfigError(source, f"run.{k}", f"expected a positive integer, got {v!r}")
        if k == "mode" and v not in ("sync", "async"):
            raise ConfigError(source, "run.mode", f"expected 'sync' or 'async', got {v!r}")
        if k == "max_in_flight" and v < 1:
            raise ConfigError(source, "run.max_in_flight",
                              f"expected a positive integer, got {v!r}")
        if isinstance(kind, tuple) and not 0 <= v < float("inf"):
            raise ConfigError(source, f"run.{k}", f"expected a non-negative number, got {v!r}")

    try:
        StoppingRules.from_dict(config.get("stop", {}))
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

    if "boundaries" in config:
        b = config["boundaries"]
        for k in ("lower", "upper"):
            if k not in b:
                raise ConfigError(source, f"boundaries.{k}", "missing (a list of numbers)")
            v = b[k]
            if not isinstance(v, list) or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in v
            ):
                raise ConfigError(source, f"boundaries.{k}",
                                  f"expected a list of numbers, got {v!r}")
        extra = sorted(set(b) - {"lower", "upper"})
        if extra:
            raise ConfigError(source, f"boundaries.{extra[0]}",
                              "unknown key; expected lower, upper")

    if "reward" in config:
        for other in ("problem", "evaluator"):
            if other in config:
                raise ConfigError(source, other, f"[reward] scores batches itself: give "
                                  f"[reward] or [{other}], not both")
        rew = config["reward"]
        _check_kwargs(source, "reward", named("reward", "reward"),
                      {k: v for k, v in rew.items() if k != "name"})
        return config
    if "problem" not in config:
        raise ConfigError(source, "problem",
                          "missing section [problem] (name = ... or callable = ...), or [reward]")
    prob = config["problem"]
    if ("name" in prob) == ("callable" in prob):
        raise ConfigError(source, "problem", "give exactly one of name = ... or callable = ...")
    if "name" in prob:
        _check_kwargs(source, "problem", named("problem", "problem"),
                      {k: v for k, v in prob.items() if k != "name"})
    else:
        _expect(source, "problem.callable", prob["callable"], str, '"module:attribute"')
        if ":" not in prob["callable"]:
            raise ConfigError(source, "problem.callable",
                              f'expected "module:attribute", got {prob["callable"]!r}')

    ev = {"name": "sequential", **config.get("evaluator", {})}
    _check_kwargs(source, "evaluator", named("evaluator", "evaluator", ev),
                  {k: v for k, v in ev.items() if k != "name"})
    return config


def build_problem(config: dict[str, Any], source: str = "<config>") -> Callable[[Any], Any]:
    """The objective named by ``[problem]``."""
    from .plugins import registry

    prob = dict(config["problem"])
    if "name" in prob:
        factory = registry().get("problem", prob.pop("name"))
        problem: Callable[[Any], Any] = _construct(factory, prob, source, "problem")
        return problem
    target = prob.pop("callable")
    path = prob.pop("path", None)
    if path and path not in sys.path:
        sys.path.insert(0, path)
    module, _, attr = target.partition(":")
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
    made: Callable[[Any], Any] = _construct(obj, prob, source, "problem") if prob else obj
    return made


def build_optimiser(config: dict[str, Any], source: str = "<config>") -> Any:
    """The optimiser named by ``[optimiser]`` with ``[boundaries]``."""
    from .boundaries import RectangularBoundaries
    from .plugins import registry

    kwargs = dict(config["optimiser"])
    name = kwargs.pop("name")
    if "boundaries" in config:
        b = config["boundaries"]
        try:
            kwargs["boundaries"] = RectangularBoundaries(b["lower"], b["upper"])
        except (TypeError, ValueError) as e:
            raise ConfigError(source, "boundaries", str(e)) from None
    # create(): restarts = "ipop" | "bipop" apply to any population optimiser
    return _construct(functools.partial(registry().create, name), kwargs, source, "optimiser")


def build_scorer(config: dict[str, Any], source: str = "<config>") -> Any:
    """What scores the asked batches: the ``[reward]`` (a batch callable), or the
    ``[evaluator]`` around the ``[problem]``."""
    if "reward" in config:
        from .plugins import registry

        kwargs = dict(config["reward"])
        return _construct(registry().get("reward", kwargs.pop("name")), kwargs,
                          source, "reward")
    return build_evaluator(config, build_problem(config, source), source)


def build_evaluator(config: dict[str, Any], f: Callable[[Any], Any],
                    source: str = "<config>") -> Any:
    """The evaluator named by ``[evaluator]`` (a name in the registry) around ``f``."""
    from .plugins import registry

    kwargs = dict(config.get("evaluator", {}))
    name = kwargs.pop("name", "sequential")
    return _construct(functools.partial(registry().get("evaluator", name), f), kwargs, source,
                      "evaluator")


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
