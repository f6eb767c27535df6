"""Reward plugins scored with RDKit; see :mod:`asktell_chem.rewards.base` for the engine."""

from .base import BatchTerm, Reward, Term, check_smiles, remap
from .composite import Composite, reward_from_config
from .diversity import Diversity
from .novelty import Novelty
from .properties import QED, LipinskiRule, LogP, NPLikeness, SAScore
from .substructure import Substructure
from .uniqueness import Uniqueness
from .validity import Validity

__all__ = [
    "QED",
    "BatchTerm",
    "Composite",
    "Diversity",
    "LipinskiRule",
    "LogP",
    "NPLikeness",
    "Novelty",
    "Reward",
    "SAScore",
    "Substructure",
    "Term",
    "Uniqueness",
    "Validity",
    "check_smiles",
    "remap",
    "reward_from_config",
]
