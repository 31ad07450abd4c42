"""MkDocs hook: the Tensor page lists the methods that ``_tensor_methods`` attaches.

Most of ``Tensor``'s methods (``x.add(y)``, ``x.sum()``, the in-place ``x.add_(y)``, ...)
are the functions of the ``tapegrad`` namespace, attached to the class when tapegrad is
imported, so the API reference, which reads ``_tensor.py``'s source, does not see them.
A line ``<!-- tensor-methods -->`` in a page becomes a table of every public method and
property of the imported ``Tensor`` that ``_tensor.py`` does not define itself, with the
first line of its docstring.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

MARKER = "<!-- tensor-methods -->"
SOURCE = Path(__file__).resolve().parents[2] / "tapegrad" / "_tensor.py"


def _defined_in_source() -> set[str]:
    """The names the ``class Tensor`` statement of ``_tensor.py`` binds."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor"]
    names = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _summary(value) -> str:
    doc = inspect.getdoc(value.fget if isinstance(value, property) else value) or ""
    first = doc.strip().split("\n\n")[0]
    return " ".join(first.split()).replace("|", "\\|")


def attached_methods() -> list[tuple[str, str]]:
    """``(name, summary)`` of every public attribute attached to ``Tensor`` at import."""
    from tapegrad import Tensor

    own = _defined_in_source()
    rows = []
    for name, value in sorted(vars(Tensor).items()):
        if name.startswith("_") or name in own:
            continue
        rows.append((name, _summary(value)))
    return rows


def methods_table() -> str:
    import tapegrad

    lines = ["| method | what it does |", "|---|---|"]
    for name, summary in attached_methods():
        if not summary and callable(getattr(tapegrad, name, None)):
            summary = f"`tapegrad.{name}(self, ...)`"
        lines.append(f"| `{name}` | {summary or '(no docstring yet)'} |")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, methods_table())
