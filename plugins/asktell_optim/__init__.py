"""asktell's built-in numeric optimisers and test problems, registered as an ordinary plugin.

Entry point: ``[project.entry-points.asktell] optim = "asktell_optim"``.
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

from .nelder_mead import NelderMead
from .problems import LogisticProblem, Rastrigin, Rosenbrock, Sphere
from .pso import PSO
from .snes import SNES
from .xnes import XNES

__all__ = [
    "PSO",
    "SNES",
    "XNES",
    "LogisticProblem",
    "NelderMead",
    "Rastrigin",
    "Rosenbrock",
    "Sphere",
]


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the numeric optimisers."""
    registry.add("xnes", XNES)
    registry.add("snes", SNES)
    registry.add("pso", PSO)
    registry.add("nelder-mead", NelderMead)


@hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the test problems."""
    registry.add("logistic", LogisticProblem)
    registry.add("sphere", Sphere)
    registry.add("rosenbrock", Rosenbrock)
    registry.add("rastrigin", Rastrigin)
