"""RBM-EDA: an estimation-of-distribution algorithm with a restricted Boltzmann machine."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch

from asktell.protocol import MAXIMISE, Optimiser

from .rbm import BernoulliRBM
from .selection import tournament, truncation

__all__ = ["RBMEDA"]

log = logging.getLogger(__name__)

_SELECTIONS = ("tournament", "truncation")


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """Run the block with torch limited to ``n`` intra-op threads (None: unchanged)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
_REPLACEMENTS = ("generational", "elitist")


class RBMEDA(Optimiser):
    """Estimation-of-distribution algorithm with an RBM as its model (RBM-EDA).

    After Tang, Li & Qian (2010) [1]_ and Probst, Rothlauf & Grahl (2014, 2017) [2]_ [3]_. A
    population of ``popsize`` bit strings is kept. Each generation:

    1. **select** parents from the population: tournaments of ``tournament_size`` without
       replacement (Probst et al.), or the best fraction ``truncation`` of it;
    2. **build the model**: train a :class:`BernoulliRBM` with ``n_hidden`` hidden units
       (default m = ⌈n/2⌉, as Probst et al.) on the parents by CD-k, for ``epochs`` passes, or,
       with ``epochs="auto"``, until the reconstruction error on the parents improves by less
       than ``auto_tol`` (relative) over ``auto_patience`` epochs, at most ``max_epochs``
       (a stop-on-convergence rule in the spirit of Probst et al.'s);
    3. **sample**: ``ask()`` returns ``popsize`` strings from Gibbs chains started at the parents,
       ``gibbs_steps`` sweeps each (25 by default);
    4. **replace**: ``tell(fitness)`` scores them; ``"generational"`` replacement makes them the
       new population, ``"elitist"`` keeps the best ``popsize`` of old and new together.

    The first ``ask()`` returns uniformly random strings. With ``warm_start`` the RBM keeps its
    weights from one generation to the next (training continues); otherwise it is re-initialised
    each generation. Training length matters: measured here, long training per generation
    over-fits the parents and costs diversity (200 epochs per generation dropped OneMax success
    from 5/5 to 1/5 at N = 100), so it is an explicit parameter.

    Randomness: selection and the first population use the optimiser's numpy generator; the
    RBM (initial weights, minibatch order, Gibbs sampling) its own ``torch.Generator``; both are
    in :meth:`state_dict`, so a resumed run asks exactly what the uninterrupted one would.

    Parameters
    ----------
    n_bits : int
        String length n.
    popsize : int
        N, strings asked per generation (and population size).
    n_hidden : int, optional
        Hidden units m (default ⌈n/2⌉).
    selection : {"tournament", "truncation"}
    tournament_size : int
        Tournament size (2 in Probst et al.).
    truncation : float
        Selected fraction with ``selection="truncation"``.
    replacement : {"generational", "elitist"}
    epochs : int or "auto"
        Training passes over the parents per generation, or the convergence rule.
    max_epochs, auto_patience : int
        Limits of ``epochs="auto"``.
    auto_tol : float
        Relative improvement of the reconstruction error that counts, for ``epochs="auto"``.
    gibbs_steps : int
        Gibbs sweeps per sample, from the parents.
    k : int
        CD-k steps in training.
    lr, momentum, weight_decay : float
        Training hyperparameters of the RBM.
    batch_size : int
        Minibatch size of the RBM's training.
    warm_start : bool
        Keep training the previous generation's RBM instead of a fresh one.
    seed : int, optional
    direction : {"maximise", "minimise"}
        Default maximise (fitness).
    device : str, optional
        Torch device of the RBM (``"cpu"`` or ``"cuda"``); asks are numpy arrays either way.
    num_threads : int, optional
        CPU threads torch may use inside ``ask``/``tell`` (set for the call, then restored);
        default: torch's setting. One thread is fastest for small models on a shared CPU.

    References
    ----------
    .. [1] H. Tang, V. A. Shim, K. C. Tan and J. Y. Chia (2010), "Restricted Boltzmann machine
       based algorithm for multi-objective optimization", IEEE Congress on Evolutionary
       Computation (CEC 2010), doi:10.1109/CEC.2010.5586465.
    .. [2] M. Probst, F. Rothlauf and J. Grahl (2014), "An implicitly parallel EDA based on
       restricted Boltzmann machines", Proc. GECCO 2014, 1055-1062,
       doi:10.1145/2576768.2598273.
    .. [3] M. Probst, F. Rothlauf and J. Grahl (2017), "Scalability of using restricted
       Boltzmann machines for combinatorial optimization", European Journal of Operational
       Research 256(2), 368-383, doi:10.1016/j.ejor.2016.06.066.

    Examples
    --------
    >>> opt = RBMEDA(n_bits=20, popsize=60, epochs=10, seed=1)
    >>> while opt.fbest() < 20 and opt.iterations < 30:
    ...     xs = opt.ask()
    ...     opt.tell(xs.sum(axis=1))
    >>> opt.fbest(), xs.dtype, xs.shape
    (20.0, dtype('uint8'), (60, 20))
    """

    name = "rbm-eda"

    def __init__(
        self, n_bits: int, popsize: int = 500, *, n_hidden: int | None = None,
        selection: str = "tournament", tournament_size: int = 2, truncation: float = 0.5,
        replacement: str = "elitist", epochs: int | Literal["auto"] = 50, max_epochs: int = 200,
        auto_patience: int = 3, auto_tol: float = 0.01, gibbs_steps: int = 25, k: int = 1,
        lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 1e-4,
        batch_size: int = 100, warm_start: bool = True, seed: int | None = None,
        direction: str = MAXIMISE, device: str | None = None, num_threads: int | None = None,
    ) -> None:
        super().__init__(seed=seed, direction=direction)
        for nm, val, low in (("n_bits", n_bits, 1), ("popsize", popsize, 2),
                             ("gibbs_steps", gibbs_steps, 0), ("max_epochs", max_epochs, 1),
                             ("auto_patience", auto_patience, 1)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < low:
                raise ValueError(f"{nm} must be an integer >= {low}, got {val!r}")
        if selection not in _SELECTIONS:
            raise ValueError(f"selection must be one of {_SELECTIONS}, got {selection!r}")
        if replacement not in _REPLACEMENTS:
            raise ValueError(f"replacement must be one of {_REPLACEMENTS}, got {replacement!r}")
        if not (epochs == "auto" or (isinstance(epochs, (int, np.integer))
                                     and not isinstance(epochs, bool) and epochs >= 1)):
            raise ValueError(f"epochs must be a positive integer or 'auto', got {epochs!r}")
        if selection == "tournament" and not 2 <= tournament_size <= popsize:
            raise ValueError(f"tournament_size must be in [2, popsize={popsize}], "
                             f"got {tournament_size!r}")
        if not 0 < truncation <= 1:
            raise ValueError(f"truncation must be in (0, 1], got {truncation!r}")
        self.n_bits, self.popsize = int(n_bits), int(popsize)
        self.n_hidden = int(n_hidden) if n_hidden is not None else -(-self.n_bits // 2)
        self.selection, self.tournament_size = selection, int(tournament_size)
        self.truncation, self.replacement = float(truncation), replacement
        self.epochs: int | Literal["auto"] = "auto" if epochs == "auto" else int(epochs)
        self.max_epochs, self.auto_patience = int(max_epochs), int(auto_patience)
        self.auto_tol = float(auto_tol)
        self.gibbs_steps, self.warm_start = int(gibbs_steps), bool(warm_start)
        if num_threads is not None and (isinstance(num_threads, bool) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        self.num_threads = None if num_threads is None else int(num_threads)
        self.rbm = BernoulliRBM(
            self.n_bits, self.n_hidden, k=k, lr=lr, momentum=momentum,
            weight_decay=weight_decay, batch_size=batch_size, epochs=1,
            seed=int(self._rng.integers(2**63)), device=device,
        )
        self.population: np.ndarray | None = None
        self.population_losses: np.ndarray | None = None
        self.parents: np.ndarray | None = None
        self.epochs_trained: list[int] = []

    # ------------------------------------------------------------------ generation

    def _ask(self) -> np.ndarray:
        with _threads(self.num_threads):
            return self._sample()

    def _sample(self) -> np.ndarray:
        if self.parents is None:
            return (self._rng.random((self.popsize, self.n_bits)) < 0.5).astype(np.uint8)
        starts = self.parents
        if starts.shape[0] != self.popsize:  # chains from parents drawn at random
            starts = starts[self._rng.integers(0, starts.shape[0], self.popsize)]
        out = self.rbm.gibbs(starts, self.gibbs_steps)
        return out.to(torch.uint8).cpu().numpy()

    def _tell(self, losses: np.ndarray) -> None:
        batch = np.asarray(self._pending_batch, dtype=np.uint8)
        if self.population is not None and not np.isfinite(losses).any():
            return  # a batch of failures only: keep the population, parents and model
        if self.population is None or self.replacement == "generational":
            self.population, self.population_losses = batch.copy(), losses.copy()
        else:
            pop = np.concatenate([self.population, batch])
            pl = np.concatenate([self.population_losses, losses])
            keep = truncation(pl, self.popsize, self._rng)
            self.population, self.population_losses = pop[keep], pl[keep]
        if self.selection == "tournament":
            idx = tournament(self.population_losses, self.popsize, self.tournament_size,
                             self._rng)
        else:
            n_sel = max(1, int(np.ceil(self.truncation * self.popsize)))
            idx = truncation(self.population_losses, n_sel, self._rng)
        self.parents = self.population[idx]
        with _threads(self.num_threads):
            self._train(self.parents)

    def _train(self, parents: np.ndarray) -> None:
        rbm = self.rbm
        data = torch.from_numpy(parents).to(device=rbm.device, dtype=rbm.dtype)
        if not self.warm_start or rbm.n_updates == 0:
            rbm.fit(data, epochs=0)  # fresh weights, visible biases from the parents
        if isinstance(self.epochs, int):  # not "auto"
            rbm.partial_fit(data, epochs=self.epochs)
            self.epochs_trained.append(self.epochs)
            return
        history = [self._reconstruction_error(data)]
        n = 0
        while n < self.max_epochs:
            rbm.partial_fit(data, epochs=1)
            n += 1
            history.append(self._reconstruction_error(data))
            if n >= self.auto_patience:
                ref = history[-1 - self.auto_patience]
                if ref - history[-1] < self.auto_tol * ref:
                    break
        self.epochs_trained.append(n)

    @torch.no_grad()
    def _reconstruction_error(self, data: torch.Tensor) -> float:
        """Mean squared error of the mean-field reconstruction σ(b + W σ(c + Wᵀv)): a training
        stop signal only, never a quality measure."""
        rbm = self.rbm
        return float(((rbm._pv(rbm._ph(data)) - data) ** 2).mean())

    def _stop(self) -> dict[str, Any] | None:
        if self.population is not None and bool((self.population == self.population[0]).all()):
            return {"converged": True}
        return None

    # ------------------------------------------------------------------ state

    def _get_state(self) -> dict[str, Any]:
        return {
            "rbm": self.rbm.state_dict(),
            "population": None if self.population is None else self.population.copy(),
            "population_losses": (None if self.population_losses is None
                                  else self.population_losses.copy()),
            "parents": None if self.parents is None else self.parents.copy(),
            "epochs_trained": np.asarray(self.epochs_trained, dtype=np.int64),
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        pop = state["population"]
        if pop is not None and np.shape(pop)[1:] != (self.n_bits,):
            raise ValueError(f"state population has shape {np.shape(pop)}, this RBM-EDA has "
                             f"n = {self.n_bits}")
        self.rbm.load_state_dict(state["rbm"])
        self.population = None if pop is None else np.array(pop, dtype=np.uint8)
        pl = state["population_losses"]
        self.population_losses = None if pl is None else np.array(pl, dtype=float)
        par = state["parents"]
        self.parents = None if par is None else np.array(par, dtype=np.uint8)
        self.epochs_trained = [int(e) for e in np.asarray(state["epochs_trained"])]
