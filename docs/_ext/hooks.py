"""MkDocs hook: put the live ``--help`` of every ``dynvision`` command into docs/cli.md.

A page line ``<!-- dynvision-help -->`` becomes one section per command with the text
``dynvision COMMAND --help`` prints, so the reference never drifts from the code.
"""

from __future__ import annotations

import contextlib
import io

MARKER = "<!-- dynvision-help -->"


def _help(argv: list[str]) -> str:
    from dynvision.cli import build_parser

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        build_parser(argv).parse_args([*argv, "--help"])
    return out.getvalue().rstrip()


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - the MkDocs hook signature
    if MARKER not in markdown:
        return markdown
    from dynvision.cli import COMMANDS

    sections = ["### dynvision\n\n```text\n" + _help([]) + "\n```"]
    for name in COMMANDS:
        argv = ["notebook", "run"] if name == "notebook" else [name]
        sections.append(f"### dynvision {' '.join(argv)}\n\n```text\n{_help(argv)}\n```")
    return markdown.replace(MARKER, "\n\n".join(sections))
