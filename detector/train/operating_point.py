"""operating_point.py - the detector's default threshold and calibration,
chosen on held-out data and measured on other held-out data.

    python3 operating_point.py LOGITS.tsv --out OP.json [--fpr 0.05] [--boot 2000]

LOGITS.tsv: per-image logits of held-out images as
tests/bench/detector_eval.c writes them (--logits; DETECTOR_LOGITS= for
`make detector-eval`): path, source, label, logit_asis, logit_jpegQ, scored
through libprov as the product scores.

The held-out images are split in two halves, within each source (a
deterministic split by the SHA-256 of the file's name), so both halves see
every source:
- calibration half: the temperature T minimising the log loss of
  sigmoid(logit / T) (as-is and JPEG logits together), and the threshold:
  the smallest logit with at most floor(fpr x n) calibration reals at or
  above it, as-is and after JPEG (the larger of the two);
- test half: the FPR on real photos and the TPR on AI-made images at that
  threshold, with 95% bootstrap intervals (resampled within each class),
  as-is and after JPEG.  These, not the calibration half's, are the figures
  the weights carry: the threshold never saw those images.

Writes OP.json: {"temperature", "operating_point": {"threshold" (a
probability, after T), "threshold_logit", "fpr", "fpr_ci", "tpr", "tpr_ci",
"fpr_jpeg", "tpr_jpeg", "n_real", "n_fake", "target_fpr", "measured_on"}}.
export.py --operating-point OP.json puts both into the weights.
"""

import argparse
import csv
import hashlib
import json
import math

import numpy as np


def half_of(path):
    return hashlib.sha256(path.rsplit("/", 1)[-1].encode()).digest()[0] & 1


def nll(y, s, T):
    z = s / T
    return float(np.mean(np.logaddexp(0, z) - y * z))


def fit_temperature(y, s):
    lo, hi = 0.05, 50.0
    for _ in range(200):  # golden-section search on log T
        a, b = math.log(lo), math.log(hi)
        m1, m2 = a + (b - a) * 0.382, a + (b - a) * 0.618
        if nll(y, s, math.exp(m1)) < nll(y, s, math.exp(m2)):
            hi = math.exp(m2)
        else:
            lo = math.exp(m1)
    return (lo + hi) / 2


def threshold_at(neg, fpr):
    """Smallest threshold t with at most floor(fpr * n) of neg >= t (just
    above the (k+1)-th largest)."""
    sv = np.sort(neg)[::-1]
    k = int(math.floor(fpr * len(sv)))
    return float(np.nextafter(sv[k], np.inf))


def boot_ci(v, reps, rng):
    vals = [np.mean(rng.choice(v, len(v))) for _ in range(reps)]
    return [float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logits")
    ap.add_argument("--out", required=True)
    ap.add_argument("--fpr", type=float, default=0.05)
    ap.add_argument("--boot", type=int, default=2000)
    a = ap.parse_args(argv)
    with open(a.logits, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    jcol = [k for k in rows[0] if k.startswith("logit_jpeg")][0]
    y = np.array([int(r["label"]) for r in rows])
    s = np.array([float(r["logit_asis"]) for r in rows])
    sj = np.array([float(r[jcol]) for r in rows])
    h = np.array([half_of(r["path"]) for r in rows])
    cal, test = h == 0, h == 1
    T = fit_temperature(np.concatenate([y[cal], y[cal]]), np.concatenate([s[cal], sj[cal]]))
    t = max(threshold_at(s[cal & (y == 0)], a.fpr), threshold_at(sj[cal & (y == 0)], a.fpr))
    rng = np.random.default_rng(7)
    out = {}
    for name, v in (("", s), ("_jpeg", sj)):
        neg = (v[test & (y == 0)] >= t).astype(float)
        pos = (v[test & (y == 1)] >= t).astype(float)
        out["fpr" + name] = float(neg.mean())
        out["fpr" + name + "_ci"] = boot_ci(neg, a.boot, rng)
        out["tpr" + name] = float(pos.mean())
        out["tpr" + name + "_ci"] = boot_ci(pos, a.boot, rng)
    # rounded up to 4 places: never below the chosen threshold
    prob = math.ceil(1e4 / (1 + math.exp(-t / T))) / 1e4
    op = {"threshold": prob, "threshold_logit": round(t, 6), "target_fpr": a.fpr,
          "n_real": int((test & (y == 0)).sum()), "n_fake": int((test & (y == 1)).sum()),
          "n_calibration": int(cal.sum()),
          "measured_on": "held-out sources, the half of their images not used to choose the threshold "
                         "(operating_point.py)"}
    op.update({k: (round(v, 4) if isinstance(v, float) else [round(x, 4) for x in v]) for k, v in out.items()})
    res = {"temperature": round(T, 6), "operating_point": op}
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
