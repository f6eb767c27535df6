"""Convergence plots of stored runs (needs matplotlib: ``pip install "asktell[plot]"``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .store import RunStore

__all__ = ["plot_convergence"]


def plot_convergence(run_dir: str | Path, path: str | Path) -> Path:
    """Plot the best value so far and each batch's best against evaluations.

    Parameters
    ----------
    run_dir : path-like
        A run directory.
    path : path-like
        Image file to write (PNG, SVG, PDF by suffix).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ImportError
        Without matplotlib, with the install command.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError('convergence plots need matplotlib: pip install "asktell[plot]"') from e
    with RunStore.open(run_dir, readonly=True) as store:
        tr = store.trace()
        meta = store.meta()
    evals = np.cumsum(tr["n"])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(evals, tr["batch_best"], ".", ms=3, alpha=0.4, label="best in batch")
    ax.plot(evals, tr["best"], "-", lw=1.5, label="best so far")
    finite = np.concatenate([tr["best"], tr["batch_best"]])
    finite = finite[np.isfinite(finite)]
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("objective")
    ax.set_title(f"{meta.get('optimiser', 'run')}: {Path(run_dir).name}")
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
