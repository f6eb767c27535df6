"""Calibration and recovery diagnostics of an amortised posterior estimator, batched through
one inverse pass over many simulated data sets.

* SBC: Talts, Betancourt, Simpson, Vehtari & Gelman (2018), "Validating Bayesian inference
  algorithms with simulation-based calibration", arXiv:1804.06788; ranks tested for uniformity
  with a Kolmogorov-Smirnov test per dimension (Bonferroni over dimensions) and compared with
  the simultaneous ECDF band of Säilynoja, Bürkner & Vehtari (2022), "Graphical test for
  discrete uniformity and its applications in goodness-of-fit evaluation and multiple sample
  comparison", Statistics and Computing 32, 32, doi:10.1007/s11222-022-10090-6.
* Posterior contraction and z-scores: Schad, Betancourt & Vasishth (2021), "Toward a
  principled Bayesian workflow in cognitive science", Psychological Methods 26(1), 103-126,
  doi:10.1037/met0000275.
* NRMSE and R² of posterior means: Radev et al. (2020), doi:10.1109/TNNLS.2020.3042395.
* C2ST: Lopez-Paz & Oquab (2017), "Revisiting classifier two-sample tests", ICLR,
  arXiv:1610.06545, in the form used by sbibm (Lueckmann et al. 2021, arXiv:2101.04653).

A gate (:func:`passes`) needs SBC *and* contraction (or C2ST): an untrained network that returns
the prior passes SBC exactly, so SBC alone cannot tell it from a good posterior.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

log = logging.getLogger(__name__)

__all__ = ["Diagnostics", "c2st", "contraction", "coverage", "diagnose", "ecdf_band", "nrmse",
           "passes", "r2", "sbc_ranks", "sbc_test", "z_scores"]


def sbc_ranks(theta: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """SBC ranks: how many posterior draws fall below the true θ, per data set and dimension.

    Parameters
    ----------
    theta : ndarray (B, d)
        True parameters that generated each data set.
    draws : ndarray (B, n, d)
        Posterior draws for each data set.

    Returns
    -------
    ndarray (B, d) of int in [0, n]

    Examples
    --------
    >>> sbc_ranks(np.zeros((1, 1)), np.array([[[-1.0], [1.0], [-2.0]]])).tolist()
    [[2]]
    """
    return (draws < theta[:, None, :]).sum(1)


def sbc_test(
    ranks: np.ndarray, n_draws: int, rng: np.random.Generator | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Kolmogorov-Smirnov test of SBC ranks against uniformity, per dimension.

    Ranks are made continuous, ``u = (rank + U(0, 1)) / (n_draws + 1)``, which is exactly
    uniform on (0, 1) for a calibrated posterior.

    Parameters
    ----------
    ranks : ndarray (B, d)
    n_draws : int
        Posterior draws per data set.
    rng : numpy Generator, optional
        For the jitter (default seed 0).
    alpha : float
        Family-wise level; each dimension is tested at ``alpha / d``.

    Returns
    -------
    dict
        ``ks`` (d,), ``pvalue`` (d,), ``ks_max``, ``passed``.

    Examples
    --------
    >>> r = np.random.default_rng(1).integers(0, 101, (500, 2))
    >>> sbc_test(r, 100)["passed"]
    True
    """
    rng = np.random.default_rng(0) if rng is None else rng
    u = (ranks + rng.random(ranks.shape)) / (n_draws + 1)
    res = [stats.kstest(u[:, j], "uniform") for j in range(u.shape[1])]
    ks = np.array([r.statistic for r in res])
    p = np.array([r.pvalue for r in res])
    return {"ks": ks, "pvalue": p, "ks_max": float(ks.max()),
            "passed": bool((p > alpha / u.shape[1]).all())}


def ecdf_band(n_sets: int, n_draws: int, level: float = 0.95, n_sim: int = 1000,
              rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous band for the ECDF difference of ``n_sets`` uniform ranks (Säilynoja et al.
    2022), by simulation: the band covers all points of the ECDF difference of uniform ranks with
    probability ``level``.

    Returns
    -------
    z : ndarray (K,)
        Evaluation points in (0, 1).
    lower, upper : ndarray (K,)
        Band of ``ECDF(z) - z``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    z = np.linspace(0, 1, min(n_draws + 1, 101))[1:-1]
    u = (rng.integers(0, n_draws + 1, (n_sim, n_sets)) + rng.random((n_sim, n_sets))) \
        / (n_draws + 1)
    u.sort(axis=1)
    ecdf = np.stack([np.searchsorted(row, z, side="right") for row in u]) / n_sets
    # the pointwise level that gives the simultaneous level, over binomial quantiles
    lo_p, hi_p = 0.0, 1 - level
    for _ in range(30):
        gamma = 0.5 * (lo_p + hi_p)
        lo = stats.binom.ppf(gamma / 2, n_sets, z) / n_sets
        hi = stats.binom.ppf(1 - gamma / 2, n_sets, z) / n_sets
        inside = ((ecdf >= lo) & (ecdf <= hi)).all(1).mean()
        if inside >= level:
            lo_p = gamma
        else:
            hi_p = gamma
    lo = stats.binom.ppf(lo_p / 2, n_sets, z) / n_sets
    hi = stats.binom.ppf(1 - lo_p / 2, n_sets, z) / n_sets
    return z, lo - z, hi - z


def coverage(theta: np.ndarray, draws: np.ndarray, level: float = 0.9) -> np.ndarray:
    """Share of data sets whose central ``level`` posterior interval covers the true θ, per
    dimension.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = rng.standard_normal((400, 500, 1)); t = rng.standard_normal((400, 1))
    >>> 0.85 < float(coverage(t, d)[0]) < 0.95
    True
    """
    lo = np.quantile(draws, (1 - level) / 2, axis=1)
    hi = np.quantile(draws, (1 + level) / 2, axis=1)
    return ((theta >= lo) & (theta <= hi)).mean(0)


def contraction(draws: np.ndarray, prior_var: np.ndarray) -> np.ndarray:
    """Posterior contraction ``1 - Var_post / Var_prior``, averaged over data sets, per
    dimension (Schad et al. 2021)."""
    return (1.0 - draws.var(1) / prior_var).mean(0)


def z_scores(theta: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Posterior z-scores ``(mean_post - θ) / sd_post``, shape (B, d)."""
    return (draws.mean(1) - theta) / draws.std(1)


def nrmse(theta: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Root-mean-square error normalised by the range of the true values, per dimension."""
    rng = theta.max(0) - theta.min(0)
    return np.sqrt(((estimate - theta) ** 2).mean(0)) / np.where(rng > 0, rng, 1.0)


def r2(theta: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Coefficient of determination of the estimates, per dimension."""
    ss_res = ((theta - estimate) ** 2).sum(0)
    ss_tot = ((theta - theta.mean(0)) ** 2).sum(0)
    return 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0)


def c2st(a: np.ndarray, b: np.ndarray, seed: int = 0, n_folds: int = 5) -> float:
    """Classifier two-sample test accuracy between samples ``a`` and ``b`` (0.5: the same
    distribution; 1.0: told apart perfectly), as in sbibm: both z-scored by ``a``'s moments, an
    MLP (two hidden layers of 10·d ReLU units, Adam) and stratified ``n_folds``-fold
    cross-validation.

    Parameters
    ----------
    a, b : ndarray (n, d)
    seed : int
    n_folds : int

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> acc = c2st(rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + 3.0)
    >>> acc > 0.95
    True
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier

    a, b = np.asarray(a, float), np.asarray(b, float)
    mean, sd = a.mean(0), a.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    x = np.concatenate(((a - mean) / sd, (b - mean) / sd))
    y = np.concatenate((np.zeros(len(a)), np.ones(len(b))))
    d = x.shape[1]
    clf = MLPClassifier(activation="relu", hidden_layer_sizes=(10 * d, 10 * d), max_iter=1000,
                        solver="adam", random_state=seed)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(clf, x, y, cv=folds, scoring="accuracy")))


@dataclass
class Diagnostics:
    """Results of :func:`diagnose` (per-dimension arrays have shape (d,)).

    Attributes
    ----------
    theta, draws : ndarray
        True parameters (B, d) and posterior draws (B, n, d).
    ranks : ndarray (B, d)
    sbc_ks, sbc_pvalue : ndarray
    sbc_ks_max : float
    sbc_passed : bool
    coverage90, contraction, nrmse, r2 : ndarray
    z_mean, z_sd : ndarray
        Mean and sd of the z-scores (0 and 1 when calibrated).
    nonfinite : int
        Non-finite posterior draws.
    c2st : float or None
        When reference samples were given.
    seconds : float
        Time of the batched posterior sampling.
    """

    theta: np.ndarray
    draws: np.ndarray
    ranks: np.ndarray
    sbc_ks: np.ndarray
    sbc_pvalue: np.ndarray
    sbc_ks_max: float
    sbc_passed: bool
    coverage90: np.ndarray
    contraction: np.ndarray
    nrmse: np.ndarray
    r2: np.ndarray
    z_mean: np.ndarray
    z_sd: np.ndarray
    nonfinite: int
    seconds: float
    c2st: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Scalars and per-dimension lists (no draws), JSON-able."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if k in ("theta", "draws", "ranks"):
                continue
            out[k] = v.tolist() if isinstance(v, np.ndarray) else v
        return out


def diagnose(
    estimator: Any, simulator: Any, *, n_sets: int = 200, n_draws: int = 1000, seed: int = 0,
) -> Diagnostics:
    """Simulate ``n_sets`` data sets from the prior, draw ``n_draws`` posterior samples for
    each in one batched pass, and compute every diagnostic.

    Parameters
    ----------
    estimator : CINN
        A trained estimator (anything with ``sample(xs, n, batched=True, seed=...)``).
    simulator : Simulator
        With ``prior`` and ``simulate(theta, rng)``.
    n_sets, n_draws, seed : int

    Returns
    -------
    Diagnostics

    Notes
    -----
    After rounds drawn from a truncated prior (``truncate=True``), the estimator is trained for
    data sets near ``x_obs`` only (Deistler et al. 2022): SBC over the whole prior then tests it
    where it was not trained, and a failure there says nothing about its posterior at
    ``x_obs``. A warning is logged in that case.
    """
    import time

    if getattr(estimator, "_truncation", None) is not None:
        log.warning("the estimator was trained on truncated-prior rounds: it is valid near x_obs "
                    "only, and SBC over the whole prior is not a check of it")
    rng = np.random.default_rng(seed)
    theta = simulator.prior.sample(n_sets, rng)
    xs = simulator.simulate(theta, rng)
    t0 = time.perf_counter()
    draws = estimator.sample(xs, n_draws, batched=True, seed=seed + 1)
    seconds = time.perf_counter() - t0
    nonfinite = int(np.size(draws) - np.count_nonzero(np.isfinite(draws)))
    draws = np.where(np.isfinite(draws), draws, 0.0)
    ranks = sbc_ranks(theta, draws)
    test = sbc_test(ranks, n_draws, rng)
    z = z_scores(theta, draws)
    prior_var = simulator.prior.std() ** 2
    return Diagnostics(
        theta=theta, draws=draws, ranks=ranks, sbc_ks=test["ks"], sbc_pvalue=test["pvalue"],
        sbc_ks_max=test["ks_max"], sbc_passed=test["passed"],
        coverage90=coverage(theta, draws, 0.9), contraction=contraction(draws, prior_var),
        nrmse=nrmse(theta, draws.mean(1)), r2=r2(theta, draws.mean(1)),
        z_mean=z.mean(0), z_sd=z.std(0), nonfinite=nonfinite, seconds=seconds,
    )


def passes(
    diag: Diagnostics, *, min_contraction: float = 0.5, max_c2st: float | None = None,
) -> tuple[bool, list[str]]:
    """Gate: SBC passes *and* the posterior contracts (and, with reference samples, C2ST is
    low enough). An untrained model that returns the prior passes SBC but not this gate.

    Parameters
    ----------
    diag : Diagnostics
    min_contraction : float
        Smallest acceptable mean contraction over dimensions.
    max_c2st : float, optional
        Largest acceptable C2ST accuracy (checked when ``diag.c2st`` is set).

    Returns
    -------
    passed : bool
    reasons : list of str
        Why it failed (empty when it passed).
    """
    reasons = []
    if not diag.sbc_passed:
        reasons.append(f"SBC ranks are not uniform (KS max {diag.sbc_ks_max:.3f}, "
                       f"min p {float(np.min(diag.sbc_pvalue)):.2g})")
    mc = float(np.mean(diag.contraction))
    if mc < min_contraction:
        reasons.append(f"posterior contraction {mc:.3f} < {min_contraction}")
    if max_c2st is not None and diag.c2st is not None and diag.c2st > max_c2st:
        reasons.append(f"C2ST {diag.c2st:.3f} > {max_c2st}")
    if diag.nonfinite:
        reasons.append(f"{diag.nonfinite} non-finite posterior draws")
    return not reasons, reasons
