"""asktell's built-in numeric optimisers and test problems, registered as an ordinary plugin.

Entry point: ``[project.entry-points.asktell] optim = "asktell_optim"``.
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

from .cmaes import CMAES
from .nelder_mead import NelderMead
from .problems import LogisticProblem, Rastrigin, Rosenbrock, Sphere
from .pso import PSO
from .restarts import Restarts, with_restarts
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


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the numeric optimisers."""
    registry.add("xnes", with_restarts(XNES))
    registry.add("snes", with_restarts(SNES))
    registry.add("cmaes", with_restarts(CMAES))
    registry.add("pso", with_restarts(PSO))
    registry.add("nelder-mead", NelderMead)


@hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the test problems."""
    registry.add("logistic", LogisticProblem)
    registry.add("sphere", Sphere)
    registry.add("rosenbrock", Rosenbrock)
    registry.add("rastrigin", Rastrigin)
