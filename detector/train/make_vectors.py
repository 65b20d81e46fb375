"""make_vectors.py - regenerate the parity vectors in tests/vectors/detector/.

    python3 detector/train/make_vectors.py          (from the repo root)

Writes:
  npr_random_f16.provnpr  the real architecture with random weights (fixed
                          seed): conv and fc weights from the model's own
                          init, batch norms with random weight, bias,
                          running mean and running var (so folding them is
                          tested), every value rounded to float16 so the
                          file is half the size and PyTorch runs exactly
                          the values the file holds
  teapot_rgb.png          samples/teapot.jpg decoded by PIL, kept lossless,
                          so the C test needs no JPEG decoder to agree
  expected.txt            per image and per crop: the logit PyTorch
                          computes (float32, eval mode, no_grad)

The C test (tests/unit/test_detector.c) reads these; it needs no torch.
The synthetic images are generated from synth_pixel() here and in C.
"""

import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
import model as npr_model  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "tests", "vectors", "detector")
SEED = 20240611
WEIGHTS = "npr_random_f16.provnpr"


def synth_pixel(x, y, c, seed):
    """A deterministic test pattern: smooth gradients plus hashed noise
    (uint32 arithmetic, as in the C test)."""
    m = 0xFFFFFFFF
    h = ((x * 73856093) & m) ^ ((y * 19349663) & m) ^ (((c + seed) * 83492791) & m)
    h = (h * 2654435761) & m
    smooth = x * 3 + y * 5 + c * 60 + ((x * y) % 37) * 2
    return (smooth + ((h >> 24) % 48)) & 255


def synth_image(w, h, seed):
    ys, xs = np.mgrid[0:h, 0:w].astype(np.int64)
    img = np.zeros((h, w, 3), np.uint8)
    for c in range(3):
        m = 0xFFFFFFFF
        hh = ((xs * 73856093) & m) ^ ((ys * 19349663) & m) ^ (((c + seed) * 83492791) & m)
        hh = (hh * 2654435761) & m
        smooth = xs * 3 + ys * 5 + c * 60 + ((xs * ys) % 37) * 2
        img[:, :, c] = ((smooth + ((hh >> 24) % 48)) & 255).astype(np.uint8)
    assert img[h - 1, w - 1, 2] == synth_pixel(w - 1, h - 1, 2, seed)
    return img


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for byte in b:
        h ^= byte
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fnv1a64_np(a):
    # fast enough for a few MB: vectorise in chunks is awkward; plain loop
    return fnv1a64(a.tobytes())


def random_model(calib_crops):
    """Random weights; batch-norm statistics measured on calib_crops (as
    training would leave them, so activations stay input-dependent), then
    perturbed, with random BN weight and bias."""
    torch.manual_seed(SEED)
    m = npr_model.NPR()
    g = torch.Generator().manual_seed(SEED + 1)
    bns = [mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for mod in bns:
            n = mod.num_features
            mod.weight.copy_(torch.rand(n, generator=g) * 0.8 + 0.6)
            mod.bias.copy_(torch.randn(n, generator=g) * 0.2)
            mod.momentum = None  # cumulative average over the calibration pass
            mod.reset_running_stats()
        m.train()
        m(calib_crops)
        m.eval()
        for mod in bns:
            n = mod.num_features
            sd = mod.running_var.sqrt()
            mod.running_mean.add_(torch.randn(n, generator=g) * 0.1 * sd)
            mod.running_var.mul_(torch.rand(n, generator=g) * 1.0 + 0.6)
        # fc1: logits spread over a few units across the calibration crops
        x = m.maxpool(m.relu(m.bn1(m.conv1(npr_model.npr_residual(calib_crops)))))
        feats = torch.flatten(m.avgpool(m.layer2(m.layer1(x))), 1)
        z = feats @ m.fc1.weight[0]
        m.fc1.weight.mul_(2.0 / float(z.std()))
        m.fc1.bias.fill_(-float(z.mean()) * 2.0 / float(z.std()))
        for k, v in m.state_dict().items():  # exactly representable in f16
            if v.dtype == torch.float32:
                v.copy_(v.half().float())
    return m


def crop_logits(m, img, double=False):
    h, w = img.shape[:2]
    out = []
    for (x, y, cw, ch) in npr_model.crop_plan(w, h):
        t = npr_model.normalize(torch.from_numpy(np.ascontiguousarray(img[y:y + ch, x:x + cw])))
        with torch.no_grad():
            if double:
                v = m.double()(t.double()).item()
                m.float()
            else:
                v = m(t).item()
        out.append((x, y, cw, ch, v))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    teapot = np.array(Image.open(os.path.join(ROOT, "samples", "teapot.jpg")).convert("RGB"))
    kodim = np.array(Image.open(os.path.join(ROOT, "samples", "kodim01.png")).convert("RGB"))
    calib = [kodim[y:y + 128, x:x + 128] for y in (0, 256) for x in (0, 320, 640)]
    calib += [teapot[y:y + 128, x:x + 128] for y in (0, 300, 560) for x in (0, 300, 560)]
    calib.append(synth_image(128, 128, 11))
    m = random_model(torch.cat([npr_model.normalize(torch.from_numpy(np.ascontiguousarray(c)))
                                for c in calib]))
    # the slicing NPR residual is the reference's interpolate one, exactly
    t = torch.randn(2, 3, 64, 48)
    assert torch.equal(npr_model.npr_residual(t), npr_model.npr_residual_reference(t)) or \
        torch.allclose(npr_model.npr_residual(t), npr_model.npr_residual_reference(t), atol=1e-6)

    meta = export.base_meta(source="make_vectors.py (random weights, seed %d)" % SEED,
                            model_version="test-random-1", training_record="none")
    meta["created"] = "2024-06-11T00:00:00Z"  # fixed: the file is a vector
    n = export.export_state_dict(m.state_dict(), os.path.join(OUT, WEIGHTS), 1.5, meta, "f16")
    print("%s: %d bytes" % (WEIGHTS, n))

    Image.fromarray(teapot).save(os.path.join(OUT, "teapot_rgb.png"), optimize=True)
    images = [
        ("kodim01", "samples/kodim01.png", kodim),
        ("teapot", "tests/vectors/detector/teapot_rgb.png", teapot),
        ("synth301x131", "synth:7", synth_image(301, 131, 7)),
        ("synth50x38", "synth:3", synth_image(50, 38, 3)),
    ]
    lines = ["# tests/vectors/detector/expected.txt - written by detector/train/make_vectors.py",
             "# torch %s; logits from PyTorch float32, eval mode" % torch.__version__,
             "# weights FILE TEMPERATURE",
             "# image NAME SOURCE W H FNV1A64(RGB) CROPS MEAN_LOGIT",
             "# crop NAME X Y CW CH LOGIT",
             "weights %s 1.5" % WEIGHTS]
    lines.append("# plan W H MAX_CROPS CW CH X,Y ...  (model.crop_plan)")
    for (w, h, mx) in [(4000, 3000, 16), (4000, 3000, 5), (6000, 4000, 1), (257, 300, 16),
                       (32, 32, 16), (33, 1001, 16), (1000, 256, 16), (1000, 257, 3),
                       (513, 513, 4), (30000, 200, 1024), (1025, 1025, 1024),
                       (4294967295, 4294967294, 16), (4294967295, 40, 1024)]:
        pl = npr_model.crop_plan(w, h, max_crops=mx)
        lines.append("plan %d %d %d %d %d %s" % (w, h, mx, pl[0][2], pl[0][3],
                                                 " ".join("%d,%d" % (x, y) for (x, y, _, _) in pl)))
    worst = 0.0
    for name, src, img in images:
        h, w = img.shape[:2]
        cl = crop_logits(m, img)
        cd = crop_logits(m, img, double=True)
        worst = max(worst, max(abs(a[4] - b[4]) for a, b in zip(cl, cd)))
        mean = float(np.mean([c[4] for c in cl]))
        lines.append("image %s %s %d %d %016x %d %.9g" % (name, src, w, h, fnv1a64_np(img), len(cl), mean))
        for (x, y, cw, ch, v) in cl:
            lines.append("crop %s %d %d %d %d %.9g" % (name, x, y, cw, ch, v))
        print(name, w, h, len(cl), "crops, mean logit %.6f" % mean, "range", min(c[4] for c in cl), max(c[4] for c in cl))
    print("float32 vs float64 PyTorch: max |diff| %.3g" % worst)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
