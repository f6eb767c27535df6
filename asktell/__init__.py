"""asktell: one ask/tell protocol for optimisers, generators, posterior estimators and RBMs.

>>> import asktell
>>> opt = asktell.create("xnes", x0=[0, 700],
...                      boundaries=asktell.RectangularBoundaries([0, 200], [1, 1000]), seed=1)
>>> xs = opt.ask()
>>> xs.shape
(6, 2)
"""

from __future__ import annotations

from ._version import __version__
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
