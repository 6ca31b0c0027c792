"""``dynvision check STORE``: verify an activation store (a command-line subcommand module).

Exposes ``register(subparsers)`` and ``run(args) -> int`` for the ``dynvision`` command (the
lead wires it; it can live in ``dynvision/cli/`` as it is: it imports nothing heavy until run).
Exit status: 0 when the store is sound, 1 when it has damaged chunks or metadata; user errors
(no store, not a dynvision store) raise ``ValueError``/``FileNotFoundError`` subclasses with
one-line messages for the command line to print.

Example:
    dynvision check results/contrast/activations/dyrcnnx4-digits.zarr
    dynvision check acts.zarr --quick          # sizes only: one listing, no chunk read
    dynvision check acts.zarr --forget-damaged # then rerun the simulation to recompute them
"""

from __future__ import annotations

import argparse


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand."""
    parser = subparsers.add_parser(
        "check", help="verify an activation store (every chunk's presence, size and checksum)",
        description="Verify a dynvision activation store: every written chunk must be present with the size "
                    "recorded when it was written, every metadata file must parse, and (unless --quick) every "
                    "chunk is read and its CRC32C checksum verified. Exit status 1 if anything is damaged.")
    parser.add_argument("store", help="path or fsspec URL of the zarr store")
    parser.add_argument("--quick", action="store_true", help="compare chunk sizes only (one listing, no reads)")
    parser.add_argument("--forget-damaged", action="store_true",
                        help="mark damaged units as not written, so rerunning the simulation recomputes them")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Check the store and print the report; 0 if sound, 1 if damaged."""
    from dynvision.io.check import check_store

    report = check_store(args.store, full=not args.quick, forget_damaged=args.forget_damaged)
    print(report)
    if args.forget_damaged and report.damaged_units:
        print(f"marked {len(report.damaged_units)} unit(s) as not written: rerun the same Simulation.run to "
              f"recompute them")
    return 0 if report.ok else 1
