"""MkDocs hook: the examples page shows the figures of ``examples/figures/`` in place.

The PNGs live once in the repository, in ``examples/figures/`` (the examples write them
there); ``on_files`` adds each to the site at ``examples/figures/NAME.png`` without a copy
in ``docs/``. A line ``<!-- example-figures -->`` in a page becomes one section per
example of ``examples/README.md``'s table that has a committed figure: its title, the
figures, and the table's description, so that the README stays the only text to maintain.
``mkdocs build --strict`` checks that every figure linked exists.
"""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FIGURES = EXAMPLES / "figures"
MARKER = "<!-- example-figures -->"


def on_files(files, config):
    from mkdocs.structure.files import File

    for png in sorted(FIGURES.glob("*.png")):
        files.append(File.generated(config, f"examples/figures/{png.name}", abs_src_path=str(png)))
    return files


def figure_sections() -> str:
    """One Markdown section per example of examples/README.md with committed figures."""
    sections = []
    for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or "python examples/" not in cells[1]:
            continue
        title, command, description = cells
        pngs = [p for p in re.findall(r"`([\w-]+\.png)`", description) if (FIGURES / p).is_file()]
        if not pngs:
            continue
        sections += [f"### {title}", "", command, ""]
        sections += [f"![{p}](examples/figures/{p})" for p in pngs]
        sections += ["", description, ""]
    return "\n".join(sections)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, figure_sections())
