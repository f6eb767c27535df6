"""Quantum machine learning on QM9: Coulomb matrices, Gaussian / Laplacian / Wasserstein kernels,
kernel ridge regression with cross-validated hyper-parameters, and a surrogate-property reward.

Registered as an ordinary plugin (``[project.entry-points.asktell] qml = "asktell_qml"``):
kernels ``gaussian``, ``laplacian``, ``wasserstein``; reward ``krr-surrogate``. KRR looks kernels
up by name in the registry, so a kernel another plugin registers works by name too.
Method after Çaylak, von Lilienfeld & Baumeier (2020), doi:10.1088/2632-2153/aba048.

Examples
--------
>>> import numpy as np
>>> from asktell_qml import KernelRidge, coulomb_matrices, load_qm9_subset
>>> data = load_qm9_subset()
>>> X = coulomb_matrices(data.Z, data.R)
>>> y = data.atomization_energy
>>> model = KernelRidge("wasserstein", sigma=8.0, lam=1e-4).fit(X[:1000], y[:1000])
>>> bool(np.mean(np.abs(model.predict(X[2000:]) - y[2000:])) < 15.0)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from ._base import DistanceKernel
    from .coulomb import coulomb_matrices
    from .cv import CVResult, grid_search_cv, kfold
    from .gaussian import GaussianKernel
    from .hyperopt import CVFoldObjective, HyperoptResult, optimise_hyperparameters
    from .krr import CholeskyError, KernelRidge, solve_cholesky
    from .laplacian import LaplacianKernel
    from .qm9 import QM9Data, atomization_energy, load_qm9, load_qm9_subset
    from .reward import KRRSurrogate, embed_smiles
    from .wasserstein import WassersteinKernel, pairwise_wasserstein, wasserstein_distance

__all__ = [
    "CVFoldObjective",
    "CVResult",
    "CholeskyError",
    "DistanceKernel",
    "GaussianKernel",
    "HyperoptResult",
    "KRRSurrogate",
    "KernelRidge",
    "LaplacianKernel",
    "QM9Data",
    "WassersteinKernel",
    "atomization_energy",
    "coulomb_matrices",
    "embed_smiles",
    "grid_search_cv",
    "kfold",
    "load_qm9",
    "load_qm9_subset",
    "optimise_hyperparameters",
    "pairwise_wasserstein",
    "solve_cholesky",
    "wasserstein_distance",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DistanceKernel": "._base", "coulomb_matrices": ".coulomb", "CVResult": ".cv",
    "grid_search_cv": ".cv", "kfold": ".cv", "GaussianKernel": ".gaussian",
    "CVFoldObjective": ".hyperopt", "HyperoptResult": ".hyperopt",
    "optimise_hyperparameters": ".hyperopt", "CholeskyError": ".krr", "KernelRidge": ".krr",
    "solve_cholesky": ".krr", "LaplacianKernel": ".laplacian", "QM9Data": ".qm9",
    "atomization_energy": ".qm9", "load_qm9": ".qm9", "load_qm9_subset": ".qm9",
    "KRRSurrogate": ".reward", "embed_smiles": ".reward", "WassersteinKernel": ".wasserstein",
    "pairwise_wasserstein": ".wasserstein", "wasserstein_distance": ".wasserstein",
})


@hookimpl
def asktell_add_kernels(registry: FamilyRegistry) -> None:
    """Register the kernels."""
    registry.add("gaussian", "asktell_qml.gaussian:GaussianKernel",
                 summary="exp(-|x - y|^2 / (2 sigma^2)), numpy/torch")
    registry.add("laplacian", "asktell_qml.laplacian:LaplacianKernel",
                 summary="exp(-|x - y|_1 / sigma), numpy/torch")
    registry.add("wasserstein", "asktell_qml.wasserstein:WassersteinKernel",
                 summary="exp(-W1(x, y) / sigma) on entries as 1-D distributions (Çaylak 2020)")


@hookimpl
def asktell_add_rewards(registry: FamilyRegistry) -> None:
    """Register the surrogate-property reward."""
    registry.add("krr-surrogate", "asktell_qml.reward:KRRSurrogate",
                 summary="KRR-predicted QM9 atomization energy of SMILES or (Z, R)")
