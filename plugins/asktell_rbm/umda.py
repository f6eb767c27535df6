"""UMDA: the univariate marginal distribution algorithm over bit strings."""

from __future__ import annotations

from typing import Any

import numpy as np

from asktell.protocol import MAXIMISE, Optimiser

from .selection import truncation as select_best

__all__ = ["UMDA"]


class UMDA(Optimiser):
    """Univariate marginal distribution algorithm (Mühlenbein & Paaß 1996 [1]_).

    The model is a vector p of independent bit probabilities, starting at 1/2. Each
    generation ``ask()`` samples ``popsize`` strings x_i ~ Bernoulli(p_i); ``tell`` selects the
    best ⌈τ N⌉ of them (truncation selection, ties at random), sets p to their bit frequencies
    and clips p to [1/n, 1 − 1/n] (``margins=True``), so no bit is lost for good. Generational
    replacement: the new sample is the new population. UMDA cannot represent interactions
    between bits, which is why it fails on deceptive traps; it is the baseline of RBM-EDA.

    Parameters
    ----------
    n_bits : int
        String length n.
    popsize : int
        N, strings per generation.
    truncation : float
        τ in (0, 1], the selected fraction.
    margins : bool
        Clip p to [1/n, 1 − 1/n].
    seed : int, optional
        Seed of the optimiser's generator.
    direction : {"maximise", "minimise"}
        Default maximise (fitness).

    References
    ----------
    .. [1] H. Mühlenbein and G. Paaß (1996), "From recombination of genes to the estimation of
       distributions I. Binary parameters", Parallel Problem Solving from Nature IV, LNCS 1141,
       178-187, doi:10.1007/3-540-61723-X_982.

    Examples
    --------
    >>> opt = UMDA(n_bits=20, popsize=50, seed=1)
    >>> for _ in range(40):
    ...     xs = opt.ask()
    ...     opt.tell(xs.sum(axis=1))
    >>> opt.fbest()
    20.0
    """

    name = "umda"

    def __init__(
        self, n_bits: int, popsize: int = 100, *, truncation: float = 0.5, margins: bool = True,
        seed: int | None = None, direction: str = MAXIMISE,
    ) -> None:
        super().__init__(seed=seed, direction=direction)
        if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)) or n_bits < 1:
            raise ValueError(f"n_bits must be a positive integer, got {n_bits!r}")
        if isinstance(popsize, bool) or not isinstance(popsize, (int, np.integer)) or popsize < 2:
            raise ValueError(f"popsize must be an integer >= 2, got {popsize!r}")
        if not 0 < truncation <= 1:
            raise ValueError(f"truncation must be in (0, 1], got {truncation!r}")
        self.n_bits, self.popsize = int(n_bits), int(popsize)
        self.truncation, self.margins = float(truncation), bool(margins)
        self.n_select = max(1, int(np.ceil(self.truncation * self.popsize)))
        self.p = np.full(self.n_bits, 0.5)

    def _ask(self) -> np.ndarray:
        return (self._rng.random((self.popsize, self.n_bits)) < self.p).astype(np.uint8)

    def _tell(self, losses: np.ndarray) -> None:
        if not np.isfinite(losses).any():
            return  # nothing learned from a batch of failures
        chosen = select_best(losses, self.n_select, self._rng)
        p = self._pending_batch[chosen].mean(axis=0)
        if self.margins:
            lo = 1.0 / self.n_bits
            p = np.clip(p, lo, 1.0 - lo)
        self.p = p

    def _stop(self) -> dict[str, Any] | None:
        lo = 1.0 / self.n_bits if self.margins else 0.0
        if np.all((self.p <= lo) | (self.p >= 1.0 - lo)):
            return {"converged": True}
        return None

    def _get_state(self) -> dict[str, Any]:
        return {"p": self.p.copy()}

    def _set_state(self, state: dict[str, Any]) -> None:
        p = np.asarray(state["p"], dtype=float)
        if p.shape != (self.n_bits,):
            raise ValueError(f"state has {p.shape} probabilities, this UMDA has n = {self.n_bits}")
        self.p = p.copy()

    def _default_xbest(self) -> Any:
        return None
