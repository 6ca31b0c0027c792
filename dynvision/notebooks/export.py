"""Export executed notebooks to HTML that reads offline.

nbconvert's default ``lab`` template inlines its CSS and base64 images, but its page head loads
require.js, MathJax and mermaid from cdnjs, and widget state pulls the widget manager from
unpkg. None of that is needed to read text, tables, tracebacks and PNG/SVG figures, so the
template used here drops those script tags: the HTML opens from a file share or an archive
without network access. What is lost offline anyway: LaTeX shows as its ``$...$`` source,
mermaid diagrams as text, and widgets (and JavaScript outputs that need require.js, e.g.
some Bokeh/Plotly renderings) fall back to their static representation. Markdown images are
embedded so the HTML is a single file. Outputs with no data at all (HoloViews displays a few)
render nothing and are left out, so nbconvert does not warn about them.

Example:
    >>> from dynvision.notebooks.export import export_html
    >>> export_html("results/contrast/contrast.ipynb")  # doctest: +SKIP
    PosixPath('results/contrast/contrast.html')
"""

from __future__ import annotations

from pathlib import Path

OFFLINE_TEMPLATE_NAME = "dynvision_offline.html.j2"
OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


def export_html(notebook: str | Path, html_path: str | Path | None = None,
                images_dir: str | Path | None = None) -> Path:
    """Write an offline-readable HTML copy of ``notebook``.

    Args:
        notebook: An ``.ipynb`` file (usually an executed one).
        html_path: Where to write; default: beside the notebook with suffix ``.html``.
        images_dir: Folder that relative Markdown image links are resolved against for
            embedding (default: the notebook's folder; pass the source notebook's folder
            when exporting an executed copy written elsewhere).

    Returns:
        The path of the HTML file.

    Example:
        >>> export_html("out/add/add.ipynb").name  # doctest: +SKIP
        'add.html'
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    images_dir = Path(images_dir) if images_dir is not None else notebook.parent
    target = Path(html_path) if html_path is not None else notebook.with_suffix(".html")
    exporter = HTMLExporter(template_name="lab", template_file=OFFLINE_TEMPLATE_NAME,
                            extra_loaders=[DictLoader({OFFLINE_TEMPLATE_NAME: OFFLINE_TEMPLATE})],
                            embed_images=True)
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if not _empty(o)]
    resources = {"metadata": {"name": notebook.stem, "path": str(images_dir)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    return target


def _empty(output) -> bool:
    """A display or result output without any data (nothing to render)."""
    return output.get("output_type") in ("display_data", "execute_result") and not output.get("data")
