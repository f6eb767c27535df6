"""asktell's built-in numeric optimisers and test problems, registered as an ordinary plugin.

Entry point: ``[project.entry-points.asktell] optim = "asktell_optim"``. This module is the
plugin's light entry module: its hooks register lazy references, and the classes below are
imported on first use (``from asktell_optim import XNES`` works as usual).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from asktell.restarts import Restarts

    from .cmaes import CMAES
    from .nelder_mead import NelderMead
    from .problems import LogisticProblem, Rastrigin, Rosenbrock, Sphere
    from .pso import PSO
    from .snes import SNES
    from .xnes import XNES

__all__ = [
    "CMAES",
    "PSO",
    "SNES",
    "XNES",
    "LogisticProblem",
    "NelderMead",
    "Rastrigin",
    "Restarts",
    "Rosenbrock",
    "Sphere",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "CMAES": ".cmaes", "NelderMead": ".nelder_mead", "PSO": ".pso", "SNES": ".snes",
    "XNES": ".xnes", "LogisticProblem": ".problems", "Rastrigin": ".problems",
    "Rosenbrock": ".problems", "Sphere": ".problems", "Restarts": "asktell.restarts",
})


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the numeric optimisers."""
    registry.add("xnes", "asktell_optim.xnes:XNES",
                 summary="Exponential natural evolution strategy, xNES (Glasmachers et al. 2010)")
    registry.add("snes", "asktell_optim.snes:SNES",
                 summary="Separable natural evolution strategy, SNES (Schaul et al. 2011)")
    registry.add("cmaes", "asktell_optim.cmaes:CMAES", requires=("cma",),
                 summary="Covariance matrix adaptation evolution strategy, through pycma")
    registry.add("pso", "asktell_optim.pso:PSO",
                 summary="Particle swarm optimisation, vectorised over the swarm")
    registry.add("nelder-mead", "asktell_optim.nelder_mead:NelderMead",
                 summary="The Nelder–Mead simplex method as a sequence of small batches")


@hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the test problems."""
    registry.add("logistic", "asktell_optim.problems:LogisticProblem",
                 summary="Sum-of-squares error of the logistic model against noisy synthetic data")
    registry.add("sphere", "asktell_optim.problems:Sphere",
                 summary="f(x) = Σ x_i², minimum 0 at the origin")
    registry.add("rosenbrock", "asktell_optim.problems:Rosenbrock",
                 summary="f(x) = Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², minimum 0 at (1, ..., 1)")
    registry.add("rastrigin", "asktell_optim.problems:Rastrigin",
                 summary="f(x) = 10 d + Σ (x_i² − 10 cos 2πx_i), minimum 0 at the origin")
