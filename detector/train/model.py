"""model.py - the NPR detector network (after Tan et al., CVPR 2024,
"Rethinking the Up-Sampling Operations in CNN-based Generative Network for
Generalizable Deepfake Detection").

The network, as the C inference path in detector/ runs it:

  input    RGB in [0, 1], normalised per channel with the ImageNet mean and
           std (MEAN, STD below), N x 3 x H x W, H and W even
  NPR      r = x - up2(down2(x)): each pixel minus the top-left pixel of
           its 2x2 block (nearest-neighbour down- then up-sampling), x 2/3
  conv1    3x3, stride 2, pad 1, 3 -> 64, no bias; bn1; ReLU
  maxpool  3x3, stride 2, pad 1
  layer1   3 ResNet-50 bottlenecks, width 64, out 256, stride 1
           (block 0 has a 1x1 conv + BN projection, 64 -> 256)
  layer2   4 bottlenecks, width 128, out 512, stride 2 on the first block's
           3x3 conv and on its 1x1 projection (256 -> 512)
  avgpool  global average
  fc1      linear 512 -> 1: the logit (> 0 leans AI-made)

1,437,761 trainable parameters.  The state_dict names are those of the
reference NPR code (conv1, bn1, layer1.0.conv1, ..., layer1.0.downsample.0,
layer1.0.downsample.1, fc1), so its checkpoints load unchanged.  BN eps is
1e-5 (PyTorch's default).

This file has no dependency beyond torch; crop_origins() is the rule the C
code uses to cut an image into crops (see detector/README.md).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5
CROP = 256
MODEL_NAME = "npr-r50l2"


def npr_residual(x):
    """x minus its nearest-neighbour 2x down/up-sampled self, times 2/3.

    The same values as the reference
    x - interpolate(interpolate(x, 0.5, 'nearest'), 2, 'nearest')
    (with recompute_scale_factor=True), written with slicing so it is exact
    and needs even H and W."""
    h, w = x.shape[-2], x.shape[-1]
    if h % 2 or w % 2:
        raise ValueError("NPR needs even height and width, got %dx%d" % (w, h))
    tl = x[..., 0::2, 0::2]
    up = tl.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)
    return (x - up) * (2.0 / 3.0)


def npr_residual_reference(x):
    """The reference formulation (F.interpolate), for checking npr_residual."""
    down = F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
    up = F.interpolate(down, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)
    return (x - up) * 2.0 / 3.0


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, project=False):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=BN_EPS)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out, eps=BN_EPS)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if project:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, out, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out, eps=BN_EPS),
            )

    def forward(self, x):
        idn = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + idn)


def _layer(inplanes, planes, blocks, stride):
    mods = [Bottleneck(inplanes, planes, stride, project=True)]
    for _ in range(1, blocks):
        mods.append(Bottleneck(planes * Bottleneck.expansion, planes))
    return nn.Sequential(*mods)


class NPR(nn.Module):
    """The NPR detector.  forward() takes the normalised RGB batch
    (N x 3 x H x W, H and W even) and returns N x 1 logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64, eps=BN_EPS)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _layer(64, 64, 3, 1)
        self.layer2 = _layer(256, 128, 4, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(512, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(npr_residual(x))))
        x = self.maxpool(x)
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc1(x)


def normalize(rgb_u8):
    """uint8 tensor N x H x W x 3 (or H x W x 3) -> float N x 3 x H x W,
    /255 then ImageNet mean/std, in float32 as the C code does it."""
    if rgb_u8.dim() == 3:
        rgb_u8 = rgb_u8.unsqueeze(0)
    x = rgb_u8.permute(0, 3, 1, 2).to(torch.float32) / 255.0
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def _axis_origins(n, c, count):
    """count origins for crops of size c in [0, n), spread evenly from 0 to
    n - c, rounded down to even; one crop is centred."""
    if n <= c:
        return [0]
    if count <= 1:
        return [((n - c) // 2) & ~1]
    span = n - c
    out = []
    for i in range(count):
        o = (span * i) // (count - 1)
        out.append(o & ~1)
    return sorted(set(out))


def crop_plan(w, h, crop=CROP, max_crops=16):
    """The crops the C code scores for a w x h image, as (x, y, cw, ch).

    Sizes: cw = min(crop, w rounded down to even), ch likewise.  Along
    each axis ceil(n / crop) crops (so they cover the image), at origins
    spread evenly from 0 to n - c and rounded down to even (a single crop
    along an axis is centred); while the grid has more than max_crops
    crops, the axis with more crops loses one (x first on a tie).
    Origins that coincide after rounding count once.  Crops are listed
    row by row, top to bottom."""
    cw, ch = min(crop, w & ~1), min(crop, h & ~1)
    nx = min(-(-w // crop), max_crops)  # clamping first changes nothing
    ny = min(-(-h // crop), max_crops)  # below, and keeps the loop short
    while nx * ny > max_crops:
        if nx >= ny:
            nx -= 1
        else:
            ny -= 1
    xs = _axis_origins(w, cw, nx)
    ys = _axis_origins(h, ch, ny)
    return [(x, y, cw, ch) for y in ys for x in xs]


def count_parameters(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


if __name__ == "__main__":
    m = NPR()
    print(MODEL_NAME, count_parameters(m), "parameters")
