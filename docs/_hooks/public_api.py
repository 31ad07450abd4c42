"""Which names of a tapegrad module are its public API, for the site and for the tests.

One rule serves both `mkdocs build` (a Griffe extension that shows exactly these names on
the API pages) and `tests/test_docs.py` (each of them has a docstring):

- a module with ``__all__``: the names it lists;
- a module without: the names without a leading underscore whose value is tapegrad's
  own (its ``__module__`` is in tapegrad), so that ``import numpy as np`` or
  ``from typing import Any`` do not count, nor submodules (each documented module has a
  page of its own); a class counts only where it is defined (in the module, its
  subpackages, or the ``tapegrad.ops`` implementation layer), so that ``Tensor`` imported
  into ``tapegrad.nn.functional`` for its annotations is documented once, as
  ``tapegrad.Tensor``.

The documented modules are the ones the pages under ``docs/api/`` name in ``::: module``
lines: adding a page documents a module and puts it under the tests.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from pathlib import Path

try:
    from griffe import Extension
except ImportError:  # the tests run without the docs extra
    Extension = object

DOCS = Path(__file__).resolve().parent.parent


def public_names(module: types.ModuleType) -> list[str]:
    """The public names of ``module``, by the rule in this file's docstring."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    public = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        owner = getattr(value, "__module__", None)
        if not isinstance(owner, str) or not _within(owner, "tapegrad"):
            continue
        if inspect.isclass(value) and not (
            _within(owner, module.__name__) or _within(owner, "tapegrad.ops")
        ):
            continue
        public.append(name)
    return public


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def documented_objects(docs: Path = DOCS) -> list[str]:
    """The dotted names the API pages render (``::: tapegrad.nn`` lines), page by page."""
    found = []
    for page in sorted((docs / "api").glob("*.md")):
        found += re.findall(r"^:::\s*(\S+)", page.read_text(encoding="utf-8"), re.M)
    return found


def documented_modules(docs: Path = DOCS) -> list[types.ModuleType]:
    """The modules among :func:`documented_objects` (``tapegrad.Tensor`` is a class)."""
    modules = []
    for name in documented_objects(docs):
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError:
            continue
    return modules


_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")


def fence_doctests(text: str) -> str:
    """Put the unindented doctest lines (``>>> code``, ``... more``, and the output lines
    that follow them) of a docstring in a ``pycon`` code fence.

    Markdown would read ``>>>`` as nested block quotes; pydoc and Sphinx show these
    lines as code, and so does the site. Indented ones (Google ``Examples:`` sections,
    code blocks) are code already and stay as they are.
    """
    out: list[str] = []
    in_block = False
    for line in text.split("\n"):
        if _PROMPT.match(line) or (in_block and line.strip() and not line[0].isspace()):
            if not in_block:
                out.append("```pycon")
                in_block = True
            out.append(line)
            continue
        if in_block:
            out.append("```")
            in_block = False
        out.append(line)
    if in_block:
        out.append("```")
    return "\n".join(out)


class PublicNames(Extension):
    """Griffe extension: on the documented modules, show exactly :func:`public_names`.

    Griffe hides imported names unless ``__all__`` lists them, but tapegrad's top-level
    package and ``tapegrad.nn`` re-export their API by imports, as ``torch`` does.
    """

    def on_package(self, *, pkg, **kwargs) -> None:
        if pkg.name != "tapegrad":
            return
        from griffe import Alias

        _fence_all(pkg, set())

        for module in documented_modules():
            path = module.__name__.removeprefix("tapegrad").lstrip(".")
            try:
                static = pkg[path] if path else pkg
            except KeyError:
                continue
            names = public_names(module)
            for name in names:
                # A computed ``__all__`` (``tapegrad.nn.modules``) defeats Griffe's reading
                # of ``from .modules import *``: add the names it missed, pointing where
                # each is defined.
                value = getattr(module, name, None)
                home = getattr(value, "__module__", None)
                qualname = getattr(value, "__qualname__", None)
                if name not in static.members and home and qualname:
                    static.set_member(name, Alias(name, f"{home}.{qualname}", parent=static))
            for name, member in static.members.items():
                if name in names:
                    member.public = True
                elif member.is_alias or hasattr(module, "__all__"):
                    member.public = False


def _fence_all(obj, seen: set) -> None:
    """Apply :func:`fence_doctests` to the docstrings of ``obj`` and of its members."""
    if obj.path in seen:
        return
    seen.add(obj.path)
    if obj.docstring is not None and ">>>" in obj.docstring.value:
        obj.docstring.value = fence_doctests(obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _fence_all(member, seen)
