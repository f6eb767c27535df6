"""Plain-data serialisation of optimiser states and batches.

Everything asktell stores (optimiser states, candidates, values) is *plain data*: ``None``,
booleans, numbers, strings, lists, string-keyed dicts and numeric numpy arrays. This module turns
such data into JSON text and back, bit-exactly, and refuses anything else. Arrays travel as
base64 of their raw bytes; Python floats as their shortest ``repr``, which round-trips exactly.
Store long lists of floats as arrays: writing a float as decimal text costs ~0.4 µs, its 8 bytes
in base64 almost nothing. Reading never runs code: there is no pickle anywhere in a run
directory.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

__all__ = ["dumps", "loads", "pack", "pack_rows", "plain_equal", "to_plain", "unpack"]

_ARRAY_KEY = "__ndarray__"
_TUPLE_KEY = "__tuple__"
_ALLOWED_KINDS = frozenset("biufc")  # bool, int, uint, float, complex
_b64 = base64.b64encode


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
        # Raw bytes in base64: exact, and much faster than writing floats as decimal text.
        dtype = obj.dtype.newbyteorder("<") if obj.dtype.byteorder == ">" else obj.dtype
        arr = np.ascontiguousarray(obj, dtype=dtype)
        data = base64.b64encode(arr.tobytes()).decode("ascii")
        return {_ARRAY_KEY: data, "dtype": dtype.str, "shape": list(obj.shape)}
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
            data = obj[_ARRAY_KEY]
            if isinstance(data, list):
                return np.array(data, dtype=dtype).reshape(obj["shape"])
            raw = base64.b64decode(data)
            return np.frombuffer(raw, dtype=dtype).reshape(obj["shape"]).copy()
        if _TUPLE_KEY in obj and len(obj) == 1:
            return tuple(from_plain(v) for v in obj[_TUPLE_KEY])
        return {k: from_plain(v) for k, v in obj.items()}
    return obj


def _encode(obj: Any) -> Any:
    """``default`` hook of the JSON encoder: numpy arrays and numpy scalars."""
    if type(obj) is np.ndarray:
        dt = obj.dtype
        if dt.kind in "biufc" and dt.isnative:  # the common case, kept short
            raw = obj.tobytes() if obj.flags.c_contiguous else np.ascontiguousarray(obj).tobytes()
            return {_ARRAY_KEY: _b64(raw).decode("ascii"), "dtype": dt.str, "shape": obj.shape}
    if isinstance(obj, (np.ndarray, np.generic)):
        return to_plain(obj)
    raise TypeError(
        f"{type(obj).__name__} is not plain data (expected None, bool, int, float, str, "
        "list, tuple, dict with string keys, or a numeric numpy array)"
    )


def _decode(obj: dict[str, Any]) -> Any:
    if _ARRAY_KEY in obj:
        return from_plain(obj)
    if _TUPLE_KEY in obj and len(obj) == 1:
        return tuple(obj[_TUPLE_KEY])
    return obj


def _make_encoder() -> Any:
    """A reusable C-level encoder (``JSONEncoder.encode`` builds a new one per call, ~1.5 µs).

    Falls back to the public API where CPython's private ``c_make_encoder`` is missing or has
    another signature.
    """
    enc = json.JSONEncoder(separators=(",", ":"), allow_nan=True, default=_encode,
                           check_circular=False)
    try:
        c_enc = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
            None, _encode, json.encoder.encode_basestring_ascii, None, ":", ",",
            False, False, True,
        )
        probe = {"a": [1.5, None, "x", np.zeros(2)], "b": float("inf")}
        if "".join(c_enc(probe, 0)) != enc.encode(probe):  # pragma: no cover
            raise ValueError("unexpected output")
    except Exception:  # pragma: no cover - other Python implementations
        return enc.encode

    def encode(obj: Any) -> str:
        if isinstance(obj, (str, int, float)) or obj is None:
            return enc.encode(obj)
        return "".join(c_enc(obj, 0))

    return encode


_fast_encode = _make_encoder()


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

    Raises
    ------
    TypeError
        If ``obj`` holds anything that is not plain data.

    Notes
    -----
    The C JSON encoder walks the structure; only numpy objects reach Python code. Tuples are
    written as JSON lists (a batch of strings comes back as a list).

    Examples
    --------
    >>> import numpy as np
    >>> s = dumps({"mu": np.array([0.1, 2.0]), "n": 3})
    >>> loads(s)["mu"].tolist()
    [0.1, 2.0]
    """
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be strings, got {type(k).__name__}")
    text: str = _fast_encode(obj)
    return text


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
    return json.loads(text, object_hook=_decode)


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


_PACK_MAGIC = b"\x93ATA"
#: Magic and header by (dtype, shape), for the arrays :func:`pack` writes as bytes.
_PACK_HEADS: dict[tuple[np.dtype[Any], tuple[int, ...]], bytes] = {}


def pack(obj: Any) -> str | bytes:
    """:func:`dumps`, except that a numeric numpy array becomes compact bytes.

    A run store writes every batch's candidates and values; for the common case (a float
    array) raw bytes behind a short header cost a fraction of JSON with base64.

    Parameters
    ----------
    obj
        Plain data.

    Returns
    -------
    str or bytes
        Bytes (``b"\\x93ATA"``, dtype, shape, raw data) for a native numeric array, else the
        JSON text of :func:`dumps`.

    Examples
    --------
    >>> unpack(pack(np.arange(3.0))).tolist(), unpack(pack(["CCO", "C"]))
    ([0.0, 1.0, 2.0], ['CCO', 'C'])
    >>> unpack(pack(np.array([[0, 1]], dtype=np.uint8))).dtype
    dtype('uint8')
    """
    if type(obj) is np.ndarray:
        # tobytes() is C order whatever the layout. Only native numeric dtypes are cached, so a
        # cached header says the array may be written as bytes.
        key = (obj.dtype, obj.shape)
        head = _PACK_HEADS.get(key)
        if head is not None:
            return head + obj.tobytes()
        dt = obj.dtype
        if dt.kind in "biufc" and dt.isnative:
            head = _PACK_MAGIC + f"{dt.str};{','.join(map(str, obj.shape))};".encode("ascii")
            if len(_PACK_HEADS) < 4096:
                _PACK_HEADS[key] = head
            return head + obj.tobytes()
    return dumps(obj)


def pack_rows(a: np.ndarray) -> list[str | bytes | bytearray]:
    """``[pack(a[0]), pack(a[1]), ...]`` in one pass over ``a`` (each row's bytes as a
    ``bytearray``, which SQLite binds as a BLOB without an adapter lookup).

    A run store commits a group of cheap batches at once; their candidate and value arrays
    stacked are written here with one copy instead of one :func:`pack` call per batch.

    Parameters
    ----------
    a : ndarray, shape (m, ...)
        The rows, stacked.

    Returns
    -------
    list
        ``m`` items: bytearrays, or for an array :func:`pack` writes as JSON (a non-native
        byte order), :func:`pack` of each row.

    Examples
    --------
    >>> a = np.arange(6.0).reshape(3, 2)
    >>> [bytes(r) for r in pack_rows(a)] == [pack(r) for r in a]
    True
    """
    if a.ndim == 0:
        raise ValueError("pack_rows needs an array of rows, got a 0-d array")
    m = len(a)
    if m == 0:
        return []
    first = pack(a[0])
    if type(first) is not bytes:
        return [pack(r) for r in a]
    size = a[0].nbytes
    head = first[: len(first) - size]
    if size == 0:
        return [bytearray(head) for _ in range(m)]
    raw = np.ascontiguousarray(a).tobytes()
    return [bytearray(head + raw[i:i + size]) for i in range(0, m * size, size)]


def unpack(data: str | bytes) -> Any:
    """Read what :func:`pack` wrote (or :func:`dumps` text); never runs code.

    Parameters
    ----------
    data : str or bytes

    Returns
    -------
    object
    """
    if isinstance(data, (bytes, memoryview)) and bytes(data[:4]) == _PACK_MAGIC:
        raw = bytes(data)
        dt, shape, body = raw[4:].split(b";", 2)  # a dtype string may hold "|" ("|u1")
        dtype = np.dtype(dt.decode("ascii"))
        if dtype.kind not in _ALLOWED_KINDS:
            raise TypeError(f"refusing to decode an array of dtype {dtype}")
        dims = tuple(int(v) for v in shape.decode("ascii").split(",") if v)
        return np.frombuffer(body, dtype=dtype).reshape(dims).copy()
    return loads(data)
