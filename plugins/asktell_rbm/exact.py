"""Exact log partition function of a binary RBM by enumerating its smaller layer."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["MAX_EXACT_UNITS", "exact_log_partition"]

#: Largest smaller layer enumerated by default (2^25 configurations, chunked).
MAX_EXACT_UNITS = 25


def _bits(start: int, stop: int, n: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Binary expansions of the integers ``start .. stop - 1`` over ``n`` bits, shape (k, n)."""
    ints = torch.arange(start, stop, device=device, dtype=torch.int64)
    shifts = torch.arange(n, device=device, dtype=torch.int64)
    return ((ints[:, None] >> shifts) & 1).to(dtype)


def exact_log_partition(
    W: torch.Tensor, b: torch.Tensor, c: torch.Tensor, *, max_units: int = MAX_EXACT_UNITS,
    chunk: int = 2**15,
) -> float:
    """log Z of a binary RBM, exactly, by summing over every state of its smaller layer.

    With energy E(v, h) = −bᵀv − cᵀh − vᵀWh, summing the other layer out analytically gives

    log Z = logsumexp_h [cᵀh + Σ_i softplus(b_i + W_{i,:} h)]     (enumerating h), or
    log Z = logsumexp_v [bᵀv + Σ_j softplus(c_j + vᵀW_{:,j})]     (enumerating v),

    whichever layer is smaller. The sum runs in float64, in chunks of ``chunk`` states, with a
    running log-sum-exp, so memory stays at ``chunk × max(n_visible, n_hidden)`` numbers.

    Parameters
    ----------
    W : torch.Tensor, shape (n_visible, n_hidden)
    b : torch.Tensor, shape (n_visible,)
    c : torch.Tensor, shape (n_hidden,)
    max_units : int
        Refuse to enumerate more than ``2**max_units`` states.
    chunk : int
        States per chunk.

    Returns
    -------
    float
        log Z.

    Raises
    ------
    ValueError
        If the smaller layer has more than ``max_units`` units (use AIS instead).

    Examples
    --------
    >>> import math
    >>> W = torch.zeros(3, 2); b = torch.zeros(3); c = torch.zeros(2)
    >>> round(exact_log_partition(W, b, c) / math.log(2), 6)   # 2^(3+2) states of energy 0
    5.0
    """
    n_v, n_h = W.shape
    small = min(n_v, n_h)
    if small > max_units:
        raise ValueError(
            f"exact log Z enumerates 2^{small} states of the smaller layer (shape {n_v}x{n_h}); "
            f"the limit is 2^{max_units}: use method='ais' for this model"
        )
    W64, b64, c64 = W.double(), b.double(), c.double()
    if n_h <= n_v:
        lin, bias, mat = c64, b64, W64.T  # enumerate h
    else:
        lin, bias, mat = b64, c64, W64  # enumerate v
    if small == 0:  # one empty layer: Z factorises over the other
        return float(F.softplus(bias).sum())
    total = 2**small
    parts = []
    for start in range(0, total, chunk):
        s = _bits(start, min(total, start + chunk), small, W.device, torch.float64)
        val = s @ lin + F.softplus(bias + s @ mat).sum(dim=1)
        parts.append(torch.logsumexp(val, dim=0))
    return float(torch.logsumexp(torch.stack(parts), dim=0))
