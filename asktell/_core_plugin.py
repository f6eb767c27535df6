"""The core's own plugin: asktell's evaluators, registered through the public hooks.

:meth:`asktell.plugins.Registry.load` registers this module before any entry point (as pytest
registers its ``default_plugins``): the core uses the same door as every other plugin.
"""

from __future__ import annotations

from .hookspecs import hookimpl
from .plugins import FamilyRegistry


@hookimpl
def asktell_add_evaluators(registry: FamilyRegistry) -> None:
    """Register the evaluators (``[evaluator] name = ...`` in a run configuration)."""
    registry.add("sequential", "asktell.evaluators:SequentialEvaluator",
                 summary="one candidate after another, in this process")
    registry.add("parallel", "asktell.parallel:ParallelEvaluator",
                 summary="worker processes (loky) or threads, results as they finish")
    registry.add("dask", "asktell.dask_evaluator:DaskEvaluator", requires=("distributed",),
                 extra="dask", summary="a Dask cluster (scheduler address or file), one task per "
                 "candidate")
    registry.add("batch", "asktell.evaluators:BatchEvaluator", requires=("torch",),
                 summary="a batch function (a torch model) on whole chunks, CPU or GPU")
