"""data.py - the detector's training data: manifest, split by source, and
the one re-encoding pipeline both classes go through.

    python3 data.py [--tsv OUT.tsv] [DATA_ROOT]   # print (and write) the split

DATA_ROOT is ../shared/data/detector (its README.md and MANIFEST.tsv).
Rows are grouped by source: a real file by its photo-source folder
(real/<source>/...), a fake by its generator label (flux-dev and
flux-schnell count as one source, "flux").  Validation holds out WHOLE
sources (VAL_REAL, VAL_FAKE): nothing from them is seen in training, not
even as input to the synthetic generators (synth.py).

Every training sample, real or fake, goes through sample_crop() with the
same random process (the data README's "Confounds" section):
  decode (alpha dropped) -> a region at an even origin (the image's own
  2x2 grid is kept, as at inference) -> sometimes a small down-scale (the
  same kernels for both classes) -> JPEG at a random quality 65-95 with
  4:2:0 subsampling, or lossless -> decode -> the final crop at a random
  even offset inside the region (so the JPEG 8x8 grid does not sit on the
  crop's origin) -> random horizontal flip.
Crops holding two or more flat full-length rows or columns (the gutters
and white borders of fake grids; clipped sky in real photos gets the same
rule) are redrawn.
"""

import csv
import io
import math
import os
import sys

import numpy as np
from PIL import Image

DEFAULT_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "..", "..", "shared", "data", "detector"))

# held-out sources (whole folders / generator labels): heldout.tsv


def _heldout():
    out = {"real": [], "fake": [], "exclude": []}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "heldout.tsv")) as f:
        for ln in f:
            if ln.strip() and not ln.startswith("#"):
                cls, src = ln.rstrip("\n").split("\t")
                out[cls].append(src)
    return tuple(out["real"]), tuple(out["fake"]), frozenset(out["exclude"])


# EXCLUDE: paths left out of both sides (near-duplicates across sources)
VAL_REAL, VAL_FAKE, EXCLUDE = _heldout()

# the second data folder (gather.py; EXTRA.tsv): more photos and generators
EXTRA_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "detdata"))

JPEG_P = 0.7           # share of samples re-encoded as JPEG (else lossless)
JPEG_Q = (65, 95)      # quality, inclusive
RESCALE_P = 0.1        # share of samples down-scaled a little
RESCALE_F = (0.75, 1.0)
MARGIN = 16            # region = crop + MARGIN; final crop at an even offset inside


def source_of(row):
    if row["class"] == "real":
        return row["path"].split("/")[1]
    g = row["generator"]
    return "flux" if g.startswith("flux-") else g


def load_manifest(root=DEFAULT_ROOT):
    with open(os.path.join(root, "MANIFEST.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for r in rows:
        r["root"] = root
        r["label"] = 1 if r["class"] == "fake" else 0
        r["source"] = source_of(r)
        r["width"], r["height"] = int(r["width"]), int(r["height"])
    return rows


def load_all(roots):
    """The rows of several data folders (each with its MANIFEST.tsv); a
    file (by SHA-256) listed twice counts once, in the first folder."""
    out, seen = [], set()
    for root in roots:
        for r in load_manifest(root):
            if r["sha256"] not in seen:
                seen.add(r["sha256"])
                out.append(r)
    return out


def split(rows, strict=True):
    """(train, val): val holds every file of the VAL_REAL / VAL_FAKE sources
    (strict: each of them must have files)."""
    val_src = set(VAL_REAL) | set(VAL_FAKE)
    for s in val_src:
        if strict and not any(r["source"] == s for r in rows):
            raise ValueError("held-out source %s has no files" % s)
    rows = [r for r in rows if r["path"] not in EXCLUDE]
    train = [r for r in rows if r["source"] not in val_src]
    val = [r for r in rows if r["source"] in val_src]
    return train, val


def file_path(root, row):
    """The file of a row; a packed copy (pack.py: PNG stored as lossless
    WebP, the same pixels) is used where the original is absent."""
    p = os.path.join(row.get("root") or root, row["path"])
    if not os.path.exists(p) and os.path.exists(p + ".webp"):
        return p + ".webp"
    return p


def decode(path):
    """RGB uint8 H x W x 3 (alpha dropped, as the README suggests)."""
    with Image.open(path) as im:
        im.load()
        if im.mode != "RGB":
            im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "LA", "PA") else im.convert("RGB")
        return np.asarray(im, dtype=np.uint8).copy()


def jpeg(arr, q):
    """JPEG round trip at quality q, 4:2:0 (libjpeg through PIL)."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=int(q), subsampling=2)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def flat_lines(a, tol=3):
    """How many full-length rows and columns of a are flat (all channels
    within tol)."""
    a = a.astype(np.int16)
    rows = (a.max(axis=(1, 2)) - a.min(axis=(1, 2))) <= tol
    cols = (a.max(axis=(0, 2)) - a.min(axis=(0, 2))) <= tol
    return int(rows.sum()), int(cols.sum())


def _even(rng, hi):
    """A random even integer in [0, hi]."""
    return 2 * int(rng.integers(0, hi // 2 + 1))


def reencode(region, rng):
    """The container step, the same random process for both classes."""
    if rng.random() < JPEG_P:
        return jpeg(region, rng.integers(JPEG_Q[0], JPEG_Q[1] + 1)), "jpeg"
    return region, "lossless"


def sample_crop(img, size, rng, tries=8):
    """One training crop (size x size, uint8) of img, or None if img is too
    small or every try hit a flat band.  See the module docstring."""
    h, w = img.shape[:2]
    region = size + MARGIN
    for _ in range(tries):
        if rng.random() < RESCALE_P:
            f = rng.uniform(*RESCALE_F)
            src = int(math.ceil(region / f)) + 2
            src += src & 1
            if src > w or src > h:
                continue
            x, y = _even(rng, w - src), _even(rng, h - src)
            kern = (Image.BILINEAR, Image.BICUBIC, Image.LANCZOS)[int(rng.integers(0, 3))]
            reg = np.asarray(Image.fromarray(img[y:y + src, x:x + src]).resize((region, region), kern))
        else:
            if region > w or region > h:
                return None
            x, y = _even(rng, w - region), _even(rng, h - region)
            reg = img[y:y + region, x:x + region]
        reg, _ = reencode(np.ascontiguousarray(reg), rng)
        ox, oy = _even(rng, MARGIN), _even(rng, MARGIN)
        c = reg[oy:oy + size, ox:ox + size]
        fr, fc = flat_lines(c)
        if fr >= 2 or fc >= 2:
            continue
        if rng.random() < 0.5:
            c = c[:, ::-1]
        return np.ascontiguousarray(c)
    return None


def file_weights(rows):
    """Sampling weight of each row within its class: a source gets a share
    proportional to the square root of its pixel area (so ImageNet does not
    drown the small sources), and its files share it by area (patches,
    not files, are the unit; README "Class balance")."""
    area = {}
    for r in rows:
        area[r["source"]] = area.get(r["source"], 0) + r["width"] * r["height"]
    w = np.array([math.sqrt(area[r["source"]]) * r["width"] * r["height"] / area[r["source"]]
                  for r in rows], dtype=np.float64)
    return w / w.sum()


def write_split_tsv(path, train, val):
    """The split as committed with a run: part, class, source, path, sha256."""
    with open(path, "w") as f:
        f.write("part\tclass\tsource\tpath\tsha256\n")
        for part, rows in (("train", train), ("val", val)):
            for r in sorted(rows, key=lambda r: r["path"]):
                f.write("%s\t%s\t%s\t%s\t%s\n" % (part, r["class"], r["source"], r["path"], r["sha256"]))


def summary(rows):
    out = {}
    for r in rows:
        k = (r["class"], r["source"])
        n, mp = out.get(k, (0, 0.0))
        out[k] = (n + 1, mp + r["width"] * r["height"] / 1e6)
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    tsv = None
    if len(args) >= 2 and args[0] == "--tsv":
        tsv, args = args[1], args[2:]
    root = args[0] if args else DEFAULT_ROOT
    tr, va = split(load_manifest(root))
    if tsv:
        write_split_tsv(tsv, tr, va)
    for name, part in (("train", tr), ("val", va)):
        s = summary(part)
        print("%s: %d files (%d real, %d fake)" % (name, len(part), sum(1 for r in part if r["label"] == 0),
                                                   sum(1 for r in part if r["label"] == 1)))
        for (c, src), (n, mp) in sorted(s.items()):
            print("  %-4s %-28s %4d files %7.1f MP" % (c, src, n, mp))
