"""train_gpu.py - train the NPR detector on one GPU, with the whole data
pipeline on the device.

    python3 train_gpu.py --data ROOT [--data ROOT2 ...] --out DIR [--minutes M]

What is different from train.py (CPU): the decoded training images live in
GPU memory and every step is made there, so the GPU is never starved:

- real crops: even-aligned crops of real photos (the image's own 2x2 phase
  kept, as at inference);
- fake crops, half from real generators' outputs (the data folders), half
  *aligned* fakes made from real crops on the fly (the real photo's own
  content, pixels passed through an up-sampler, so the network must learn
  the up-sampling trace, not the subject): re-sampling (2x down then up by
  nearest, bilinear or bicubic, or a random factor) and a bank of small
  auto-encoders trained at the start (nearest + conv, bilinear + conv,
  transposed convolution, pixel shuffle decoders; 1 or 2 up-sampling
  stages);
- the same random post-processing for both classes: Gaussian blur
  (p 0.2), JPEG (p 0.6, quality 60-100, 4:2:0, simulated exactly on the GPU:
  colour transform, chroma subsampling, 8x8 DCT, the standard tables
  scaled by quality, rounding), a small down-scale (p 0.1), flip; the
  final crop at an even offset inside a larger region, so the 8x8 JPEG
  grid does not sit on the crop's origin;
- two model sizes side by side on the same batches: the shipped
  architecture (model.NPR, 1.44M parameters) and a smaller one (layer1
  only, NPRSmall) for the record;
- bf16 autocast, AdamW, cosine schedule; crops of --crop px, then the
  last --final-frac of the run at --final-crop (the C inference size).

Writes DIR/ckpt.pth (the NPR model, as train.py writes it: export.py reads
it), DIR/ckpt_small.pth, DIR/run.json and DIR/train_log.jsonl.  Held-out
sources (data.VAL_REAL, data.VAL_FAKE) are never loaded.
"""

import argparse
import concurrent.futures
import contextlib
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import model as npr_model  # noqa: E402


# ---- a smaller NPR (for the size comparison) --------------------------------

class NPRSmall(nn.Module):
    """NPR with layer1 only (256 channels into fc): ~0.22M parameters."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=npr_model.BN_EPS)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = npr_model._layer(64, 64, 3, 1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(256, 1)

    def forward(self, x):
        x = npr_model.npr_residual(x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        return self.fc1(torch.flatten(self.avgpool(x), 1))


# ---- JPEG, simulated on the device ------------------------------------------

_QY = torch.tensor([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=torch.float32)
_QC = torch.tensor([17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
                    47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, dtype=torch.float32)


def _dct_matrix(dev):
    n = torch.arange(8, dtype=torch.float32, device=dev)
    k = n.view(8, 1)
    m = torch.cos((2 * n + 1) * k * math.pi / 16)
    m[0] *= 1 / math.sqrt(2)
    return m * 0.5


def _qtable(base, q):
    """libjpeg's quality scaling, per image: q (N,) -> (N, 64)."""
    s = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)
    t = torch.floor((base.view(1, 64) * s.view(-1, 1) + 50) / 100)
    return t.clamp(1, 255)


def jpeg_sim(x, q):
    """x: N x 3 x H x W float in [0, 255] (H, W multiples of 16), q: (N,)
    qualities.  Returns the decoded JPEG (4:2:0), rounded to integers."""
    n, _, h, w = x.shape
    dev = x.device
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    cb = F.avg_pool2d(cb.unsqueeze(1), 2).squeeze(1)
    cr = F.avg_pool2d(cr.unsqueeze(1), 2).squeeze(1)
    d = _dct_matrix(dev)
    qy, qc = _qtable(_QY.to(dev), q), _qtable(_QC.to(dev), q)

    def code(ch, qt):
        hh, ww = ch.shape[-2:]
        blocks = (ch - 128).reshape(n, hh // 8, 8, ww // 8, 8).permute(0, 1, 3, 2, 4)
        coef = d @ blocks @ d.T
        qt = qt.view(n, 1, 1, 8, 8)
        coef = torch.round(coef / qt) * qt
        back = d.T @ coef @ d
        return back.permute(0, 1, 3, 2, 4).reshape(n, hh, ww) + 128

    y = code(y, qy)
    cb = F.interpolate(code(cb, qc).unsqueeze(1), scale_factor=2, mode="bilinear", align_corners=False).squeeze(1)
    cr = F.interpolate(code(cr, qc).unsqueeze(1), scale_factor=2, mode="bilinear", align_corners=False).squeeze(1)
    r = y + 1.402 * (cr - 128)
    g = y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)
    b = y + 1.772 * (cb - 128)
    return torch.stack([r, g, b], 1).round().clamp(0, 255)


def blur(x, sigma):
    """Gaussian blur, per image sigma (N,) (0: none)."""
    k = 7
    t = torch.arange(k, device=x.device, dtype=torch.float32) - k // 2
    s = sigma.clamp(min=1e-3).view(-1, 1)
    g = torch.exp(-(t.view(1, -1) ** 2) / (2 * s * s))
    g = g / g.sum(1, keepdim=True)
    n, c, h, w = x.shape
    xp = F.pad(x.reshape(1, n * c, h, w), (k // 2,) * 4, mode="reflect")
    gw = g.repeat_interleave(c, 0)
    xh = F.conv2d(xp, gw.view(n * c, 1, 1, k), groups=n * c)
    xv = F.conv2d(xh, gw.view(n * c, 1, k, 1), groups=n * c)
    out = xv.reshape(n, c, h, w)
    keep = (sigma <= 0).view(-1, 1, 1, 1)
    return torch.where(keep, x, out)


# ---- aligned synthetic fakes -------------------------------------------------

class TinyAE(nn.Module):
    KINDS = ("nearest", "bilinear", "tconv", "shuffle")

    def __init__(self, kind, c, stages):
        super().__init__()
        self.kind, self.stages = kind, stages
        enc = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(stages):
            enc += [nn.Conv2d(c, c, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.enc = nn.Sequential(*enc)
        ups = []
        for _ in range(stages):
            if kind == "tconv":
                ups += [nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)]
            elif kind == "shuffle":
                ups += [nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2)]
            else:
                ups += [nn.Upsample(scale_factor=2, mode=kind), nn.Conv2d(c, c, 3, padding=1)]
            ups += [nn.ReLU(inplace=True)]
        self.dec = nn.Sequential(*ups, nn.Conv2d(c, 3, 3, padding=1))

    def forward(self, x):
        # no skip connection: every output pixel went through the up-sampler
        return torch.sigmoid(self.dec(self.enc(x)))


def resample_fake(x, rng):
    """x: N x 3 x H x W in [0, 255]: down then up, as up-sampling generators
    and upscalers leave it."""
    n, _, h, w = x.shape
    mode_dn = ("area", "bilinear", "bicubic")[int(rng.integers(0, 3))]
    mode_up = ("nearest", "bilinear", "bicubic")[int(rng.integers(0, 3))]
    f = 2.0 if rng.random() < 0.6 else float(rng.uniform(1.3, 4.0))
    sh, sw = max(8, int(h / f)), max(8, int(w / f))
    kw = {} if mode_dn == "area" else {"align_corners": False, "antialias": True}
    small = F.interpolate(x, size=(sh, sw), mode=mode_dn, **kw)
    kw = {} if mode_up == "nearest" else {"align_corners": False}
    return F.interpolate(small, size=(h, w), mode=mode_up, **kw).clamp(0, 255)


# ---- the images on the device ------------------------------------------------

def decode_rows(rows, threads):
    def one(r):
        try:
            return r, data.decode(data.file_path(r["root"], r))
        except Exception as e:  # a broken file is left out, and said
            print("skip %s: %s" % (r["path"], e), flush=True)
            return r, None
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        return [(r, im) for r, im in ex.map(one, rows) if im is not None]


class Pool:
    """Images of one class on the device, drawn by data.file_weights."""

    def __init__(self, items, dev):
        self.rows = [r for r, _ in items]
        self.imgs = [torch.from_numpy(im).to(dev).permute(2, 0, 1).contiguous() for _, im in items]
        self.w = data.file_weights(self.rows)

    def crops(self, n, size, rng):
        """n regions of size x size at even origins (None for images too small)."""
        out = []
        while len(out) < n:
            i = int(rng.choice(len(self.imgs), p=self.w))
            im = self.imgs[i]
            h, w = im.shape[1:]
            if h < size or w < size:
                continue
            x = 2 * int(rng.integers(0, (w - size) // 2 + 1))
            y = 2 * int(rng.integers(0, (h - size) // 2 + 1))
            c = im[:, y:y + size, x:x + size]
            # two flat full-length rows or columns: grid gutters, borders
            f = c.float()
            rows_flat = ((f.amax(dim=(0, 2)) - f.amin(dim=(0, 2))) <= 3).sum()
            cols_flat = ((f.amax(dim=(0, 1)) - f.amin(dim=(0, 1))) <= 3).sum()
            if int(rows_flat) >= 2 or int(cols_flat) >= 2:
                continue
            out.append(c)
        return torch.stack(out).float()


def post(x, rng, out_size):
    """The same random post-processing for a batch of either class:
    x N x 3 x R x R in [0, 255] -> N x 3 x out x out uint8-valued floats."""
    n, _, r, _ = x.shape
    dev = x.device
    # a small down-scale (p 0.1), then back to the region size? no: crop from it
    if rng.random() < 0.1:
        f = float(rng.uniform(0.75, 1.0))
        s = int(r * f) // 16 * 16
        if s >= out_size + 16:
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
            r = s
    sig = torch.where(torch.rand(n, device=dev) < 0.2, torch.rand(n, device=dev) * 1.5, torch.zeros(n, device=dev))
    x = blur(x, sig)
    x = x.round().clamp(0, 255)
    r16 = r // 16 * 16
    x = x[:, :, :r16, :r16]
    q = torch.empty(n, device=dev).uniform_(60, 100).round()
    jp = torch.rand(n, device=dev) < 0.6
    if jp.any():
        x[jp] = jpeg_sim(x[jp], q[jp])
    ox = 2 * int(rng.integers(0, (r16 - out_size) // 2 + 1))
    oy = 2 * int(rng.integers(0, (r16 - out_size) // 2 + 1))
    x = x[:, :, oy:oy + out_size, ox:ox + out_size]
    flip = torch.rand(n, device=dev) < 0.5
    x[flip] = x[flip].flip(-1)
    return x


def normalize(x):
    mean = torch.tensor(npr_model.MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(npr_model.STD, device=x.device).view(1, 3, 1, 1)
    return (x / 255.0 - mean) / std


def train_aes(real, n, steps, size, dev, rng, log):
    bank = []
    for k in range(n):
        kind = TinyAE.KINDS[k % len(TinyAE.KINDS)]
        stages = 1 + (k // len(TinyAE.KINDS)) % 2
        c = (16, 32, 48)[k % 3]
        torch.manual_seed(100 + k)
        ae = TinyAE(kind, c, stages).to(dev)
        opt = torch.optim.Adam(ae.parameters(), lr=2e-3)
        for _ in range(steps):
            x = real.crops(32, size, rng) / 255.0
            loss = F.l1_loss(ae(x), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        ae.eval()
        for p in ae.parameters():
            p.requires_grad_(False)
        bank.append(ae)
        log("ae", kind=kind, width=c, stages=stages, l1=round(loss.item(), 4))
    return bank


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", action="append", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--final-crop", type=int, default=256)
    ap.add_argument("--final-batch", type=int, default=128)
    ap.add_argument("--final-frac", type=float, default=0.25)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synth-p", type=float, default=0.5, help="share of fakes that are aligned synthetic ones")
    ap.add_argument("--aes", type=int, default=12)
    ap.add_argument("--ae-steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--max-files", type=int, default=0)
    ap.add_argument("--save-every", type=float, default=60.0, help="seconds between checkpoints")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)

    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    logf = open(os.path.join(a.out, "train_log.jsonl"), "a")

    def log(msg, **kw):
        kw = {"t": round(time.time() - t0, 1), "msg": msg, **kw}
        logf.write(json.dumps(kw) + "\n")
        logf.flush()
        print(json.dumps(kw), flush=True)

    rows = data.load_all(a.data)
    train_rows, val_rows = data.split(rows, strict=False)
    reals = [r for r in train_rows if r["label"] == 0]
    fakes = [r for r in train_rows if r["label"] == 1]
    if a.max_files:
        reals, fakes = reals[:a.max_files], fakes[:a.max_files]
    log("data", real_files=len(reals), fake_files=len(fakes), held_out_files=len(val_rows),
        sources=sorted({r["source"] for r in train_rows}))
    real = Pool(decode_rows(reals, a.threads), dev)
    fake = Pool(decode_rows(fakes, a.threads), dev)
    log("decoded", real_mp=round(sum(i.numel() for i in real.imgs) / 3e6, 1),
        fake_mp=round(sum(i.numel() for i in fake.imgs) / 3e6, 1))
    bank = train_aes(real, a.aes, a.ae_steps, 64, dev, rng, log)

    nets = {"npr": npr_model.NPR().to(dev), "small": NPRSmall().to(dev)}
    opts = {k: torch.optim.AdamW(n.parameters(), lr=a.lr, weight_decay=a.wd) for k, n in nets.items()}
    amp = dev.type == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if amp else contextlib.nullcontext()

    def save(step, final):
        """Write both checkpoints (also during the run, so that a run cut
        short by the machine's time limit still leaves a model)."""
        for k, net in nets.items():
            meta = {"model": npr_model.MODEL_NAME if k == "npr" else "npr-r50l1", "steps": step,
                    "trained_on": platform.node(), "device": torch.cuda.get_device_name(0) if amp else "cpu",
                    "minutes": round((time.time() - train_start) / 60, 2), "complete": final}
            # batch-norm running statistics are saved as they are; eval mode
            # is only chosen by the reader.
            ck = {"model": {n: t.detach().float().cpu() for n, t in net.state_dict().items()},
                  "temperature": 1.0, "meta": meta, "step": step}
            path = os.path.join(a.out, "ckpt.pth" if k == "npr" else "ckpt_small.pth")
            torch.save(ck, path + ".tmp")
            os.replace(path + ".tmp", path)

    step, stats = 0, {}
    train_start = time.time()
    last_save = train_start
    while True:
        prog = max(step / a.steps, (time.time() - train_start) / (a.minutes * 60))
        if prog >= 1:
            break
        final = prog >= 1 - a.final_frac
        size, batch = (a.final_crop, a.final_batch) if final else (a.crop, a.batch)
        region = size + 32
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * 0.5 * (1 + math.cos(math.pi * prog))
        half = batch // 2
        xr = real.crops(half, region, rng)
        ns = int(round(half * a.synth_p))
        parts = []
        if ns:
            src = real.crops(ns, region, rng)
            with torch.no_grad():
                k = int(rng.integers(0, len(bank) + 2))
                if k < 2 or not bank:
                    syn = resample_fake(src, rng)
                else:
                    ae = bank[k - 2]
                    with autocast():
                        syn = ae(src / 255.0).float() * 255.0
            parts.append(syn.round().clamp(0, 255))
        if half - ns:
            parts.append(fake.crops(half - ns, region, rng))
        xf = torch.cat(parts)
        x = post(torch.cat([xr, xf]), rng, size)
        y = torch.cat([torch.zeros(half, device=dev), torch.ones(half, device=dev)])
        xin = normalize(x).contiguous(memory_format=torch.channels_last)
        for k, net in nets.items():
            for g in opts[k].param_groups:
                g["lr"] = lr
            with autocast():
                logit = net(xin)[:, 0]
            loss = F.binary_cross_entropy_with_logits(logit.float(), y)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            s = stats.setdefault(k, [0.0, 0, 0, 0])  # loss sum, batches, right, samples (every 20th step)
            if step % 20 == 0:
                s[0] += loss.item()
                s[1] += 1
                s[2] += int(((logit > 0).float() == y).sum())
                s[3] += len(y)
        step += 1
        if step % 200 == 0:
            log("step", step=step, prog=round(prog, 3), size=size, lr=round(lr, 6),
                **{k: {"loss": round(v[0] / max(1, v[1]), 4), "acc": round(v[2] / max(1, v[3]), 3)}
                   for k, v in stats.items()})
            stats = {}
        if time.time() - last_save > a.save_every:
            save(step, final=False)
            last_save = time.time()
    save(step, final=True)
    run = {"args": vars(a), "steps": step, "seconds": round(time.time() - t0, 1), "torch": torch.__version__,
           "device": torch.cuda.get_device_name(0) if amp else "cpu",
           "train_files": [(r["path"], r["sha256"]) for r in train_rows]}
    with open(os.path.join(a.out, "run.json"), "w") as f:
        json.dump(run, f, indent=1)
    log("done", steps=step)


if __name__ == "__main__":
    main()
