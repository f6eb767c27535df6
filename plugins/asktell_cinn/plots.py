"""Plots of the diagnostics: SBC rank histograms with the ECDF-difference band, and parameter
recovery (posterior means against true values). Needs matplotlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asktell.plotting import figure

from .diagnostics import Diagnostics, ecdf_band

__all__ = ["plot_recovery", "plot_sbc"]


def plot_sbc(diag: Diagnostics, path: str | Path, names: list[str] | None = None) -> Path:
    """Rank histograms (top) and ECDF differences with their 95% simultaneous band (bottom),
    one column per parameter.

    Parameters
    ----------
    diag : Diagnostics
    path : path-like
        Image file.
    names : list of str, optional
        Parameter names.

    Returns
    -------
    Path
    """
    ranks = diag.ranks
    n_sets, d = ranks.shape
    n_draws = diag.draws.shape[1]
    names = names or [f"θ{j}" for j in range(d)]
    fig = figure("cinn", figsize=(2.6 * d, 4.6))
    axes = fig.subplots(2, d, squeeze=False)
    bins = min(20, n_draws + 1)
    z, lo, hi = ecdf_band(n_sets, n_draws)
    expect = n_sets / bins
    for j in range(d):
        ax = axes[0, j]
        ax.hist(ranks[:, j], bins=bins, range=(0, n_draws + 1), color="C0", alpha=0.8)
        sd = np.sqrt(expect * (1 - 1 / bins))
        ax.axhspan(expect - 2 * sd, expect + 2 * sd, color="0.8", zorder=0)
        ax.set_title(f"{names[j]} (KS {diag.sbc_ks[j]:.3f})", fontsize=9)
        ax.set_yticks([])
        ax = axes[1, j]
        u = np.sort((ranks[:, j] + 0.5) / (n_draws + 1))
        ecdf = np.searchsorted(u, z, side="right") / n_sets
        ax.fill_between(z, lo, hi, color="0.85")
        ax.plot(z, ecdf - z, color="C0")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel("fractional rank", fontsize=8)
    axes[1, 0].set_ylabel("ECDF difference", fontsize=8)
    fig.suptitle(f"SBC: {n_sets} data sets × {n_draws} draws "
                 f"({'passed' if diag.sbc_passed else 'failed'})", fontsize=10)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path


def plot_recovery(diag: Diagnostics, path: str | Path, names: list[str] | None = None) -> Path:
    """Posterior means (with ±1 posterior sd) against the true values, one panel per
    parameter, with R² and the 90% coverage in each title.

    Returns
    -------
    Path
    """
    theta, draws = diag.theta, diag.draws
    d = theta.shape[1]
    names = names or [f"θ{j}" for j in range(d)]
    mean, sd = draws.mean(1), draws.std(1)
    fig = figure("cinn", figsize=(2.8 * d, 2.9))
    axes = fig.subplots(1, d, squeeze=False)
    for j in range(d):
        ax = axes[0, j]
        ax.errorbar(theta[:, j], mean[:, j], yerr=sd[:, j], fmt="o", ms=2, lw=0.6, alpha=0.6)
        lim = [min(theta[:, j].min(), mean[:, j].min()), max(theta[:, j].max(), mean[:, j].max())]
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set_title(f"{names[j]}: R² {diag.r2[j]:.3f}, cov90 {diag.coverage90[j]:.2f}",
                     fontsize=8)
        ax.set_xlabel("true", fontsize=8)
    axes[0, 0].set_ylabel("posterior mean", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
