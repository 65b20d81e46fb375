"""pair_auc.py - AUC of one held-out AI-made source against one real source.

    python3 pair_auc.py LOGITS.tsv FAKE_SOURCE[,FAKE_SOURCE...] REAL_SOURCE[,REAL_SOURCE...]

LOGITS.tsv as `DETECTOR_LOGITS=... make detector-eval` writes it (path,
source, label, logit_asis, logit_jpegQ).  For a set whose two classes went
through the same hands (one repository's photographs and AI pictures, both
resized and saved as JPEG the same way) this is the figure that says
whether the detector sees the generator or only the pipeline.  Prints the
AUC as-is and after the JPEG round trip, with 95% bootstrap intervals
(2000 resamples within each class, seed 1) and the share of each side at or
above the model's default threshold (its operating point, read from
--weights, default the shipped model; --threshold-logit sets another).
"""

import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights  # noqa: E402

DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "npr.provnpr")


# (evaluate.py has its own, but it imports torch; this tool needs numpy only)
def auc(neg, pos):
    gt = (pos[:, None] > neg[None, :]).mean()
    eq = (pos[:, None] == neg[None, :]).mean()
    return float(gt + 0.5 * eq)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logits")
    ap.add_argument("fake_source")
    ap.add_argument("real_source")
    ap.add_argument("--weights", default=DEFAULT_WEIGHTS, help="model whose operating point is the threshold")
    ap.add_argument("--threshold-logit", type=float, default=None)
    a = ap.parse_args(argv)
    if a.threshold_logit is None:
        op = weights.read(a.weights)[0].get("operating_point")
        if op:
            a.threshold_logit = float(op["threshold_logit"])
    with open(a.logits, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    cols = [c for c in rows[0] if c.startswith("logit_")]
    fs, rs = set(a.fake_source.split(",")), set(a.real_source.split(","))
    fk = [r for r in rows if r["label"] == "1" and r["source"] in fs]
    rl = [r for r in rows if r["label"] == "0" and r["source"] in rs]
    if not fk or not rl:
        raise SystemExit("no rows for %s (AI-made) or %s (real)" % (a.fake_source, a.real_source))
    rng = np.random.default_rng(1)
    print("%s (%d AI-made) against %s (%d real)" % (a.fake_source, len(fk), a.real_source, len(rl)))
    for c in cols:
        p = np.array([float(r[c]) for r in fk])
        n = np.array([float(r[c]) for r in rl])
        boots = [auc(rng.choice(n, len(n)), rng.choice(p, len(p))) for _ in range(2000)]
        lo, hi = np.percentile(boots, [2.5, 97.5])
        line = "  %-14s AUC %.3f [%.3f, %.3f]" % (c[len("logit_"):], auc(n, p), lo, hi)
        if a.threshold_logit is not None:
            line += "  flagged: AI-made %.3f, real %.3f" % ((p >= a.threshold_logit).mean(), (n >= a.threshold_logit).mean())
        print(line)


if __name__ == "__main__":
    main()
