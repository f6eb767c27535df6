"""RDKit access shared by the chemistry plugin: import with an install hint, quiet parsing,
canonical SMILES, and RDKit's Contrib scorers (SA score, NP-likeness) loaded once per process."""

from __future__ import annotations

import functools
import importlib.util
import os
from types import ModuleType
from typing import Any

try:
    from rdkit import Chem, rdBase
except ImportError as e:  # pragma: no cover - exercised only without rdkit
    raise ImportError(
        'asktell_chem needs RDKit: pip install "asktell[chem]"'
    ) from e

__all__ = ["Chem", "canonical", "contrib", "parse", "quiet"]


def quiet() -> Any:
    """A context manager that silences RDKit's logging while it lives (``rdBase.BlockLogs``)."""
    return rdBase.BlockLogs()


def parse(smiles: str) -> Any | None:
    """Parse one SMILES string to a sanitised RDKit molecule, or None.

    The empty string is invalid (as in MOSES's ``get_mol``); RDKit's parse errors are silenced.
    Parameters are not type-checked here: callers check their whole batch first.
    """
    if not smiles:
        return None
    with quiet():
        try:
            return Chem.MolFromSmiles(smiles)
        except Exception:  # RDKit raises on a few malformed inputs instead of returning None
            return None


def canonical(mol: Any) -> str:
    """RDKit's canonical (isomeric) SMILES of a molecule."""
    return Chem.MolToSmiles(mol)


@functools.cache
def contrib(name: str) -> ModuleType:
    """Import an RDKit Contrib module (``"SA_Score.sascorer"``, ``"NP_Score.npscorer"``).

    The Contrib folder is not a package; the module is loaded from its file, once per process,
    without touching ``sys.path``.
    """
    from rdkit.Chem import RDConfig

    folder, module = name.split(".")
    path = os.path.join(RDConfig.RDContribDir, folder, module + ".py")
    if not os.path.exists(path):
        raise ImportError(f"RDKit's Contrib file {path} is missing from this RDKit installation")
    spec = importlib.util.spec_from_file_location(f"_asktell_rdkit_contrib_{module}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
