"""asktell's SMILES generators: ORGAN and its self-attention variant SA-ORGAN, as ask/tell
optimisers (torch, CPU and CUDA).

Entry point: ``[project.entry-points.asktell] organ = "asktell_organ"`` (family ``optimiser``).
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

from .attention import CausalSelfAttention
from .discriminator import CNNDiscriminator
from .generator import SmilesGenerator
from .organ import ORGAN, PRESETS, SAORGAN
from .rollout import rollout

__all__ = ["ORGAN", "PRESETS", "SAORGAN", "CNNDiscriminator", "CausalSelfAttention",
           "SmilesGenerator", "rollout"]


@hookimpl
def asktell_add_optimisers(registry: FamilyRegistry) -> None:
    """Register the SMILES generators."""
    registry.add("organ", ORGAN, summary="ORGAN: LSTM + CNN discriminator + policy gradient")
    registry.add("sa-organ", SAORGAN, summary="ORGAN with a causal self-attention generator")
