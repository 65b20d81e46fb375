"""compare_sizes.py - the two model sizes train_gpu.py trains side by side,
scored in PyTorch on the same held-out images.

    python3 compare_sizes.py RUN_DIR LOGITS.tsv [--boot 1000]

RUN_DIR holds ckpt.pth (model.NPR) and ckpt_small.pth (NPRSmall);
LOGITS.tsv is detector_eval's list of held-out images (its C logits for
ckpt.pth, exported, are compared too: PyTorch and libprov must agree).
Prints AUC with 95% bootstrap intervals for both, as-is and after JPEG q90
(PIL's libjpeg, 4:2:0).
"""

import argparse
import csv
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import evaluate  # noqa: E402
import model as npr_model  # noqa: E402
import train_gpu  # noqa: E402


def load(path, net):
    ck = torch.load(path, map_location="cpu")
    net.load_state_dict(ck["model"])
    return net.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("logits")
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    nets = {"npr (1.44M)": load(os.path.join(a.run, "ckpt.pth"), npr_model.NPR()),
            "small (layer1 only)": load(os.path.join(a.run, "ckpt_small.pth"), train_gpu.NPRSmall())}
    with open(a.logits, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    y = np.array([int(r["label"]) for r in rows])
    res = {k: {"asis": [], "jpeg90": []} for k in nets}
    c_diff = 0.0
    dev = torch.device("cpu")
    with torch.no_grad():
        for i, r in enumerate(rows):
            img = data.decode(r["path"])
            for cond, px in (("asis", img), ("jpeg90", data.jpeg(img, 90))):
                for k, net in nets.items():
                    cl, _ = evaluate.image_logits(net, px, dev)
                    res[k][cond].append(float(cl.mean()))
            c_diff = max(c_diff, abs(res["npr (1.44M)"]["asis"][-1] - float(r["logit_asis"])))
            print("\r%d/%d" % (i + 1, len(rows)), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print("held-out: %d real, %d AI-made; max |PyTorch - libprov| as-is logit (npr): %.2g"
          % ((y == 0).sum(), (y == 1).sum(), c_diff))
    print("| model | AUC as-is [95% CI] | AUC JPEG q90 [95% CI] |\n|---|---|---|")
    for k in nets:
        cells = []
        for cond in ("asis", "jpeg90"):
            s = np.array(res[k][cond])
            ci = evaluate.bootstrap(y, s, a.boot)["auc"]
            cells.append(evaluate.fmt_ci(evaluate.auc(y, s), ci))
        print("| %s | %s | %s |" % (k, cells[0], cells[1]))


if __name__ == "__main__":
    main()
