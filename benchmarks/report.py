"""Assemble docs/benchmarks.md from the Markdown tables in benchmarks/results/.

Run after the benchmarks: ``python benchmarks/report.py``. Each benchmark writes its own
``results/NAME.md`` (figures measured in one run, ratios against named baselines); this script
only collects them under one page, with image links rewritten for docs/.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    ("xnes_overhead", "XNES ask/tell overhead against PINTS"),
    ("logistic_notebook", "The main job: the PINTS ask-and-tell notebook"),
    ("logistic_notebook.seed2", "The main job's controller overhead with seed 2"),
    ("startup", "Start-up: a one-iteration run of the main job"),
    ("store_scaling", "Run store: commit and resume cost as a run grows"),
    ("dashboard_overhead", "Dashboard: store overhead of a watched run"),
    ("parallel_dispatch", "Parallel dispatch against PINTS and joblib"),
    ("large_objective", "A large objective on worker processes"),
    ("worker_loss", "Worker loss on loky: an external kill, a worker-killing candidate"),
    ("dask_recovery", "Dask: a worker killed mid-batch, a worker-killing candidate"),
    ("async_stragglers", "Asynchronous evaluation: stragglers, utilisation, evaluations to target"),
    ("optim_overhead", "Ask/tell overhead of every optimiser"),
    ("optim_convergence", "Convergence on sphere, Rosenbrock and Rastrigin (d = 10)"),
    ("bbob", "COCO BBOB f1-f24"),
    ("rewards", "Reward scoring: composite vs a naive loop"),
    ("qml_learning_curves", "QML: learning curves on QM9 (the paper's Fig. 3)"),
    ("qml_learning_curves_fig3", "QML: every row of the paper's Fig. 3 to N = 10,000 (merged)"),
    ("qml_learning_curves_w1_10k", "QML: W1 at N = 10,000"),
    ("qml_displacement", "QML: the paper's Fig. 2 as published (acetone, Lennard-Jones)"),
    ("qml_smoothness", "QML: smoothness along a displaced atom (asktell's QM9-trained variant)"),
    ("qml_learning_curves_gauss_random", "QML: Gaussian kernel on random CMs (Fig. 3 row)"),
    ("qml_learning_curves_w1_random", "QML: W1 on random CMs (Fig. 3 row)"),
    ("qml_speed", "QML: kernel and solver speed against qmllib, scikit-learn and scipy"),
    ("gpu_qml", "QML on a GPU"),
    ("rbm_digits", "RBM on binarised digits against scikit-learn"),
    ("rbm_eda", "RBM-EDA against UMDA on IOH bit-string problems"),
    ("rbm_eda_scaling", "RBM-EDA on trap-5 at n = 100: scaling from n = 50"),
    ("gpu_rbm", "RBM on a GPU"),
    ("cinn_gaussian", "cINN against sbi and BayesFlow"),
    ("gpu_cinn", "cINN on a GPU"),
    ("cinn_models_ricker", "cINN on the stochastic Ricker model against sbi NPE"),
    ("cinn_models_sir", "cINN on the SIR epidemic model against sbi NPE"),
    ("cinn_subnets", "cINN: two against four coupling subnetworks"),
    ("organ_speed", "ORGAN speed (CPU and GPU)"),
    ("organ_qm9", "ORGAN and SA-ORGAN on QM9 5k"),
    ("organ_qm9_200", "ORGAN and SA-ORGAN on QM9 5k: the paper's 200 epochs (one seed, CPU)"),
    ("organ_qm9_gpu", "ORGAN and SA-ORGAN on QM9 5k towards 200 epochs (3 seeds, GPU lease)"),
    ("organ_ablation", "ORGAN: each departure from the paper alone"),
    ("organ_ablation_gpu", "ORGAN: ORGAN's own discriminator against the default (GPU)"),
    ("organ_qm9_paper_short", "ORGAN and SA-ORGAN (attention in D), the paper preset, 1 epoch"),
]

#: Results written by a script under another name (its ``--out``), and the command.
SCRIPTS = {
    "qml_learning_curves_fig3": "benchmarks/qml_learning_curves.py --merge qml_learning_curves "
    "qml_learning_curves_w1_10k qml_learning_curves_gauss_random qml_learning_curves_w1_random "
    "qml_learning_curves_10k_split0 qml_learning_curves_10k_splits12 "
    "qml_learning_curves_random_splits12 --name qml_learning_curves_fig3 (the runs it merges: "
    "docs/qml.md)",
    "qml_learning_curves_w1_10k": "benchmarks/qml_learning_curves.py --models "
    "\"W1 (random = sorted)\" --sizes 1000 2000 4000 8000 10000 --name qml_learning_curves_w1_10k",
    "qml_learning_curves_gauss_random": "benchmarks/qml_learning_curves.py --models "
    "\"Gaussian, random CM\" --splits 1 --sizes 1000 2000 4000 8000 "
    "--name qml_learning_curves_gauss_random",
    "qml_learning_curves_w1_random": "benchmarks/qml_learning_curves.py --models "
    "\"W1, random CM\" --splits 1 --sizes 1000 2000 4000 8000 "
    "--name qml_learning_curves_w1_random",
    "logistic_notebook.seed2": "benchmarks/logistic_notebook.py --overhead-seed 2",
    "cinn_models_ricker": "benchmarks/cinn_models.py --epochs 20 --tasks ricker "
                          "--name cinn_models_ricker",
    "cinn_models_sir": "benchmarks/cinn_models.py --epochs 20 --tasks sir --name cinn_models_sir",
    "organ_qm9_paper_short": "benchmarks/organ_qm9.py --preset paper --generators organ "
                             "sa-organ-d --rewards novelty --seeds 1 --epochs 1 --jobs 2 "
                             "--pretrain-epochs 60 --d-pretrain-rounds 2 --d-samples 1000 "
                             "--checkpoint-dir ckpt/organ_paper_short --out organ_qm9_paper_short",
    "organ_qm9_200": "benchmarks/organ_qm9.py --epochs 200 --seeds 1 --jobs 2 "
                     "--checkpoint-dir ckpt/organ_qm9_200 --out organ_qm9_200",
    "organ_qm9_gpu": "benchmarks/organ_gpu.sh (organ_qm9.py --epochs 200 --seeds 3 --jobs 12 "
                     "--device cuda --time-limit 447 --out organ_qm9_gpu)",
    "organ_ablation_gpu": "benchmarks/organ_gpu.sh (organ_ablation.py --epochs 25 --seeds 1 "
                          "--jobs 2 --variants default organ-d --mle default --device cuda "
                          "--out organ_ablation_gpu)",
}

INTRO = """# Benchmarks

Every figure on this page comes from a script in `benchmarks/` run on the project's machine
(2 CPU cores, no GPU), except where a section names a GPU (a lent H100/H200 machine). Each
script measures asktell against a named baseline **in the same run**, interleaving
repetitions, and reports ratios: the machine is shared and absolute times drift. Raw figures,
machine details and dates are in `benchmarks/results/NAME.json`.

```bash
pip install -r benchmarks/requirements.txt     # pints, cma, cmaes, nevergrad, coco-experiment
python benchmarks/run_all.py --quick           # or one script: python benchmarks/NAME.py
python benchmarks/report.py                    # rebuilds this page from benchmarks/results/
```

Where a goal is missed the table says so; the closing notes of the issues discuss why.
"""


def _section(name: str, title: str) -> str | None:
    path = HERE / "results" / f"{name}.md"
    if not path.exists():
        return None
    text = path.read_text().strip()
    text = re.sub(r"^# .*\n", "", text, count=1)  # the page supplies its own heading
    text = re.sub(r"\]\((?!http)([^)]+\.(?:png|svg))\)", r"](../benchmarks/results/\1)", text)
    text = text.replace(f"`{name}.json`", f"`benchmarks/results/{name}.json`")
    script = SCRIPTS.get(name, f"benchmarks/{name}.py")
    return f"## {title}\n\n`{script}`\n\n{text}\n"


def main() -> None:
    """Write docs/benchmarks.md."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", type=Path, default=HERE.parent / "docs" / "benchmarks.md")
    args = p.parse_args()
    parts = [INTRO] + [s for n, t in ORDER if (s := _section(n, t))]
    args.out.write_text("\n".join(parts))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
