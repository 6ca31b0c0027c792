"""``dynvision check``: the subcommand module on a sound and a damaged store."""

import argparse

import pytest

from dynvision import Simulation
from dynvision.io import check_cli

from shared_helpers import make_stimulus


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="dynvision")
    check_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["check", *map(str, argv)])


def test_check_reports_sound_and_damaged_stores(tiny_model, tmp_path, capsys):
    store = tmp_path / "acts.zarr"
    stim = make_stimulus(n=4)
    Simulation(tiny_model, progress=False, batch_size=2).run(stim, store=store)
    args = _parse(store)
    assert args.func(args) == 0
    assert "complete, 2 of 2 units written; every chunk read and verified: OK" in capsys.readouterr().out
    chunk = sorted((store / "V2" / "activity" / "c").rglob("*"))[-1]
    chunk.write_bytes(chunk.read_bytes()[:10])
    args = _parse(store, "--quick")
    assert args.func(args) == 1
    out = capsys.readouterr().out
    assert "1 problem(s)" in out and "V2/activity/c/1" in out and "truncated" in out and "rerun" in out
    args = _parse(store, "--forget-damaged")
    assert args.func(args) == 1 and "marked 1 unit(s)" in capsys.readouterr().out
    Simulation(tiny_model, progress=False, batch_size=2).run(stim, store=store)  # recomputes unit 1
    assert args.func(_parse(store)) == 0


def test_check_of_a_missing_store_is_a_one_line_error(tmp_path):
    args = _parse(tmp_path / "none.zarr")
    with pytest.raises(FileNotFoundError, match="no activation store at"):
        args.func(args)
