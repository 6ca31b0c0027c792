"""Griffe extension for the API reference: the package's docstring habits, read as Markdown.

- ``Example:`` (singular, as the package writes it) is read as the ``Examples:`` section
  of doctest examples; Griffe would otherwise render it as an admonition of Markdown and
  turn ``>>> f()`` output such as ``[1, 2]`` into broken links.
- Sphinx roles (``:class:`~dynvision.x.Y```, ``:func:`f```, ``:mod:`m```) become inline
  code (``Y``, ``f``, ``m``) instead of showing their role markup.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"(?m)^(\s*)Example:\s*$")
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc):`(~?)([^`]+)`")


def _role(match: re.Match) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SingularExamples(griffe.Extension):
    """Rewrite ``Example:`` headers and Sphinx roles before docstrings are parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002
        if obj.docstring is not None:
            text = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
            obj.docstring.value = _ROLE.sub(_role, text)
