"""The registry: entry points, broken plugins, duplicates, misspelt hooks, the example plugin."""

import importlib.metadata as md
import json
import os
import sys
import textwrap

import pytest

import asktell
from asktell.plugins import Registry, UnknownNameError
from asktell.testing import check_optimiser


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
    assert asktell.get("optimiser", "XNES").__wrapped__ is reg.get("optimiser", "xnes").__wrapped__


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
    assert e.distribution == "asktell-example-plugin" and e.version == "0.2.0"
    main(["plugins"])
    assert "random-search" in capsys.readouterr().out
    b = asktell.RectangularBoundaries([-5, -5], [5, 5])
    check_optimiser(lambda **kw: reg.create("random-search", x0=[0, 0], boundaries=b, **kw))
    himmelblau = reg.get("problem", "himmelblau")()
    opt = reg.create("random-search", x0=[0, 0], boundaries=b, popsize=50, seed=0)
    ctl = asktell.Controller(opt, asktell.SequentialEvaluator(himmelblau),
                             stop={"max_iterations": 40}, progress=False)
    assert ctl.run().fbest < 0.5
