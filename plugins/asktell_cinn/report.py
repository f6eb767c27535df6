"""The run report of a trained estimator: SBC and recovery plots and the diagnostics as JSON,
written into a run directory (``asktell run`` calls :meth:`CINN.write_report` at the end)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .diagnostics import diagnose, passes

__all__ = ["write_report"]

log = logging.getLogger(__name__)


def write_report(
    estimator: Any, run_dir: str | Path, *, n_sets: int = 200, n_draws: int = 1000,
    seed: int = 0,
) -> dict[str, Path]:
    """Diagnose ``estimator`` on fresh simulations and write the report into ``run_dir``.

    Parameters
    ----------
    estimator : CINN
        Trained, with a ``simulator`` (the diagnostics simulate from its prior).
    run_dir : path-like
        Where to write ``sbc.png``, ``recovery.png``, ``diagnostics.json`` and, with an
        ``x_obs``, ``posterior_samples.csv``.
    n_sets, n_draws, seed : int
        Data sets, draws per data set and seed of the diagnostics.

    Returns
    -------
    dict
        Name → path of each file written (empty when there was nothing to diagnose).
    """
    run_dir = Path(run_dir)
    if not estimator.trained or estimator.simulator is None:
        log.warning("no cINN report: %s", "the estimator is not trained" if not estimator.trained
                    else "no simulator to diagnose with (give simulator=...)")
        return {}
    diag = diagnose(estimator, estimator.simulator, n_sets=n_sets, n_draws=n_draws, seed=seed)
    ok, reasons = passes(diag)
    out: dict[str, Path] = {}
    summary = diag.summary()
    summary.update(gate_passed=ok, gate_reasons=reasons, n_sets=n_sets, n_draws=n_draws,
                   simulations=estimator.n_simulations, rounds=estimator.history)
    path = run_dir / "diagnostics.json"
    path.write_text(json.dumps(summary, indent=1, default=float) + "\n")
    out["diagnostics"] = path
    if estimator.x_obs is not None:
        draws = estimator.sample(estimator.x_obs, n_draws, seed=seed)
        path = run_dir / "posterior_samples.csv"
        header = ",".join(f"theta{j}" for j in range(draws.shape[1]))
        np.savetxt(path, draws, delimiter=",", header=header, comments="")
        out["posterior_samples"] = path
    try:
        from .plots import plot_recovery, plot_sbc

        out["sbc"] = plot_sbc(diag, run_dir / "sbc.png")
        out["recovery"] = plot_recovery(diag, run_dir / "recovery.png")
    except ImportError as e:
        log.warning("no cINN plots: %s", e)
    log.info("cINN report: SBC %s (KS max %.3f), contraction %.3f, gate %s",
             "passed" if diag.sbc_passed else "failed", diag.sbc_ks_max,
             float(np.mean(diag.contraction)), "passed" if ok else f"failed: {reasons}")
    return out
