"""Bit-string test problems (maximisation): OneMax, concatenated traps, NK landscapes.

Each problem is a picklable callable scoring one 0/1 string, with a vectorised :meth:`batch`
for whole populations, and knows its optimum where it is known.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["NKLandscape", "OneMax", "Trap"]


def _bits(x: Any, n: int) -> np.ndarray:
    a = np.asarray(x)
    if a.shape[-1] != n or a.dtype.kind not in "biuf":
        raise ValueError(f"expected bit strings of length {n}, got an array of shape {a.shape} "
                         f"and dtype {a.dtype}")
    if a.dtype.kind == "f" and not np.isin(a, (0.0, 1.0)).all():
        raise ValueError("expected bit strings of 0 and 1, got other values")
    return a.astype(np.int64)


class OneMax:
    """f(x) = Σ_i x_i, the number of ones; optimum n at all ones.

    Parameters
    ----------
    n_bits : int
        String length.

    Examples
    --------
    >>> OneMax(4)([1, 0, 1, 1])
    3.0
    """

    def __init__(self, n_bits: int) -> None:
        if n_bits < 1:
            raise ValueError(f"n_bits must be positive, got {n_bits}")
        self.n_bits = int(n_bits)
        self.optimum = float(n_bits)

    def batch(self, xs: Any) -> np.ndarray:
        """Values of the rows of ``xs`` (shape (N, n_bits)) as a float array."""
        return _bits(xs, self.n_bits).sum(axis=-1).astype(float)

    def __call__(self, x: Any) -> float:
        """Value of one string."""
        return float(self.batch(np.asarray(x)[None])[0])


class Trap:
    """Concatenated deceptive trap functions of order k (Deb & Goldberg 1993).

    The string is cut into n / k blocks of k consecutive bits; a block with u ones scores k if
    u = k, else k − 1 − u, so every block's gradient points away from its optimum. The optimum
    n (all ones) can only be found by an algorithm that samples whole blocks together, such as
    an EDA whose model learns the blocks; univariate models (UMDA) fail.

    K. Deb and D. E. Goldberg (1993), "Analyzing deception in trap functions", Foundations of
    Genetic Algorithms 2, 93-108, doi:10.1016/B978-0-08-094832-4.50012-X.

    Parameters
    ----------
    n_bits : int
        String length, a multiple of ``k``.
    k : int
        Trap order (5 for the usual trap-5).

    Examples
    --------
    >>> f = Trap(10, k=5)
    >>> f([1] * 10), f([0] * 10), f([1] * 5 + [0, 0, 0, 0, 1])
    (10.0, 8.0, 8.0)
    """

    def __init__(self, n_bits: int, k: int = 5) -> None:
        if k < 2 or n_bits < k or n_bits % k:
            raise ValueError(f"n_bits must be a positive multiple of k >= 2, got {n_bits=}, {k=}")
        self.n_bits, self.k = int(n_bits), int(k)
        self.optimum = float(n_bits)

    def blocks_solved(self, xs: Any) -> np.ndarray:
        """Number of all-ones blocks in each row of ``xs``."""
        u = _bits(xs, self.n_bits).reshape(*np.shape(xs)[:-1], -1, self.k).sum(axis=-1)
        return (u == self.k).sum(axis=-1)

    def batch(self, xs: Any) -> np.ndarray:
        """Values of the rows of ``xs`` (shape (N, n_bits)) as a float array."""
        a = _bits(xs, self.n_bits)
        u = a.reshape(*a.shape[:-1], -1, self.k).sum(axis=-1)
        return np.where(u == self.k, self.k, self.k - 1 - u).sum(axis=-1).astype(float)

    def __call__(self, x: Any) -> float:
        """Value of one string."""
        return float(self.batch(np.asarray(x)[None])[0])


class NKLandscape:
    """Kauffman's NK landscape with adjacent (cyclic) neighbourhoods.

    f(x) = (1/n) Σ_i f_i(x_i, x_{i+1}, ..., x_{i+K}) (indices mod n), each f_i a table of
    2^(K+1) values drawn uniformly from [0, 1) with ``seed``. The optimum of adjacent NK
    landscapes is computed exactly by dynamic programming over the cyclic chain (O(n 4^K)).

    S. A. Kauffman and E. D. Weinberger (1989), "The NK model of rugged fitness landscapes and
    its application to maturation of the immune response", J. Theor. Biol. 141(2), 211-245,
    doi:10.1016/S0022-5193(89)80019-0.

    Parameters
    ----------
    n_bits : int
        N.
    k : int
        K, epistatic neighbours of each bit (0 <= K < N).
    seed : int
        Seed of the tables.

    Examples
    --------
    >>> f = NKLandscape(12, k=2, seed=1)
    >>> xs = np.array([[int(b) for b in np.binary_repr(i, 12)] for i in range(4096)])
    >>> bool(np.isclose(f.batch(xs).max(), f.optimum))
    True
    """

    def __init__(self, n_bits: int, k: int = 4, seed: int = 1) -> None:
        if n_bits < 2 or not 0 <= k < n_bits:
            raise ValueError(f"need n_bits >= 2 and 0 <= k < n_bits, got {n_bits=}, {k=}")
        self.n_bits, self.k, self.seed = int(n_bits), int(k), int(seed)
        rng = np.random.default_rng(seed)
        self.tables = rng.random((self.n_bits, 2 ** (self.k + 1)))
        self._idx = (np.arange(self.n_bits)[:, None] + np.arange(self.k + 1)) % self.n_bits
        self._weights = 2 ** np.arange(self.k, -1, -1)
        self.optimum = self._optimum()

    def batch(self, xs: Any) -> np.ndarray:
        """Values of the rows of ``xs`` (shape (N, n_bits)) as a float array."""
        a = _bits(xs, self.n_bits)
        codes = a[..., self._idx] @ self._weights  # (..., n)
        return self.tables[np.arange(self.n_bits), codes].mean(axis=-1)

    def __call__(self, x: Any) -> float:
        """Value of one string."""
        return float(self.batch(np.asarray(x)[None])[0])

    def _optimum(self) -> float:
        """Exact maximum: enumeration up to n = 16, else dynamic programming."""
        n = self.n_bits
        if self.k == 0:
            return float(self.tables.max(axis=1).sum() / n)
        if n <= 16:
            ints = np.arange(2**n)
            xs = (ints[:, None] >> np.arange(n - 1, -1, -1)) & 1
            return float(self.batch(xs).max())
        return self._optimum_dp()

    def _optimum_dp(self) -> float:
        """Exact maximum by dynamic programming along the ring, for each value of the first
        K bits (which the last K windows wrap onto): O(2^K · n · 2^K)."""
        n, k = self.n_bits, self.k
        w = self._weights
        best = -np.inf
        n_state = 2**k
        states = (np.arange(n_state)[:, None] >> np.arange(k - 1, -1, -1)) & 1  # (S, k)
        for head in range(n_state):
            first = states[head]
            # value[s]: best sum of f_0 .. f_{i-1} over strings whose bits i .. i+k-1 are s,
            # having bits 0 .. k-1 = first. Start at i = 0 with s = first.
            value = np.full(n_state, -np.inf)
            value[head] = 0.0
            for i in range(n - k):
                # choose bit i + k; window of f_i = (s, bit)
                new = np.full(n_state, -np.inf)
                for bit in (0, 1):
                    win = np.concatenate([states, np.full((n_state, 1), bit)], axis=1)
                    gain = self.tables[i, win @ w]
                    nxt = (np.arange(n_state) << 1 | bit) & (n_state - 1)
                    np.maximum.at(new, nxt, value + gain)
                value = new
            # close the ring: f_i for i = n-k .. n-1 wrap onto the first bits
            for s in range(n_state):
                if value[s] == -np.inf:
                    continue
                tail = np.concatenate([states[s], first])
                total = value[s] + sum(
                    self.tables[n - k + j, tail[j:j + k + 1] @ w] for j in range(k))
                best = max(best, total)
        return float(best / n)
