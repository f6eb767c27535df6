"""Annealed importance sampling (AIS) estimate of an RBM's log partition function."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

__all__ = ["LogPartition", "ais_log_partition", "default_betas"]


class LogPartition(NamedTuple):
    """A log partition function, exact or estimated.

    Attributes
    ----------
    log_z : float
        log Z (exact) or the AIS estimate log Ẑ.
    lower, upper : float
        log(Ẑ − 3σ̂) and log(Ẑ + 3σ̂) for AIS (``-inf`` when Ẑ − 3σ̂ ≤ 0), equal to ``log_z``
        when exact.
    method : str
        ``"exact"`` or ``"ais"``.
    estimate : bool
        True for AIS: the value is a stochastic estimate, not the exact log Z.
    n_runs, n_betas : int
        AIS runs and intermediate distributions (0 when exact).
    """

    log_z: float
    lower: float
    upper: float
    method: str
    estimate: bool
    n_runs: int = 0
    n_betas: int = 0


def default_betas(device: torch.device | None = None) -> torch.Tensor:
    """The schedule of Salakhutdinov & Murray (2008): 14,500 inverse temperatures.

    Spaced uniformly with step 1e-3 on [0, 0.5], 1e-4 on [0.5, 0.9] and 1e-5 on [0.9, 1].

    Returns
    -------
    torch.Tensor, float64, shape (14501,)
        From 0 to 1 inclusive.

    Examples
    --------
    >>> bs = default_betas()
    >>> bs.shape[0], float(bs[0]), float(bs[-1])
    (14501, 0.0, 1.0)
    """
    parts = [
        torch.linspace(0.0, 0.5, 501, dtype=torch.float64)[:-1],
        torch.linspace(0.5, 0.9, 4001, dtype=torch.float64)[:-1],
        torch.linspace(0.9, 1.0, 10001, dtype=torch.float64),
    ]
    return torch.cat(parts).to(device)


def ais_log_partition(
    W: torch.Tensor, b: torch.Tensor, c: torch.Tensor, *, base_bias: torch.Tensor | None = None,
    n_runs: int = 100, betas: torch.Tensor | int | None = None,
    generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64,
) -> LogPartition:
    """Estimate log Z of a binary RBM by annealed importance sampling.

    Follows Salakhutdinov & Murray (2008) [1]_ (after Neal 2001 [2]_): the base model A has
    visible biases ``base_bias`` (the data's base rates, log(p/(1 − p))) and no couplings, so
    Z_A = Π_i (1 + exp(b^A_i)) is known; the intermediate distributions are

    p*_β(v) = exp((1 − β) b^Aᵀv + β bᵀv) Π_j (1 + exp(β (c_j + vᵀW_{:,j}))),

    for β from 0 to 1, each sampled by one Gibbs sweep of the RBM with parameters scaled by β
    (h ~ σ(β(c + vᵀW)), v ~ σ((1 − β) b^A + β (b + W h))), which leaves p*_β invariant.
    Each of ``n_runs`` independent runs yields an importance weight
    w = Π_k p*_{β_k}(v_{k−1}) / p*_{β_{k−1}}(v_{k−1}) with E[w] = Z / Z_A; log Ẑ = log Z_A +
    log mean(w), and the band is log(Ẑ ± 3σ̂) with σ̂ the standard error of Ẑ.

    Parameters
    ----------
    W : torch.Tensor, shape (n_visible, n_hidden)
    b : torch.Tensor, shape (n_visible,)
    c : torch.Tensor, shape (n_hidden,)
    base_bias : torch.Tensor, shape (n_visible,), optional
        Visible biases of the base model (default zeros, the uniform distribution).
    n_runs : int
        Independent AIS runs (the paper uses 100).
    betas : torch.Tensor or int, optional
        Increasing inverse temperatures from 0 to 1; an int K gives K uniformly spaced steps;
        default :func:`default_betas` (14,500 steps).
    generator : torch.Generator, optional
        Source of randomness (on the device of ``W``).
    dtype : torch.dtype
        Arithmetic precision (float64 by default; float32 is faster on GPUs).

    Returns
    -------
    LogPartition
        ``estimate=True``, with the ±3σ̂ band.

    References
    ----------
    .. [1] R. Salakhutdinov and I. Murray (2008), "On the quantitative analysis of deep belief
       networks", Proc. 25th ICML, 872-879, doi:10.1145/1390156.1390266.
    .. [2] R. M. Neal (2001), "Annealed importance sampling", Statistics and Computing 11(2),
       125-139, doi:10.1023/A:1008923215028.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> W = torch.zeros(4, 3); b = torch.zeros(4); c = torch.zeros(3)
    >>> r = ais_log_partition(W, b, c, n_runs=10, betas=50, generator=g)
    >>> round(r.log_z / math.log(2), 6), r.estimate      # exact for independent units
    (7.0, True)
    """
    if n_runs < 1:
        raise ValueError(f"n_runs must be a positive integer, got {n_runs}")
    dev = W.device
    n_v, n_h = W.shape
    W, b, c = W.to(dtype), b.to(dtype), c.to(dtype)
    bA = torch.zeros(n_v, dtype=dtype, device=dev) if base_bias is None else base_bias.to(
        device=dev, dtype=dtype)
    if betas is None:
        bs = default_betas(dev)
    elif isinstance(betas, int):
        if betas < 1:
            raise ValueError(f"betas must be a positive number of steps, got {betas}")
        bs = torch.linspace(0.0, 1.0, betas + 1, dtype=torch.float64, device=dev)
    else:
        bs = torch.as_tensor(betas, dtype=torch.float64, device=dev)
        if bs.ndim != 1 or bs.numel() < 2 or float(bs[0]) != 0.0 or float(bs[-1]) != 1.0 or bool(
            (bs[1:] < bs[:-1]).any()
        ):
            raise ValueError("betas must be a 1-D increasing sequence from 0 to 1")
    beta_list = bs.tolist()

    def rand(shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=dev, dtype=dtype)

    log_za = float(F.softplus(bA.double()).sum()) + n_h * math.log(2.0)
    # base model: v ~ σ(b^A) independently; its hidden units are free (the factor 2^n_h).
    v = (rand((n_runs, n_v)) < torch.sigmoid(bA)).to(dtype)
    logw = torch.zeros(n_runs, dtype=torch.float64, device=dev)
    prev = 0.0
    for beta in beta_list[1:]:
        act = c + v @ W  # (n_runs, n_h)
        vb = v @ bA
        vbb = v @ b
        # log p*_β(v) − log p*_β'(v); the hidden factor at β = 0 is 2^n_h, in log Z_A
        new = (1.0 - beta) * vb + beta * vbb + F.softplus(beta * act).sum(dim=1)
        old = (1.0 - prev) * vb + prev * vbb + F.softplus(prev * act).sum(dim=1)
        logw += (new - old).double()
        h = (rand((n_runs, n_h)) < torch.sigmoid(beta * act)).to(dtype)
        pv = torch.sigmoid((1.0 - beta) * bA + beta * (b + h @ W.T))
        v = (rand((n_runs, n_v)) < pv).to(dtype)
        prev = beta
    m = float(logw.max())
    r = torch.exp(logw - m)
    mean = float(r.mean())
    se = float(r.std(unbiased=True)) / math.sqrt(n_runs) if n_runs > 1 else 0.0
    log_z = log_za + m + math.log(mean)
    lo = log_za + m + math.log(mean - 3 * se) if mean - 3 * se > 0 else -math.inf
    hi = log_za + m + math.log(mean + 3 * se)
    return LogPartition(log_z, lo, hi, "ais", True, n_runs, len(beta_list) - 1)
