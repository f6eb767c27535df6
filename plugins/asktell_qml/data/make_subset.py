"""Make ``qm9_subset.npz``, the QM9 subset shipped with asktell_qml.

Usage: ``python plugins/asktell_qml/data/make_subset.py [--n 2500] [--seed 2020]`` (needs
``qm9pack``). Draws ``n`` molecules uniformly without replacement from all 130,831 with
``numpy.random.default_rng(seed)``, kept in the random order of the draw (so any slice is a
random sample), and stores them unpadded: nuclear
charges as int8, coordinates as int32 in units of 1e-6 Å (QM9's B3LYP geometries are given to
1e-10 Å; 1e-6 Å is far below what any representation here resolves), U0 in hartree as float64.
:func:`asktell_qml.qm9.load_qm9_subset` reads it back into padded arrays.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from asktell_qml.qm9 import load_qm9

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--out", type=Path, default=HERE / "qm9_subset.npz")
    args = ap.parse_args(argv)
    data = load_qm9()
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(data), size=args.n, replace=False)  # random order: slices are random
    sub = data.subset(pick)
    mask = sub.Z > 0
    np.savez_compressed(
        args.out,
        index=sub.index.astype(np.int32),
        smiles=np.array(sub.smiles),
        n_atoms=sub.n_atoms.astype(np.int8),
        Z_flat=sub.Z[mask].astype(np.int8),
        R_flat_micro=np.round(sub.R[mask] * 1e6).astype(np.int32),
        U0=sub.U0,
        seed=np.int64(args.seed),
    )
    print(f"{args.out}: {args.n} molecules, {args.out.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
