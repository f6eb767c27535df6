"""The 0/1 input check shared by the RBM modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["as_binary"]


def as_binary(
    v: Any, n_columns: int | None, *, name: str = "v", device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Check that ``v`` is a 2-D array of 0/1 and return it as a float tensor.

    Parameters
    ----------
    v : array_like or torch.Tensor, shape (N, n_columns)
        Binary data (bool, integer or float holding only 0 and 1). A 1-D input is one row.
    n_columns : int or None
        Expected number of columns (``None``: any).
    name : str
        Name used in error messages.
    device : torch.device, optional
        Where the returned tensor lives.
    dtype : torch.dtype
        Floating dtype of the returned tensor.

    Returns
    -------
    torch.Tensor, shape (N, n_columns)

    Raises
    ------
    ValueError
        Naming the shape, or the first offending value and its position, if ``v`` is not a 2-D
        array of 0/1 with ``n_columns`` columns.

    Examples
    --------
    >>> as_binary([[0, 1], [1, 1]], 2).tolist()
    [[0.0, 1.0], [1.0, 1.0]]
    >>> as_binary([[0, 2]], 2)
    Traceback (most recent call last):
    ...
    ValueError: v must hold only 0 and 1; got 2.0 at index (0, 1)
    """
    if isinstance(v, torch.Tensor):
        t = v.detach()
    else:
        arr = np.asarray(v)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be a numeric array of 0/1, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim == 1:
        t = t.reshape(1, -1)
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, n_visible), got shape {tuple(t.shape)}")
    if n_columns is not None and t.shape[1] != n_columns:
        raise ValueError(
            f"{name} must have {n_columns} columns (one per visible unit), got shape "
            f"{tuple(t.shape)}"
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); expected at least one row")
    t = t.to(device=device, dtype=dtype)
    bad = (t != 0) & (t != 1)
    if bool(bad.any()):
        idx = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        raise ValueError(
            f"{name} must hold only 0 and 1; got {float(t[idx])} at index {idx}"
        )
    return t
