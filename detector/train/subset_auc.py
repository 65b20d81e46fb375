"""subset_auc.py - two models' held-out AUC on the same images, by subset,
with a paired bootstrap of the difference.

    python3 subset_auc.py OLD_LOGITS.tsv NEW_LOGITS.tsv

The LOGITS files are what `DETECTOR_LOGITS=... make detector-eval` writes
(path, source, label, logit_asis, logit_jpegQ).  Subsets: every held-out
image; the sources held out before 2026-12-06 without the wild pairs; the
2024-25 generators against those photo sources; the two wild pairs (ml72,
declan).  The bootstrap resamples images within each class (1000 times,
seed 1), the same indices for both models, so the interval is that of the
difference itself.
"""

import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pair_auc import auc  # noqa: E402

FIRST_REAL = {"coco2017", "sflckr", "dreambooth-dataset", "debian-lomiri-wallpapers", "set5", "kodak", "urban100"}
FIRST_FAKE = {"stylegan2-lucidrains", "score-sde", "karlo-unclip", "kandinsky-3", "dit", "stylegan", "flux", "edm2",
              "midjourney", "titok-maskgen"}
NEW_GEN = {"flux", "flux2", "hidream", "qwen-image", "z-image", "midjourney"}
WILD = ("ml72", "declan")

SUBSETS = [
    ("all held-out", lambda s: True, lambda s: True),
    ("first held-out sources (no wild sets)", lambda s: s in FIRST_REAL, lambda s: s in FIRST_FAKE),
    ("2024-25 generators vs first real sources", lambda s: s in FIRST_REAL, lambda s: s in NEW_GEN),
    ("wild pairs (ml72 + declan)", lambda s: s.startswith(WILD), lambda s: s.startswith(WILD)),
]


def load(p):
    with open(p, newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f, delimiter="\t")}


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    b, n = load(argv[0]), load(argv[1])
    keys = sorted(set(b) & set(n))
    cols = [c for c in next(iter(b.values())) if c.startswith("logit_")]
    rng = np.random.default_rng(1)
    for name, is_real, is_fake in SUBSETS:
        R = [k for k in keys if b[k]["label"] == "0" and is_real(b[k]["source"])]
        F = [k for k in keys if b[k]["label"] == "1" and is_fake(b[k]["source"])]
        if not R or not F:
            continue
        print("%s: %d real, %d AI-made" % (name, len(R), len(F)))
        for c in cols:
            sets = [(np.array([float(d[k][c]) for k in R]), np.array([float(d[k][c]) for k in F])) for d in (b, n)]
            a0, a1 = auc(*sets[0]), auc(*sets[1])
            diffs = []
            for _ in range(1000):
                ir, jf = rng.integers(0, len(R), len(R)), rng.integers(0, len(F), len(F))
                diffs.append(auc(sets[1][0][ir], sets[1][1][jf]) - auc(sets[0][0][ir], sets[0][1][jf]))
            lo, hi = np.percentile(diffs, [2.5, 97.5])
            print("  %-12s old %.3f  new %.3f  difference %+.3f [%+.3f, %+.3f]" % (c[6:], a0, a1, a1 - a0, lo, hi))


if __name__ == "__main__":
    main(sys.argv[1:])
