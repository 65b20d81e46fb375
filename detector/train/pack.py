"""pack.py - a compact copy of the data set for a remote training machine.

    python3 pack.py DEST [--data DATA_ROOT] [--parts N] [--which train|val|all]
                    [--skip-source NAME ...]

JPEG files are copied byte for byte; every other file (PNG) is stored as
lossless WebP of the RGB pixels data.decode() gives (alpha dropped), named
PATH.webp, which data.file_path() picks up.  Each WebP is decoded again and
compared with the original pixels before it is kept.  Files are dealt into
DEST/part1 .. partN of about equal bytes, each with a MANIFEST.tsv of its
own files, so that each part fits one transfer and is a data root of its
own (train_gpu.py --data PART1 --data PART2 ...).
"""

import argparse
import os
import shutil
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dest")
    ap.add_argument("--data", default=data.DEFAULT_ROOT)
    ap.add_argument("--parts", type=int, default=2)
    ap.add_argument("--which", choices=("train", "val", "all"), default="all")
    ap.add_argument("--skip-source", action="append", default=[],
                    help="leave out a source (e.g. one another root already holds)")
    a = ap.parse_args()
    rows = data.load_manifest(a.data)
    tr, va = data.split(rows, strict=False)
    rows = {"train": tr, "val": va, "all": tr + va}[a.which]
    rows = [r for r in rows if r["source"] not in a.skip_source]
    tmp = os.path.join(a.dest, "all")
    sizes = []
    for r in rows:
        src = os.path.join(a.data, r["path"])
        dst = os.path.join(tmp, r["path"])
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if r["format"] == "JPEG":
            shutil.copyfile(src, dst)
        else:
            px = data.decode(src)
            dst += ".webp"
            Image.fromarray(px).save(dst, format="WEBP", lossless=True, quality=100, method=4)
            if not np.array_equal(data.decode(dst), px):
                raise SystemExit("WebP round trip changed %s" % src)
        sizes.append((os.path.getsize(dst), r, dst))
    sizes.sort(key=lambda s: -s[0])
    totals = [0] * a.parts
    for n, r, dst in sizes:
        k = totals.index(min(totals))
        totals[k] += n
        out = os.path.join(a.dest, "part%d" % (k + 1), os.path.relpath(dst, tmp))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        os.replace(dst, out)
    shutil.rmtree(tmp)
    for k in range(a.parts):
        part = os.path.join(a.dest, "part%d" % (k + 1))
        n = write_manifest(os.path.join(a.data, "MANIFEST.tsv"), part)
        print("part%d: %d files, %.1f MB" % (k + 1, n, totals[k] / 1e6))


def write_manifest(src, part):
    """part/MANIFEST.tsv: the lines of src whose file is in part (as is or
    as .webp), so that parts can be used as separate data roots."""
    with open(src, newline="") as f:
        lines = f.read().splitlines(keepends=True)
    col = lines[0].rstrip("\r\n").split("\t").index("path")
    keep = [lines[0]]
    for ln in lines[1:]:
        p = os.path.join(part, ln.split("\t")[col])
        if os.path.exists(p) or os.path.exists(p + ".webp"):
            keep.append(ln)
    with open(os.path.join(part, "MANIFEST.tsv"), "w", newline="") as f:
        f.writelines(keep)
    return len(keep) - 1


if __name__ == "__main__":
    main()
