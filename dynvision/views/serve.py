"""Serve the explorers in a browser: :func:`serve_explorer` and the ``dynvision explore`` command.

The server is Panel's (Bokeh/Tornado): every browser session gets its own explorer on the
same lazily opened stores. By default it listens on 127.0.0.1 only and accepts websocket
connections from that address and port; all JavaScript and CSS come from the server itself,
so it works without network access. The ``dynvision explore`` command is
:mod:`dynvision.cli.explore`; :func:`add_explore_command` registers it on any argparse parser.

Example:
    >>> from dynvision.views import serve_explorer
    >>> server = serve_explorer("results/contrast", port=5006)  # doctest: +SKIP
    >>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import socket
from typing import Any, Mapping

DEFAULT_PORT = 5006


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``address`` right now.

    Example:
        >>> 1024 < free_port() < 65536
        True
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def explorer_app(store: Any = None, model_explorer: bool | Mapping[str, Any] = False):
    """A function that builds a fresh explorer layout per browser session.

    Args:
        store: Activations (anything :class:`~dynvision.views.ActivationExplorer` accepts), or
            ``None`` for the model explorer alone.
        model_explorer: Add a :class:`~dynvision.views.ModelExplorer` tab (a mapping gives its
            constructor arguments).

    Raises:
        ValueError: Neither a store nor the model explorer.
        FileNotFoundError: ``store`` holds no activations.
    """
    from dynvision.views.trees import as_trees

    if store is None and not model_explorer:
        raise ValueError("nothing to explore: give a store (path, URL, tree or result) or model_explorer=True")
    trees = as_trees(store) if store is not None else None  # opened once (lazily), checked now

    def app():
        import panel as pn

        from dynvision.views.explorer import ActivationExplorer
        from dynvision.views.model_explorer import ModelExplorer

        tabs = []
        if trees is not None:
            tabs.append(("Activations", ActivationExplorer(trees).panel()))
        if model_explorer:
            kwargs = dict(model_explorer) if isinstance(model_explorer, Mapping) else {}
            tabs.append(("Model dynamics", ModelExplorer(**kwargs).panel()))
        return tabs[0][1] if len(tabs) == 1 else pn.Tabs(*tabs, dynamic=True)

    return app


def serve_explorer(store: Any = None, port: int = DEFAULT_PORT, address: str = "127.0.0.1", show: bool = False,
                   *, model_explorer: bool | Mapping[str, Any] = False, threaded: bool = True,
                   title: str = "dynvision explorer", **kwargs: Any):
    """Serve the activation explorer (and/or the model explorer) with Panel.

    Args:
        store: Activations: a store path or URL, an experiment folder, a tree, an
            ``ExperimentResult`` or ``{label: tree}``; ``None`` with ``model_explorer``.
        port: TCP port (``0``: pick a free one; read it back from ``server.port``
            when not threaded).
        address: Interface to listen on (``"0.0.0.0"`` exposes it to the network).
        show: Open a browser tab.
        model_explorer: Add the model explorer (a mapping gives its arguments).
        threaded: Run the server in a background thread and return at once (stop it with
            ``.stop()``); otherwise block until interrupted.
        title: Browser tab title.
        **kwargs: Passed to ``panel.serve``.

    Returns:
        The server thread (``threaded``) or the Bokeh server.

    Example:
        >>> server = serve_explorer("results/contrast", port=5010)  # doctest: +SKIP
        >>> # open http://127.0.0.1:5010 ... then
        >>> server.stop()  # doctest: +SKIP
    """
    import panel as pn

    from dynvision.views.offline import ensure_backend

    app = explorer_app(store, model_explorer)
    ensure_backend()
    port = int(port) or free_port(address)
    origins = [f"{address}:{port}"]
    if address in ("127.0.0.1", "localhost"):
        origins += [f"localhost:{port}", f"127.0.0.1:{port}"]
    kwargs.setdefault("verbose", True)
    return pn.serve(app, port=port, address=address, websocket_origin=sorted(set(origins)), show=show,
                    threaded=threaded, title=title, **kwargs)


def add_explore_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``explore [STORE] [--port] [--address] [--model-explorer] [--show]``.

    The command lives in :mod:`dynvision.cli.explore`; here its user errors exit with status 2
    through ``parser.error`` (for code that dispatches ``args.func(args)`` itself).

    Example:
        >>> parser = argparse.ArgumentParser(prog="dynvision")
        >>> _ = add_explore_command(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["explore", "results/contrast", "--port", "5010"])
        >>> args.store, args.port, args.address
        ('results/contrast', 5010, '127.0.0.1')
    """
    from dynvision.cli import explore
    from dynvision.cli.app import usage_errors

    parser = explore.register(subparsers)
    parser.set_defaults(func=usage_errors(explore.run, parser))
    return parser


__all__ = ["DEFAULT_PORT", "add_explore_command", "explorer_app", "free_port", "serve_explorer"]
