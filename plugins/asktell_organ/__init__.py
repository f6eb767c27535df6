"""asktell's SMILES generators: ORGAN and its self-attention variant SA-ORGAN, as ask/tell
optimisers (torch, CPU and CUDA).

Entry point: ``[project.entry-points.asktell] organ = "asktell_organ"`` (family ``optimiser``).
This entry module is light: torch is imported when a generator is looked up or a name below is
first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from .attention import CausalSelfAttention
    from .discriminator import CNNDiscriminator
    from .generator import SmilesGenerator
    from .organ import ORGAN, PRESETS, SAORGAN
    from .rollout import rollout

__all__ = ["ORGAN", "PRESETS", "SAORGAN", "CNNDiscriminator", "CausalSelfAttention",
           "SmilesGenerator", "rollout"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ORGAN": ".organ", "PRESETS": ".organ", "SAORGAN": ".organ",
    "CNNDiscriminator": ".discriminator", "CausalSelfAttention": ".attention",
    "SmilesGenerator": ".generator", "rollout": ".rollout",
})


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the SMILES generators."""
    registry.add("organ", "asktell_organ.organ:ORGAN", requires=("torch",),
                 summary="ORGAN: LSTM + CNN discriminator + policy gradient")
    registry.add("sa-organ", "asktell_organ.organ:SAORGAN", requires=("torch",),
                 summary="ORGAN with a causal self-attention generator")
