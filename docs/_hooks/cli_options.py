"""MkDocs hook: the CLI page's options come from the `tapegrad` command's own parser.

A line ``<!-- tapegrad-cli -->`` in a page becomes, for every subcommand of
``tapegrad.cli._parser()`` in ``tapegrad --help``'s order, a section with its usage,
description and a table of its options, so the page lists exactly what the installed
command accepts (a subcommand or option added to ``cli.py`` appears without editing docs).
"""

from __future__ import annotations

import argparse
import os

MARKER = "<!-- tapegrad-cli -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{names}`"
    metavar = action.metavar or action.dest.upper()
    if action.nargs == "?":
        return f"`{names} [{metavar}]`"
    return f"`{names} {metavar}`"


def _subcommand(name: str, parser: argparse.ArgumentParser, summary: str) -> str:
    usage = parser.format_usage().removeprefix("usage: ").strip()
    lines = [f"## `tapegrad {name}`", "", summary[:1].upper() + summary[1:] + ".", ""]
    lines += ["```text", usage, "```", ""]
    if parser.description:
        lines += [parser.description, ""]
    formatter = parser._get_formatter()
    rows = [
        f"| {_option(a)} | {_cell(formatter._expand_help(a))} |"
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction) and a.help is not argparse.SUPPRESS
    ]
    if rows:
        lines += ["| argument | meaning |", "|---|---|", *rows, ""]
    return "\n".join(lines)


def cli_reference() -> str:
    """The generated Markdown: one section per subcommand of ``tapegrad``."""
    os.environ.setdefault("COLUMNS", "88")  # argparse wraps usage lines to this width
    from tapegrad import cli

    parser = cli._parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {c.dest: c.help or "" for c in commands._choices_actions}
    return "\n".join(
        _subcommand(name, sub, summaries.get(name, "")) for name, sub in commands.choices.items()
    )


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_reference())
