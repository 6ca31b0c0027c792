"""``dynvision explore``: serve the activation explorer (and the model explorer) in a browser.

The server (:func:`dynvision.views.serve_explorer`) listens on 127.0.0.1 unless told
otherwise, and serves every script itself (works offline).

Example:
    $ dynvision explore results/contrast --port 5010
"""

from __future__ import annotations

import argparse

from dynvision.views.serve import DEFAULT_PORT  # a light module (no panel until a server starts)

EPILOG = """examples:
  dynvision explore results/contrast                # an experiment folder (one tree per model)
  dynvision explore results/run.zarr --port 5010    # one activation store
  dynvision explore --model-explorer                # sliders for dt, tau, delays... on a tiny model
  dynvision explore results/contrast --model-explorer --address 0.0.0.0   # reachable from other hosts

Open the printed address in a browser; stop with Ctrl-C. The server listens on 127.0.0.1 unless
--address says otherwise; --port 0 picks a free port."""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``explore`` to ``subparsers``."""
    p = subparsers.add_parser(
        "explore", help="explore activations (and model dynamics) in the browser",
        description="Serve an interactive explorer of stored activations: areas, channels, conditions\n"
                    "and time (with a play button) beside the stimulus, and optionally a model explorer.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("store", nargs="?", metavar="STORE",
                   help="an activation zarr store (path or URL) or an experiment folder (activations/*.zarr)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--address", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--model-explorer", action="store_true",
                   help="add a tab with sliders for dt, tau, delays and recurrence on a tiny model")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.set_defaults(func=run, _parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C."""
    from dynvision.validation import check_int

    if args.store is None and not args.model_explorer:
        raise ValueError("nothing to explore: give a STORE (an activation store or experiment folder), "
                         "or --model-explorer")
    check_int("--port", args.port, lo=0, hi=65535)
    from dynvision.views.serve import serve_explorer

    try:
        serve_explorer(args.store, port=args.port, address=args.address, show=args.show,
                       model_explorer=args.model_explorer, threaded=False)
    except KeyboardInterrupt:
        pass
    return 0
