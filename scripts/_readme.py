"""Rewrite a generated table in a Markdown file between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.

Shared by the scripts that regenerate the README's tables (``science_check.py``, ``latencies.py``).
"""

from __future__ import annotations

import re
from pathlib import Path


def replace_between(path: str | Path, marker: str, text: str | None) -> bool:
    """Replace what lies between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` with ``text``
    (``None``: only look); False if the file or its markers are missing (nothing is written then)."""
    path = Path(path)
    content = path.read_text() if path.is_file() else ""
    pattern = re.compile(rf"(<!-- {re.escape(marker)}:start -->\n)(?:.*?\n)?(<!-- {re.escape(marker)}:end -->)", re.S)
    if not pattern.search(content):
        return False
    if text is not None:
        path.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), content))
    return True
