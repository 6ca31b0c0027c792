"""Benchmark: N small notebooks run one after another vs. as a sweep on 2 Dask workers.

Each notebook does a fixed amount of single-threaded numpy work, calibrated to take about
``--seconds`` here, so the parallel sweep does the same work as the serial loop. Every leg
includes kernel start-up and the HTML export; the sweep legs also include starting and
stopping their cluster. Legs, measured one after another in one run:

* serial: ``run_notebook`` N times;
* sweep: the default local backend (a LocalCluster of threads; kernels get cores // workers
  threads);
* sweep on processes: a LocalCluster of ``--workers`` worker processes with nannies, passed as
  ``cluster=`` (what remote and dask-jobqueue workers look like);
* before: how sweeps ran before this change - ``run_notebook`` submitted to worker processes
  whose kernels inherit the nanny's environment (``MALLOC_TRIM_THRESHOLD_=65536``, one thread);
* machine ceiling: ``--workers`` plain processes of the same work at once vs one after another.

The legs run one after another, ``--rounds`` times, so a busy neighbour slows all of them alike;
the ratios to the serial leg of the same round are printed, and the ratio of the best times.

Prints figures only (target: sweep <= 0.6x serial on 2 workers; the ceiling is the best any
sweep could do on this machine right now).

Usage:
    .venv/bin/python benchmarks/sweep.py [--n 8] [--seconds 2.5] [--workers 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORK = """\
import os
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
import json, pathlib, time
import numpy as np

t0, c0 = time.perf_counter(), time.process_time()
x = work(seed, n_iter)
(pathlib.Path(output_dir) / "result.json").write_text(json.dumps({
    "seed": seed, "x": float(x), "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}))
"""

KERNEL = """\
def work(seed, n_iter, size=192):
    import numpy as np
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((size, size)) / size ** 0.5
    x = rng.standard_normal((size, size))
    for _ in range(n_iter):
        x = np.tanh(x @ w)
    return x.mean()
"""


def make_notebook(path: Path) -> Path:
    """Write the benchmark notebook: a parameters cell, the work function and the timed call."""
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# sweep benchmark\nFixed single-threaded numpy work."),
                nbformat.v4.new_code_cell("seed = 0\nn_iter = 100\noutput_dir = '.'",
                                          metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(KERNEL), nbformat.v4.new_code_cell(WORK)]
    nbformat.write(nb, path)
    return path


def calibrate(seconds: float, n: int = 100, repeats: int = 5) -> int:
    """Iterations of the work loop that take about ``seconds`` on one idle thread.

    Measured in a fresh interpreter with the same single-thread environment as the notebooks
    (limiting threads in a process that already loaded OpenBLAS is several times slower).
    The fastest of a few repeats is used: on a shared machine the others only measure how
    busy the neighbours were.
    """
    code = (f"{KERNEL}\nimport time\nbest = float('inf')\nfor _ in range({repeats}):\n"
            f"    t0 = time.perf_counter(); work(0, {n}); best = min(best, time.perf_counter() - t0)\n"
            f"print(best)")
    env = {**os.environ, **{v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    best = float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                                text=True).stdout)
    return max(1, round(n * seconds / best))


def machine_ceiling(n_iter: int, workers: int) -> float:
    """Wall-time ratio of ``workers`` plain processes of the work run at once vs one after another.

    This is the best ratio the sweep could reach right now (1.0: the cores are busy with
    other jobs; 1/workers: idle cores).
    """
    code = f"{KERNEL}\nwork(0, {n_iter})"
    env = {**os.environ, **{v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    t0 = time.perf_counter()
    for _ in range(workers):
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(workers)]
    for proc in procs:
        proc.wait()
    return (time.perf_counter() - t0) / serial


def _compute(folder: Path) -> str:
    """Mean wall and CPU time of the work cell per notebook, as the notebooks measured them."""
    import json

    results = [json.loads(p.read_text()) for p in folder.glob("*/result.json")]
    wall, cpu = (sum(r[k] for r in results) / len(results) for k in ("wall_s", "cpu_s"))
    return f"work cell {wall:.1f} s wall / {cpu:.1f} s CPU"


def _legacy(nb: Path, out: Path, n: int, n_iter: int, workers: int) -> None:
    """How sweeps ran before: run_notebook submitted to worker processes whose kernels inherit the nanny env."""
    from distributed import Client, LocalCluster

    from dynvision.notebooks import run_notebook

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        futures = [client.submit(run_notebook, nb, out / f"seed={seed}", {"seed": seed, "n_iter": n_iter}, pure=False)
                   for seed in range(n)]
        for record in client.gather(futures):
            record.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=8, help="number of notebook runs")
    parser.add_argument("--seconds", type=float, default=2.5, help="compute per run")
    parser.add_argument("--workers", type=int, default=2, help="Dask workers for the sweep")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of all legs, one after another")
    args = parser.parse_args()

    from distributed import LocalCluster

    from dynvision.notebooks import run_notebook, sweep

    n_iter = calibrate(args.seconds)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.n} notebooks x ~{args.seconds:.1f} s compute (n_iter={n_iter}), {cores} cores, {args.workers} "
          f"workers, {args.rounds} rounds of all legs; load average {os.getloadavg()[0]:.2f}")
    grid, fixed = {"seed": list(range(args.n))}, {"n_iter": n_iter}
    legs = {
        "serial (run_notebook x N)": lambda out: [
            run_notebook(nb, out / f"seed={seed}", {"seed": seed, "n_iter": n_iter}).raise_for_status()
            for seed in range(args.n)],
        "sweep, local threads (default)": lambda out: sweep(nb, grid, out, workers=args.workers, fixed=fixed,
                                                             progress=False),
        "sweep, worker processes": lambda out: _sweep_on_processes(sweep, LocalCluster, nb, grid, out, fixed,
                                                                   args.workers),
        "before: processes, nanny env": lambda out: _legacy(nb, out, args.n, n_iter, args.workers),
    }
    times: dict[str, list[float]] = {name: [] for name in legs}
    ceilings = []
    with tempfile.TemporaryDirectory() as tmp:
        nb = make_notebook(Path(tmp) / "work.ipynb")
        for r in range(args.rounds):
            for i, (name, leg) in enumerate(legs.items()):
                out = Path(tmp) / f"r{r}-leg{i}"
                t0 = time.perf_counter()
                leg(out)
                times[name].append(time.perf_counter() - t0)
                print(f"round {r + 1}  {name:32s} {times[name][-1]:6.1f} s  ({_compute(out)})")
            ceilings.append(machine_ceiling(n_iter, args.workers))
            print(f"round {r + 1}  machine ceiling: {ceilings[-1]:.2f}  (plain processes at once vs one after another)")
    serial = times["serial (run_notebook x N)"]
    print(f"\nratio to serial, per round (best of rounds), cluster start-up included; load average now "
          f"{os.getloadavg()[0]:.2f}:")
    for name, ts in times.items():
        ratios = [t / s for t, s in zip(ts, serial)]
        print(f"  {name:32s} {' '.join(f'{x:5.2f}' for x in ratios)}  ({min(ts) / min(serial):.2f})")
    print(f"  {'machine ceiling':32s} {' '.join(f'{x:5.2f}' for x in ceilings)}  (target for the default sweep: <= 0.6)")


def _sweep_on_processes(sweep, LocalCluster, nb, grid, out, fixed, workers):  # noqa: N803 - a class passed in
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        return sweep(nb, grid, out, cluster=cluster, fixed=fixed, progress=False)


if __name__ == "__main__":
    main()
