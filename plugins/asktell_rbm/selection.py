"""Selection operators of the bit-string EDAs, vectorised over the population."""

from __future__ import annotations

import numpy as np

__all__ = ["tournament", "truncation"]


def truncation(losses: np.ndarray, n_select: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the ``n_select`` lowest losses, ties broken at random.

    Parameters
    ----------
    losses : numpy.ndarray, shape (N,)
        Lower is better; ``+inf`` (failures) last.
    n_select : int
        1 <= n_select <= N.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int, shape (n_select,)

    Examples
    --------
    >>> truncation(np.array([3.0, 1.0, 2.0]), 2, np.random.default_rng(0)).tolist()
    [1, 2]
    """
    n = losses.shape[0]
    if not 1 <= n_select <= n:
        raise ValueError(f"n_select must be in [1, {n}], got {n_select}")
    perm = rng.permutation(n)
    order = perm[np.argsort(losses[perm], kind="stable")]
    return order[:n_select]


def tournament(
    losses: np.ndarray, n_select: int, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Tournament selection without replacement (Goldberg, Korb & Deb 1989).

    The population is shuffled and cut into groups of ``size``; each group's best (lowest
    loss, ties at random) wins. Passes over fresh shuffles are repeated until ``n_select``
    winners are found, so every individual takes part in the same number of tournaments per
    pass, and the best one wins all of its tournaments.

    D. E. Goldberg, B. Korb and K. Deb (1989), "Messy genetic algorithms: motivation, analysis,
    and first results", Complex Systems 3(5), 493-530.

    Parameters
    ----------
    losses : numpy.ndarray, shape (N,)
        Lower is better.
    n_select : int
        Winners wanted.
    size : int
        Tournament size, 2 <= size <= N.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int, shape (n_select,)
        Indices of the winners (with repeats across passes).

    Examples
    --------
    >>> w = tournament(np.arange(10.0), 10, 2, np.random.default_rng(0))
    >>> len(w), int((w == 0).sum())          # the best wins both of its tournaments
    (10, 2)
    """
    n = losses.shape[0]
    if not 2 <= size <= n:
        raise ValueError(f"tournament size must be in [2, {n}], got {size}")
    per_pass = n // size
    n_pass = -(-n_select // per_pass)
    perms = np.argsort(rng.random((n_pass, n)), axis=1)[:, : per_pass * size]
    groups = perms.reshape(n_pass * per_pass, size)
    noise = rng.random(groups.shape)  # random tie-breaking
    best = _argmin_ties(losses[groups], noise)
    winners = groups[np.arange(groups.shape[0]), best]
    return winners[:n_select]


def _argmin_ties(values: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Row-wise argmin of ``values`` with ties broken by the smallest ``noise``."""
    is_min = values == values.min(axis=1, keepdims=True)
    return np.where(is_min, noise, np.inf).argmin(axis=1)
