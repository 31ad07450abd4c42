"""The documentation site (mkdocs.yml, docs/): the tour runs, the API is documented.

- The tour's Python blocks run, in order, as one program: the page cannot rot.
- Every public name of every module the API reference documents (the ``::: module``
  lines of ``docs/api/*.md``) has a docstring; the rule for "public" is the one the site
  uses (``docs/_hooks/public_api.py``).
- Every API page is in the site's navigation, and the build hooks that generate the CLI
  options and the examples' figures cover every subcommand, option and figure.

``mkdocs build --strict`` itself runs in CI (``.ci/run``), not here: it takes tens of
seconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _hook(name: str):
    """Import a build hook of docs/_hooks/ by path (it is not a package)."""
    path = DOCS / "_hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_docs_hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


public_api = _hook("public_api")

# Public names known to lack a docstring, by module (empty now: every one has one). The
# test below fails when one of them gets a docstring, so that it is struck from this list
# (the list only shrinks), and when a new undocumented name appears.
UNDOCUMENTED_OPS: dict[str, set[str]] = {}


def _python_blocks(page: Path) -> str:
    """The page's ```python blocks as one program, each line at its line in the page (so
    that a traceback names the page's line); everything else is blank lines."""
    lines = page.read_text(encoding="utf-8").splitlines()
    program, inside = [], False
    for line in lines:
        if not inside and line.strip() == "```python":
            inside = True
            program.append("")
        elif inside and line.strip() == "```":
            inside = False
            program.append("")
        else:
            program.append(line if inside else "")
    assert not inside, f"{page}: a ```python block is not closed"
    return "\n".join(program)


def test_tour_runs(tmp_path, monkeypatch):
    page = DOCS / "tour.md"
    program = _python_blocks(page)
    assert program.count("import tapegrad") >= 1 and "backward()" in program
    monkeypatch.chdir(tmp_path)  # whatever the tour writes stays in tmp_path
    exec(compile(program, str(page), "exec"), {"__name__": "__tour__"})


def _documented_modules():
    modules = public_api.documented_modules()
    assert modules, "no ::: lines in docs/api/*.md"
    return modules


@pytest.mark.parametrize("module", _documented_modules(), ids=lambda m: m.__name__)
def test_public_names_have_docstrings(module):
    assert (module.__doc__ or "").strip(), f"{module.__name__} has no module docstring"
    missing_attr, undocumented = [], set()
    for name in public_api.public_names(module):
        if not hasattr(module, name):
            missing_attr.append(name)
            continue
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue  # a documented submodule has a page (and this test) of its own
        if (inspect.isclass(value) or inspect.isroutine(value)) and not (
            value.__doc__ or ""
        ).strip():
            undocumented.add(name)
    assert not missing_attr, f"{module.__name__}.__all__ names missing attributes: {missing_attr}"
    known = UNDOCUMENTED_OPS.get(module.__name__, set())
    new = sorted(undocumented - known)
    assert not new, f"public names of {module.__name__} without a docstring: {new}"
    fixed = sorted(known - undocumented)
    assert not fixed, f"these have docstrings now: strike them from UNDOCUMENTED_OPS: {fixed}"


def test_every_api_page_is_in_the_nav():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = set(re.findall(r"^\s*- .*?:\s*(api/\S+\.md)\s*$", config, re.M))
    pages = {f"api/{p.name}" for p in (DOCS / "api").glob("*.md")}
    assert pages - nav == set(), "pages missing from mkdocs.yml's nav"
    assert nav - pages == set(), "nav entries without a page"
    for page in sorted(pages):
        assert re.search(r"^::: tapegrad\b", (DOCS / page).read_text(), re.M), page


def test_cli_page_lists_every_subcommand_and_option():
    from tapegrad import cli

    text = _hook("cli_options").cli_reference()
    parser = cli._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"train", "evaluate", "run", "info"} <= set(commands.choices)
    for name, sub in commands.choices.items():
        assert f"## `tapegrad {name}`" in text
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in text or f", {option}" in text, (name, option)
    assert "(default: 10)" in text  # --epochs's default, expanded by the command's formatter
    assert "<!-- tapegrad-cli -->" in (DOCS / "cli.md").read_text()


def test_examples_page_shows_every_committed_figure():
    text = _hook("figures").figure_sections()
    figures = sorted(p.name for p in (ROOT / "examples" / "figures").glob("*.png"))
    assert figures
    for png in figures:
        assert f"](examples/figures/{png})" in text, f"{png} is on no example's row"
    assert "<!-- example-figures -->" in (DOCS / "examples.md").read_text()


def test_tensor_page_lists_the_attached_methods():
    rows = dict(_hook("tensor_methods").attached_methods())
    for name in ("add", "add_", "sum", "view", "reshape", "matmul", "backward"):
        assert name in rows or name in _hook("tensor_methods")._defined_in_source(), name
    assert "Elementwise abs" in rows["abs"]
