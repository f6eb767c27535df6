"""One smoke test per built-in plugin, against an installed asktell (the wheel), not the clone.

Run by ``scripts/check_wheel.sh`` with the fresh virtual environment's Python, from a folder
outside the clone: ``python /path/to/scripts/wheel_smoke.py [CLONE]``. Each plugin loads through
the entry points, finds its shipped data and does one small piece of real work. Exits non-zero,
naming the plugin, on the first failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

import asktell

CHECKS: dict[str, Callable[[], str]] = {}


def check(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def wrap(fn: Callable[[], str]) -> Callable[[], str]:
        CHECKS[name] = fn
        return fn
    return wrap


@check("core")
def core() -> str:
    clone = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    where = Path(asktell.__file__).resolve()
    assert "site-packages" in where.parts, f"asktell imported from {where}, not the wheel"
    assert clone is None or clone not in where.parents, f"asktell imported from the clone {where}"
    d = asktell.registry().describe()
    assert not d["failures"], d["failures"]
    return f"asktell {asktell.__version__} from {where.parent}, {len(d['entries'])} plugin entries"


@check("optim")
def optim() -> str:
    out = []
    for name in ["xnes", "snes", "cmaes", "pso", "nelder-mead"]:
        opt = asktell.create(name, x0=[1.0, -1.0], sigma0=0.5, seed=0)
        for _ in range(20):
            xs = opt.ask()
            opt.tell([float(np.sum(np.asarray(x) ** 2)) for x in xs])
        out.append(f"{name} {opt.fbest():.2g}")
    return ", ".join(out)


@check("chem")
def chem() -> str:
    from asktell_chem import qm9_5k

    smiles = qm9_5k()
    assert len(smiles) == 5000, len(smiles)
    qed = asktell.get("reward", "qed")()
    vals = np.asarray(qed(smiles[:20]), dtype=float)
    assert np.all(np.isfinite(vals)), vals
    return f"qm9_5k: {len(smiles)} SMILES, QED of 20 in [{vals.min():.2f}, {vals.max():.2f}]"


@check("organ")
def organ() -> str:
    from asktell_chem import qm9_5k

    gen = asktell.create("organ", training_smiles=qm9_5k()[:100], seed=0, embedding_dim=8,
                         hidden_dim=16, pretrain_epochs=1, early_stopping=False, batch_size=4,
                         rollouts=1, d_pretrain_rounds=1, d_epochs=1, d_samples=32)
    reward = asktell.get("reward", "validity")()
    smiles = gen.ask()
    gen.tell(reward(smiles))
    return f"one ORGAN step: {len(smiles)} SMILES told"


@check("qml")
def qml() -> str:
    from asktell_qml import KernelRidge, coulomb_matrices, load_qm9_subset

    data = load_qm9_subset()
    x = coulomb_matrices(data.Z[:300], data.R[:300])
    y = data.atomization_energy[:300]
    model = KernelRidge("laplacian", sigma=1000.0, lam=1e-6).fit(x[:200], y[:200])
    mae = float(np.mean(np.abs(model.predict(x[200:]) - y[200:])))
    return f"QM9 subset: {len(data.Z)} molecules, KRR on 200: MAE {mae:.1f} kcal/mol"


@check("rbm")
def rbm() -> str:
    from asktell_rbm import BernoulliRBM, load_digits_binary

    x, _ = load_digits_binary()
    model = BernoulliRBM(64, 8, batch_size=50, epochs=1, seed=0).fit(x[:500])
    ll = float(model.log_likelihood(x[:50]).mean())
    return f"digits: {x.shape}, RBM 64x8 one epoch: log-likelihood {ll:.1f} nats"


@check("cinn")
def cinn() -> str:
    from asktell_cinn import GaussianMean

    sim = GaussianMean(dim=2, n_obs=5)
    est = asktell.create("cinn", simulator=sim, summary="deepset", batch_size=64, seed=0,
                         n_blocks=1, hidden=8, summary_hidden=8, max_epochs=1)
    evaluate = asktell.SequentialEvaluator(sim, output="object")
    theta = est.ask()
    est.tell(evaluate(theta))
    draws = est.sample(sim(np.zeros(2)), 10)
    return f"one cINN round: {est.n_simulations} simulations, posterior draws {draws.shape}"


@check("dashboard")
def dashboard() -> str:
    """The dashboard's templates and plotly's JavaScript ship: serve a run and fetch both."""
    runs = Path("runs")
    if not runs.is_dir():
        return "skipped (no runs/ folder: run the main job first)"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "asktell"
    proc = subprocess.Popen([str(exe), "dashboard", str(runs),
                             "--port", str(port)])
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                page = urllib.request.urlopen(base + "/", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the dashboard did not answer within 10 s")
        assert "main" in page, page[:500]
        js = urllib.request.urlopen(base + "/static/plotly.min.js", timeout=5).read()
        runs_json = json.loads(urllib.request.urlopen(base + "/api/runs", timeout=5).read())
        assert runs_json["runs"], runs_json
    finally:
        proc.terminate()
        proc.wait(10)
    return f"served {len(runs_json['runs'])} run(s) and plotly.js ({len(js) // 1024} kB) offline"


def main() -> int:
    import torch

    torch.set_num_threads(1)  # small models: one thread is fastest on a shared machine
    for name, fn in CHECKS.items():
        t = time.perf_counter()
        try:
            msg = fn()
        except Exception as e:  # report which plugin failed, then fail
            print(f"FAILED {name}: {type(e).__name__}: {e}", flush=True)
            raise
        print(f"ok {name:<9} {time.perf_counter() - t:5.1f} s  {msg}", flush=True)
    print(f"wheel smoke: all {len(CHECKS)} checks ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
