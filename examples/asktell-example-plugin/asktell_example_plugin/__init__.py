"""An example asktell plugin, written only against asktell's public API.

It adds an optimiser (``random-search``) and a problem (``himmelblau``), defined here, and, as
lazy references imported only when their names are looked up, a kernel for KRR (``cauchy``), a
simulator for the cINN (``example-ricker``) and a summary network for the cINN (``mean-std``, needs
torch). Install it with ``pip install -e examples/asktell-example-plugin``; ``asktell plugins``
then lists them all.

This module is the plugin's entry module: asktell imports it when it builds its registry, so it
imports nothing heavy (numpy and asktell are already loaded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import asktell
from asktell.plugins import FamilyRegistry

__all__ = ["Himmelblau", "RandomSearch"]


class RandomSearch(asktell.NumericOptimiser):
    """Uniform random search inside rectangular boundaries (a baseline).

    Parameters
    ----------
    x0 : array_like
        Starting point (reported as ``xbest`` until something better is found).
    boundaries : asktell.RectangularBoundaries
        The box to sample.
    popsize : int
        Points per batch.
    seed, direction
        See :class:`asktell.Optimiser`.
    """

    name = "random-search"

    def __init__(
        self,
        x0: Any,
        boundaries: asktell.Boundaries,
        *,
        popsize: int = 10,
        seed: int | None = None,
        direction: str = "minimise",
    ) -> None:
        if boundaries is None:
            raise ValueError("random-search needs boundaries to sample from")
        super().__init__(x0, None, boundaries, seed=seed, direction=direction)
        self._box = boundaries
        self._popsize = int(popsize)

    def _ask(self) -> np.ndarray:
        return self._box.sample(self._popsize, self._rng)

    def _tell(self, losses: np.ndarray) -> None:
        pass  # random search learns nothing; the base class tracks the best point

    def _get_state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        pass


class Himmelblau:
    """Himmelblau's function (x² + y − 11)² + (x + y² − 7)², four minima of value 0."""

    def __call__(self, x: Any) -> float:
        """Value at ``x = (x, y)``."""
        a, b = float(x[0]), float(x[1])
        return (a * a + b - 11) ** 2 + (a + b * b - 7) ** 2


@asktell.hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the optimiser."""
    registry.add("random-search", RandomSearch)


@asktell.hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the problem."""
    registry.add("himmelblau", Himmelblau)


@asktell.hookimpl
def asktell_add_kernels(registry: FamilyRegistry) -> None:
    """Register the kernel (used by ``asktell_qml.KernelRidge("cauchy", ...)``)."""
    registry.add("cauchy", "asktell_example_plugin.kernels:CauchyKernel",
                 summary="1 / (1 + |x - y|^2 / sigma^2)")


@asktell.hookimpl
def asktell_add_simulators(registry: FamilyRegistry) -> None:
    """Register the simulator (used by ``CINN(simulator="example-ricker")``)."""
    registry.add("example-ricker", "asktell_example_plugin.ricker:Ricker",
                 summary="Ricker population model with Poisson counts (Wood 2010)")


@asktell.hookimpl
def asktell_add_summaries(registry: FamilyRegistry) -> None:
    """Register the summary network (used by ``CINN(summary="mean-std")``)."""
    registry.add("mean-std", "asktell_example_plugin.summaries:mean_std_summary",
                 requires=("torch",), summary="per-feature mean and sd, then a linear map")
