"""compare.py - two runs' validation logits, paired, on the same images.

    python3 compare.py OLD/val_logits.tsv NEW/val_logits.tsv [--boot 2000]

Both files come from evaluate.py on the same validation split (the paths
must match line for line).  Prints, per condition, AUC, accuracy at 0.5
and TPR at 5% FPR for each run and the difference NEW - OLD with a 95%
paired percentile bootstrap interval: the same resampled images (within
each class) score both runs, so the interval is that of the difference,
narrower than comparing the two runs' own intervals.  With ~100 images a
difference whose interval spans 0 is not evidence of a change.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from evaluate import CONDITIONS, metrics  # noqa: E402


def load(path):
    rows = [line.rstrip("\n").split("\t") for line in open(path)]
    head, rows = rows[0], rows[1:]
    col = {c: head.index("logit_" + c) for c in CONDITIONS}
    return ([r[0] for r in rows], np.array([int(r[2]) for r in rows]),
            {c: np.array([float(r[col[c]]) for r in rows]) for c in CONDITIONS})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    p0, y, s0 = load(a.old)
    p1, y1, s1 = load(a.new)
    if p0 != p1 or not np.array_equal(y, y1):
        sys.exit("compare.py: the two files do not hold the same images in the same order")
    keys = ("auc", "acc", "tpr_at_5fpr")
    print("Paired comparison, %d real + %d fake validation images, %d bootstrap resamples."
          % ((y == 0).sum(), (y == 1).sum(), a.boot))
    print()
    print("| condition | metric | old | new | new - old [95% CI] |")
    print("|---|---|---|---|---|")
    pos, neg = np.where(y == 1)[0], np.where(y == 0)[0]
    for c in CONDITIONS:
        m0, m1 = metrics(y, s0[c]), metrics(y, s1[c])
        rng = np.random.default_rng(a.seed)
        d = {k: [] for k in keys}
        for _ in range(a.boot):
            idx = np.concatenate([rng.choice(neg, len(neg)), rng.choice(pos, len(pos))])
            b0, b1 = metrics(y[idx], s0[c][idx]), metrics(y[idx], s1[c][idx])
            for k in keys:
                d[k].append(b1[k] - b0[k])
        for k in keys:
            lo, hi = np.percentile(d[k], [2.5, 97.5])
            print("| %s | %s | %.3f | %.3f | %+.3f [%+.3f, %+.3f] |" % (c, k, m0[k], m1[k], m1[k] - m0[k], lo, hi))


if __name__ == "__main__":
    main()
