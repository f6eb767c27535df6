"""asktell_cinn: BayesFlow-style amortised posterior estimation with a conditional invertible
network, as an ask/tell optimiser, with summary networks, toy simulators and calibration
diagnostics.

Radev, S. T., Mertens, U. K., Voss, A., Ardizzone, L. & Köthe, U. (2020). "BayesFlow: Learning
complex stochastic models with invertible neural networks." IEEE TNNLS 33(4), 1452-1466.
doi:10.1109/TNNLS.2020.3042395.

Entry point: ``[project.entry-points.asktell] cinn = "asktell_cinn"`` (families ``optimiser``:
``cinn``; ``simulator``: the toy simulators).
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

from .actnorm import ActNorm
from .coupling import ConditionalAffineCoupling
from .estimator import CINN
from .network import InvertibleNetwork
from .permutation import FixedPermutation
from .priors import BoxUniform, DiagNormal, make_prior
from .simulators import (
    SIMULATORS,
    SIR,
    SLCP,
    GaussianIID,
    GaussianMean,
    Ricker,
    TwoMoons,
    simulator,
)
from .summary import ConvSummary, DeepSetSummary, IdentitySummary, LSTMSummary, make_summary

__all__ = [
    "CINN",
    "SIMULATORS",
    "SIR",
    "SLCP",
    "ActNorm",
    "BoxUniform",
    "ConditionalAffineCoupling",
    "ConvSummary",
    "DeepSetSummary",
    "DiagNormal",
    "FixedPermutation",
    "GaussianIID",
    "GaussianMean",
    "IdentitySummary",
    "InvertibleNetwork",
    "LSTMSummary",
    "Ricker",
    "TwoMoons",
    "make_prior",
    "make_summary",
    "simulator",
]


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the cINN posterior estimator."""
    registry.add("cinn", CINN, summary="amortised posterior estimation with a conditional "
                 "invertible network (BayesFlow)")


@hookimpl
def asktell_add_simulators(registry: FamilyRegistry) -> None:
    """Register the toy simulators."""
    for name, cls in SIMULATORS.items():
        registry.add(name, cls, summary=(cls.__doc__ or "").strip().splitlines()[0])
