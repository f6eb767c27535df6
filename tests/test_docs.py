"""Documentation stays true: README and docs code blocks run, the plugin guide matches the hooks."""

import inspect
import re
import sys
import types
from pathlib import Path

import cloudpickle
import pytest

from asktell import hookspecs

ROOT = Path(__file__).parents[1]


def python_blocks(path):
    text = path.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(path)
    # Run as a real module, so classes defined in the docs can be pickled.
    name = "docs_" + re.sub(r"\W", "_", path.stem)
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    # Worker processes cannot import this module: send its functions by value.
    cloudpickle.register_pickle_by_value(module)
    try:
        for code in blocks:
            if code.lstrip().startswith("# not run"):
                continue
            exec(compile(code, f"{path.name}", "exec"), module.__dict__)
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def test_plugin_guide_documents_every_hook_with_its_signature():
    guide = (ROOT / "docs" / "plugin-guide.md").read_text()
    for family, hook in hookspecs.FAMILIES.items():
        fn = getattr(hookspecs, hook)
        sig = f"{hook}{inspect.signature(fn)}".replace("'", "")
        assert sig in guide, f"docs/plugin-guide.md must document `{sig}`"
        assert f'"{family}"' in guide
