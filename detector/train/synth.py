"""synth.py - synthetic fakes in the spirit of the AutoGAN simulator (Zhang,
Karaman and Chang, "Detecting and Simulating Artifacts in GAN Fake
Images", WIFS 2019): real TRAINING photos passed through small
auto-encoders whose decoder up-samples the way generators do.

Each auto-encoder: conv 3x3 (3->c), ReLU, conv 4x4 stride 2 (the 2x down-
sampling), ReLU, conv 3x3, ReLU, then one up-sampling 2x of three kinds
  nearest   nearest-neighbour x2, then conv 3x3
  bilinear  bilinear x2, then conv 3x3
  tconv     transposed convolution 4x4 stride 2 (checkerboard-prone)
then ReLU, conv 3x3 (c->3), clamped to [0, 1].  It is trained for a few
hundred steps (150 by default; L1, Adam) to reconstruct real training crops, so that its
output looks like the photo but every pixel went through the up-sampler.
Models differ by kind, width c and seed.  The synthetic images are cut at
even origins of the real photos and made once per run (make_cache); the
training pipeline then treats them as one more fake source, re-encoded
exactly as every other sample (data.sample_crop).
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KINDS = ("nearest", "bilinear", "tconv")


class TinyAE(nn.Module):
    def __init__(self, kind, c=32):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(kind)
        self.kind = kind
        self.enc = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 4, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(inplace=True))
        if kind == "tconv":
            self.up = nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)
        else:
            self.up = nn.Conv2d(c, c, 3, padding=1)
        self.out = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x):
        y = self.enc(x)
        if self.kind == "nearest":
            y = self.up(F.interpolate(y, scale_factor=2, mode="nearest"))
        elif self.kind == "bilinear":
            y = self.up(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))
        else:
            y = self.up(y)
        return self.out(F.relu(y)).clamp(0, 1)


def _batch(images, n, size, rng):
    out = np.empty((n, size, size, 3), np.uint8)
    i = 0
    while i < n:
        im = images[int(rng.integers(0, len(images)))]
        h, w = im.shape[:2]
        if h < size or w < size:
            continue
        x = 2 * int(rng.integers(0, (w - size) // 2 + 1))
        y = 2 * int(rng.integers(0, (h - size) // 2 + 1))
        out[i] = im[y:y + size, x:x + size]
        i += 1
    return out


def _to_t(u8, device):
    return torch.from_numpy(u8).to(device).permute(0, 3, 1, 2).float() / 255.0


def train_models(real_images, device, seed=1, per_kind=2, steps=150, batch=16, log=print):
    """per_kind auto-encoders of each kind, trained on crops of real_images
    (training split only)."""
    models = []
    for k, kind in enumerate(KINDS):
        for j in range(per_kind):
            s = seed * 100 + k * 10 + j
            torch.manual_seed(s)
            rng = np.random.default_rng(s)
            m = TinyAE(kind, c=(16, 24, 32)[j % 3]).to(device)
            opt = torch.optim.Adam(m.parameters(), lr=3e-3)
            for step in range(steps):
                x = _to_t(_batch(real_images, batch, 64, rng), device)
                loss = (m(x) - x).abs().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            m.eval()
            log("synth %s c=%d seed=%d: L1 %.4f after %d steps" % (kind, m.out.in_channels, s, loss.item(), steps))
            models.append(m)
    return models


@torch.no_grad()
def make_cache(models, real_images, n, size, device, seed=2, chunk=32):
    """n synthetic images (size x size uint8) and the model index of each."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), np.uint8)
    which = np.empty(n, np.int64)
    for i in range(0, n, chunk):
        k = min(chunk, n - i)
        mi = int(rng.integers(0, len(models)))
        x = _to_t(_batch(real_images, k, size, rng), device)
        y = models[mi](x)
        out[i:i + k] = (y * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
        which[i:i + k] = mi
    return out, which
