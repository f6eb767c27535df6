"""asktell's chemistry layer: SMILES data sets, a SMILES tokeniser, RDKit reward plugins scored
in batches, and MOSES-style generation metrics.

Registered as an ordinary plugin through the entry point
``[project.entry-points.asktell] chem = "asktell_chem"`` (family ``reward``).
"""

from __future__ import annotations

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry

from . import metrics
from .datasets import load_moses, load_smiles, qm9_5k
from .rewards import (
    QED,
    Composite,
    Diversity,
    LipinskiRule,
    LogP,
    Novelty,
    NPLikeness,
    Reward,
    SAScore,
    Substructure,
    Uniqueness,
    Validity,
    reward_from_config,
)
from .tokenizer import SmilesTokenizer, tokenize

__all__ = [
    "QED",
    "Composite",
    "Diversity",
    "LipinskiRule",
    "LogP",
    "NPLikeness",
    "Novelty",
    "Reward",
    "SAScore",
    "SmilesTokenizer",
    "Substructure",
    "Uniqueness",
    "Validity",
    "load_moses",
    "load_smiles",
    "metrics",
    "qm9_5k",
    "reward_from_config",
    "tokenize",
]


@hookimpl
def asktell_add_rewards(registry: FamilyRegistry) -> None:
    """Register the RDKit rewards."""
    registry.add("validity", Validity, summary="1 if RDKit parses the SMILES, else 0")
    registry.add("uniqueness", Uniqueness,
                 summary="ORGAN's duplicate penalty wrapped around any reward")
    registry.add("novelty", Novelty, summary="1 if not in the training set (canonical SMILES)")
    registry.add("qed", QED, summary="QED drug-likeness (Bickerton et al. 2012)")
    registry.add("logp", LogP, summary="Crippen logP mapped from [-2.12, 6.04] to [0, 1]")
    registry.add("sa", SAScore, summary="synthetic accessibility (Ertl & Schuffenhauer 2009)")
    registry.add("np-likeness", NPLikeness,
                 summary="natural-product likeness (Ertl et al. 2008)")
    registry.add("diversity", Diversity,
                 summary="Tanimoto distance to a reference sample (ORGAN)")
    registry.add("lipinski", LipinskiRule, summary="0.25 per Lipinski rule obeyed")
    registry.add("substructure", Substructure, summary="1 if SMARTS patterns match")
    registry.add("composite", Composite, summary="weighted mean of rewards, one parse each")
