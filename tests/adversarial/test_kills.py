"""Writers killed in the middle (SIGKILL: no cleanup, no finally): the resumed store is the
uninterrupted run's store, bit for bit (every file's bytes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dynvision import Simulation
from dynvision.io import check_store, store_status

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from writer_child import model, stimulus  # noqa: E402

N, BATCH = 6, 2  # 3 units of 4 chunk writes each (logits, V1, V2, stimulus)


def _files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    store = tmp_path_factory.mktemp("ref") / "acts.zarr"
    Simulation(model(), progress=False, batch_size=BATCH).run(stimulus(1, N), store=store)
    return _files(store)


def _resume_and_compare(store: Path, reference: dict[str, bytes]) -> None:
    Simulation(model(), progress=False, batch_size=BATCH).run(stimulus(1, N), store=store)
    got = _files(store)
    assert sorted(got) == sorted(reference)
    different = [k for k in reference if got[k] != reference[k]]
    assert not different, different
    assert check_store(store).ok


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [2, 7, 12])  # inside unit 0, unit 1, and the last unit's last write
def test_kill_inside_a_region_write_then_resume_is_bit_identical(tmp_path, reference, kill_at):
    store = tmp_path / "acts.zarr"
    proc = subprocess.run([sys.executable, str(HERE / "writer_child.py"), str(store), "1", "--n", str(N),
                           "--batch", str(BATCH), "--kill-at", str(kill_at)], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    status = store_status(store)
    assert status["units_done"] == (kill_at - 1) // 4  # the unit being written is not recorded
    _resume_and_compare(store, reference)


@pytest.mark.slow
def test_kills_at_random_times_then_resume_is_bit_identical(tmp_path, reference):
    rng = np.random.default_rng(14)
    killed_in = []
    n = 24  # 24 units of one sample: kills land between and inside units
    ref_store = tmp_path / "ref.zarr"
    Simulation(model(), progress=False, batch_size=1).run(stimulus(1, n), store=ref_store)
    ref = _files(ref_store)
    # kill once the writer has recorded a random number of units, plus a random fraction of a unit
    for i, (target, delay) in enumerate(zip(rng.integers(0, n - 1, size=4), rng.uniform(0.0, 0.02, size=4))):
        store = tmp_path / f"acts{i}.zarr"
        proc = subprocess.Popen([sys.executable, str(HERE / "writer_child.py"), str(store), "1", "--n", str(n),
                                 "--batch", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if store_status(store)["units_done"] >= target:
                    break
            except (TypeError, ValueError, FileNotFoundError):
                pass  # no store or no record yet
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        status = store_status(store) if store.exists() else None
        killed_in.append(None if status is None else status["units_done"])
        # resume with the same batch size as the killed writer (1), then compare with batch 1
        Simulation(model(), progress=False, batch_size=1).run(stimulus(1, n), store=store)
        assert _files(store) == ref, f"killed after {killed_in[-1]} units"
    print("units done when killed:", killed_in)
