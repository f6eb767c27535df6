"""Restricted Boltzmann machines and bit-string EDAs (RBM-EDA, UMDA), as an asktell plugin.

Entry point: ``[project.entry-points.asktell] rbm = "asktell_rbm"``. Registers the optimisers
``rbm-eda`` (torch) and ``umda`` (numpy), and the bit-string problems ``onemax``, ``trap``
(concatenated trap-k) and ``nk-landscape``. This entry module is light: the names below are
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from .ais import LogPartition, ais_log_partition
    from .datasets import load_digits_binary
    from .exact import exact_log_partition
    from .problems import NKLandscape, OneMax, Trap
    from .rbm import BernoulliRBM
    from .rbm_eda import RBMEDA
    from .umda import UMDA

__all__ = [
    "RBMEDA",
    "UMDA",
    "BernoulliRBM",
    "LogPartition",
    "NKLandscape",
    "OneMax",
    "Trap",
    "ais_log_partition",
    "exact_log_partition",
    "load_digits_binary",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "LogPartition": ".ais", "ais_log_partition": ".ais", "load_digits_binary": ".datasets",
    "exact_log_partition": ".exact", "NKLandscape": ".problems", "OneMax": ".problems",
    "Trap": ".problems", "BernoulliRBM": ".rbm", "RBMEDA": ".rbm_eda", "UMDA": ".umda",
})


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the bit-string optimisers."""
    registry.add("rbm-eda", "asktell_rbm.rbm_eda:RBMEDA", requires=("torch",),
                 summary="EDA over bit strings with an RBM model (torch)")
    registry.add("umda", "asktell_rbm.umda:UMDA",
                 summary="univariate marginal distribution algorithm (bit strings)")


@hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the bit-string test problems (maximisation)."""
    registry.add("onemax", "asktell_rbm.problems:OneMax",
                 summary="f(x) = Σ_i x_i, the number of ones; optimum n at all ones")
    registry.add("trap", "asktell_rbm.problems:Trap",
                 summary="Concatenated deceptive trap functions of order k (Deb & Goldberg 1993)")
    registry.add("nk-landscape", "asktell_rbm.problems:NKLandscape",
                 summary="Kauffman's NK landscape with adjacent (cyclic) neighbourhoods")
