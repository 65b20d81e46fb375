"""dupcheck.py - is a held-out image the same photograph as a training one?

    python3 dupcheck.py [--threshold 0.98] [ROOT...]

Every image of the data folders (default ../shared/data/detector and
../detdata, as data.py finds them) is reduced to a 32x32 grey thumbnail,
centred and normalised; the correlation of two thumbnails is their dot
product.  Prints each held-out image whose best match among the training
images is at or above the threshold (a copy, a crop or a re-encode of the
same picture scores above 0.98; two different photographs of one kind of
scene rarely pass 0.9), then the highest correlation seen, so a run that
finds nothing still says how close the two sides came.  Exit 1 when any
pair reaches the threshold and is not in heldout.tsv's exclude list.
Files (by SHA-256) listed in both sides count once, as data.load_all does.
"""

import argparse
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402


def thumb(path):
    with Image.open(path) as im:
        im.draft("L", (64, 64))  # JPEG: decode small
        g = np.asarray(im.convert("L").resize((32, 32), Image.BILINEAR), dtype=np.float32).ravel()
    g -= g.mean()
    n = np.linalg.norm(g)
    return g / n if n > 0 else g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("roots", nargs="*")
    ap.add_argument("--threshold", type=float, default=0.98)
    a = ap.parse_args(argv)
    roots = a.roots or [r for r in (data.DEFAULT_ROOT, data.EXTRA_ROOT) if os.path.exists(os.path.join(r, "MANIFEST.tsv"))]
    rows = data.load_all(roots)
    train, val = data.split(rows, strict=False)
    def thumbs(rs):
        out, keep = [], []
        for r in rs:
            p = data.file_path(r["root"], r)
            try:
                out.append(thumb(p))
                keep.append(r)
            except Exception as e:  # noqa: BLE001 - report and go on
                print("cannot read %s: %s" % (p, e), file=sys.stderr)
        return np.stack(out) if out else np.zeros((0, 1024), np.float32), keep
    tt, train = thumbs(train)
    vt, val = thumbs(val)
    print("%d training and %d held-out images (%s)" % (len(train), len(val), ", ".join(roots)))
    if not len(train) or not len(val):
        return 0
    sim = vt @ tt.T
    best = sim.argmax(axis=1)
    found = 0
    for i in np.argsort(-sim[np.arange(len(val)), best]):
        s = float(sim[i, best[i]])
        if s < a.threshold:
            break
        excluded = val[i]["path"] in data.EXCLUDE
        found += not excluded
        print("%.4f  %s  ~  %s%s" % (s, val[i]["path"], train[best[i]]["path"], "  (excluded)" if excluded else ""))
    i = int(sim[np.arange(len(val)), best].argmax())
    print("highest: %.4f  %s  ~  %s" % (float(sim[i, best[i]]), val[i]["path"], train[best[i]]["path"]))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
