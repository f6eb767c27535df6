"""Convergence plots of stored runs (needs matplotlib: ``pip install "asktell[plot]"``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .store import RunStore

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["figure", "plot_convergence"]


def figure(extra: str = "plot", **kwargs: Any) -> Figure:
    """A matplotlib figure drawn without pyplot: every plot asktell and its plugins write.

    pyplot is never imported, so the user's backend (a notebook's inline backend, say) and open
    figures are left alone, and nothing needs closing: ``fig.savefig(path)`` renders the file
    by its suffix.

    Parameters
    ----------
    extra : str
        The asktell extra that installs matplotlib for this plot, for the error message.
    **kwargs
        For :class:`matplotlib.figure.Figure` (``figsize``, ``dpi``, ...).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        Without matplotlib, with the install command.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f'plots need matplotlib: pip install "asktell[{extra}]"') from e
    return Figure(**kwargs)

_BASE_COLUMNS = frozenset({"iteration", "n", "n_failed", "batch_best", "best", "elapsed",
                           "t_ask", "t_eval", "t_tell"})


def plot_convergence(run_dir: str | Path, path: str | Path) -> Path:
    """Plot the best value so far and each batch's best against evaluations, and below it
    every per-batch extra the method recorded (restart index, KL, training loss), one panel each.

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
    with RunStore.open(run_dir, readonly=True) as store:
        tr = store.trace()
        meta = store.meta()
    evals = np.cumsum(tr["n"])
    extras = [k for k in tr if k not in _BASE_COLUMNS and np.isfinite(tr[k]).any()]
    fig = figure(figsize=(6, 4 + 1.6 * len(extras)), dpi=120)
    axes = fig.subplots(1 + len(extras), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [2.5] + [1] * len(extras)})
    ax = axes[0, 0]
    ax.plot(evals, tr["batch_best"], ".", ms=3, alpha=0.4, label="best in batch")
    ax.plot(evals, tr["best"], "-", lw=1.5, label="best so far")
    finite = np.concatenate([tr["best"], tr["batch_best"]])
    finite = finite[np.isfinite(finite)]
    if finite.size and np.all(finite > 0) and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    ax.set_ylabel("objective")
    ax.set_title(f"{meta.get('optimiser', 'run')}: {Path(run_dir).name}")
    ax.legend()
    # the method's per-batch extras (restart index, KL, training loss), one panel each
    for k, name in enumerate(extras, start=1):
        axes[k, 0].plot(evals, tr[name], "-", lw=1)
        axes[k, 0].set_ylabel(name, fontsize=8)
    axes[-1, 0].set_xlabel("evaluations")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    return path
