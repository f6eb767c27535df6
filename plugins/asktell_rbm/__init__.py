"""Restricted Boltzmann machines and bit-string EDAs (RBM-EDA, UMDA), as an asktell plugin.

Entry point: ``[project.entry-points.asktell] rbm = "asktell_rbm"``. Registers the model
``bernoulli-rbm``, the optimisers ``rbm-eda`` and ``umda``, and the bit-string problems
``onemax``, ``trap`` (concatenated trap-k) and ``nk-landscape``. Needs torch.
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

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


@hookimpl
def asktell_add_models(registry: FamilyRegistry) -> None:
    """Register the RBM."""
    registry.add("bernoulli-rbm", BernoulliRBM,
                 summary="binary RBM: CD-k / persistent CD, exact and AIS log Z (torch)")


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the bit-string optimisers."""
    registry.add("rbm-eda", RBMEDA, summary="EDA over bit strings with an RBM model (torch)")
    registry.add("umda", UMDA, summary="univariate marginal distribution algorithm (bit strings)")


@hookimpl
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Register the bit-string test problems (maximisation)."""
    registry.add("onemax", OneMax)
    registry.add("trap", Trap)
    registry.add("nk-landscape", NKLandscape)
