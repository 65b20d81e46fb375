"""export.py - write a trained NPR model as a PROVNPR1 weights file.

    python3 export.py CHECKPOINT OUT.provnpr [--temperature T] [--record ID]
                      [--model-version V] [--dtype f32|f16]

CHECKPOINT is what the training script saves: either a bare state_dict or
a dict {"model": state_dict, "temperature": T, "meta": {...}}.  Keys and
shapes must be exactly those of model.NPR (a foreign NPR checkpoint, with
"module." prefixes or other wrappers, goes through convert_pth.py).

Batch norm stays as separate tensors (weight, bias, running_mean,
running_var); the C loader folds it into the convolutions.

Library use: export_state_dict(state_dict, path, temperature=..., meta=...).
"""

import argparse
import json
import datetime
import os
import pickle
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as npr_model  # noqa: E402
import weights  # noqa: E402


def checked_model(state_dict):
    """A model.NPR holding state_dict; raises ValueError on any missing,
    unexpected or misshapen key (num_batches_tracked may be absent)."""
    m = npr_model.NPR()
    want = m.state_dict()
    missing = [k for k in want if k not in state_dict and not k.endswith("num_batches_tracked")]
    extra = [k for k in state_dict if k not in want]
    bad = [k for k in state_dict if k in want and tuple(state_dict[k].shape) != tuple(want[k].shape)]
    if missing or extra or bad:
        msg = []
        if missing:
            msg.append("missing: " + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
        if extra:
            msg.append("unexpected: " + ", ".join(extra[:8]) + (" ..." if len(extra) > 8 else ""))
        for k in bad:
            msg.append("%s has shape %s, expected %s" % (k, tuple(state_dict[k].shape), tuple(want[k].shape)))
        raise ValueError("not an NPR state_dict: " + "; ".join(msg))
    m.load_state_dict(state_dict, strict=False)
    return m.eval()


def tensors_of(m, temperature=1.0):
    """[(name, float32 array)] in file order: the state_dict (without
    num_batches_tracked), then input.mean, input.std, calib.temperature."""
    out = []
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        out.append((k, v.detach().to(torch.float32).cpu().numpy()))
    out.append(("input.mean", list(npr_model.MEAN)))
    out.append(("input.std", list(npr_model.STD)))
    out.append(("calib.temperature", [float(temperature)]))
    return out


def base_meta(**kw):
    meta = {
        "format": "PROVNPR1",
        "model": npr_model.MODEL_NAME,
        "params": 1437761,
        "crop": npr_model.CROP,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    meta.update({k: v for k, v in kw.items() if v is not None})
    return meta


def export_state_dict(state_dict, path, temperature=1.0, meta=None, dtype="f32"):
    """Check state_dict against model.NPR and write it to path."""
    if not (temperature > 0):
        raise ValueError("temperature must be > 0")
    m = checked_model(state_dict)
    meta = dict(meta if meta is not None else base_meta())
    meta["temperature"] = float(temperature)
    return weights.write(path, tensors_of(m, temperature), meta, dtype)


_SAFE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"),
    ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch", "Size"),
    ("torch", "device"),
    ("torch", "dtype"),
    ("torch", "float32"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "dtype"),
}


class _SafeUnpickler(pickle.Unpickler):
    """Only tensors, their storages and plain containers: a checkpoint
    cannot run code.  (torch 1.13's own weights_only refuses Python floats,
    which every optimizer state holds.)"""

    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS or (module == "torch" and name.endswith("Storage")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError("checkpoint holds %s.%s; pass --unsafe-pickle if you trust it" % (module, name))


def _safe_pickle_load(f, **kw):
    return _SafeUnpickler(f, **kw).load()


_SafePickle = types.ModuleType("safe_pickle")
_SafePickle.Unpickler = _SafeUnpickler
_SafePickle.load = _safe_pickle_load
_SafePickle.UnpicklingError = pickle.UnpicklingError


def load_torch(path, unsafe=False):
    """torch.load on the CPU.  Unless unsafe (a pickle can run code), only
    tensors and plain containers may be in the file."""
    if unsafe:
        return torch.load(path, map_location="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        pass
    # torch 1.13 ignores pickle_module unless weights_only (it resets it to
    # the pickle module it imported), so swap that module for the call
    import torch.serialization as tser
    saved = tser.pickle
    tser.pickle = _SafePickle
    try:
        return torch.load(path, map_location="cpu", pickle_module=_SafePickle)
    except pickle.UnpicklingError as e:
        if "unsafe-pickle" in str(e):
            raise ValueError(str(e))
        raise ValueError("%s is not a PyTorch checkpoint (%s)" % (path, e))
    except (OSError, RuntimeError, EOFError) as e:
        raise ValueError("%s is not a PyTorch checkpoint (%s)" % (path, e))
    finally:
        tser.pickle = saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--temperature", type=float, default=None,
                    help="calibration temperature (default: the checkpoint's, else 1)")
    ap.add_argument("--record", default=None, help="training record id for the metadata")
    ap.add_argument("--model-version", default=None)
    ap.add_argument("--dtype", choices=("f32", "f16"), default="f32")
    ap.add_argument("--operating-point", default=None,
                    help="operating_point.py's OP.json: its temperature and operating point go into the file")
    ap.add_argument("--unsafe-pickle", action="store_true",
                    help="allow a checkpoint that holds arbitrary Python objects")
    a = ap.parse_args(argv)
    ck = load_torch(a.checkpoint, a.unsafe_pickle)
    sd, t, extra = ck, 1.0, {}
    if isinstance(ck, dict) and "model" in ck and isinstance(ck["model"], dict):
        sd = ck["model"]
        t = float(ck.get("temperature", 1.0))
        extra = dict(ck.get("meta", {}) or {})
    op = None
    if a.operating_point:
        with open(a.operating_point) as f:
            opj = json.load(f)
        t, op = float(opj["temperature"]), opj["operating_point"]
        if not 0 < op["threshold"] < 1:
            raise SystemExit("operating point threshold %r is not in (0, 1)" % op["threshold"])
    if a.temperature is not None:
        t = a.temperature
    meta = base_meta(source="export.py " + os.path.basename(a.checkpoint),
                     training_record=a.record or extra.pop("training_record", None),
                     model_version=a.model_version or extra.pop("model_version", None))
    for k, v in extra.items():
        meta.setdefault(k, v)
    if op is not None:
        meta["operating_point"] = op
    n = export_state_dict(sd, a.out, t, meta, a.dtype)
    print("%s: %d bytes" % (a.out, n))


if __name__ == "__main__":
    main()
