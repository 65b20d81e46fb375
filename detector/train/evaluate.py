"""evaluate.py - the trained detector on the held-out sources, at the
inference setting, with confidence intervals and calibration.

    python3 evaluate.py CKPT --out DIR [--data DATA_ROOT ...] [--boot 2000]

Each validation image (data.split: whole sources held out) is scored as the
C code scores it: model.crop_plan (256x256 crops at even origins, at most
16, never resized), the image logit is the mean of the crop logits.
Conditions: "asis" (the file's own decoded pixels; a PNG re-encode of them
gives the same pixels, so it is also the PNG condition), "jpeg90" and
"jpeg75" (every image, real or fake, re-encoded as JPEG 4:2:0 at that
quality first): the confound check, since a model that keyed on the
container would flip when both classes share one.

Metrics per condition: ROC AUC, accuracy at probability 0.5 (logit 0), TPR
at 5% FPR (the threshold lets at most floor(5% of the reals) real images
above it), each with a 95% percentile bootstrap interval (images resampled
within each class, --boot times).  The temperature T minimises the NLL of
sigmoid(logit / T) on the "asis" validation logits; reliability tables
(10 bins) before and after.  Per held-out source: images, mean
probability, share flagged at 0.5, and for a fake source TPR at the
overall 5%-FPR threshold and AUC against all held-out reals.

Writes DIR/eval.json, DIR/eval.md (tables) and DIR/val_logits.tsv.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import export  # noqa: E402
import model as npr_model  # noqa: E402

CONDITIONS = ("asis", "jpeg90", "jpeg75")
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


class CDetector:
    """libprov's detector through ctypes: the product's own scoring (crop
    plan, mean of crop logits) on a PROVNPR1 file."""

    def __init__(self, so, weights_path, threads=2):
        import ctypes
        self.ct = ctypes
        L = self.lib = ctypes.CDLL(so)
        L.prov_ctx_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        L.prov_errmsg.restype = ctypes.c_char_p
        L.prov_errmsg.argtypes = [ctypes.c_void_p]
        L.prov_detector_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        L.prov_detector_set_threads.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        L.prov_detector_score_rgb.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                              ctypes.c_uint32, ctypes.c_uint32, ctypes.c_size_t,
                                              ctypes.c_void_p]
        self.ctx, self.d = ctypes.c_void_p(), ctypes.c_void_p()
        assert L.prov_ctx_new(ctypes.byref(self.ctx)) == 0
        if L.prov_detector_open(self.ctx, weights_path.encode(), ctypes.byref(self.d)):
            raise RuntimeError("prov_detector_open: %s" % L.prov_errmsg(self.ctx))
        L.prov_detector_set_threads(self.d, threads)

    def score(self, rgb):
        ct = self.ct

        class Res(ct.Structure):
            _fields_ = [("probability", ct.c_float), ("logit", ct.c_float), ("crops", ct.c_uint32)]
        r = Res()
        h, w = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        if self.lib.prov_detector_score_rgb(self.ctx, self.d, rgb.tobytes(), w, h, w * 3, ct.byref(r)):
            raise RuntimeError("prov_detector_score_rgb: %s" % self.lib.prov_errmsg(self.ctx))
        return r.logit, r.crops


@torch.no_grad()
def image_logits(net, img, dev, batch=32):
    h, w = img.shape[:2]
    plan = npr_model.crop_plan(w, h)
    by_size = {}
    for (x, y, cw, ch) in plan:
        by_size.setdefault((cw, ch), []).append(img[y:y + ch, x:x + cw])
    out = []
    for crops in by_size.values():
        for i in range(0, len(crops), batch):
            u8 = torch.from_numpy(np.stack(crops[i:i + batch])).to(dev)
            out.append(net(npr_model.normalize(u8.cpu()).to(dev)).float().cpu()[:, 0])
    return torch.cat(out).numpy(), len(plan)


def auc(y, s):
    """Mann-Whitney AUC with ties counted half."""
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([neg, pos])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sv = allv[order]
    i = 0
    while i < len(sv):  # average ranks of ties
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    rp = ranks[len(neg):].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def fpr_threshold(neg, fpr=0.05):
    """The smallest threshold with at most floor(fpr * n) reals above it."""
    sv = np.sort(neg)
    k = int(math.floor(fpr * len(sv)))
    return float(sv[len(sv) - k - 1])


def metrics(y, s):
    t = fpr_threshold(s[y == 0])
    return {"auc": auc(y, s), "acc": float(np.mean((s > 0) == (y == 1))),
            "tpr_at_5fpr": float(np.mean(s[y == 1] > t)), "thr_5fpr": t}


def bootstrap(y, s, reps, seed=5):
    rng = np.random.default_rng(seed)
    pos, neg = np.where(y == 1)[0], np.where(y == 0)[0]
    vals = {"auc": [], "acc": [], "tpr_at_5fpr": []}
    for _ in range(reps):
        idx = np.concatenate([rng.choice(neg, len(neg)), rng.choice(pos, len(pos))])
        m = metrics(y[idx], s[idx])
        for k in vals:
            vals[k].append(m[k])
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in vals.items()}


def nll(y, s, T):
    z = s / T
    return float(np.mean(np.logaddexp(0, z) - y * z))


def fit_temperature(y, s):
    grid = np.exp(np.linspace(math.log(0.02), math.log(50), 400))
    best = grid[int(np.argmin([nll(y, s, t) for t in grid]))]
    lo, hi = best / 1.05, best * 1.05
    for _ in range(60):  # golden-section refinement
        a = hi - (hi - lo) * 0.618
        b = lo + (hi - lo) * 0.618
        if nll(y, s, a) < nll(y, s, b):
            hi = b
        else:
            lo = a
    return float((lo + hi) / 2)


def reliability(y, s, T, bins=10):
    p = 1.0 / (1.0 + np.exp(-s / T))
    rows, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = (p >= lo) & ((p < hi) if b < bins - 1 else (p <= hi))
        if sel.sum() == 0:
            rows.append([lo, hi, 0, None, None])
            continue
        mp, fr = float(p[sel].mean()), float(y[sel].mean())
        ece += sel.sum() / len(p) * abs(mp - fr)
        rows.append([lo, hi, int(sel.sum()), mp, fr])
    return {"bins": rows, "ece": float(ece), "nll": nll(y, s, T),
            "brier": float(np.mean((p - y) ** 2))}


def fmt_ci(v, ci):
    return "%.3f [%.3f, %.3f]" % (v, ci[0], ci[1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", action="append", default=None,
                    help="data root (repeatable; default the shared data set)")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-files", type=int, default=0, help="smoke test: this many images per class")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--backend", choices=("torch", "c"), default="torch",
                    help="c: score a PROVNPR1 file (CKPT) through libprov, as the product does")
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libprov.so"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device(a.device)
    os.makedirs(a.out, exist_ok=True)
    if a.backend == "c":
        cdet = CDetector(a.lib, a.ckpt, a.threads)
    else:
        ck = export.load_torch(a.ckpt)
        net = export.checked_model(ck["model"] if "model" in ck else ck).to(dev).eval()

    roots = a.data or [data.DEFAULT_ROOT]
    _, val = data.split(data.load_all(roots), strict=False)
    if a.max_files:
        val = [r for r in val if r["label"] == 0][:a.max_files] + [r for r in val if r["label"] == 1][:a.max_files]
    y = np.array([r["label"] for r in val])
    logits = {c: np.zeros(len(val)) for c in CONDITIONS}
    ncrops = np.zeros(len(val), int)
    for i, r in enumerate(val):
        img = data.decode(data.file_path(r["root"], r))
        for c in CONDITIONS:
            px = img if c == "asis" else data.jpeg(img, int(c[4:]))
            if a.backend == "c":
                lg, n = cdet.score(px)
                logits[c][i] = float(lg)
            else:
                cl, n = image_logits(net, px, dev)
                logits[c][i] = float(cl.mean())
            ncrops[i] = n
    with open(os.path.join(a.out, "val_logits.tsv"), "w") as f:
        f.write("path\tsource\tlabel\tcrops\t" + "\t".join("logit_" + c for c in CONDITIONS) + "\n")
        for i, r in enumerate(val):
            f.write("%s\t%s\t%d\t%d\t%s\n" % (r["path"], r["source"], y[i], ncrops[i],
                                             "\t".join("%.6f" % logits[c][i] for c in CONDITIONS)))

    T = fit_temperature(y, logits["asis"])
    res = {"backend": a.backend, "weights": os.path.basename(a.ckpt), "n_real": int((y == 0).sum()), "n_fake": int((y == 1).sum()), "crops": int(ncrops.sum()),
           "temperature": T, "boot": a.boot, "conditions": {}, "per_source": {}}
    for c in CONDITIONS:
        m = metrics(y, logits[c])
        m["ci"] = bootstrap(y, logits[c], a.boot)
        m["calib_before"] = reliability(y, logits[c], 1.0)
        m["calib_after"] = reliability(y, logits[c], T)
        m["flipped_vs_asis"] = int(np.sum((logits[c] > 0) != (logits["asis"] > 0)))
        res["conditions"][c] = m
    for c in ("asis", "jpeg90"):
        s = logits[c]
        t = res["conditions"][c]["thr_5fpr"]
        per = {}
        for src in sorted(set(r["source"] for r in val)):
            sel = np.array([r["source"] == src for r in val])
            lab = int(y[sel][0])
            p = 1.0 / (1.0 + np.exp(-s[sel] / T))
            d = {"class": "fake" if lab else "real", "n": int(sel.sum()), "mean_prob": float(p.mean()),
                 "flagged_at_0.5": float(np.mean(s[sel] > 0))}
            if lab:
                d["tpr_at_5fpr"] = float(np.mean(s[sel] > t))
                d["auc_vs_all_reals"] = auc(np.concatenate([np.zeros((y == 0).sum()), np.ones(sel.sum())]),
                                            np.concatenate([s[y == 0], s[sel]]))
            per[src] = d
        res["per_source"][c] = per
    with open(os.path.join(a.out, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)

    md = ["Validation: %d real + %d fake images from held-out sources, %d crops of 256 px; %d bootstrap resamples."
          % (res["n_real"], res["n_fake"], res["crops"], a.boot), "",
          "| condition | AUC [95% CI] | accuracy @0.5 [95% CI] | TPR @5% FPR [95% CI] | labels flipped vs as-is |",
          "|---|---|---|---|---|"]
    for c in CONDITIONS:
        m = res["conditions"][c]
        md.append("| %s | %s | %s | %s | %d |" % (c, fmt_ci(m["auc"], m["ci"]["auc"]), fmt_ci(m["acc"], m["ci"]["acc"]),
                                                fmt_ci(m["tpr_at_5fpr"], m["ci"]["tpr_at_5fpr"]), m["flipped_vs_asis"]))
    md += ["", "Temperature fitted on the as-is validation logits: T = %.3f" % T, "",
           "| as-is | NLL | Brier | ECE (10 bins) |", "|---|---|---|---|"]
    for k, lab in (("calib_before", "T = 1"), ("calib_after", "T = %.3f" % T)):
        m = res["conditions"]["asis"][k]
        md.append("| %s | %.3f | %.3f | %.3f |" % (lab, m["nll"], m["brier"], m["ece"]))
    md += ["", "Reliability (as-is): bin of predicted probability, images, mean predicted, share fake",
           "", "| bin | n (T=1) | predicted | fake share | n (T fitted) | predicted | fake share |",
           "|---|---|---|---|---|---|---|"]
    b0, b1 = res["conditions"]["asis"]["calib_before"]["bins"], res["conditions"]["asis"]["calib_after"]["bins"]
    f = lambda v: "-" if v is None else "%.2f" % v  # noqa: E731
    for r0, r1 in zip(b0, b1):
        md.append("| %.1f-%.1f | %d | %s | %s | %d | %s | %s |" % (r0[0], r0[1], r0[2], f(r0[3]), f(r0[4]),
                                                              r1[2], f(r1[3]), f(r1[4])))
    for c in ("asis", "jpeg90"):
        md += ["", "Per held-out source (%s; probabilities with the fitted T):" % c, "",
               "| source | class | images | mean prob | flagged @0.5 | TPR @5% FPR | AUC vs all held-out reals |",
               "|---|---|---|---|---|---|---|"]
        for src, d in sorted(res["per_source"][c].items(), key=lambda kv: (kv[1]["class"], kv[0])):
            md.append("| %s | %s | %d | %.3f | %.3f | %s | %s |" % (
                src, d["class"], d["n"], d["mean_prob"], d["flagged_at_0.5"],
                "%.3f" % d["tpr_at_5fpr"] if "tpr_at_5fpr" in d else "-",
                "%.3f" % d["auc_vs_all_reals"] if "auc_vs_all_reals" in d else "-"))
    with open(os.path.join(a.out, "eval.md"), "w") as f2:
        f2.write("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
