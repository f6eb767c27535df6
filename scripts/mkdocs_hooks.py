"""MkDocs hooks for asktell's documentation site (``hooks:`` in mkdocs.yml).

- The API reference: one page per module of the core and one per built-in plugin, generated at
  build time (so a new module is documented without anyone adding a page) and appended to the
  navigation; mkdocstrings renders each from its numpy-style docstrings.
- The benchmark figures: the docs link them where they live, ``../benchmarks/results/*.png``
  (so the Markdown reads right on a forge too); the site copies them under ``figures/`` and
  rewrites those links.
- Undocumented public objects: every class and function in a documented module's ``__all__``
  (and each public method of those classes) must have a docstring, else a warning, which
  ``mkdocs build --strict`` turns into a failure.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.asktell")

ROOT = Path(__file__).resolve().parents[1]
FIGURES_SRC = ROOT / "benchmarks" / "results"
FIGURES_URI = "figures"
_FIG_LINK = re.compile(r"\]\(\.\./benchmarks/results/([^)\s]+)\)")

PLUGIN_TITLES = {
    "asktell_optim": "optim: XNES, SNES, CMA-ES, PSO, Nelder–Mead",
    "asktell_chem": "chem: SMILES data, tokeniser, rewards, metrics",
    "asktell_organ": "organ: ORGAN and SA-ORGAN",
    "asktell_qml": "qml: Coulomb matrices, kernels, KRR",
    "asktell_rbm": "rbm: RBMs and RBM-EDA",
    "asktell_cinn": "cinn: conditional invertible networks",
}


def core_modules() -> list[str]:
    """Public modules and subpackages of the core, by dotted name."""
    names = []
    for p in sorted((ROOT / "asktell").iterdir()):
        if p.name.startswith("_"):
            continue
        if p.suffix == ".py":
            names.append(f"asktell.{p.stem}")
        elif (p / "__init__.py").is_file():
            names.append(f"asktell.{p.name}")
    return names


def plugin_packages() -> list[str]:
    """The built-in plugins' top-level packages."""
    return sorted(p.name for p in (ROOT / "plugins").iterdir()
                  if (p / "__init__.py").is_file())


def api_pages() -> dict[str, tuple[str, str]]:
    """``{src_uri: (title, markdown)}`` of the API reference."""
    pages: dict[str, tuple[str, str]] = {}
    core = core_modules()
    plugins = plugin_packages()
    lines = ["# API reference", "",
             "Rendered from the docstrings (numpy style) of the core and of every built-in "
             "plugin.", "", "## The core", ""]
    lines += [f"- [`{m}`]({m}.md)" for m in ["asktell", *core]]
    lines += ["", "## Built-in plugins", ""]
    lines += [f"- [`{p}`]({p}.md): {PLUGIN_TITLES.get(p, p).split(': ', 1)[-1]}"
              for p in plugins]
    pages["api/index.md"] = ("Overview", "\n".join(lines) + "\n")
    pages["api/asktell.md"] = ("asktell", "# `asktell`\n\n::: asktell\n    options:\n"
                               "      show_root_heading: false\n      members: false\n\n"
                               "The package re-exports the main names of its modules: see "
                               "each module's page.\n")
    for m in core:
        pages[f"api/{m}.md"] = (m.split(".", 1)[1], f"# `{m}`\n\n::: {m}\n    options:\n"
                                "      show_root_heading: false\n")
    for p in plugins:
        pages[f"api/{p}.md"] = (PLUGIN_TITLES.get(p, p).split(":")[0],
                                f"# `{p}`\n\n::: {p}\n    options:\n"
                                "      show_root_heading: false\n")
    return pages


def on_config(config: Any) -> Any:
    pages = api_pages()
    core = [{t: uri} for uri, (t, _) in pages.items()
            if uri.startswith("api/asktell") and uri != "api/index.md"]
    plugins = [{t: uri} for uri, (t, _) in pages.items() if uri.startswith("api/asktell_")]
    core = [c for c in core if c not in plugins]
    config["nav"].append({"API reference": [{"Overview": "api/index.md"}, {"Core": core},
                                            {"Plugins": plugins}]})
    return config


def on_files(files: Files, config: Any) -> Files:
    for uri, (_, text) in api_pages().items():
        files.append(File.generated(config, uri, content=text))
    if FIGURES_SRC.is_dir():
        for png in sorted(FIGURES_SRC.glob("*.png")):
            files.append(File.generated(config, f"{FIGURES_URI}/{png.name}",
                                        abs_src_path=str(png)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    depth = page.file.src_uri.count("/")
    prefix = "../" * depth + FIGURES_URI + "/"
    return _FIG_LINK.sub(lambda m: f"]({prefix}{m.group(1)})", markdown)


def on_post_build(config: Any) -> None:
    """Warn about each public object of a documented module that has no docstring."""
    try:
        import griffe
    except ImportError:  # pragma: no cover - comes with mkdocstrings-python
        log.warning("griffe is not installed: the undocumented-object check did not run")
        return
    loader = griffe.GriffeLoader(search_paths=[str(ROOT), str(ROOT / "plugins")],
                                 docstring_parser=griffe.Parser.numpy)
    for name in ["asktell", *plugin_packages()]:
        loader.load(name)
    loader.resolve_aliases(implicit=False, external=False)
    modules = [*core_modules(), *plugin_packages()]
    missing: list[str] = []
    for mod_name in modules:
        mod = loader.modules_collection[mod_name]
        exported = mod.exports if mod.exports is not None else [
            n for n in mod.members if not n.startswith("_")]
        for export in exported:
            export = str(export)
            if export not in mod.members:
                continue
            obj = mod.members[export]
            try:
                target = obj.final_target if obj.is_alias else obj
            except Exception:  # an alias to something outside the project
                continue
            if target.is_module or target.is_attribute:
                continue  # constants are described in their module's docstring
            if not target.docstring:
                missing.append(target.path)
            if target.is_class:
                for mname, member in target.members.items():
                    if mname.startswith("_") or member.is_alias or member.is_attribute:
                        continue
                    if not member.docstring and not _inherits_doc(target, mname):
                        missing.append(member.path)
    for path in sorted(set(missing)):
        log.warning("undocumented public object: %s (give it a docstring)", path)


def _inherits_doc(cls: Any, name: str) -> bool:
    """An override without a docstring is documented by the method it overrides."""
    try:
        bases = cls.mro()
    except Exception:
        return False
    for base in bases:
        member = base.members.get(name)
        if member is not None and member.docstring:
            return True
    return False
