"""Make asktell_chem's shipped QM9 5k set: 5,000 RDKit-canonical SMILES drawn from QM9.

Source: the PyPI package ``qm9pack`` (MIT; 130,831 molecules), through
``asktell_chem.datasets.load_qm9_smiles``. Every QM9 SMILES is parsed with RDKit; the valid,
distinct canonical SMILES are sorted, and 5,000 are drawn without replacement with
``numpy.random.default_rng(SEED)``. The output is one SMILES per line, in draw order.

    pip install qm9pack rdkit && python scripts/make_qm9_5k.py

ORGAN's own ``qm9_5k.csv`` is GPL-2.0 and is not used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

from asktell_chem.datasets import load_qm9_smiles

SEED = 20_171_705  # ORGAN's arXiv number, 1705.10843, as a date-like seed
N = 5_000
OUT = Path(__file__).resolve().parents[1] / "plugins/asktell_chem/data/qm9_5k.smi"


def main() -> None:
    raw = load_qm9_smiles()
    canon = set()
    with rdBase.BlockLogs():
        for s in raw:
            m = Chem.MolFromSmiles(s)
            if m is not None:
                canon.add(Chem.MolToSmiles(m))
    pool = sorted(canon)
    pick = np.random.default_rng(SEED).choice(len(pool), size=N, replace=False)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(pool[i] + "\n" for i in pick))
    print(f"{len(raw)} QM9 SMILES, {len(pool)} valid distinct canonical; wrote {N} to {OUT}")


if __name__ == "__main__":
    main()
