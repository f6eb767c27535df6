"""A trained KRR model as a reward: predicted QM9 property of molecules given as SMILES or
(Z, R), so a generator can be steered by it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from asktell.evaluation import Evaluation, EvaluationError

from .coulomb import coulomb_matrices
from .krr import KernelRidge
from .qm9 import load_qm9_subset

__all__ = ["KRRSurrogate", "embed_smiles"]

log = logging.getLogger(__name__)

_QM9_ELEMENTS = {1, 6, 7, 8, 9}


def embed_smiles(smiles: str, *, seed: int = 2020) -> tuple[np.ndarray, np.ndarray]:
    """3-D geometry of a molecule from its SMILES: RDKit ETKDG, then an MMFF94 optimisation.

    Parameters
    ----------
    smiles : str
    seed : int
        ETKDG's random seed (the same SMILES gives the same geometry).

    Returns
    -------
    Z : ndarray of int64, shape (n_atoms,)
        With explicit hydrogens.
    R : ndarray of float64, shape (n_atoms, 3)
        Å.

    Raises
    ------
    ValueError
        Unparsable SMILES, or no 3-D embedding found.
    ImportError
        Without RDKit (``pip install "asktell[chem]"``).

    References
    ----------
    .. [1] Riniker, S. & Landrum, G. A. (2015). Better informed distance geometry: using what we
       know to improve conformation generation. *Journal of Chemical Information and Modeling*,
       55(12), 2562–2574. doi:10.1021/acs.jcim.5b00654
    .. [2] Halgren, T. A. (1996). Merck molecular force field. I. *Journal of Computational
       Chemistry*, 17(5–6), 490–519.
    """
    try:
        # the modules that define them (rdkit.Chem.AllChem and RDLogger re-export them under
        # names rdkit's stubs do not declare)
        from rdkit import Chem, rdBase
        from rdkit.Chem import rdDistGeom, rdForceFieldHelpers
    except ImportError as e:
        raise ImportError('SMILES need RDKit: pip install "asktell[chem]"') from e
    rdBase.DisableLog("rdApp.*")
    if not isinstance(smiles, str):
        raise TypeError(f"expected a SMILES string, got {type(smiles).__name__}")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params = rdDistGeom.ETKDGv3()
    # rdkit's generated stub types the setter's value as EmbedParameters
    params.randomSeed = int(seed)  # type: ignore[assignment]
    if rdDistGeom.EmbedMolecule(mol, params) != 0:
        raise ValueError(f"no 3-D embedding found for {smiles!r}")
    if rdForceFieldHelpers.MMFFHasAllMoleculeParams(mol):
        rdForceFieldHelpers.MMFFOptimizeMolecule(mol, maxIters=2000)
    else:
        log.debug("no MMFF parameters for %s; ETKDG geometry kept", smiles)
    Z = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    R = np.asarray(mol.GetConformer().GetPositions(), dtype=np.float64)
    return Z, R


class KRRSurrogate:
    """Reward: a KRR model's prediction for each molecule (kcal/mol for atomization energies).

    Registered as the reward ``krr-surrogate``. Candidates are SMILES strings (embedded in 3-D
    with RDKit ETKDG + MMFF94, see :func:`embed_smiles`) or ``(Z, R)`` pairs. A candidate that
    cannot be scored (unparsable SMILES, no embedding, more atoms than the model's Coulomb
    matrix holds, elements outside H, C, N, O, F) gets NaN, as the reward contract asks; the
    reason is logged at debug level and kept in :attr:`errors`.

    Parameters
    ----------
    model : KernelRidge, optional
        A fitted model on Coulomb-matrix representations. Default: W1 KRR trained on the QM9
        subset shipped with asktell (2,500 molecules; a second or two), with the hyper-parameters
        chosen by 5-fold CV on it (sigma = 2, lambda = 1e-3, from sigma in 0.5..32 and lambda in
        1e-8..1e-2).
    sorting : str
        Coulomb-matrix atom order the model was trained with.
    size : int
        Atoms the Coulomb matrix holds (29 for QM9).
    sign : float
        Multiplies the prediction: -1 rewards strongly bound molecules (atomization energies
        are negative).
    seed : int
        ETKDG seed.

    Examples
    --------
    >>> reward = KRRSurrogate()
    >>> values = reward(["CC(C)C(O)CC#N", "not a smiles"])  # QM9: -1789.9 kcal/mol
    >>> bool(abs(values[0] + 1789.9) < 30), bool(np.isnan(values[1])), values.errors[0].index
    (True, True, 1)

    The model is trained on QM9's geometries, so it extrapolates to RDKit geometries of small
    molecules poorly: ethanol (QM9: -761 kcal/mol) is predicted at about -609.
    """

    def __init__(
        self,
        model: KernelRidge | None = None,
        *,
        sorting: str = "row-norm",
        size: int = 29,
        sign: float = 1.0,
        seed: int = 2020,
    ) -> None:
        if model is None:
            model = default_model(sorting=sorting)
        if model.alpha_ is None:
            raise ValueError("the model must be fitted")
        self.model = model
        self.sorting = sorting
        self.size = int(size)
        self.sign = float(sign)
        self.seed = int(seed)

    def _geometry(self, candidate: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(candidate, str):
            Z, R = embed_smiles(candidate, seed=self.seed)
        else:
            try:
                Z, R = candidate
            except (TypeError, ValueError):
                raise TypeError(
                    f"a candidate is a SMILES string or a (Z, R) pair, got {candidate!r}"
                ) from None
            Z = np.asarray(Z, dtype=np.int64).reshape(-1)
            R = np.asarray(R, dtype=np.float64)
        bad = sorted(set(Z.tolist()) - _QM9_ELEMENTS)
        if bad:
            raise ValueError(f"elements Z = {bad} are outside QM9 (H, C, N, O, F)")
        if len(Z) > self.size:
            raise ValueError(f"{len(Z)} atoms; the model's Coulomb matrix holds {self.size}")
        return Z, R

    def __call__(self, candidates: Sequence[Any]) -> Evaluation:
        """Predicted property times ``sign``, one float per candidate (NaN: not scored).

        Parameters
        ----------
        candidates : sequence
            SMILES strings or ``(Z, R)`` pairs.

        Returns
        -------
        Evaluation
            The predictions, and an :class:`asktell.EvaluationError` per candidate that could
            not be scored (an element outside QM9, too many atoms, no 3-D embedding).
        """
        out = np.full(len(candidates), np.nan)
        Zs, Rs, ok = [], [], []
        errors: list[EvaluationError] = []
        for i, c in enumerate(candidates):
            try:
                Z, R = self._geometry(c)
                coulomb_matrices([Z], [R], size=self.size, sorting="none")  # validates
            except (ValueError, TypeError) as e:
                errors.append(EvaluationError.from_exception(i, e))
                log.debug("candidate %d not scored: %s", i, e)
                continue
            Zs.append(Z)
            Rs.append(R)
            ok.append(i)
        if ok:
            X = coulomb_matrices(Zs, Rs, size=self.size, sorting=self.sorting, seed=self.seed)
            out[ok] = self.sign * self.model.predict(X)
        return Evaluation(out, tuple(errors))


def default_model(sorting: str = "row-norm") -> KernelRidge:
    """W1 KRR on the shipped QM9 subset (sigma = 2, lambda = 1e-3: 5-fold CV on it).

    Returns
    -------
    KernelRidge
    """
    data = load_qm9_subset()
    X = coulomb_matrices(data.Z, data.R, sorting=sorting, seed=0)
    return KernelRidge("wasserstein", sigma=2.0, lam=1e-3).fit(X, data.atomization_energy)
