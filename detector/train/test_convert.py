"""test_convert.py - check export.py and convert_pth.py end to end.

    python3 detector/train/test_convert.py [LIBPROV.so]

Trains the model for a few SGD steps on random images (so batch-norm
running statistics are real training output), wrapped in DataParallel as
the reference NPR training does, and saves it the ways NPR checkpoints come:
a bare state_dict with "module." prefixes, {"model": ..., "optimizer": ...,
"total_steps": ...}, and a plain state_dict.  Each is converted; the files
must hold exactly the model's tensors.  A foreign key must be refused (and
dropped with --ignore-extra).  If a libprov shared library is given (or
build/libprov.so exists), the C path scores an image from the converted
file through ctypes and must agree with PyTorch within 1e-3.
Needs torch; takes about half a minute on 2 cores.
"""

import ctypes
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_pth  # noqa: E402
import export  # noqa: E402
import model as npr_model  # noqa: E402
import weights  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def short_training():
    torch.manual_seed(7)
    net = torch.nn.DataParallel(npr_model.NPR())
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    lossf = torch.nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(8)
    net.train()
    for step in range(6):
        u8 = torch.randint(0, 256, (8, 64, 64, 3), dtype=torch.uint8, generator=g)
        y = (torch.arange(8) % 2).float().unsqueeze(1)
        x = npr_model.normalize(u8)
        x[y[:, 0] > 0] = x[y[:, 0] > 0] * 0.5  # something to learn
        loss = lossf(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net, opt


class LibProv:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.prov_ctx_new.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        L.prov_errmsg.restype = ctypes.c_char_p
        L.prov_errmsg.argtypes = [ctypes.c_void_p]
        L.prov_detector_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        L.prov_detector_score_rgb.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                              ctypes.c_uint32, ctypes.c_uint32, ctypes.c_size_t,
                                              ctypes.c_void_p]
        L.prov_detector_free.argtypes = [ctypes.c_void_p]
        self.ctx = ctypes.c_void_p()
        assert L.prov_ctx_new(ctypes.byref(self.ctx)) == 0

    def score(self, weights_path, rgb):
        class Res(ctypes.Structure):
            _fields_ = [("probability", ctypes.c_float), ("logit", ctypes.c_float), ("crops", ctypes.c_uint32)]
        d = ctypes.c_void_p()
        rc = self.lib.prov_detector_open(self.ctx, weights_path.encode(), ctypes.byref(d))
        if rc:
            raise RuntimeError("open: %d %s" % (rc, self.lib.prov_errmsg(self.ctx)))
        r = Res()
        h, w = rgb.shape[:2]
        rc = self.lib.prov_detector_score_rgb(self.ctx, d, rgb.tobytes(), w, h, w * 3, ctypes.byref(r))
        self.lib.prov_detector_free(d)
        if rc:
            raise RuntimeError("score: %d" % rc)
        return r.logit, r.crops


def main():
    net, opt = short_training()
    sd = net.state_dict()
    assert all(k.startswith("module.") for k in sd)
    plain = {k[len("module."):]: v for k, v in sd.items()}
    tmp = tempfile.mkdtemp(prefix="npr-convert-")
    cases = {
        "dataparallel.pth": sd,
        "wrapped.pth": {"model": sd, "optimizer": opt.state_dict(), "total_steps": 6},
        "plain.pth": plain,
    }
    ref = npr_model.NPR()
    ref.load_state_dict(plain)
    ref.eval()
    outs = []
    for name, obj in cases.items():
        p = os.path.join(tmp, name)
        torch.save(obj, p)
        out = p + ".provnpr"
        convert_pth.convert(p, out)
        meta, ts = weights.read(out)
        assert meta["model"] == "npr-r50l2" and meta["temperature"] == 1.0
        for k, v in plain.items():
            if k.endswith("num_batches_tracked"):
                assert k not in ts
                continue
            assert np.array_equal(ts[k], v.numpy()), k
        assert len(ts) == sum(1 for k in plain if not k.endswith("num_batches_tracked")) + 3
        outs.append(out)
        print("ok", name, "->", os.path.getsize(out), "bytes")
    # a key the network does not have
    bad = dict(plain)
    bad["fc.weight"] = torch.zeros(1, 2048)
    p = os.path.join(tmp, "extra.pth")
    torch.save(bad, p)
    try:
        convert_pth.convert(p, p + ".provnpr")
        raise AssertionError("an unexpected key was accepted")
    except ValueError as e:
        assert "unexpected: fc.weight" in str(e), e
    convert_pth.convert(p, p + ".provnpr", ignore_extra=True)
    # a wrong shape
    bad = dict(plain)
    bad["layer2.0.conv2.weight"] = torch.zeros(128, 128, 1, 1)
    torch.save(bad, p)
    try:
        convert_pth.convert(p, p + ".provnpr")
        raise AssertionError("a wrong shape was accepted")
    except ValueError as e:
        assert "layer2.0.conv2.weight has shape" in str(e), e
    # a checkpoint holding an arbitrary object: refused unless --unsafe-pickle
    import argparse
    torch.save({"model": sd, "opt": argparse.Namespace(lr=0.1)}, p)
    try:
        convert_pth.convert(p, p + ".provnpr")
        raise AssertionError("a pickled object was loaded")
    except ValueError as e:
        assert "argparse" in str(e), e
    convert_pth.convert(p, p + ".provnpr", unsafe=True)
    print("ok foreign keys, shapes and objects refused")

    # the C path on the converted file
    so = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "libprov.so")
    if not os.path.exists(so):
        print("skip C comparison: no %s" % so)
        return
    g = torch.Generator().manual_seed(9)
    rgb = torch.randint(0, 256, (200, 300, 3), dtype=torch.uint8, generator=g).numpy()
    with torch.no_grad():
        plan = npr_model.crop_plan(300, 200)
        want = float(np.mean([ref(npr_model.normalize(torch.from_numpy(np.ascontiguousarray(
            rgb[y:y + ch, x:x + cw])))).item() for (x, y, cw, ch) in plan]))
    got, crops = LibProv(so).score(outs[1], rgb)
    print("C logit %.6f, PyTorch %.6f, |diff| %.2g, %d crops" % (got, want, abs(got - want), crops))
    assert crops == len(plan) and abs(got - want) < 1e-3


if __name__ == "__main__":
    main()
