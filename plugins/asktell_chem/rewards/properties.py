"""Molecular-property rewards computed with RDKit: QED, logP, SA score, NP-likeness, Lipinski.

Each reward is a one-term :class:`~asktell_chem.rewards.base.Reward`; the terms are also what
:class:`~asktell_chem.rewards.composite.Composite` combines, sharing one parse per molecule.

References
----------
.. [QED] Bickerton, Paolini, Besnard, Muresan & Hopkins (2012). Quantifying the chemical beauty
   of drugs. Nature Chemistry 4, 90–98. doi:10.1038/nchem.1243
.. [Crippen] Wildman & Crippen (1999). Prediction of physicochemical parameters by atomic
   contributions. J. Chem. Inf. Comput. Sci. 39(5), 868–873. doi:10.1021/ci990307l
.. [SA] Ertl & Schuffenhauer (2009). Estimation of synthetic accessibility score of drug-like
   molecules based on molecular complexity and fragment contributions. J. Cheminform. 1, 8.
   doi:10.1186/1758-2946-1-8
.. [NP] Ertl, Roggo & Schuffenhauer (2008). Natural product-likeness score and its application
   for prioritization of compound libraries. J. Chem. Inf. Model. 48(1), 68–74.
   doi:10.1021/ci700286x
.. [Lipinski] Lipinski, Lombardo, Dominy & Feeney (1997). Experimental and computational
   approaches to estimate solubility and permeability in drug discovery and development
   settings. Adv. Drug Deliv. Rev. 23, 3–25. doi:10.1016/S0169-409X(96)00423-1
.. [ORGAN] Guimaraes, Sanchez-Lengeling, Outeiral, Farias & Aspuru-Guzik (2017).
   Objective-Reinforced Generative Adversarial Networks (ORGAN) for sequence generation models.
   arXiv:1705.10843 (normalisation constants from its ``mol_metrics.py``).
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

import numpy as np
from rdkit.Chem import QED as _QED
from rdkit.Chem import Crippen, Descriptors, Lipinski

from .._rdkit import contrib
from .base import Reward, Term, remap

__all__ = ["QED", "LipinskiRule", "LogP", "NPLikeness", "SAScore"]

#: ORGAN's logP range (``mol_metrics.logP``): [-2.12178879609, 6.0429063424] → [0, 1].
LOGP_RANGE = (-2.12178879609, 6.0429063424)
#: ORGAN's SA-score range: 5 → 0, 1.5 → 1 (SA runs from 1, easy, to 10, hard).
SA_RANGE = (5.0, 1.5)
#: ORGAN's NP-likeness range: -3 → 0, 1 → 1.
NP_RANGE = (-3.0, 1.0)


class QEDTerm(Term):
    """QED [QED]_ with RDKit's mean weights; already in [0, 1]."""

    name = "qed"
    order = 0  # first, so that its Crippen logP is shared with LogPTerm

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """QED of one molecule (RDKit ``QED.qed``)."""
        props = _QED.properties(mol)
        shared["crippen_logp"] = props.ALOGP
        return _QED.qed(mol, qedProperties=props)


class LogPTerm(Term):
    """Wildman–Crippen logP [Crippen]_, normalised as ORGAN did over :data:`LOGP_RANGE`."""

    name = "logp"

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Crippen logP (reused from QED's properties when the same reward computed them)."""
        v = shared.get("crippen_logp")
        return Crippen.MolLogP(mol) if v is None else v  # type: ignore[attr-defined]  # a lambda: not in rdkit's stubs

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """ORGAN's ``remap`` to [0, 1], clipped."""
        return remap(raw, *LOGP_RANGE)


class SATerm(Term):
    """Synthetic accessibility score [SA]_ (RDKit Contrib ``sascorer``); 5 → 0, 1.5 → 1."""

    name = "sa"

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """SA score, 1 (easy) to 10 (hard)."""
        return contrib("SA_Score.sascorer").calculateScore(mol)

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """ORGAN's ``remap(sa, 5, 1.5)``, clipped."""
        return remap(raw, *SA_RANGE)


@functools.cache
def _np_model() -> Any:
    # npscorer.readNPModel prints progress to stderr; library code stays quiet.
    with contextlib.redirect_stderr(io.StringIO()):
        return contrib("NP_Score.npscorer").readNPModel()


class NPTerm(Term):
    """Natural-product likeness [NP]_ (RDKit Contrib ``npscorer``); -3 → 0, 1 → 1."""

    name = "np-likeness"

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """NP-likeness score, about -5 (synthetic) to 5 (natural product)."""
        return contrib("NP_Score.npscorer").scoreMol(mol, _np_model())

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """ORGAN's ``remap(score, -3, 1)``, clipped."""
        return remap(raw, *NP_RANGE)


class LipinskiTerm(Term):
    """Rules of five obeyed [Lipinski]_: MW ≤ 500, Crippen logP ≤ 5, H-bond donors ≤ 5,
    H-bond acceptors ≤ 10 (RDKit's Lipinski definitions). Raw value: rules obeyed (0–4);
    reward 0.25 per rule, as ORGAN's ``batch_lipinski``.

    ORGAN counted every N and O as an acceptor and only explicit H–N/H–O bonds as donors, which
    on RDKit molecules with implicit hydrogens counts no donors at all; RDKit's descriptors are
    used here instead.
    """

    name = "lipinski"

    def compute(self, mol: Any, shared: dict[str, Any]) -> float:
        """Number of the four rules obeyed."""
        logp = shared.get("crippen_logp")
        if logp is None:
            logp = Crippen.MolLogP(mol)  # type: ignore[attr-defined]  # a lambda: not in rdkit's stubs
        return float(
            (Descriptors.MolWt(mol) <= 500)  # type: ignore[attr-defined]  # a lambda: not in rdkit's stubs
            + (logp <= 5)
            + (Lipinski.NumHDonors(mol) <= 5)  # type: ignore[attr-defined]  # a lambda: not in rdkit's stubs
            + (Lipinski.NumHAcceptors(mol) <= 10)  # type: ignore[attr-defined]  # a lambda: not in rdkit's stubs
        )

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """0.25 per rule obeyed."""
        return raw / 4.0


class _OneTerm(Reward):
    term_class: type[Term]

    def __init__(
        self, *, raw: bool = False, n_workers: int = 1, backend: str = "loky",
        cache_size: int = 100_000,
    ) -> None:
        super().__init__([self.term_class()], raw=raw, n_workers=n_workers, backend=backend,
                         cache_size=cache_size)


class QED(_OneTerm):
    """QED drug-likeness [QED]_, in [0, 1] (RDKit ``QED.qed``, mean weights).

    Parameters
    ----------
    raw, n_workers, backend, cache_size
        See :class:`~asktell_chem.rewards.base.Reward`.

    Examples
    --------
    >>> round(float(QED()(["CC(=O)Oc1ccccc1C(=O)O"])[0]), 4)  # aspirin
    0.5501
    """

    term_class = QEDTerm


class LogP(_OneTerm):
    """Wildman–Crippen logP [Crippen]_, mapped from ORGAN's range [-2.122, 6.043] to [0, 1] and
    clipped; ``raw=True`` gives logP itself.

    Examples
    --------
    >>> LogP(raw=True)(["c1ccccc1"]).round(4).tolist()  # benzene
    [1.6866]
    """

    term_class = LogPTerm


class SAScore(_OneTerm):
    """Synthetic accessibility [SA]_, mapped as ORGAN did (SA 5 → 0, 1.5 → 1, clipped);
    ``raw=True`` gives the SA score (1 easy … 10 hard).

    Examples
    --------
    >>> SAScore()(["c1ccccc1", "not a molecule"]).round(3).tolist()
    [1.0, 0.0]
    """

    term_class = SATerm


class NPLikeness(_OneTerm):
    """Natural-product likeness [NP]_, mapped as ORGAN did (-3 → 0, 1 → 1, clipped);
    ``raw=True`` gives the score.
    """

    term_class = NPTerm


class LipinskiRule(_OneTerm):
    """Lipinski's rule of five [Lipinski]_: 0.25 per rule obeyed; ``raw=True`` gives the count.

    Examples
    --------
    >>> LipinskiRule()(["CC(=O)Oc1ccccc1C(=O)O"]).tolist()
    [1.0]
    """

    term_class = LipinskiTerm
