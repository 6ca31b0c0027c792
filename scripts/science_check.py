#!/usr/bin/env python
"""Which phenomena of the DynVision visualisation guide does a trained model show?

Runs the four experiments on a model (default: the shipped ``dyrcnnx4-digits``) and, when a
second model is given with ``--compare``, the recurrence-type comparisons; then prints one
line per phenomenon: the metric, its values per area, and whether the phenomenon holds.
The criteria are the same as in tests/experiments/test_science.py (which checks that each
phenomenon is detected on a model built to show it).

Usage: .venv/bin/python scripts/science_check.py [--model NAME] [--compare NAME] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def area_values(da) -> dict:
    return {str(a): round(float(v), 3) for a, v in zip(da["area"].values, da.values)}


def mean_images(da):
    return da.mean("image") if "image" in da.dims else da


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dyrcnnx4-digits")
    parser.add_argument("--compare", default=None, help="a second model (e.g. a self-recurrence variant)")
    parser.add_argument("--out", default="results/science")
    parser.add_argument("--n-images", type=int, default=8)
    args = parser.parse_args()

    from dynvision.analysis import weight_statistics
    from dynvision.experiments import run_experiment

    models = {"model": args.model} if not args.compare else {"model": args.model, "compare": args.compare}
    common = dict(model=models, out=None, progress=False, n_images=args.n_images)
    res = {name: run_experiment(name, **common) for name in ("response", "contrast", "duration", "interval")}
    rows = []

    def check(phenomenon, metric, values, holds):
        rows.append({"phenomenon": phenomenon, "metric": metric, "values": values, "holds": bool(holds)})

    m = lambda r, v: mean_images(r.metrics[v]).sel(model="model")  # noqa: E731
    lat = m(res["response"], "onset_latency")
    check("V1 responds first, then V2, V4, IT", "onset latency (ms)", area_values(lat),
          np.all(np.diff(lat.values) > 0))
    pt = m(res["response"], "peak_time")
    check("higher areas peak later", "peak time (ms)", area_values(pt), pt.values[-1] > pt.values[0])
    ai = m(res["response"], "adaptation_index")
    check("activity adapts under a sustained stimulus", "adaptation index", area_values(ai), np.all(ai > 0.05))
    peak = m(res["contrast"], "peak_height")
    check("response grows with contrast in all areas", "peak(c=1)/peak(c=0.1)",
          area_values(peak.isel(contrast=-1) / peak.isel(contrast=0)), np.all(peak.diff("contrast") > 0))
    gain = peak.isel(contrast=-1) / peak.isel(contrast=0)
    check("higher areas depend more on contrast", "peak(c=1)/peak(c=0.1)", area_values(gain),
          float(gain.sel(area="IT")) > float(gain.sel(area="V1")))
    ptc = m(res["contrast"], "peak_time")
    check("high contrast gives earlier responses", "peak time c=0.1 -> c=1 (ms)",
          {str(a): [round(float(ptc.sel(area=a).isel(contrast=0)), 1), round(float(ptc.sel(area=a).isel(contrast=-1)), 1)]
           for a in ptc.area.values.tolist()}, np.all(ptc.isel(contrast=-1) < ptc.isel(contrast=0)))
    if "nr_r2" in res["contrast"].metrics:
        r2 = res["contrast"].metrics["nr_r2"].sel(model="model")
        check("contrast response is Naka-Rushton shaped", "fit r2", area_values(r2), np.all(r2 > 0.95))
    total = m(res["duration"], "total_response")
    per_ms = total / total["duration"]
    check("summed response grows with duration", "total response", area_values(total.isel(duration=-1)),
          np.all(total.diff("duration") > 0))
    check("temporal summation saturates (sub-additive)", "response per ms, longest/shortest",
          area_values(per_ms.isel(duration=-1) / per_ms.isel(duration=0)),
          np.all(per_ms.isel(duration=-1) < per_ms.isel(duration=0)))
    sat = per_ms.isel(duration=-1) / per_ms.isel(duration=0)
    check("higher areas saturate more", "response per ms, longest/shortest", area_values(sat),
          float(sat.sel(area="IT")) < float(sat.sel(area="V1")))
    off = m(res["duration"], "offset_response")
    check("V1 shows an offset response", "offset response / peak (V1)",
          {"V1": round(float(off.sel(area="V1").max() / m(res["duration"], "peak_height").sel(area="V1").max()), 3)},
          float(off.sel(area="V1").max()) > 0.05 * float(m(res["duration"], "peak_height").sel(area="V1").max()))
    ratio = m(res["interval"], "suppression")
    check("second response is suppressed", "min over intervals of P2/P1", area_values(ratio.min("interval")),
          np.all(ratio.min("interval") < 0.9))
    check("longer intervals recover", "P2/P1 at the longest interval", area_values(ratio.isel(interval=-1)),
          np.all(ratio.isel(interval=-1) > ratio.min("interval")))
    check("higher areas adapt more", "min P2/P1", area_values(ratio.min("interval")),
          float(ratio.min("interval").sel(area="IT")) < float(ratio.min("interval").sel(area="V1")))
    clf = res["contrast"].classifier.sel(model="model")
    acc = clf["accuracy"]
    check("classification improves over time", "accuracy first/last step",
          [round(float(acc.isel(time=0)), 3), round(float(acc.isel(time=-1)), 3), round(float(acc.max()), 3)],
          float(acc.max()) > float(acc.isel(time=0)) + 0.2)
    stats = weight_statistics(next(iter(res["response"].models.values())))
    ff, rc = stats["std"].sel(kind="feedforward"), stats["std"].sel(kind="recurrent")
    check("feedforward weights are broader than recurrent", "weight std ff / rec", area_values(ff / rc),
          np.all(ff > rc))
    mag = stats["mean_abs"].sel(kind="feedforward")
    check("higher layers have larger weights", "mean |w| feedforward", area_values(mag), mag.values[-1] > mag.values[0])
    if args.compare:
        for metric, name, better in (("adaptation_index", "full recurrence adapts more than self", "greater"),
                                     ("decay_time", "full recurrence sustains activity longer", "greater")):
            v = mean_images(res["response"].metrics[metric])
            check(name, f"{metric} model vs compare", {"model": area_values(v.sel(model="model")),
                                                      "compare": area_values(v.sel(model="compare"))},
                  np.all(v.sel(model="model") > v.sel(model="compare")))
        pk = mean_images(res["contrast"].metrics["peak_height"]).isel(contrast=-1)
        check("full recurrence gives a stronger contrast response", "peak at c=1",
              {"model": area_values(pk.sel(model="model")), "compare": area_values(pk.sel(model="compare"))},
              np.all(pk.sel(model="model") > pk.sel(model="compare")))
        sup = mean_images(res["interval"].metrics["suppression"]).min("interval")
        check("full recurrence adapts more to repetition", "min P2/P1",
              {"model": area_values(sup.sel(model="model")), "compare": area_values(sup.sel(model="compare"))},
              np.all(sup.sel(model="model") < sup.sel(model="compare")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "science_check.json").write_text(json.dumps(rows, indent=1))
    for row in rows:
        print(f"{'yes' if row['holds'] else 'NO ':3s}  {row['phenomenon']:50s} {row['metric']}: {row['values']}")
    print(f"\n{sum(r['holds'] for r in rows)} of {len(rows)} hold; details in {out / 'science_check.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
