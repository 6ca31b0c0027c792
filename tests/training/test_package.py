"""The training package: lazy names, and Lightning only when a Lightning-based name is used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import dynvision.training as training


def test_public_names_resolve():
    for name in training.__all__:
        assert getattr(training, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'fit'"):
        training.fit  # noqa: B018


def test_torch_only_parts_do_not_import_lightning():
    code = ("import sys, dynvision.training as t; "
            "import dynvision.training.temporal, dynvision.training.bptt, dynvision.training.optim, "
            "dynvision.training.evaluate, dynvision.training.cli, dynvision.models.pretrained; "
            "t.Presentation; t.evaluate; t.add_train_command; "
            "heavy = [m for m in ('lightning', 'pytorch_lightning') if m in sys.modules]; "
            "assert not heavy, heavy; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
