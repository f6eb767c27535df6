"""QML speed: Coulomb matrices, kernels and the KRR solve against qmllib, scipy and scikit-learn.

What is measured (all in one run, float64, the same inputs for every library)
    * Coulomb matrices (sorted, 29 atoms, 2,500 QM9 molecules): ``asktell_qml.coulomb_matrices``
      (one vectorised pass) vs qmllib's ``generate_coulomb_matrix`` called per molecule (its
      API). Goal: asktell within 2x of qmllib.
    * W1 kernel, 200 x 200 sorted CMs: asktell (sort once, one blocked L1 pass) vs a scipy loop
      (``exp(-scipy.stats.wasserstein_distance(u, v) / sigma)`` per pair) and qmllib's
      ``wasserstein_kernel``. Goals: >= 200x the scipy loop, >= 400x qmllib.
    * 2,000 x 2,000 kernels on sorted CMs: asktell Laplacian and W1, general ``K(X, Y)`` and
      symmetric ``K(X)``, vs qmllib's ``laplacian_kernel`` and ``laplacian_kernel_symmetric``;
      asktell Gaussian vs scikit-learn's ``rbf_kernel``. Goals: Laplacian and W1 no slower
      than qmllib's Laplacian; Gaussian no slower than ``rbf_kernel``.
    * KRR solve at N = 8,000 (a precomputed Laplacian kernel matrix): asktell's
      ``solve_cholesky`` (``scipy.linalg.cho_factor`` + ``cho_solve``) vs scikit-learn's
      ``KernelRidge(kernel="precomputed").fit``. Goal: <= 2.5 s.

How
    Everything is warmed up once, then repeats are interleaved (each round times every variant
    in turn); figures are medians. The machine is shared (2 CPUs, other jobs running): both
    sides of a ratio see the same load, absolute times do not mean much. BLAS threads are the
    libraries' default unless ``--blas-threads`` is given.

Run
    ``python benchmarks/qml_speed.py [--quick] [--blas-threads N]``; needs qmllib and
    scikit-learn (``benchmarks/requirements.txt``). Writes ``benchmarks/results/qml_speed.json``
    and ``.md``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import fmt, machine_info, markdown_table, median, write_results

from asktell_qml import (
    GaussianKernel,
    LaplacianKernel,
    WassersteinKernel,
    coulomb_matrices,
    load_qm9_subset,
    solve_cholesky,
)

NAME = "qml_speed"


def timeit_rounds(variants: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Warm each variant up, then time ``rounds`` interleaved rounds."""
    for f in variants.values():
        f()
    out: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(rounds):
        names = list(variants)
        names = names[r % len(names):] + names[: r % len(names)]
        for k in names:
            t = time.perf_counter()
            variants[k]()
            out[k].append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="QML speed against qmllib, scipy, scikit-learn")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, N = 4,000 solve")
    ap.add_argument("--blas-threads", type=int, default=0, help="0: library default")
    args = ap.parse_args(argv)
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
    from qmllib.kernels import laplacian_kernel, laplacian_kernel_symmetric, wasserstein_kernel
    from qmllib.representations import generate_coulomb_matrix
    from scipy.stats import wasserstein_distance
    from sklearn.kernel_ridge import KernelRidge as SkKRR
    from sklearn.metrics.pairwise import rbf_kernel

    rounds = 3 if args.quick else 7
    data = load_qm9_subset()
    X = coulomb_matrices(data.Z, data.R)
    X2k, X200 = X[:2000], X[:200]
    Zs = [z[z > 0] for z in data.Z]
    Rs = [r[z > 0] for z, r in zip(data.Z, data.R)]
    results: dict[str, Any] = {}

    # Coulomb matrices.
    t = timeit_rounds({
        "asktell": lambda: coulomb_matrices(data.Z, data.R),
        "qmllib": lambda: [generate_coulomb_matrix(z, r, size=29, sorting="row-norm")
                           for z, r in zip(Zs, Rs)],
    }, rounds)
    results["coulomb_2500"] = t

    # W1 200 x 200.
    sig = 8.0
    w = WassersteinKernel(sigma=sig)

    def scipy_loop() -> np.ndarray:
        return np.array([[np.exp(-wasserstein_distance(u, v) / sig) for v in X200]
                         for u in X200])

    Kw = w(X200, X200)
    assert np.allclose(Kw, wasserstein_kernel(X200, X200, sig), rtol=0, atol=1e-13)
    t = timeit_rounds({
        "asktell": lambda: w(X200, X200),
        "qmllib": lambda: wasserstein_kernel(X200, X200, sig),
    }, rounds)
    t["scipy_loop"] = timeit_rounds({"scipy_loop": scipy_loop}, 1 if args.quick else 3)[
        "scipy_loop"]
    results["w1_200"] = t

    # 2,000 x 2,000 kernels.
    lap, w2 = LaplacianKernel(sigma=6400.0), WassersteinKernel(sigma=sig)
    gau = GaussianKernel(sigma=320.0)
    gamma = 1 / (2 * 320.0**2)
    assert np.allclose(lap(X2k), laplacian_kernel(X2k, X2k, 6400.0), rtol=1e-12)
    t = timeit_rounds({
        "asktell_laplacian": lambda: lap(X2k, X2k),
        "asktell_laplacian_sym": lambda: lap(X2k),
        "asktell_w1": lambda: w2(X2k, X2k),
        "asktell_w1_sym": lambda: w2(X2k),
        "qmllib_laplacian": lambda: laplacian_kernel(X2k, X2k, 6400.0),
        "qmllib_laplacian_sym": lambda: laplacian_kernel_symmetric(X2k, 6400.0),
        "asktell_gaussian": lambda: gau(X2k, X2k),
        "asktell_gaussian_sym": lambda: gau(X2k),
        "sklearn_rbf": lambda: rbf_kernel(X2k, X2k, gamma=gamma),
        "sklearn_rbf_sym": lambda: rbf_kernel(X2k, gamma=gamma),
    }, rounds)
    results["kernels_2000"] = t

    # KRR solve.
    n = 4000 if args.quick else 8000
    rng = np.random.default_rng(0)
    P = rng.normal(size=(n, 30))
    K = LaplacianKernel(sigma=10.0)(P)
    y = rng.normal(size=n)
    sk = SkKRR(kernel="precomputed", alpha=1e-8)
    a1 = solve_cholesky(K, y, 1e-8)
    a2 = sk.fit(K, y).dual_coef_
    assert np.allclose(a1, a2, rtol=1e-6, atol=1e-6 * np.abs(a1).max())
    t = timeit_rounds({
        "asktell_cholesky": lambda: solve_cholesky(K, y, 1e-8),
        "sklearn_krr_fit": lambda: SkKRR(kernel="precomputed", alpha=1e-8).fit(K, y),
    }, 3 if not args.quick else 2)
    results[f"krr_solve_{n}"] = t

    med = {g: {k: median(v) for k, v in d.items()} for g, d in results.items()}
    c, w1, k2, s = med["coulomb_2500"], med["w1_200"], med["kernels_2000"], med[f"krr_solve_{n}"]
    ratios = {
        "coulomb_asktell_over_qmllib": c["asktell"] / c["qmllib"],
        "w1_200_speedup_vs_scipy_loop": w1["scipy_loop"] / w1["asktell"],
        "w1_200_speedup_vs_qmllib": w1["qmllib"] / w1["asktell"],
        "laplacian_over_qmllib": k2["asktell_laplacian"] / k2["qmllib_laplacian"],
        "laplacian_sym_over_qmllib_sym": k2["asktell_laplacian_sym"] / k2["qmllib_laplacian_sym"],
        "w1_over_qmllib_laplacian": k2["asktell_w1"] / k2["qmllib_laplacian"],
        "w1_sym_over_qmllib_laplacian_sym": k2["asktell_w1_sym"] / k2["qmllib_laplacian_sym"],
        "gaussian_over_sklearn": k2["asktell_gaussian"] / k2["sklearn_rbf"],
        "gaussian_sym_over_sklearn_sym": k2["asktell_gaussian_sym"] / k2["sklearn_rbf_sym"],
        "krr_solve_seconds": s["asktell_cholesky"],
        "krr_solve_over_sklearn": s["asktell_cholesky"] / s["sklearn_krr_fit"],
    }
    goals = {
        "coulomb within 2x of qmllib": ratios["coulomb_asktell_over_qmllib"] <= 2.0,
        "W1 200x200 >= 200x scipy loop": ratios["w1_200_speedup_vs_scipy_loop"] >= 200,
        "W1 200x200 >= 400x qmllib": ratios["w1_200_speedup_vs_qmllib"] >= 400,
        "Laplacian 2000^2 <= qmllib Laplacian": ratios["laplacian_over_qmllib"] <= 1.0
        and ratios["laplacian_sym_over_qmllib_sym"] <= 1.0,
        "W1 2000^2 <= qmllib Laplacian": ratios["w1_over_qmllib_laplacian"] <= 1.0
        and ratios["w1_sym_over_qmllib_laplacian_sym"] <= 1.0,
        "Gaussian 2000^2 <= sklearn rbf_kernel": ratios["gaussian_over_sklearn"] <= 1.0,
        f"KRR solve N={n} <= 2.5 s": ratios["krr_solve_seconds"] <= 2.5,
    }
    rows = [
        ["Coulomb matrices, 2,500 molecules", "qmllib per molecule", fmt(c["asktell"]),
         fmt(c["qmllib"]), fmt(ratios["coulomb_asktell_over_qmllib"]), "<= 2"],
        ["W1 kernel 200 x 200", "scipy per-pair loop", fmt(w1["asktell"]), fmt(w1["scipy_loop"]),
         fmt(1 / ratios["w1_200_speedup_vs_scipy_loop"]), "<= 1/200"],
        ["W1 kernel 200 x 200", "qmllib wasserstein_kernel", fmt(w1["asktell"]),
         fmt(w1["qmllib"]), fmt(1 / ratios["w1_200_speedup_vs_qmllib"]), "<= 1/400"],
        ["Laplacian 2,000 x 2,000", "qmllib laplacian_kernel", fmt(k2["asktell_laplacian"]),
         fmt(k2["qmllib_laplacian"]), fmt(ratios["laplacian_over_qmllib"]), "<= 1"],
        ["Laplacian 2,000, symmetric", "qmllib laplacian_kernel_symmetric",
         fmt(k2["asktell_laplacian_sym"]), fmt(k2["qmllib_laplacian_sym"]),
         fmt(ratios["laplacian_sym_over_qmllib_sym"]), "<= 1"],
        ["W1 2,000 x 2,000", "qmllib laplacian_kernel", fmt(k2["asktell_w1"]),
         fmt(k2["qmllib_laplacian"]), fmt(ratios["w1_over_qmllib_laplacian"]), "<= 1"],
        ["W1 2,000, symmetric", "qmllib laplacian_kernel_symmetric", fmt(k2["asktell_w1_sym"]),
         fmt(k2["qmllib_laplacian_sym"]), fmt(ratios["w1_sym_over_qmllib_laplacian_sym"]),
         "<= 1"],
        ["Gaussian 2,000 x 2,000", "sklearn rbf_kernel", fmt(k2["asktell_gaussian"]),
         fmt(k2["sklearn_rbf"]), fmt(ratios["gaussian_over_sklearn"]), "<= 1"],
        ["Gaussian 2,000, symmetric", "sklearn rbf_kernel(X)", fmt(k2["asktell_gaussian_sym"]),
         fmt(k2["sklearn_rbf_sym"]), fmt(ratios["gaussian_sym_over_sklearn_sym"]), "(info)"],
        [f"KRR solve N = {n:,}", "sklearn KernelRidge(precomputed).fit",
         fmt(s["asktell_cholesky"]), fmt(s["sklearn_krr_fit"]),
         fmt(ratios["krr_solve_over_sklearn"]), "asktell <= 2.5 s"],
    ]
    table = markdown_table(["task", "baseline", "asktell s", "baseline s", "ratio", "goal"], rows)
    table += "\n" + "\n".join(f"- {k}: {'met' if v else 'NOT met'}" for k, v in goals.items())
    payload = {
        "machine": machine_info(),
        "settings": {"quick": args.quick, "rounds": rounds, "blas_threads": args.blas_threads,
                     "krr_n": n},
        "timings": results,
        "medians": med,
        "ratios": ratios,
        "goals": goals,
        "goal": {"text": "; ".join(goals), "met": all(goals.values())},
    }
    write_results(NAME, payload, table, "QML speed (medians, seconds; shared 2-CPU machine)")
    print(table)


if __name__ == "__main__":
    main()
