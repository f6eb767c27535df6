"""The registry: entry points, lazy loading, missing extras, broken plugins, duplicates,
misspelt hooks, restarts in create(), and the example third-party plugin used by name."""

import importlib.metadata as md
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import asktell
from asktell import plugins
from asktell.plugins import PluginUnavailableError, Registry, UnknownNameError
from asktell.testing import check_optimiser

ROOT = Path(__file__).parents[1]


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fake_plugin_")]:
        del sys.modules[name]


def write(plugin_dir, name, body):
    (plugin_dir / f"{name}.py").write_text(textwrap.dedent(body))
    return md.EntryPoint(name=name.removeprefix("fake_plugin_"), value=name, group="asktell")


GOOD = """
    import asktell

    class Thing:
        "A thing."

    @asktell.hookimpl
    def asktell_add_problems(registry):
        registry.add("{name}", Thing)
"""


def test_builtin_registered_through_entry_point():
    reg = Registry.load()
    e = reg.entry("optimiser", "xnes")
    assert e.plugin == "optim" and e.distribution == "asktell"
    assert e.version == asktell.__version__
    assert reg.get("problem", "logistic").__name__ == "LogisticProblem"
    assert asktell.get("optimiser", "XNES") is reg.get("optimiser", "xnes")
    assert reg.entry("optimiser", "xnes").reference == "asktell_optim.xnes:XNES"


def test_broken_plugin_does_not_stop_the_others(plugin_dir):
    eps = [
        write(plugin_dir, "fake_plugin_broken", "import rdkit_is_not_installed_here\n"),
        write(plugin_dir, "fake_plugin_syntax", "def oops(:\n"),
        write(plugin_dir, "fake_plugin_good", GOOD.format(name="good-thing")),
    ]
    reg = Registry.load(entry_points=eps)
    assert reg.names("problem") == ["good-thing"]
    failures = {f.plugin: f for f in reg.failures}
    assert set(failures) == {"broken", "syntax"}
    assert "ModuleNotFoundError" in failures["broken"].error
    assert failures["broken"].hint == "pip install rdkit_is_not_installed_here"
    assert "SyntaxError" in failures["syntax"].error
    with pytest.raises(UnknownNameError, match="failed to load: broken"):
        reg.get("problem", "nope")


def test_install_hint_names_the_extra(plugin_dir):
    """A built-in plugin missing an optional dependency suggests asktell's extra."""
    from asktell.plugins import _install_hint

    dist = md.distribution("asktell")
    err = ModuleNotFoundError("No module named 'rdkit'", name="rdkit")
    assert _install_hint(err, dist) == 'pip install "asktell[chem]"'
    err = ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn")
    assert _install_hint(err, dist) == 'pip install "asktell[torch]"'


def test_duplicate_name_names_both_plugins(plugin_dir):
    eps = [write(plugin_dir, "fake_plugin_one", GOOD.format(name="same")),
           write(plugin_dir, "fake_plugin_two", GOOD.format(name="same"))]
    reg = Registry.load(entry_points=eps)
    assert reg.entry("problem", "same").plugin == "one"
    (failure,) = reg.failures
    assert failure.plugin == "two"
    assert "'same' is registered twice" in failure.error
    assert "'one'" in failure.error and "'two'" in failure.error


def test_duplicate_lazy_reference_names_both_plugins(plugin_dir):
    lazy = GOOD.replace("Thing)", "'fake_plugin_x:Thing')")
    eps = [write(plugin_dir, "fake_plugin_l1", lazy.format(name="same")),
           write(plugin_dir, "fake_plugin_l2", lazy.format(name="same"))]
    reg = Registry.load(entry_points=eps)
    (failure,) = reg.failures
    assert "'l1'" in failure.error and "'l2'" in failure.error


def test_misspelt_hook_is_reported(plugin_dir):
    ep = write(plugin_dir, "fake_plugin_typo", """
        import asktell

        @asktell.hookimpl
        def asktell_add_optimizers(registry):
            registry.add("x", object)
    """)
    reg = Registry.load(entry_points=[ep])
    (failure,) = reg.failures
    assert "asktell_add_optimizers" in failure.error


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError, match="Did you mean 'xnes'"):
        asktell.create("xnse", x0=[0.0])


def test_bad_names_are_rejected(plugin_dir):
    ep = write(plugin_dir, "fake_plugin_badname", GOOD.format(name="Bad Name!"))
    reg = Registry.load(entry_points=[ep])
    assert "not a valid name" in reg.failures[0].error


def test_cli_plugins_json(capsys):
    from asktell.cli import main

    assert main(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {(e["family"], e["name"]) for e in out["entries"]}
    assert ("optimiser", "xnes") in names
    assert {"family", "name", "plugin", "distribution", "version", "source"} <= set(
        out["entries"][0])


needs_example = pytest.mark.skipif(
    os.environ.get("ASKTELL_REQUIRE_EXAMPLE_PLUGIN") != "1"
    and "random-search" not in asktell.registry().names("optimiser"),
    reason="example plugin not installed (scripts/test.sh installs it)",
)


@needs_example
def test_example_third_party_plugin_listed_and_usable(capsys):
    from asktell.cli import main

    reg = Registry.load()
    e = reg.entry("optimiser", "random-search")
    assert e.distribution == "asktell-example-plugin" and e.version == "0.3.0"
    main(["plugins"])
    assert "random-search" in capsys.readouterr().out
    b = asktell.RectangularBoundaries([-5, -5], [5, 5])
    check_optimiser(lambda **kw: reg.create("random-search", x0=[0, 0], boundaries=b, **kw))
    himmelblau = reg.get("problem", "himmelblau")()
    opt = reg.create("random-search", x0=[0, 0], boundaries=b, popsize=50, seed=0)
    ctl = asktell.Controller(opt, asktell.SequentialEvaluator(himmelblau),
                             stop={"max_iterations": 40}, progress=False)
    assert ctl.run().fbest < 0.5


# ---------------------------------------------------------------------------- loading on demand


def run_python(code, *args, cwd=None):
    """Run ``code`` in a fresh interpreter (this one has torch loaded by conftest)."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


HEAVY = ("torch", "rdkit", "matplotlib.pyplot", "sklearn", "cma", "dask")


def test_one_iteration_xnes_run_imports_neither_torch_nor_rdkit(tmp_path):
    out = run_python(f"""
        import json, sys
        from asktell.cli import main
        code = main(["run", {str(ROOT / "examples" / "logistic_xnes.toml")!r},
                     "--set", "stop.max_iterations=1", "--out", {str(tmp_path / "run")!r},
                     "--no-progress"])
        print(json.dumps([code, sorted(m for m in sys.modules if m.split(".")[0] in
                                       ("torch", "rdkit") or m.startswith("asktell_")),
                          "matplotlib.pyplot" in sys.modules]))
    """)
    code, loaded, pyplot = json.loads(out.stdout.strip().splitlines()[-1])
    assert code == 0
    assert not [m for m in loaded if m.split(".")[0] in ("torch", "rdkit")], loaded
    # the convergence and fit plots are drawn without pyplot: a notebook's backend is untouched
    assert (tmp_path / "run" / "convergence.png").stat().st_size > 0
    assert (tmp_path / "run" / "fit.png").stat().st_size > 0
    assert not pyplot
    # xnes and logistic are declared by asktell_optim: no other plugin is imported (the
    # example plugins installed beside asktell included)
    assert {m.split(".")[0] for m in loaded} == {"asktell_optim"}, loaded
    assert "WARNING" not in out.stderr


def test_building_the_registry_imports_only_entry_modules():
    out = run_python("""
        import json, sys
        import asktell
        before = set(sys.modules)
        reg = asktell.registry()
        names = reg.names("optimiser")
        built = sorted(set(sys.modules) - before)
        reg.get("optimiser", "xnes")
        after_xnes = sorted(set(sys.modules) - before)
        print(json.dumps([names, built, after_xnes]))
    """)
    names, built, after_xnes = json.loads(out.stdout)
    assert {"xnes", "cmaes", "cinn", "organ", "rbm-eda"} <= set(names)
    for mod in built:  # plugin entry modules only: no implementation module, nothing heavy
        assert mod.split(".")[0] not in HEAVY, mod
        assert mod.count(".") == 0 or not mod.startswith("asktell_"), mod
    assert "asktell_optim.xnes" in after_xnes
    assert not {"asktell_optim.cmaes", "asktell_cinn.estimator", "asktell_qml.krr"} & set(
        after_xnes)
    assert not [m for m in after_xnes if m.split(".")[0] in HEAVY]


@pytest.mark.parametrize("dist", ["asktell", "asktell-example-plugin",
                                  "asktell-example-estimator"])
def test_declared_names_are_the_registered_ones(dist):
    from asktell.testing import check_declared_names

    check_declared_names(dist)


def declare(family, name, module):
    return md.EntryPoint(name=name, value=module, group=f"asktell.{family}")


def test_a_declared_name_imports_only_its_plugin(plugin_dir):
    eps = [write(plugin_dir, "fake_plugin_da", GOOD.format(name="a-thing")),
           write(plugin_dir, "fake_plugin_db", GOOD.format(name="b-thing")),
           declare("problem", "a-thing", "fake_plugin_da")]
    reg = Registry.load(entry_points=eps, core=False)
    assert not {"fake_plugin_da", "fake_plugin_db"} & set(sys.modules), "nothing imported yet"
    assert reg.get("problem", "A_thing").__name__ == "Thing"
    assert "fake_plugin_da" in sys.modules and "fake_plugin_db" not in sys.modules
    assert reg.versions() == {"da": None, "db": None}  # every plugin found, imported or not
    # an undeclared name imports the others
    assert reg.get("problem", "b-thing").__name__ == "Thing"
    assert "fake_plugin_db" in sys.modules


def test_a_stale_or_conflicting_declaration_falls_back_to_every_plugin(plugin_dir):
    eps = [write(plugin_dir, "fake_plugin_sa", GOOD.format(name="a-thing")),
           write(plugin_dir, "fake_plugin_sb", GOOD.format(name="moved")),
           declare("problem", "moved", "fake_plugin_sa"),   # stale: sa no longer has it
           declare("problem", "a-thing", "fake_plugin_sa"),
           declare("problem", "a-thing", "fake_plugin_sb")]  # declared by two: not indexed
    reg = Registry.load(entry_points=eps, core=False)
    assert reg.entry("problem", "moved").plugin == "sb"
    reg = Registry.load(entry_points=eps, core=False)
    assert reg.entry("problem", "a-thing").plugin == "sa"
    assert "fake_plugin_sb" in sys.modules
    with pytest.raises(UnknownNameError, match="no problem named 'nope'"):
        reg.get("problem", "nope")


def test_check_declared_names_says_what_drifted(plugin_dir):
    from asktell.testing import check_declared_names

    write(plugin_dir, "fake_plugin_drift", GOOD.format(name="kept"))
    info = plugin_dir / "fake_plugin_drift-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugin-drift\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [asktell]
        drift = fake_plugin_drift

        [asktell.problem]
        gone = fake_plugin_drift
    """))
    with pytest.raises(AssertionError) as e:
        check_declared_names("fake-plugin-drift")
    assert 'not declared: [project.entry-points."asktell.problem"] kept = "fake_plugin_drift"' \
        in str(e.value)
    assert "declared but not registered: problem 'gone'" in str(e.value)


def test_plugin_packages_keep_their_public_names():
    """The light entry modules still export their classes (imported on first use)."""
    import asktell_cinn
    import asktell_optim
    import asktell_qml

    assert asktell_optim.XNES is asktell.get("optimiser", "xnes")
    assert asktell_qml.GaussianKernel is asktell.get("kernel", "gaussian")
    assert asktell_cinn.TwoMoons is asktell.get("simulator", "two-moons")
    assert "CINN" in dir(asktell_cinn)
    # a function named like its submodule stays the function once the submodule is imported
    import asktell_organ.organ  # noqa: F401 - imports asktell_organ.rollout
    from asktell_organ import rollout

    assert callable(rollout) and rollout.__module__ == "asktell_organ.rollout"
    import asktell_chem

    assert asktell_chem.metrics.__name__ == "asktell_chem.metrics"  # a submodule export
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        asktell_cinn.Nope  # noqa: B018


LAZY = """
    import asktell

    @asktell.hookimpl
    def asktell_add_problems(registry):
        registry.add("needs-extra", "fake_plugin_never_imported:Thing",
                     requires=("module_not_installed_here",), summary="needs an extra")
        registry.add("needs-extra-named", "fake_plugin_never_imported:Thing",
                     requires=("module_not_installed_here",), extra="fancy")
        registry.add("imports-missing", "fake_plugin_imports_missing:Thing")
        registry.add("no-attribute", "fake_plugin_lazy:Nope")
        registry.add("lazy-ok", "fake_plugin_lazy_target:Thing")
"""


def test_missing_extra_is_silent_until_asked_for(plugin_dir, caplog):
    (plugin_dir / "fake_plugin_imports_missing.py").write_text(
        "import module_not_installed_here_either\n")
    (plugin_dir / "fake_plugin_lazy_target.py").write_text("class Thing:\n    'A thing.'\n")
    ep = write(plugin_dir, "fake_plugin_lazy", LAZY)
    with caplog.at_level(logging.DEBUG, logger="asktell.plugins"):
        reg = Registry.load(entry_points=[ep], core=False)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not reg.failures
    assert "fake_plugin_lazy_target" not in sys.modules  # nothing imported to register
    assert reg.names("problem") == ["imports-missing", "lazy-ok", "needs-extra",
                                    "needs-extra-named", "no-attribute"]
    assert reg.names("problem", available=True) == ["imports-missing", "lazy-ok",
                                                    "no-attribute"]
    e = reg.entry("problem", "needs-extra")
    assert not e.available and e.missing == ("module_not_installed_here",)
    assert e.hint == "pip install module_not_installed_here"
    with pytest.raises(PluginUnavailableError, match="pip install module_not_installed_here"):
        reg.get("problem", "needs-extra")
    with pytest.raises(ImportError):  # it is an ImportError too
        reg.get("problem", "needs-extra")
    assert reg.entry("problem", "needs-extra-named").hint == "pip install module_not_installed_here"
    with pytest.raises(PluginUnavailableError,
                       match="pip install module_not_installed_here_either"):
        reg.get("problem", "imports-missing")
    with pytest.raises(PluginUnavailableError, match="has no 'Nope'"):
        reg.get("problem", "no-attribute")
    assert reg.get("problem", "lazy-ok").__name__ == "Thing"
    d = {e["name"]: e for e in reg.describe()["entries"]}
    assert d["needs-extra"]["available"] is False
    assert d["needs-extra"]["hint"] == "pip install module_not_installed_here"
    assert d["lazy-ok"]["target"] == "fake_plugin_lazy_target:Thing"


def test_extra_names_the_distribution_extra(plugin_dir):
    """With a distribution, the hint is its extra: from ``extra=`` or from its metadata."""
    reg = Registry()
    info = plugins._PluginInfo("chemish", "asktell", "0", "<test>")
    fam = plugins.FamilyRegistry(reg, "problem", info)
    fam.add("a", "x:y", requires=("rdkit_missing_module",), extra="chem")
    fam.add("b", "x:y", requires=("fcd_torch_not_here",))
    assert reg.entry("problem", "a").hint == 'pip install "asktell[chem]"'
    assert reg.entry("problem", "b").hint == "pip install fcd_torch_not_here"
    assert plugins._hint_for_module("torch", md.distribution("asktell")) == \
        'pip install "asktell[torch]"'


def test_broken_import_is_not_a_startup_warning(plugin_dir, caplog):
    eps = [write(plugin_dir, "fake_plugin_heavy", "import torch_is_not_installed_here\n"),
           write(plugin_dir, "fake_plugin_syntax2", "def oops(:\n")]
    with caplog.at_level(logging.DEBUG, logger="asktell.plugins"):
        reg = Registry.load(entry_points=eps, core=False)
        assert not caplog.records, "nothing is imported until a name is looked up"
        failed = {f.plugin for f in reg.failures}
    levels = {r.getMessage().split("'")[1]: r.levelno for r in caplog.records}
    assert levels == {"heavy": logging.DEBUG, "syntax2": logging.WARNING}
    assert failed == {"heavy", "syntax2"}


def test_bad_lazy_reference_is_refused(plugin_dir):
    body = GOOD.replace("Thing)", "'not a reference')").format(name="x")
    ep = write(plugin_dir, "fake_plugin_badref", body)
    reg = Registry.load(entry_points=[ep], core=False)
    assert "lazy reference" in reg.failures[0].error


def test_cli_plugins_lists_unavailable_names_with_the_install_command(capsys, monkeypatch,
                                                                       plugin_dir):
    from asktell.cli import main

    ep = write(plugin_dir, "fake_plugin_lazy2", LAZY)
    monkeypatch.setattr(plugins, "_default", Registry.load(entry_points=[ep]))
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "needs-extra " in x)
    assert "needs module_not_installed_here: pip install module_not_installed_here" in line
    assert "WARNING" not in out


# ---------------------------------------------------------------------------- create(restarts=)


def test_create_applies_restarts_to_any_population_optimiser(plugin_dir):
    """Restarts are create()'s, not the factory's: a third-party name gets them too."""
    ep = write(plugin_dir, "fake_plugin_es", """
        import asktell

        @asktell.hookimpl
        def asktell_add_optimisers(registry):
            registry.add("my-es", "asktell_optim.snes:SNES")
    """)
    reg = Registry.load(entry_points=[ep])
    opt = reg.create("my-es", x0=[1.0, 2.0], sigma0=0.5, restarts="ipop", max_restarts=2,
                     seed=0)
    assert type(opt).__name__ == "Restarts" and opt.name == "snes+ipop"
    xs = opt.ask()
    opt.tell(np.sum(xs**2, axis=1))
    plain = reg.create("my-es", x0=[1.0, 2.0], sigma0=0.5, seed=0)
    assert type(plain).__name__ == "SNES"
    with pytest.raises(ValueError, match="max_restarts needs restarts"):
        reg.create("my-es", x0=[1.0, 2.0], max_restarts=3)


def test_restarts_need_a_population_optimiser():
    with pytest.raises(TypeError, match="population optimiser"):
        asktell.create("nelder-mead", x0=[1.0, 2.0], restarts="ipop")


def test_config_restarts_go_through_create(logistic_config):
    from asktell.config import build_optimiser, load_config

    cfg = load_config(logistic_config, ["optimiser.restarts=bipop",
                                        "optimiser.max_restarts=2"])
    opt = build_optimiser(cfg)
    assert opt.name == "xnes+bipop"


# ---------------------------------------------------------------------------- names from plugins


def test_config_evaluators_resolve_through_the_registry(plugin_dir, monkeypatch,
                                                        logistic_config):
    from asktell.config import ConfigError, build_scorer, load_config

    ep = write(plugin_dir, "fake_plugin_eval", """
        import asktell

        class Doubling(asktell.SequentialEvaluator):
            "Scores twice the objective."
            def __init__(self, f, factor=2.0, n_workers=1):
                super().__init__(lambda x: factor * f(x))

        @asktell.hookimpl
        def asktell_add_evaluators(registry):
            registry.add("doubling", Doubling)
    """)
    monkeypatch.setattr(plugins, "_default", Registry.load(
        entry_points=[*md.entry_points(group="asktell"), ep]))
    cfg = load_config(logistic_config, ["evaluator.name=doubling", "evaluator.factor=3.0"])
    scorer = build_scorer(cfg)
    assert type(scorer).__name__ == "Doubling"
    with pytest.raises(ConfigError,
                       match=r"evaluator\.name.*expected one of: batch, dask, doubling"):
        load_config(logistic_config, ["evaluator.name=gpu"])


@needs_example
def test_example_plugin_kernel_works_by_name_in_krr(tmp_path):
    from asktell_qml import KernelRidge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.sin(X).sum(1)
    model = KernelRidge("cauchy", sigma=2.0, lam=1e-8).fit(X[:50], y[:50])
    assert type(model.kernel).__name__ == "CauchyKernel"
    assert np.mean(np.abs(model.predict(X[50:]) - y[50:])) < 0.3
    model.save(tmp_path / "m.npz")
    again = KernelRidge.load(tmp_path / "m.npz")
    assert again.kernel_name == "cauchy"
    np.testing.assert_allclose(again.predict(X[50:]), model.predict(X[50:]))
    # a kernel object given directly is found by its registered name
    twin = KernelRidge(model.kernel, lam=1e-8)
    assert twin.kernel_name == "cauchy"


@needs_example
def test_example_plugin_simulator_and_summary_work_by_name_in_the_cinn():
    pytest.importorskip("torch")
    from asktell_cinn import CINN, make_summary, simulator

    sim = simulator("example-ricker", n_steps=12)
    assert sim(np.array([3.8, 10.0])).shape == (12, 1)
    assert make_summary("mean-std", 12, 1, 4, 8).out_dim == 4
    est = CINN(simulator="example-ricker", summary="mean-std", batch_size=16, n_blocks=2, hidden=8,
               summary_dim=4, max_epochs=2, patience=2, seed=0)
    assert type(est.simulator).__name__ == "Ricker"
    for _ in range(2):
        thetas = est.ask()
        est.tell([est.simulator(t) for t in thetas])
    assert est.evaluations == 32
    with pytest.raises(ValueError, match="summary must be one of"):
        CINN(simulator="example-ricker", summary="mean-sdt")


BLOCK_EXTRAS = """
    import importlib.abc, logging, sys

    class Missing(importlib.abc.MetaPathFinder):
        "Acts as if torch and RDKit were not installed."
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "rdkit"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    logging.basicConfig(level=logging.WARNING)
"""


def test_missing_extras_say_nothing_until_asked_for_then_name_the_install_command(tmp_path):
    out = run_python(textwrap.dedent(BLOCK_EXTRAS) + textwrap.dedent(f"""
        import asktell
        from asktell.cli import main
        assert main(["run", {str(ROOT / "examples" / "logistic_xnes.toml")!r},
                     "--set", "stop.max_iterations=1", "--set", "run.plot=false",
                     "--out", {str(tmp_path / "run")!r}, "--no-progress"]) == 0
        print("RUN-OK", file=sys.stderr)
        main(["plugins"])
        for family, name in [("optimiser", "organ"), ("reward", "qed"), ("summary", "deepset")]:
            try:
                asktell.get(family, name)
            except asktell.plugins.PluginUnavailableError as e:
                print("ERROR", name, e)
    """))
    before_run = out.stderr.split("RUN-OK")[0]
    assert "WARNING" not in before_run and "torch" not in before_run, before_run
    lines = out.stdout.splitlines()
    organ = next(x for x in lines if " organ " in x)
    assert 'needs torch: pip install "asktell[torch]"' in organ
    qed = next(x for x in lines if " qed " in x)
    assert 'needs rdkit: pip install "asktell[chem]"' in qed
    assert not [x for x in lines if x.startswith("FAILED")]
    errors = {x.split()[1]: x for x in lines if x.startswith("ERROR")}
    assert set(errors) == {"organ", "qed", "deepset"}
    assert 'pip install "asktell[torch]"' in errors["organ"]
    assert 'pip install "asktell[chem]"' in errors["qed"]


def test_package_names_are_lazy_and_listed_once_for_type_checkers():
    """``asktell``'s public names are imported on first use; the type checkers' imports, the
    lazy table and ``__all__`` name the same things."""
    import ast

    tree = ast.parse((ROOT / "asktell" / "__init__.py").read_text())
    checked = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                checked.update({a.name: f".{imp.module}" for a in imp.names})
    assert checked == asktell._EXPORTS
    assert set(asktell.__all__) == set(asktell._EXPORTS) | {"__version__"}
    out = run_python("""
        import json, sys
        import asktell
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("asktell"))))
        asktell.Controller, asktell.plugins.registry, asktell.fmin
    """)
    assert json.loads(out.stdout) == ["asktell", "asktell._lazy", "asktell._version"]
    assert callable(asktell.fmin) and asktell.plugins.registry is asktell.registry
