"""Score a SMILES file with a reward described in TOML; write a CSV and a histogram.

    python examples/score_smiles.py examples/score_smiles.toml [--out DIR] [--chunk 2000]

The TOML file holds ``input`` ("qm9_5k" or a .smi/.csv file), ``output`` (a folder) and a
``[reward]`` section (see ``asktell_chem.reward_from_config``). Molecules are scored in chunks
with a progress bar; the CSV has one row per input string: the string, its canonical SMILES
(empty if invalid), the reward, and each term's raw property.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from asktell_chem import Reward, Uniqueness, load_smiles, qm9_5k, reward_from_config

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="output folder (overrides the file)")
    ap.add_argument("--chunk", type=int, default=2000, help="molecules per scoring call")
    args = ap.parse_args(argv)
    cfg = tomllib.loads(args.config.read_text())
    source = cfg.get("input", "qm9_5k")
    smiles = qm9_5k() if source == "qm9_5k" else load_smiles(args.config.parent / source)
    out = args.out or Path(cfg.get("output", "runs/scores"))
    out.mkdir(parents=True, exist_ok=True)

    reward = reward_from_config(cfg["reward"])
    inner = reward.reward if isinstance(reward, Uniqueness) else reward
    names = inner.term_names if isinstance(inner, Reward) else []
    raw = np.full((len(smiles), len(names)), np.nan)
    canonical: list[str] = [""] * len(smiles)
    values = np.empty(len(smiles))
    with tqdm(total=len(smiles), unit="mol", disable=not sys.stderr.isatty()) as bar:
        for a in range(0, len(smiles), args.chunk):
            batch = smiles[a:a + args.chunk]
            if names:  # score once: raw properties, then the reward made from them
                props = inner.properties(batch)
                raw[a:a + len(batch)] = props
                canonical[a:a + len(batch)] = [c or "" for c in inner.canonical]
                vals = inner.values(props)
                if reward is not inner:
                    vals = reward.penalise(batch, vals)
            else:
                vals = reward(batch)
            values[a:a + len(batch)] = vals
            bar.update(len(batch))
    if hasattr(reward, "close"):
        reward.close()

    with open(out / "scores.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["smiles", "canonical", "reward", *names])
        for i, s in enumerate(smiles):
            w.writerow([s, canonical[i], f"{values[i]:.6g}",
                        *("" if np.isnan(v) else f"{v:.6g}" for v in raw[i])])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(values, bins=50, range=(0, 1), color="tab:blue")
    ax.set_xlabel("reward")
    ax.set_ylabel("molecules")
    ax.set_title(f"{len(smiles):,} molecules, {reward!r}"[:80], fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "histogram.png", dpi=120)
    valid = np.mean([c != "" for c in canonical]) if names else float("nan")
    print(f"scored {len(smiles):,} SMILES ({valid:.1%} valid): mean reward {values.mean():.4f}, "
          f"max {values.max():.4f}")
    print(f"wrote {out / 'scores.csv'} and {out / 'histogram.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
