"""Plain-data serialisation of optimiser states and batches.

Everything asktell stores (optimiser states, candidates, values) is *plain data*: ``None``,
booleans, numbers, strings, lists, string-keyed dicts and numeric numpy arrays. This module turns
such data into JSON text and back, bit-exactly (arrays travel as base64 of their raw bytes; Python
floats as their shortest ``repr``, which round-trips exactly), and refuses anything else. Reading
never runs code: there is no pickle anywhere in a run directory.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

__all__ = ["dumps", "loads", "plain_equal", "to_plain"]

_ARRAY_KEY = "__ndarray__"
_TUPLE_KEY = "__tuple__"
_ALLOWED_KINDS = frozenset("biufc")  # bool, int, uint, float, complex


def to_plain(obj: Any, *, _path: str = "$") -> Any:
    """Convert ``obj`` into JSON-able plain data, encoding numpy arrays.

    Parameters
    ----------
    obj
        Nested plain data; numpy arrays and numpy scalars are allowed.

    Returns
    -------
    object
        The same structure with arrays replaced by ``{"__ndarray__": ...}`` records.

    Raises
    ------
    TypeError
        If ``obj`` holds anything that is not plain data (an object, an object array, a dict
        with non-string keys); the message gives the path to the offending item.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in _ALLOWED_KINDS:
            raise TypeError(f"{_path}: numpy scalar of dtype {obj.dtype} is not plain data")
        return to_plain(np.asarray(obj), _path=_path)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _ALLOWED_KINDS:
            raise TypeError(
                f"{_path}: only numeric or boolean arrays are plain data, got dtype {obj.dtype}"
            )
        arr = np.ascontiguousarray(obj)
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        return {
            _ARRAY_KEY: base64.b64encode(arr.astype(dtype, copy=False).tobytes()).decode("ascii"),
            "dtype": dtype.str,
            "shape": list(arr.shape),
        }
    if isinstance(obj, tuple):
        return {_TUPLE_KEY: [to_plain(v, _path=f"{_path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [to_plain(v, _path=f"{_path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{_path}: dict keys must be strings, got {type(k).__name__}")
            out[k] = to_plain(v, _path=f"{_path}.{k}")
        return out
    raise TypeError(
        f"{_path}: {type(obj).__name__} is not plain data (expected None, bool, int, float, str, "
        "list, tuple, dict with string keys, or a numeric numpy array)"
    )


def from_plain(obj: Any) -> Any:
    """Inverse of :func:`to_plain`: decode array and tuple records.

    Parameters
    ----------
    obj
        Data as produced by :func:`to_plain` (or parsed from its JSON).

    Returns
    -------
    object
        The structure with numpy arrays and tuples restored.
    """
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    if isinstance(obj, dict):
        if _ARRAY_KEY in obj:
            dtype = np.dtype(obj["dtype"])
            if dtype.kind not in _ALLOWED_KINDS:
                raise TypeError(f"refusing to decode an array of dtype {dtype}")
            raw = base64.b64decode(obj[_ARRAY_KEY])
            return np.frombuffer(raw, dtype=dtype).reshape(obj["shape"]).copy()
        if _TUPLE_KEY in obj and len(obj) == 1:
            return tuple(from_plain(v) for v in obj[_TUPLE_KEY])
        return {k: from_plain(v) for k, v in obj.items()}
    return obj


def dumps(obj: Any) -> str:
    """Serialise plain data (numpy arrays allowed) to JSON text, bit-exactly.

    Parameters
    ----------
    obj
        Plain data, see :func:`to_plain`.

    Returns
    -------
    str
        JSON text. Non-finite floats are written as ``NaN``/``Infinity`` (Python's JSON dialect).

    Examples
    --------
    >>> import numpy as np
    >>> s = dumps({"mu": np.array([0.1, 2.0]), "n": 3})
    >>> loads(s)["mu"].tolist()
    [0.1, 2.0]
    """
    return json.dumps(to_plain(obj), separators=(",", ":"), allow_nan=True)


def loads(text: str | bytes) -> Any:
    """Parse JSON written by :func:`dumps`; decodes arrays, never runs code.

    Parameters
    ----------
    text
        JSON text.

    Returns
    -------
    object
        The decoded plain data.
    """
    return from_plain(json.loads(text))


def plain_equal(a: Any, b: Any) -> bool:
    """Whether two plain-data structures are equal, arrays compared bit for bit.

    Parameters
    ----------
    a, b
        Plain data (numpy arrays allowed).

    Returns
    -------
    bool
        True when both have the same structure, types of containers, dtypes, shapes and bytes.
    """
    return json.dumps(to_plain(a), sort_keys=True) == json.dumps(to_plain(b), sort_keys=True)
