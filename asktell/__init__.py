"""asktell: one ask/tell protocol for optimisers, generators, posterior estimators and RBMs.

>>> import asktell
>>> opt = asktell.create("xnes", x0=[0, 700],
...                      boundaries=asktell.RectangularBoundaries([0, 200], [1, 1000]), seed=1)
>>> xs = opt.ask()
>>> xs.shape
(6, 2)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__

# The public names are imported on first use (PEP 562), so that ``import asktell`` and the
# worker processes that unpickle an objective import only the modules they use: the start-up
# benchmark (benchmarks/startup.py) measures a one-iteration run against importing numpy, scipy
# and joblib.
_EXPORTS = {
    "AskTell": ".protocol",
    "AsyncAskTell": ".protocol",
    "AsyncUpdate": ".protocol",
    "BatchEvaluator": ".evaluators",
    "Boundaries": ".boundaries",
    "ClusterLostError": ".dask_evaluator",
    "Controller": ".controller",
    "DaskEvaluator": ".dask_evaluator",
    "Direction": ".protocol",
    "Estimator": ".protocol",
    "Evaluation": ".evaluation",
    "EvaluationError": ".evaluation",
    "Evaluator": ".evaluators",
    "Finished": ".evaluators",
    "IterationInfo": ".controller",
    "NumericOptimiser": ".numeric",
    "Optimiser": ".protocol",
    "ParallelEvaluator": ".parallel",
    "PopulationOptimiser": ".numeric",
    "ProtocolError": ".protocol",
    "RectangularBoundaries": ".boundaries",
    "Registry": ".plugins",
    "RunLockedError": ".lock",
    "RunResult": ".controller",
    "RunStore": ".store",
    "SchedulerUnreachableError": ".dask_evaluator",
    "SequentialEvaluator": ".evaluators",
    "StoppingRules": ".stopping",
    "StoreError": ".store",
    "Told": ".protocol",
    "UntrustedRunError": ".trust",
    "WorkerDiedError": ".evaluators",
    "create": ".plugins",
    "export_history": ".runs",
    "fmin": ".fmin",
    "get": ".plugins",
    "hookimpl": ".hookspecs",
    "registry": ".plugins",
    "resume": ".runs",
    "run": ".runs",
    "summary": ".runs",
}
# Submodules reachable as attributes before anything imported them (``asktell.plugins``). The
# module ``asktell.fmin`` is not among them: ``asktell.fmin`` is the function.
_SUBMODULES = (
    "async_run", "boundaries", "cli", "config", "controller", "dask_evaluator", "evaluation",
    "evaluators", "hookspecs", "lock", "numeric", "parallel", "plotting", "plugins",
    "protocol", "recover", "restarts", "runs", "serialization", "stopping", "store",
    "testing", "torchstate", "trust",
)

if TYPE_CHECKING:  # pragma: no cover - what the names are, for type checkers and editors
    from .boundaries import Boundaries, RectangularBoundaries
    from .controller import Controller, IterationInfo, RunResult
    from .dask_evaluator import ClusterLostError, DaskEvaluator, SchedulerUnreachableError
    from .evaluation import Evaluation, EvaluationError
    from .evaluators import (
        BatchEvaluator,
        Evaluator,
        Finished,
        SequentialEvaluator,
        WorkerDiedError,
    )
    from .fmin import fmin
    from .hookspecs import hookimpl
    from .lock import RunLockedError
    from .numeric import NumericOptimiser, PopulationOptimiser
    from .parallel import ParallelEvaluator
    from .plugins import Registry, create, get, registry
    from .protocol import (
        AskTell,
        AsyncAskTell,
        AsyncUpdate,
        Direction,
        Estimator,
        Optimiser,
        ProtocolError,
        Told,
    )
    from .runs import export_history, resume, run, summary
    from .stopping import StoppingRules
    from .store import RunStore, StoreError
    from .trust import UntrustedRunError
else:
    __getattr__, __dir__ = lazy_exports(
        __name__, {**_EXPORTS, **{m: f".{m}" for m in _SUBMODULES}}, submodules=_SUBMODULES)

__all__ = [
    "AskTell",
    "AsyncAskTell",
    "AsyncUpdate",
    "BatchEvaluator",
    "Boundaries",
    "ClusterLostError",
    "Controller",
    "DaskEvaluator",
    "Direction",
    "Estimator",
    "Evaluation",
    "EvaluationError",
    "Evaluator",
    "Finished",
    "IterationInfo",
    "NumericOptimiser",
    "Optimiser",
    "ParallelEvaluator",
    "PopulationOptimiser",
    "ProtocolError",
    "RectangularBoundaries",
    "Registry",
    "RunLockedError",
    "RunResult",
    "RunStore",
    "SchedulerUnreachableError",
    "SequentialEvaluator",
    "StoppingRules",
    "StoreError",
    "Told",
    "UntrustedRunError",
    "WorkerDiedError",
    "__version__",
    "create",
    "export_history",
    "fmin",
    "get",
    "hookimpl",
    "registry",
    "resume",
    "run",
    "summary",
]
