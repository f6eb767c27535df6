"""Hook specifications: the contract between asktell and its plugins.

A plugin is a module (or object) with functions marked ``@asktell.hookimpl`` whose names are the
hooks below. It is found through the entry-point group ``asktell``::

    # pyproject.toml of the plugin's distribution
    [project.entry-points.asktell]
    myplugin = "my_package.asktell_plugin"

Each hook receives a ``registry`` for one family and adds named factories to it with
``registry.add(name, factory, summary=...)``. asktell validates at registration time: names are
lowercase words joined by ``-``; a name registered twice is an error naming both plugins.
Hooks are called once, when the registry is built, never inside an ask/tell loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import FamilyRegistry

__all__ = ["FAMILIES", "hookimpl", "hookspec"]

PROJECT = "asktell"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Add optimiser factories (family ``"optimiser"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per optimiser.

    Notes
    -----
    ``factory(**kwargs)`` returns an :class:`asktell.Optimiser`. Numeric optimisers accept
    ``x0``, ``sigma0``, ``boundaries``, ``seed`` and ``popsize`` keywords; every optimiser accepts
    ``seed`` and ``direction``. The optimiser should pass :func:`asktell.testing.check_optimiser`.
    ``asktell.create(name, **kwargs)`` calls the factory.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_optimisers(registry):
            registry.add("random-search", RandomSearch, summary="uniform samples in the box")
    """


@hookspec
def asktell_add_rewards(registry: FamilyRegistry) -> None:
    """Add reward factories (family ``"reward"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per reward.

    Notes
    -----
    ``factory(**options)`` returns a callable that scores a sequence of candidates (for example
    SMILES strings) to a float array, one value per candidate, NaN for a candidate it cannot
    score.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_rewards(registry):
            registry.add("length", lambda: lambda xs: np.array([len(x) for x in xs], float))
    """


@hookspec
def asktell_add_kernels(registry: FamilyRegistry) -> None:
    """Add kernel factories (family ``"kernel"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per kernel.

    Notes
    -----
    ``factory(**hyperparameters)`` returns a callable ``k(X, Y) -> ndarray (len(X), len(Y))``
    computing the kernel matrix between two sets of representations.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_kernels(registry):
            registry.add("gaussian", GaussianKernel)
    """


@hookspec
def asktell_add_models(registry: FamilyRegistry) -> None:
    """Add model factories (family ``"model"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per model.

    Notes
    -----
    ``factory(**options)`` returns a model object (a generator network, an RBM, a regression
    model) with ``state_dict()`` / ``load_state_dict()`` holding plain tensors or arrays.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_models(registry):
            registry.add("bernoulli-rbm", BernoulliRBM)
    """


@hookspec
def asktell_add_simulators(registry: FamilyRegistry) -> None:
    """Add simulator factories (family ``"simulator"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per simulator.

    Notes
    -----
    ``factory(**options)`` returns a callable mapping one parameter vector θ to one simulated
    data set x = q(θ) (a numpy array); evaluators run it in parallel over a batch of θ.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_simulators(registry):
            registry.add("gaussian-mean", GaussianMean)
    """


@hookspec
def asktell_add_problems(registry: FamilyRegistry) -> None:
    """Add problem factories (family ``"problem"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per problem.

    Notes
    -----
    ``factory(**options)`` returns a picklable callable ``f(candidate) -> float`` (the objective
    a run configuration's ``[problem]`` section names). It may carry ``true_parameters``.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_problems(registry):
            registry.add("sphere", Sphere)
    """


#: family name -> hook name. One hook per family.
FAMILIES: dict[str, str] = {
    "optimiser": "asktell_add_optimisers",
    "reward": "asktell_add_rewards",
    "kernel": "asktell_add_kernels",
    "model": "asktell_add_models",
    "simulator": "asktell_add_simulators",
    "problem": "asktell_add_problems",
}
