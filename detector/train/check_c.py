"""check_c.py - the exported weights file scores in C as in PyTorch.

    python3 check_c.py CKPT WEIGHTS.provnpr [--lib build/libprov.so] [--n 8]

Takes the first 256x256 crop (model.crop_plan) of --n validation images
(half real, half fake), and prints per crop: PyTorch on the float32
checkpoint, PyTorch on the tensors the file holds (float16 values, so
exactly what C runs), and libprov through ctypes (one crop = one image).
Fails (exit 1) if C and PyTorch-on-the-file differ by more than 1e-3.
"""

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import model as npr_model  # noqa: E402
import weights  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ckpt")
    ap.add_argument("weights")
    ap.add_argument("--lib", default=evaluate.os.path.join(evaluate.ROOT, "build", "libprov.so"))
    ap.add_argument("--data", default=data.DEFAULT_ROOT)
    ap.add_argument("--n", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(2)
    ck = export.load_torch(a.ckpt)
    net32 = export.checked_model(ck["model"] if "model" in ck else ck)
    meta, ts = weights.read(a.weights)
    sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in ts.items()
          if not k.startswith(("input.", "calib."))}
    net16 = export.checked_model(sd)
    cdet = evaluate.CDetector(a.lib, a.weights, 2)
    print("file: model_version %s, temperature %.4f" % (meta.get("model_version"), float(ts["calib.temperature"][0])))
    _, val = data.split(data.load_manifest(a.data))
    pick = [r for r in val if r["label"] == 0][:a.n // 2] + [r for r in val if r["label"] == 1][:a.n - a.n // 2]
    worst16, worst32 = 0.0, 0.0
    print("%-50s %10s %10s %10s %9s %9s" % ("crop", "torch f32", "torch file", "C", "|C-file|", "|C-f32|"))
    for r in pick:
        img = data.decode(data.file_path(a.data, r))
        x, y, cw, ch = npr_model.crop_plan(img.shape[1], img.shape[0])[0]
        crop = np.ascontiguousarray(img[y:y + ch, x:x + cw])
        with torch.no_grad():
            t = npr_model.normalize(torch.from_numpy(crop))
            l32, l16 = net32(t).item(), net16(t).item()
        lc, n = cdet.score(crop)
        assert n == 1
        worst16, worst32 = max(worst16, abs(lc - l16)), max(worst32, abs(lc - l32))
        print("%-50s %10.5f %10.5f %10.5f %9.2g %9.2g" % (r["path"][-50:], l32, l16, lc, abs(lc - l16), abs(lc - l32)))
    print("max |C - PyTorch on the file's f16 values| = %.3g; max |C - PyTorch f32 checkpoint| = %.3g"
          % (worst16, worst32))
    sys.exit(0 if worst16 <= 1e-3 else 1)


if __name__ == "__main__":
    main()
