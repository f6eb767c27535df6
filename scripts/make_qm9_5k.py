"""Make asktell_chem's shipped QM9 5k set: 5,000 RDKit-canonical SMILES drawn from QM9.

Source: the PyPI package ``qm9pack`` (MIT; 130,831 molecules), read from its CSV files (its
``get_data()`` needs ``pkg_resources``). Every QM9 SMILES is parsed with RDKit; the valid,
distinct canonical SMILES are sorted, and 5,000 are drawn without replacement with
``numpy.random.default_rng(SEED)``. The output is one SMILES per line, in draw order.

    pip install qm9pack rdkit && python scripts/make_qm9_5k.py

ORGAN's own ``qm9_5k.csv`` is GPL-2.0 and is not used.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import numpy as np
from rdkit import Chem, rdBase

SEED = 20_171_705  # ORGAN's arXiv number, 1705.10843, as a date-like seed
N = 5_000
OUT = Path(__file__).resolve().parents[1] / "plugins/asktell_chem/data/qm9_5k.smi"


def qm9pack_smiles() -> list[str]:
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        sys.exit('qm9pack is not installed: pip install "asktell[qml]"')
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    csv.field_size_limit(1 << 24)
    out = []
    for part in (1, 2, 3):
        with open(data / f"qm9_part{part}.csv", newline="") as f:
            out += [row["SMILES"] for row in csv.DictReader(f)]
    return out


def main() -> None:
    raw = qm9pack_smiles()
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
