"""Hook specifications: the contract between asktell and its plugins.

A plugin is a module (or object) with functions marked ``@asktell.hookimpl`` whose names are the
hooks below, one hook per family. It is found through the entry-point group ``asktell``::

    # pyproject.toml of the plugin's distribution
    [project.entry-points.asktell]
    myplugin = "my_package"

Each hook receives a ``registry`` for one family and adds names to it with
``registry.add(name, factory, summary=..., requires=...)``. asktell validates at registration
time: names are lowercase words joined by ``-``; a name registered twice is an error naming both
plugins. Hooks are called once, when the registry is built, never inside an ask/tell loop.

**Keep the entry module light.** Looking up a name your distribution declares imports your
entry module (listing names, or looking up an undeclared one, imports every plugin's), so
register each factory as a lazy reference ``"package.module:attribute"``, imported the first time
its name is looked up, and declare the top-level modules it needs with ``requires=``: a user who
asks for ``xnes`` then never imports your torch code, and a user without torch sees your names
listed as unavailable, with the install command, instead of a warning at every start.
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
            registry.add("random-search", "my_package.search:RandomSearch",
                         summary="uniform samples in the box")

    ``asktell.create(name, restarts="ipop" | "bipop", ...)`` wraps any population optimiser
    (:class:`asktell.PopulationOptimiser`) in :class:`asktell.restarts.Restarts`; a factory
    does not take ``restarts`` itself.
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
    ``factory(sigma=..., device=..., n_jobs=..., **hyperparameters)`` returns an
    :class:`asktell_qml.DistanceKernel` (subclass it: set ``metric`` and ``_apply``): a callable
    ``k(X, Y=None) -> ndarray (len(X), len(Y))`` with ``get_params()`` as plain data.
    :class:`asktell_qml.KernelRidge` and ``[reward] name = "krr-surrogate"`` look kernels up by
    name here, so ``KernelRidge("my-kernel", sigma=...)`` uses yours.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_kernels(registry):
            registry.add("cauchy", "my_package.kernels:CauchyKernel", summary="1 / (1 + d²/σ²)")
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
    ``factory(seed=0, **options)`` returns an :class:`asktell_cinn.simulators.Simulator`
    (numpy only): a ``prior``, a vectorised ``simulate(theta, rng)`` and ``__call__(theta)``
    mapping one parameter vector θ to one simulated data set x = q(θ), an array (m, features);
    evaluators run it in parallel over a batch of θ. The cINN (``simulator="name"``) and
    ``asktell_cinn.simulator(name)`` look simulators up by name here.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_simulators(registry):
            registry.add("ricker", "my_package.ricker:Ricker", summary="Ricker population model")
    """


@hookspec
def asktell_add_summaries(registry: FamilyRegistry) -> None:
    """Add summary-network factories (family ``"summary"``), for the cINN.

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=..., requires=("torch",))`` once per network.

    Notes
    -----
    ``factory(n_obs, n_features, out_dim, hidden)`` returns a ``torch.nn.Module`` with an
    ``out_dim`` attribute, mapping a batch of data sets ``x`` (n, m, features) and their row
    counts ``lengths`` (n,) to summaries (n, out_dim): ``module(x, lengths)``. ``n_obs`` is the
    largest number of rows; ``hidden`` a width the network may ignore. The cINN's
    ``summary="name"`` looks it up here.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_summaries(registry):
            registry.add("mean-std", "my_package.nets:MeanStd", requires=("torch",))
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
    a run configuration's ``[problem]`` section names). It may carry ``true_parameters``, and
    may offer ``batch(xs) -> ndarray``, the values of every row of ``xs`` at once (what the
    benchmarks use; the built-in sphere, Rosenbrock, Rastrigin and logistic problems do).

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_problems(registry):
            registry.add("sphere", "my_package.problems:Sphere")
    """


@hookspec
def asktell_add_evaluators(registry: FamilyRegistry) -> None:
    """Add evaluator factories (family ``"evaluator"``).

    Parameters
    ----------
    registry : FamilyRegistry
        Call ``registry.add(name, factory, summary=...)`` once per evaluator.

    Notes
    -----
    ``factory(f, **options)`` returns an :class:`asktell.Evaluator` that scores a batch of
    candidates with the objective ``f``. A run configuration's ``[evaluator] name = ...`` looks
    it up here; the other keys of that table are the ``options``. asktell registers
    ``sequential``, ``parallel`` and ``batch`` itself, through the same hook.

    Examples
    --------
    ::

        @asktell.hookimpl
        def asktell_add_evaluators(registry):
            registry.add("my-cluster", "my_package.cluster:ClusterEvaluator")
    """


#: family name -> hook name. One hook per family.
FAMILIES: dict[str, str] = {
    "optimiser": "asktell_add_optimisers",
    "reward": "asktell_add_rewards",
    "problem": "asktell_add_problems",
    "evaluator": "asktell_add_evaluators",
    "kernel": "asktell_add_kernels",
    "simulator": "asktell_add_simulators",
    "summary": "asktell_add_summaries",
}
