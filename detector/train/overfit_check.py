"""overfit_check.py - the whole path, end to end, on a model that cannot be
wrong: over-fit the network on the crops of four images (two real, two
fake), export it as a PROVNPR1 file, and score the same four files with
`prov scan`.  Each file must land on its side (logit < 0 real, > 0 fake)
and C and PyTorch must give the same logit.  A sign error, a label swap,
a colour-order or value-range mismatch, or a crop-phase mismatch between
training and inference would break it.

    python3 overfit_check.py [--prov build/prov] [--steps 300] [--data ROOT]

Prints one line per file and exits 1 on a failure (detector/train/RUN.md
records a run).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import export  # noqa: E402
import model as npr_model  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def crops_of(img):
    h, w = img.shape[:2]
    return [img[y:y + ch, x:x + cw] for (x, y, cw, ch) in npr_model.crop_plan(w, h)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prov", default=os.path.join(ROOT, "build", "prov"))
    ap.add_argument("--data", default=data.DEFAULT_ROOT)
    ap.add_argument("--steps", type=int, default=300)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rows = data.load_manifest(a.data)
    pick = {"real": None, "fake": None}
    files = []
    for cls, want in (("real", 2), ("fake", 2)):
        cand = [r for r in rows if r["class"] == cls and 256 <= min(r["width"], r["height"]) and
                max(r["width"], r["height"]) <= 520]
        files += [(data.file_path(a.data, r), 1 if cls == "fake" else 0) for r in cand[:want]]
    del pick
    imgs = [(p, y, data.decode(p)) for p, y in files]
    batch, labels = [], []
    for p, y, im in imgs:  # exactly the crops the C code scores
        for c in crops_of(im):
            batch.append(torch.from_numpy(np.ascontiguousarray(c)))
            labels.append(y)
    net = npr_model.NPR()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    by_size = {}
    for c, y in zip(batch, labels):
        by_size.setdefault(tuple(c.shape), []).append((c, y))
    net.train()
    for step in range(a.steps):
        loss_sum = 0.0
        for items in by_size.values():
            x = npr_model.normalize(torch.stack([c for c, _ in items]))
            yy = torch.tensor([y for _, y in items], dtype=torch.float32)
            loss = F.binary_cross_entropy_with_logits(net(x)[:, 0], yy)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        if step % 50 == 0:
            print("step %d loss %.4f" % (step, loss_sum), flush=True)
    net.eval()
    # BN in eval mode uses the running statistics: calibrate them on the
    # same crops so that eval-mode logits are those the training fitted
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        net.train()
        for items in by_size.values():
            net(npr_model.normalize(torch.stack([c for c, _ in items])))
        net.eval()
    tmp = tempfile.mkdtemp()
    ck = os.path.join(tmp, "ckpt.pth")
    torch.save({"model": net.state_dict(), "temperature": 1.0, "meta": {}}, ck)
    wf = os.path.join(tmp, "overfit.provnpr")
    subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--dtype", "f32", ck, wf], check=True,
                   stdout=subprocess.DEVNULL)
    bad = 0
    for p, y, im in imgs:
        with torch.no_grad():
            tl = float(torch.cat([net(npr_model.normalize(torch.from_numpy(np.ascontiguousarray(c))))[:, 0]
                                  for c in crops_of(im)]).mean())
        out = subprocess.run([a.prov, "scan", "--json", "--model", wf, p], capture_output=True, text=True)
        cl = json.loads(out.stdout.splitlines()[0])["logit"]
        ok = (cl > 0) == (y == 1) and abs(cl - tl) < 1e-3
        bad += not ok
        print("%s %-50s label %s  torch %+.4f  prov scan %+.4f" % ("ok  " if ok else "FAIL", os.path.basename(p)[:50],
                                                                   "fake" if y else "real", tl, cl))
    print("%d of %d files on their side, C = PyTorch" % (len(imgs) - bad, len(imgs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
