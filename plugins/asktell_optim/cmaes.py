"""CMA-ES through pycma, as an asktell optimiser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from asktell.boundaries import Boundaries, RectangularBoundaries
from asktell.numeric import PopulationOptimiser
from asktell.protocol import MINIMISE, AsyncAskTell, check_state_value

from . import _cma_state

__all__ = ["CMAES"]


def _import_cma() -> Any:
    try:
        import cma
    except ImportError as e:  # pragma: no cover - cma is in the optim extra
        raise ImportError('the "cmaes" optimiser needs pycma: pip install "asktell[optim]"') from e
    return cma


class CMAES(AsyncAskTell, PopulationOptimiser):
    """Covariance matrix adaptation evolution strategy [1]_, a thin adapter over pycma [2]_.

    Each batch is one ``es.ask()`` of a ``cma.CMAEvolutionStrategy``; ``tell`` passes the values
    on (failures as ``inf``, which pycma ranks last). All of pycma's defaults apply (popsize
    4 + ⌊3 ln d⌋, recombination weights, active CMA, step-size adaptation), with three changes
    that suit a library: no console output (``verbose=-9``), no ``outcmaes/`` files, and random
    numbers from the optimiser's own generator (pycma's ``randn`` option; pycma's default seeds
    numpy's global generator from the clock).

    **Asynchronous use** (:class:`asktell.AsyncAskTell`): ``ask_async(n)`` is pycma's
    ``es.ask(n)``; once λ results have been told, in any order, they are passed to ``es.tell``
    as one generation. A result sampled before pycma's last update (stale) has its step
    measured from a mean that has moved: pycma repairs the length of such points
    (``check_points``, as for solutions it did not sample). A result two or more updates old
    (in practice a straggler) is moved first: its step from the mean it was drawn around,
    rescaled by σ/σ_then, is taken from the current mean, so its long step back along the path
    taken does not shrink the covariance along the direction of progress (active CMA gives a
    low-ranked point a negative weight). Without boundaries only; chosen on seeds 10-14 of
    ``benchmarks/async_stragglers.py`` over telling it as it is and over leaving it out.

    Every criterion that ``es.stop()`` reports is returned by :meth:`stop` (``tolfun``,
    ``tolx``, ``tolstagnation``, ``conditioncov``, ...), with its value.

    Parameters
    ----------
    x0 : array_like, shape (d,)
        Initial mean; d = 1 is supported.
    sigma0 : float or array_like, optional
        Initial step size per coordinate: pycma gets σ0 = max(sigma0) and
        ``CMA_stds = sigma0 / σ0``. Default: see :class:`asktell.NumericOptimiser`.
    boundaries : RectangularBoundaries, optional
        Passed to pycma's ``bounds`` (its ``BoundTransform``: candidates are mapped smoothly
        into the box, so every asked point lies inside).
    popsize : int, optional
        λ; default pycma's 4 + ⌊3 ln d⌋.
    tolfun, tolx : float, optional
        pycma's ``tolfun`` (1e-11) and ``tolx`` (1e-11) when not given.
    max_iterations : int, optional
        pycma's ``maxiter``; default 100 + 150 (d + 3)² / √λ.
    options : mapping, optional
        Any other pycma option (``cma.CMAOptions()`` lists them), for example
        ``{"CMA_diagonal": True}``. ``randn``, ``seed``, ``bounds``, ``popsize`` and
        ``CMA_stds`` are set from the arguments above and may not be given here.
    seed, direction
        See :class:`asktell.Optimiser`.

    Notes
    -----
    **Checkpoints.** The state is pycma's strategy itself, written as plain data by an
    allowlisted encoder (``asktell_optim._cma_state``: objects of ``cma`` classes as their class
    name and ``__dict__``, numpy arrays, ``cma`` functions by name, the optimiser's ``randn`` as
    a marker; anything else is refused, and loading imports only ``cma`` modules).
    :meth:`load_state_dict` restores the strategy directly: the state has a fixed size, a
    resume costs the same after ten batches or ten thousand, and the resumed optimiser asks and
    stops exactly as the uninterrupted one. States of the older format (told values replayed
    from the first random state) still load.

    References
    ----------
    .. [1] Hansen, N. & Ostermeier, A. (2001). Completely derandomized self-adaptation in
       evolution strategies. *Evolutionary Computation*, 9(2), 159–195.
       doi:10.1162/106365601750190398
    .. [2] Hansen, N., Akimoto, Y. & Baudis, P. (2019). CMA-ES/pycma on Github. Zenodo.
       doi:10.5281/zenodo.2559634

    Examples
    --------
    >>> import numpy as np
    >>> opt = CMAES(x0=np.ones(5), sigma0=0.5, seed=1)
    >>> while opt.stop() is None:
    ...     xs = opt.ask()
    ...     opt.tell(np.sum(xs**2, axis=1))
    >>> bool(opt.fbest() < 1e-10), sorted(opt.stop())[:1]
    (True, ['tolfun'])
    """

    name = "cmaes"
    _RESERVED = frozenset({"randn", "seed", "bounds", "popsize", "CMA_stds", "verbose",
                           "verb_disp", "verb_log", "verb_filenameprefix"})

    def __init__(
        self,
        x0: Sequence[float] | np.ndarray,
        sigma0: float | Sequence[float] | np.ndarray | None = None,
        boundaries: Boundaries | None = None,
        *,
        popsize: int | None = None,
        tolfun: float | None = None,
        tolx: float | None = None,
        max_iterations: int | None = None,
        options: Mapping[str, Any] | None = None,
        seed: int | None = None,
        direction: str = MINIMISE,
    ) -> None:
        super().__init__(x0, sigma0, boundaries, popsize=popsize, seed=seed, direction=direction)
        cma = _import_cma()
        if boundaries is not None and not isinstance(boundaries, RectangularBoundaries):
            raise TypeError("cmaes supports RectangularBoundaries only (pycma's bounds)")
        options = dict(options or {})
        bad = sorted(self._RESERVED & set(options))
        if bad:
            raise ValueError(f"options {bad} are set by asktell; use the keyword arguments")
        d = self.n_parameters
        if max_iterations is None:
            max_iterations = self.default_max_iterations(d, self._popsize)
        opts: dict[str, Any] = {
            **options,
            "popsize": self._popsize,
            "maxiter": int(max_iterations),
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
            "randn": self._randn,
        }
        if tolfun is not None:
            opts["tolfun"] = float(tolfun)
        if tolx is not None:
            opts["tolx"] = float(tolx)
        s = self._sigma0
        self._sigma_scalar = float(s.max())
        if not np.all(s == s[0]):
            opts["CMA_stds"] = (s / self._sigma_scalar).tolist()
        if boundaries is not None:
            opts["bounds"] = [boundaries.lower.tolist(), boundaries.upper.tolist()]
        try:
            known = cma.CMAOptions()
            unknown = sorted(k for k in options if k not in known)
        except Exception:  # pragma: no cover - very old pycma
            unknown = []
        if unknown:
            raise ValueError(f"unknown pycma options {unknown}; cma.CMAOptions() lists them")
        self._opts = opts
        self._es = self._new_es()
        self._X: list[np.ndarray] | None = None

    def _randn(self, *shape: int) -> np.ndarray:
        return self._rng.standard_normal(shape)

    def _new_es(self) -> Any:
        return _import_cma().CMAEvolutionStrategy(self._x0.tolist(), self._sigma_scalar,
                                                  dict(self._opts))

    @property
    def max_iterations(self) -> int:
        """pycma's ``maxiter``."""
        return int(self._opts["maxiter"])

    @property
    def es(self) -> Any:
        """The underlying ``cma.CMAEvolutionStrategy`` (read it; do not ask or tell it)."""
        return self._es

    def _ask(self) -> np.ndarray:
        self._X = self._es.ask()
        xs = np.array(self._X, dtype=float)
        if self._boundaries is not None:
            xs = self._repair(xs)[0]  # pycma's closed upper bound vs our half-open box
        return xs

    stale_results = ("passed to pycma's tell with the generation they complete; one update "
                     "old, as they are, their length repaired by pycma (check_points); two or "
                     "more updates old (without boundaries), their step from the mean they "
                     "were drawn around, rescaled by σ/σ_then, taken from the current mean")

    def _ask_async(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        es = self._es
        raw = np.array(es.ask(n), dtype=float)
        xs = self._repair(raw.copy())[0] if self._boundaries is not None else raw.copy()
        # the record: pycma's sample, the update it was drawn after, pycma's mean and step
        # size then
        return xs, np.column_stack([raw, np.full(n, float(es.countiter)),
                                    np.tile(es.mean, (n, 1)), np.full(n, float(es.sigma))])

    def _update_async(self, candidates: np.ndarray, records: np.ndarray,
                      losses: np.ndarray) -> None:
        es, d = self._es, self.n_parameters
        points = records[:, :d].copy()
        age = es.countiter - records[:, d]
        if self._boundaries is None:
            # A result two or more updates old (a straggler): its step from the mean it was
            # drawn around, rescaled to the current step size, is taken from the current mean,
            # so that its long step back along the path taken does not enter the covariance
            # update (with a negative weight, as it usually ranks low). On Rosenbrock with 1
            # result in 20 forty times slower, async/sync evaluations went from 1.16 to 1.11
            # (ratio of medians, seeds 10-14, benchmarks/async_stragglers.py --virtual).
            # (A candidate asked by an earlier version has NaN for the mean and step size.)
            late = (age >= 2) & np.isfinite(records[:, 2 * d + 1])
            if late.any():
                means, sigmas = records[late, d + 1:2 * d + 1], records[late, 2 * d + 1]
                points[late] = es.mean + (es.sigma / sigmas)[:, None] * (points[late] - means)
        stale = np.flatnonzero(age > 0).tolist()
        # pycma repairs the length of the points named in check_points, as it does for
        # solutions it did not sample: a stale step is measured from a mean that has moved
        es.tell(list(points), losses.tolist(), check_points=stale or None)

    def _record_width(self) -> int:
        """Records: pycma's sample, its update, pycma's mean and step size then (candidates
        asked by an earlier version have neither: NaN)."""
        return 2 * self.n_parameters + 2

    def _tell(self, losses: np.ndarray) -> None:
        self._es.tell(self._X, losses.tolist())
        self._X = None

    def _stop(self) -> dict[str, Any] | None:
        reasons = self._es.stop()
        return dict(reasons) if reasons else None

    def _get_state(self) -> dict[str, Any]:
        return {"es": _cma_state.encode([self._es, self._X], randn=self._randn)}

    def _set_state(self, state: dict[str, Any]) -> None:
        if "told" in state:  # the older format: told values, replayed
            self._set_replayed_state(state)
            return
        es, X = _cma_state.decode(state["es"], randn=self._randn)
        if not isinstance(es, _import_cma().CMAEvolutionStrategy):
            raise ValueError("state['es'] is not a cma.CMAEvolutionStrategy")
        if es.popsize != self._popsize:
            raise ValueError(f"state is for another population size: {es.popsize}")
        check_state_value("method.es.mean", es.mean, "finite")
        check_state_value("method.es.sigma", es.sigma, "positive")
        self._es, self._X = es, X

    def _set_replayed_state(self, state: dict[str, Any]) -> None:
        """Old checkpoints: rebuild the strategy and replay every told batch."""
        told = np.asarray(state["told"], dtype=float)
        if told.ndim != 2 or (told.size and told.shape[1] != self._popsize):
            raise ValueError(f"state is for another population size: told has shape {told.shape}")
        saved_rng = self._rng
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng0"]
        self._rng = rng  # _randn draws from self._rng: replay with the original stream
        try:
            es = self._new_es()
            self._es = es
            for row in told:
                es.tell(es.ask(), row.tolist())
            self._X = es.ask() if state["asked"] else None
        finally:
            self._rng = saved_rng  # the base class then restores the saved current state
