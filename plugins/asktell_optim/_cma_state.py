"""pycma's object graph as plain data, for :class:`asktell_optim.CMAES` checkpoints.

:func:`encode` turns a ``cma.CMAEvolutionStrategy`` (or any object reachable from it) into the
plain data of :mod:`asktell.serialization` (JSON values, tuples and numeric numpy arrays) and
:func:`decode` turns it back. Only an allowlist is accepted, so decoding never runs foreign
code:

* ``None``, booleans, ints, floats and strings as themselves;
* lists ``{"$l": [...]}``, lists of at least :data:`_FLOAT_LIST` Python floats as one float64
  array ``{"$lf": array}`` (pycma's best and median histories grow with the run: packed, they
  cost a checkpoint little), tuples ``{"$u": [...]}``, ranges ``{"$g": [start, stop, step]}``,
  dicts ``{"$d": {...}}`` (string keys) or ``{"$p": [[key, value], ...]}`` (any other keys);
* numeric numpy arrays ``{"$a": array}`` (``"f": 1`` for Fortran order), numpy scalars
  ``{"$s": 0-d array}``;
* instances of classes defined in the ``cma`` package ``{"$o": "cma.module:Qualname", "d":
  <__dict__>}``, plus ``"i"`` (their items) for ``dict`` subclasses such as ``CMAOptions``
  and ``"l"`` for ``list`` subclasses; the classes themselves ``{"$t": ...}`` and
  module-level functions of ``cma`` ``{"$f": ...}``;
* ``numpy.linalg.eigh`` (pycma's default ``CMA_eigenmethod``), ``{"$f": "numpy.linalg:eigh"}``;
* the one bound method ``randn`` given to :func:`encode` (the adapter's random source),
  ``{"$randn": 1}``, re-attached by :func:`decode`;
* bound methods of ``cma`` objects (``gp.tf_geno = es._tfg`` once pycma leaves its diagonal
  phase), ``{"$m": <owner>, "name": "_tfg"}``.

An object reached more than once is written once, with ``"$id": n``, and later as ``{"$r": n}``,
so shared objects (``es.opts`` held by several parts, ``es.C is es.sm.C``) and cycles
(``es.logger.es is es``) stay shared. Decoding imports only modules under ``cma`` and creates
objects with ``object.__new__`` before restoring their ``__dict__``: no constructor runs.
Anything else (file handles, lambdas, objects from other packages) raises ``TypeError`` naming
the path to it.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["decode", "encode"]

_SCALARS = (type(None), bool, int, float, str)
#: Lists of at least this many floats (and nothing else) are stored as one packed array.
_FLOAT_LIST = 16
_EXTRA_FUNCTIONS = {"numpy.linalg:eigh"}  # pycma's default CMA_eigenmethod


def _in_cma(module: str) -> bool:
    return module == "cma" or module.startswith("cma.")


def _name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _resolve(name: str) -> Any:
    """The object named ``module:qualname``, importing only ``cma`` modules."""
    if not isinstance(name, str) or ":" not in name:
        raise TypeError(f"malformed name {name!r}")
    module, qualname = name.split(":", 1)
    if not (_in_cma(module) or name in _EXTRA_FUNCTIONS):
        raise TypeError(f"refusing to load {name!r}: only objects of the cma package are allowed")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        if part.startswith("__"):
            raise TypeError(f"refusing to load {name!r}")
        obj = getattr(obj, part)
    return obj


class _Encoder:
    def __init__(self, randn: Callable[..., Any] | None,
                 drop: Callable[[Any, str], bool] | None) -> None:
        self.randn = randn
        self.drop = drop
        self.memo: dict[int, dict[str, Any]] = {}
        self.keep: list[Any] = []  # keeps encoded objects alive so that ids stay unique
        self.next_id = 0

    def _remember(self, obj: Any, node: dict[str, Any]) -> dict[str, Any]:
        self.memo[id(obj)] = node
        self.keep.append(obj)
        return node

    def __call__(self, obj: Any, path: str) -> Any:
        t = type(obj)
        if t in _SCALARS:
            return obj
        if t is tuple:
            return {"$u": [self(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        if t is range:
            return {"$g": [obj.start, obj.stop, obj.step]}
        seen = self.memo.get(id(obj))
        if seen is not None:
            if "$id" not in seen:
                seen["$id"] = self.next_id
                self.next_id += 1
            return {"$r": seen["$id"]}
        if t is np.ndarray:
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"{path}: numpy array of dtype {obj.dtype} is not plain data")
            if obj.flags.f_contiguous and not obj.flags.c_contiguous:
                return self._remember(obj, {"$a": np.ascontiguousarray(obj.T), "f": 1})
            return self._remember(obj, {"$a": np.ascontiguousarray(obj)})
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"{path}: numpy scalar of dtype {obj.dtype} is not plain data")
            return {"$s": np.asarray(obj)}
        if t is list and len(obj) >= _FLOAT_LIST and all(type(v) is float for v in obj):
            return self._remember(obj, {"$lf": np.array(obj, dtype=np.float64)})
        if t is list:
            node = self._remember(obj, {"$l": []})
            node["$l"] = [self(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            return node
        if t is dict:
            node = self._remember(obj, {})
            node.update(self._mapping(obj, path))
            return node
        if self.randn is not None and t is type(self.randn) and obj == self.randn:
            return {"$randn": 1}
        if isinstance(obj, types.MethodType) and _in_cma(type(obj.__self__).__module__):
            # a bound method of a pycma object (``gp.tf_geno = es._tfg`` once the
            # diagonal phase ends): stored as its owner and the method's name
            name = obj.__func__.__name__
            if name.startswith("__") or getattr(type(obj.__self__), name, None) is not obj.__func__:
                raise TypeError(f"{path}: bound method {name} is not its owner's method")
            return {"$m": self(obj.__self__, f"{path}.__self__"), "name": name}
        if isinstance(obj, type):
            if not _in_cma(obj.__module__):
                raise TypeError(f"{path}: class {_name(obj)} is not in the cma package")
            return {"$t": _name(obj)}
        if _is_function(obj) or (callable(obj) and hasattr(obj, "__qualname__")):
            name = _name(obj)
            if not (_in_cma(getattr(obj, "__module__", "") or "") or name in _EXTRA_FUNCTIONS) \
                    or "<" in name:
                raise TypeError(f"{path}: function {name} cannot be stored (only module-level "
                                "functions of the cma package and the adapter's randn)")
            if _resolve(name) is not obj:
                raise TypeError(f"{path}: {name} is not the module-level function of that name")
            return {"$f": name}
        if not _in_cma(t.__module__):
            raise TypeError(f"{path}: {t.__module__}.{t.__qualname__} objects cannot be stored "
                            "(only objects of the cma package and plain data)")
        node = self._remember(obj, {"$o": _name(t)})
        if "<" in node["$o"]:
            raise TypeError(f"{path}: local class {node['$o']} cannot be stored")
        state = {k: v for k, v in vars(obj).items()
                 if self.drop is None or not self.drop(obj, k)}
        node["d"] = self._mapping(state, path)["$d"]
        if isinstance(obj, dict):
            node["i"] = self._mapping(dict(obj), f"{path}<items>")
        elif isinstance(obj, list):
            node["l"] = [self(v, f"{path}[{i}]") for i, v in enumerate(obj)]
        elif isinstance(obj, (set, tuple)):
            raise TypeError(f"{path}: container subclass {t.__qualname__} is not supported")
        return node

    def _mapping(self, d: dict[Any, Any], path: str) -> dict[str, Any]:
        if all(type(k) is str for k in d):
            return {"$d": {k: self(v, f"{path}.{k}") for k, v in d.items()}}
        return {"$p": [[self(k, f"{path}<key>"), self(v, f"{path}[{k!r}]")]
                       for k, v in d.items()]}


def _is_function(obj: Any) -> bool:
    return isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType))


def encode(obj: Any, *, randn: Callable[..., Any] | None = None,
           drop: Callable[[Any, str], bool] | None = None) -> Any:
    """Encode pycma's object graph as plain data.

    Parameters
    ----------
    obj : object
        A ``cma.CMAEvolutionStrategy`` or anything reachable from it.
    randn : callable, optional
        The bound method given to pycma as its ``randn`` option; written as a marker.
    drop : callable, optional
        ``drop(instance, attribute) -> bool``: attributes of ``cma`` objects to leave out
        (caches that pycma rebuilds).

    Returns
    -------
    object
        Plain data for :func:`asktell.serialization.dumps`.

    Raises
    ------
    TypeError
        If the graph holds anything outside the allowlist (see the module notes); the message
        gives the path to it.
    """
    return _Encoder(randn, drop)(obj, "$")


def decode(data: Any, *, randn: Callable[..., Any] | None = None) -> Any:
    """Inverse of :func:`encode`.

    Parameters
    ----------
    data : object
        Plain data from :func:`encode` (possibly through ``dumps``/``loads``).
    randn : callable, optional
        What to put where :func:`encode` found its ``randn``.

    Returns
    -------
    object
        The rebuilt object graph.

    Raises
    ------
    TypeError
        If ``data`` names a class or function outside the allowlist, or is malformed.
    """
    objs: dict[int, Any] = {}

    def dec(x: Any) -> Any:
        t = type(x)
        if t in _SCALARS:
            return x
        if t is not dict:
            raise TypeError(f"malformed CMA-ES state: unexpected {t.__name__}")
        if "$r" in x:
            return objs[x["$r"]]
        if "$u" in x:
            return tuple(dec(v) for v in x["$u"])
        if "$g" in x:
            return range(*(int(v) for v in x["$g"]))
        if "$a" in x:
            a = np.array(x["$a"])
            out: Any = a.T if x.get("f") else a
        elif "$s" in x:
            out = np.asarray(x["$s"])[()]
        elif "$lf" in x:
            a = np.asarray(x["$lf"])
            if a.dtype != np.float64 or a.ndim != 1:
                raise TypeError("malformed CMA-ES state: a float list is not 1-d float64")
            out = a.tolist()
        elif "$l" in x:
            out = []
            if "$id" in x:
                objs[x["$id"]] = out
            out.extend(dec(v) for v in x["$l"])
        elif "$d" in x or "$p" in x:
            out = {}
            if "$id" in x:
                objs[x["$id"]] = out
            out.update(mapping(x))
        elif "$m" in x:
            owner, name = dec(x["$m"]), x.get("name")
            if not isinstance(name, str) or name.startswith("__") \
                    or not _in_cma(type(owner).__module__):
                raise TypeError(f"malformed CMA-ES state: bound method {name!r}")
            out = getattr(owner, name)
        elif "$randn" in x:
            if randn is None:
                raise TypeError("the state holds randn but none was given")
            out = randn
        elif "$t" in x or "$f" in x:
            out = _resolve(x.get("$t", x.get("$f")))
            if "$t" in x and not isinstance(out, type):
                raise TypeError(f"{x['$t']} is not a class")
        elif "$o" in x:
            cls = _resolve(x["$o"])
            if not isinstance(cls, type):
                raise TypeError(f"{x['$o']} is not a class")
            base = dict if issubclass(cls, dict) else list if issubclass(cls, list) else object
            out = base.__new__(cls)
            if "$id" in x:
                objs[x["$id"]] = out
            out.__dict__.update(mapping({"$d": x["d"]}))
            if "i" in x:
                dict.update(out, mapping(x["i"]))
            if "l" in x:
                list.extend(out, (dec(v) for v in x["l"]))
        else:
            raise TypeError(f"malformed CMA-ES state: unknown record {sorted(x)[:3]}")
        if "$id" in x:
            objs[x["$id"]] = out
        return out

    def mapping(x: dict[str, Any]) -> dict[Any, Any]:
        if "$d" in x:
            return {k: dec(v) for k, v in x["$d"].items()}
        return {dec(k): dec(v) for k, v in x["$p"]}

    return dec(data)
