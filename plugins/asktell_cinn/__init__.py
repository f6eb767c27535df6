"""asktell_cinn: BayesFlow-style amortised posterior estimation with a conditional invertible
network, as an ask/tell optimiser, with summary networks, toy simulators and calibration
diagnostics.

Radev, S. T., Mertens, U. K., Voss, A., Ardizzone, L. & Köthe, U. (2020). "BayesFlow: Learning
complex stochastic models with invertible neural networks." IEEE TNNLS 33(4), 1452-1466.
doi:10.1109/TNNLS.2020.3042395.

Entry point: ``[project.entry-points.asktell] cinn = "asktell_cinn"`` (families ``optimiser``:
``cinn``; ``simulator``: the toy simulators, numpy only; ``summary``: the summary networks).
This entry module is light: torch is imported when the estimator or a summary network is looked
up or a name below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from .actnorm import ActNorm
    from .coupling import ConditionalAffineCoupling
    from .estimator import CINN
    from .network import InvertibleNetwork
    from .permutation import FixedPermutation
    from .priors import BoxUniform, DiagNormal, make_prior
    from .simulators import (
        SIR,
        SLCP,
        GaussianIID,
        GaussianMean,
        Ricker,
        Simulator,
        TwoMoons,
        simulator,
    )
    from .summary import (
        ConvSummary,
        DeepSetSummary,
        IdentitySummary,
        LSTMSummary,
        make_summary,
    )

__all__ = [
    "CINN",
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
    "Simulator",
    "TwoMoons",
    "make_prior",
    "make_summary",
    "simulator",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ActNorm": ".actnorm", "ConditionalAffineCoupling": ".coupling", "CINN": ".estimator",
    "InvertibleNetwork": ".network", "FixedPermutation": ".permutation",
    "BoxUniform": ".priors", "DiagNormal": ".priors", "make_prior": ".priors",
    **{name: ".simulators" for name in (
        "SIR", "SLCP", "GaussianIID", "GaussianMean", "Ricker", "Simulator", "TwoMoons",
        "simulator")},
    **{name: ".summary" for name in (
        "ConvSummary", "DeepSetSummary", "IdentitySummary", "LSTMSummary", "make_summary")},
})

_TORCH = ("torch",)


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the cINN posterior estimator."""
    registry.add("cinn", "asktell_cinn.estimator:CINN", requires=_TORCH,
                 summary="amortised posterior estimation with a conditional invertible network "
                 "(BayesFlow)")


@hookimpl
def asktell_add_simulators(registry: FamilyRegistry) -> None:
    """Register the toy simulators (numpy only)."""
    for name, cls, summary in (
        ("gaussian-mean", "GaussianMean", "conjugate Gaussian mean model, analytic posterior"),
        ("two-moons", "TwoMoons", "the two-moons task of sbibm"),
        ("slcp", "SLCP", "simple likelihood, complex posterior (sbibm)"),
        ("sir", "SIR", "a stochastic SIR epidemic observed as a time series"),
        ("gaussian-iid", "GaussianIID", "normal observations, a variable number per data set"),
        ("ricker", "Ricker", "stochastic Ricker population dynamics, Poisson counts (Wood 2010)"),
    ):
        registry.add(name, f"asktell_cinn.simulators:{cls}", summary=summary)


@hookimpl
def asktell_add_summaries(registry: FamilyRegistry) -> None:
    """Register the summary networks (torch)."""
    registry.add("identity", "asktell_cinn.summary:identity_summary", requires=_TORCH,
                 summary="the flattened data set (fixed size)")
    registry.add("deepset", "asktell_cinn.summary:deepset_summary", requires=_TORCH,
                 summary="permutation-invariant pooling over iid rows (Zaheer et al. 2017)")
    registry.add("lstm", "asktell_cinn.summary:lstm_summary", requires=_TORCH,
                 summary="an LSTM over a time series (Hochreiter & Schmidhuber 1997)")
    registry.add("conv1d", "asktell_cinn.summary:conv1d_summary", requires=_TORCH,
                 summary="a 1-D convolutional network over a time series, masked padding")
