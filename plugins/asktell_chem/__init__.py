"""asktell's chemistry layer: SMILES data sets, a SMILES tokeniser, RDKit reward plugins scored
in batches, and MOSES-style generation metrics.

Registered as an ordinary plugin through the entry point
``[project.entry-points.asktell] chem = "asktell_chem"`` (family ``reward``). This entry module
is light: RDKit is imported only when a reward is looked up or a name below is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from asktell.hookspecs import hookimpl
from asktell.plugins import FamilyRegistry, lazy_exports

if TYPE_CHECKING:  # pragma: no cover
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

__getattr__, __dir__ = lazy_exports(__name__, {
    "metrics": ".metrics", "load_moses": ".datasets", "load_smiles": ".datasets",
    "qm9_5k": ".datasets", "SmilesTokenizer": ".tokenizer", "tokenize": ".tokenizer",
    **{name: ".rewards" for name in (
        "QED", "Composite", "Diversity", "LipinskiRule", "LogP", "NPLikeness", "Novelty",
        "Reward", "SAScore", "Substructure", "Uniqueness", "Validity", "reward_from_config")},
}, submodules=("metrics",))

_RDKIT = ("rdkit",)


@hookimpl
def asktell_add_rewards(registry: FamilyRegistry) -> None:
    """Register the RDKit rewards."""
    def add(name: str, ref: str, summary: str) -> None:
        registry.add(name, f"asktell_chem.rewards.{ref}", summary=summary, requires=_RDKIT)

    add("validity", "validity:Validity", "1 if RDKit parses the SMILES, else 0")
    add("uniqueness", "uniqueness:Uniqueness",
        "ORGAN's duplicate penalty wrapped around any reward")
    add("novelty", "novelty:Novelty", "1 if not in the training set (canonical SMILES)")
    add("qed", "properties:QED", "QED drug-likeness (Bickerton et al. 2012)")
    add("logp", "properties:LogP", "Crippen logP mapped from [-2.12, 6.04] to [0, 1]")
    add("sa", "properties:SAScore", "synthetic accessibility (Ertl & Schuffenhauer 2009)")
    add("np-likeness", "properties:NPLikeness", "natural-product likeness (Ertl et al. 2008)")
    add("diversity", "diversity:Diversity", "Tanimoto distance to a reference sample (ORGAN)")
    add("lipinski", "properties:LipinskiRule", "0.25 per Lipinski rule obeyed")
    add("substructure", "substructure:Substructure", "1 if SMARTS patterns match")
    add("composite", "composite:Composite", "weighted mean of rewards, one parse each")
