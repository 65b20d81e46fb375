"""convert_pth.py - convert a PyTorch checkpoint of the NPR layout (the
reference NPR code's networks/resnet.py, or this repo's model.NPR) into a
PROVNPR1 weights file.

    python3 convert_pth.py MODEL.pth OUT.provnpr [--temperature T]
                           [--dtype f32|f16] [--ignore-extra] [--unsafe-pickle]

Accepted wrappers: a bare state_dict, or a dict holding it under "model",
"state_dict", "model_state_dict" or "net"; key prefixes "module." (from
DataParallel / DistributedDataParallel) and "model." are stripped.  The
result must then match model.NPR exactly (every key, every shape), else
nothing is written; --ignore-extra drops keys the network does not use
(e.g. a "fc.*" head or unused "layer3.*" of a full ResNet-50) instead of
refusing them.  The checkpoint is loaded with weights_only=True unless
--unsafe-pickle is given (a pickle can run code: only for files you trust).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import model as npr_model  # noqa: E402

WRAPPERS = ("model", "state_dict", "model_state_dict", "net")
PREFIXES = ("module.", "model.")


def unwrap(ck):
    """The state_dict inside a loaded checkpoint, with its keys normalised."""
    sd = ck
    for _ in range(3):
        if isinstance(sd, dict):
            inner = [w for w in WRAPPERS if w in sd and isinstance(sd[w], dict)]
            if inner and not any(k.endswith(".weight") for k in sd):
                sd = sd[inner[0]]
                continue
        break
    if not isinstance(sd, dict):
        raise ValueError("no state_dict found in the checkpoint")
    out = {}
    for k, v in sd.items():
        if not hasattr(v, "shape"):
            continue
        name = k
        changed = True
        while changed:
            changed = False
            for p in PREFIXES:
                if name.startswith(p):
                    name = name[len(p):]
                    changed = True
        out[name] = v
    return out


def convert(path, out, temperature=1.0, dtype="f32", ignore_extra=False, unsafe=False):
    ck = export.load_torch(path, unsafe)
    sd = unwrap(ck)
    if ignore_extra:
        want = npr_model.NPR().state_dict()
        dropped = sorted(k for k in sd if k not in want)
        sd = {k: v for k, v in sd.items() if k in want}
        if dropped:
            print("dropped %d unused keys: %s" % (len(dropped), ", ".join(dropped[:6]) + (" ..." if len(dropped) > 6 else "")))
    meta = export.base_meta(source="convert_pth.py " + os.path.basename(path))
    return export.export_state_dict(sd, out, temperature, meta, dtype)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pth")
    ap.add_argument("out")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32")
    ap.add_argument("--ignore-extra", action="store_true")
    ap.add_argument("--unsafe-pickle", action="store_true")
    a = ap.parse_args(argv)
    try:
        n = convert(a.pth, a.out, a.temperature, a.dtype, a.ignore_extra, a.unsafe_pickle)
    except ValueError as e:
        raise SystemExit("convert_pth: %s" % e)
    print("%s: %d bytes" % (a.out, n))


if __name__ == "__main__":
    main()
