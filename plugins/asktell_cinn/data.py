"""Data sets as told to the estimator: validation and padding into one array."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["as_dataset", "pad_datasets"]


def as_dataset(value: Any, index: int) -> np.ndarray | None:
    """One told value as a data set of shape (m, features), or None for a failed simulation.

    Parameters
    ----------
    value : real number, numpy array or None
        A real number is one observation of one feature, shape (1, 1); a 1-D array is one
        observation of its features, (1, F); a 2-D array is (m, F) as is (m iid observations or
        time steps); higher dimensions are flattened to (m, ...). ``None``, and any value with a
        non-finite entry, is a failed simulation.
    index : int
        Position in the batch (for messages).

    Returns
    -------
    ndarray (float64) or None

    Raises
    ------
    TypeError
        For anything else (strings, booleans, dicts, lists: pass data sets as numpy arrays).

    Examples
    --------
    >>> as_dataset(0.5, 0).shape, as_dataset(np.zeros((10, 5)), 1).shape, as_dataset(None, 2)
    ((1, 1), (10, 5), None)
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"tell() expects data sets (numpy arrays or real numbers); value {index} "
                        f"is a bool: {value!r}")
    if isinstance(value, numbers.Real):
        v = float(value)
        return np.array([[v]]) if np.isfinite(v) else None
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
        x = np.asarray(value, dtype=np.float64)
        if x.size == 0:
            raise ValueError(f"tell(): data set {index} is empty (shape {value.shape})")
        if x.ndim == 0:
            x = x.reshape(1, 1)
        elif x.ndim == 1:
            x = x[None, :]
        elif x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        return x if np.isfinite(x).all() else None
    kind = (f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray)
            else f"a {type(value).__name__}")
    raise TypeError(
        f"tell() expects one data set per θ (a numeric numpy array, a real number, or None for a "
        f"failed simulation); value {index} is {kind}: {value!r:.60}"
    )


def pad_datasets(
    xs: Sequence[np.ndarray], rows: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Stack data sets of shapes (m_i, F) into a zero-padded (n, M, F) array and lengths (n,).

    Parameters
    ----------
    xs : sequence of ndarray
        Data sets with the same number of features.
    rows : int, optional
        M; default the largest m_i.

    Returns
    -------
    x : ndarray (n, M, F), float32
    lengths : ndarray (n,), int64

    Examples
    --------
    >>> x, n = pad_datasets([np.ones((2, 3)), np.ones((4, 3))])
    >>> x.shape, n.tolist(), float(x[0, 2:].sum())
    ((2, 4, 3), [2, 4], 0.0)
    """
    lengths = np.array([x.shape[0] for x in xs], dtype=np.int64)
    m = int(lengths.max()) if rows is None else int(rows)
    feats = {x.shape[1] for x in xs}
    if len(feats) != 1:
        raise ValueError(f"all data sets must have the same number of features, got {feats}")
    out = np.zeros((len(xs), m, feats.pop()), dtype=np.float32)
    if (lengths == lengths[0]).all() and lengths[0] == m:
        out[:] = np.stack(xs)
    else:
        for k, x in enumerate(xs):
            out[k, : x.shape[0]] = x
    return out, lengths
