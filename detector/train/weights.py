"""weights.py - read and write PROVNPR1 weights files (detector/README.md).

    write(path, tensors, meta, dtype="f32")   tensors: [(name, array)], in order
    read(path) -> (meta dict, {name: float32 numpy array})

Only numpy is needed here (no torch), so tools can inspect a file anywhere.
"""

import json
import os
import re
import struct
import zlib

import numpy as np

MAGIC = b"PROVNPR1"
VERSION = 1
DTYPE_F32 = 1
DTYPE_F16 = 2
ALIGN = 64
MAX_META = 64 * 1024
MAX_TENSORS = 1024
MAX_FILE = 64 << 20
# Tensors always kept in float32, whatever dtype is asked for: the input
# normalisation and the calibration must not be rounded.
ALWAYS_F32 = ("input.mean", "input.std", "calib.temperature")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def encode(tensors, meta, dtype="f32"):
    """The bytes of a weights file."""
    if dtype not in ("f32", "f16"):
        raise ValueError("dtype must be f32 or f16")
    mj = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(mj) > MAX_META:
        raise ValueError("metadata over %d bytes" % MAX_META)
    if len(tensors) > MAX_TENSORS:
        raise ValueError("too many tensors")
    out = bytearray(MAGIC)
    out += struct.pack("<IIII", VERSION, len(mj), len(tensors), 0)
    out += mj
    seen = set()
    for name, arr in tensors:
        if not _NAME.match(name) or name in seen:
            raise ValueError("bad or repeated tensor name %r" % name)
        seen.add(name)
        a = np.asarray(arr, dtype=np.float32)
        if not np.all(np.isfinite(a)):
            raise ValueError("%s holds values that are not finite" % name)
        if a.ndim > 4:
            raise ValueError("%s has %d dimensions (at most 4)" % (name, a.ndim))
        code = DTYPE_F16 if dtype == "f16" and name not in ALWAYS_F32 else DTYPE_F32
        if code == DTYPE_F16:
            h = a.astype("<f2")
            if not np.all(np.isfinite(h)):
                raise ValueError("%s overflows float16" % name)
            data = h.tobytes()
        else:
            data = a.astype("<f4").tobytes()
        nb = name.encode("ascii")
        out += struct.pack("<H", len(nb)) + nb + struct.pack("<BB", code, a.ndim)
        out += b"".join(struct.pack("<I", d) for d in a.shape)
        out += b"\0" * ((-len(out)) % ALIGN)
        out += data
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    if len(out) > MAX_FILE:
        raise ValueError("file over %d bytes" % MAX_FILE)
    return bytes(out)


def write(path, tensors, meta, dtype="f32"):
    data = encode(tensors, meta, dtype)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def decode(buf):
    """(meta, {name: float32 array}) from the bytes of a weights file."""
    if len(buf) < 28 or buf[:8] != MAGIC:
        raise ValueError("not a PROVNPR1 file")
    version, mlen, count, flags = struct.unpack_from("<IIII", buf, 8)
    if version != VERSION or flags:
        raise ValueError("unsupported version %d / flags %d" % (version, flags))
    end = len(buf) - 4
    if zlib.crc32(buf[:end]) & 0xFFFFFFFF != struct.unpack_from("<I", buf, end)[0]:
        raise ValueError("CRC-32 mismatch")
    if mlen > MAX_META or count > MAX_TENSORS or 24 + mlen > end:
        raise ValueError("bad header")
    meta = json.loads(buf[24:24 + mlen].decode("utf-8"))
    pos = 24 + mlen
    out = {}
    for _ in range(count):
        (nl,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2:pos + 2 + nl].decode("ascii")
        pos += 2 + nl
        code, ndim = buf[pos], buf[pos + 1]
        pos += 2
        dims = struct.unpack_from("<%dI" % ndim, buf, pos)
        pos += 4 * ndim
        pos += (-pos) % ALIGN
        dt = {DTYPE_F32: "<f4", DTYPE_F16: "<f2"}[code]
        n = int(np.prod(dims)) if ndim else 1
        nbytes = n * np.dtype(dt).itemsize
        if pos + nbytes > end or name in out:
            raise ValueError("bad tensor %s" % name)
        out[name] = np.frombuffer(buf, dt, n, pos).astype(np.float32).reshape(dims)
        pos += nbytes
    if pos != end:
        raise ValueError("stray bytes after the tensors")
    return meta, out


def read(path):
    with open(path, "rb") as f:
        return decode(f.read())


if __name__ == "__main__":
    import sys
    meta, ts = read(sys.argv[1])
    print(json.dumps(meta, indent=1, sort_keys=True))
    total = 0
    for k, v in ts.items():
        total += v.size
        print("%-40s %-18s" % (k, "x".join(map(str, v.shape))))
    print("%d tensors, %d values" % (len(ts), total))
