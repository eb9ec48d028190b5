# video_models.py -- the three torchvision video encoders, full width and with
# every channel width divided by an integer (for CPU-sized gradient goldens),
# built from torchvision's own block classes, and their feature functions.
#
# Golden-file tooling only (needs torch + torchvision). It does not define new
# architectures: with divisor 1 each builder reproduces torchvision's module
# tree exactly (make_golden.py asserts this), so parameter names are
# torchvision's. Classifier heads are left out: features are taken before
# `fc` (VideoResNet) or `classifier` (S3D).

from functools import partial

import torch
from torch import nn
from torchvision.models.video import r2plus1d_18, r3d_18, s3d
from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, Conv3DSimple, VideoResNet
from torchvision.models.video.s3d import S3D, SepInceptionBlock3D, TemporalSeparableConv
from torchvision.ops.misc import Conv3dNormActivation

# torchvision constants, named once.
RESNET_WIDTHS = (64, 128, 256, 512)
R2PLUS1D_STEM_MID = 45
# S3D `features`: ("sep", in, out, kernel, stride, padding) | ("pool", kT, kH, stride_t, stride_hw, pad_t, pad_hw)
# | ("unit", in, out) (Conv3dNormActivation 1x1x1) | ("incep", in, b0, b1_mid, b1, b2_mid, b2, b3).
S3D_FEATURES = (
    ("sep", 3, 64, 7, 2, 3),
    ("pool", 1, 3, 1, 2, 0, 1),
    ("unit", 64, 64),
    ("sep", 64, 192, 3, 1, 1),
    ("pool", 1, 3, 1, 2, 0, 1),
    ("incep", 192, 64, 96, 128, 16, 32, 32),
    ("incep", 256, 128, 128, 192, 32, 96, 64),
    ("pool", 3, 3, 2, 2, 1, 1),
    ("incep", 480, 192, 96, 208, 16, 48, 64),
    ("incep", 512, 160, 112, 224, 24, 64, 64),
    ("incep", 512, 128, 128, 256, 24, 64, 64),
    ("incep", 512, 112, 144, 288, 32, 64, 64),
    ("incep", 528, 256, 160, 320, 32, 128, 128),
    ("pool", 2, 2, 2, 2, 0, 0),
    ("incep", 832, 256, 160, 320, 32, 128, 128),
    ("incep", 832, 384, 192, 384, 48, 128, 128),
)
S3D_BN = partial(nn.BatchNorm3d, eps=0.001, momentum=0.001)  # torchvision S3D's norm_layer


def _scaled(channels, divisor):
    """A channel width // divisor; the 3 RGB input channels stay 3."""
    return channels if channels == 3 else channels // divisor


def _resnet_stem(kind, divisor):
    """BasicStem / R2Plus1dStem layer for layer, with widths // divisor."""
    out = RESNET_WIDTHS[0] // divisor
    if kind == "r3d":
        return nn.Sequential(
            nn.Conv3d(3, out, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(out), nn.ReLU(inplace=True))
    mid = R2PLUS1D_STEM_MID // divisor
    return nn.Sequential(
        nn.Conv3d(3, mid, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
        nn.BatchNorm3d(mid), nn.ReLU(inplace=True),
        nn.Conv3d(mid, out, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
        nn.BatchNorm3d(out), nn.ReLU(inplace=True))


class ScaledVideoResNet(VideoResNet):
    """torchvision VideoResNet (BasicBlock, [2,2,2,2]) with widths // divisor, no fc.

    BasicBlock computes R(2+1)D midplanes itself as
    (inplanes*planes*27) // (inplanes*9 + 3*planes), on the scaled widths.
    """

    def __init__(self, kind, divisor):
        nn.Module.__init__(self)
        conv = Conv3DSimple if kind == "r3d" else Conv2Plus1D
        widths = [w // divisor for w in RESNET_WIDTHS]
        self.inplanes = widths[0]
        self.stem = _resnet_stem(kind, divisor)
        self.layer1 = self._make_layer(BasicBlock, conv, widths[0], 2, stride=1)
        self.layer2 = self._make_layer(BasicBlock, conv, widths[1], 2, stride=2)
        self.layer3 = self._make_layer(BasicBlock, conv, widths[2], 2, stride=2)
        self.layer4 = self._make_layer(BasicBlock, conv, widths[3], 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Identity()


class ScaledS3D(S3D):
    """torchvision S3D `features` with widths // divisor; classifier dropped."""

    def __init__(self, divisor):
        nn.Module.__init__(self)
        layers = []
        for spec in S3D_FEATURES:
            kind, args = spec[0], spec[1:]
            if kind == "pool":
                kt, khw, st, shw, pt, phw = args
                layers.append(nn.MaxPool3d(kernel_size=(kt, khw, khw), stride=(st, shw, shw), padding=(pt, phw, phw)))
                continue
            nch = len(args) if kind == "incep" else 2  # leading channel arguments
            ch = [_scaled(c, divisor) for c in args[:nch]]
            if kind == "sep":
                layers.append(TemporalSeparableConv(ch[0], ch[1], *args[2:], norm_layer=S3D_BN))
            elif kind == "unit":
                layers.append(Conv3dNormActivation(ch[0], ch[1], kernel_size=1, stride=1, norm_layer=S3D_BN))
            else:
                layers.append(SepInceptionBlock3D(*ch, norm_layer=S3D_BN))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AvgPool3d(kernel_size=(2, 7, 7), stride=1)


def build(name, divisor=1):
    """Encoder `name` in {r3d_18, r2plus1d_18, s3d}, widths // divisor, no head."""
    if name == "s3d":
        return ScaledS3D(divisor)
    return ScaledVideoResNet("r3d" if name == "r3d_18" else "r2plus1d", divisor)


def torchvision_reference(name):
    """torchvision's own constructor, head removed (for the module-tree check)."""
    model = {"r3d_18": r3d_18, "r2plus1d_18": r2plus1d_18, "s3d": s3d}[name]()
    if name == "s3d":
        del model.classifier
    else:
        del model.fc
    return model


def features(model, x, pooling="torchvision"):
    """Pooled features [N, C] before the classifier.

    pooling="torchvision": VideoResNet's AdaptiveAvgPool3d(1) / S3D's
    AvgPool3d((2,7,7), stride 1), flattened (S3D requires the feature map to be
    exactly 2x7x7 then). pooling="mean": mean over T,H,W of the last feature
    map, for any input size (identical to the former whenever it works).
    """
    if isinstance(model, S3D):
        fmap = model.features(x)
        if pooling == "mean":
            return fmap.mean(dim=(2, 3, 4))
        pooled = model.avgpool(fmap)
        if pooled.shape[2:] != (1, 1, 1):
            raise ValueError(f"S3D avgpool gives {tuple(pooled.shape[2:])}, not 1x1x1; input too large or small")
        return pooled.flatten(1)
    fmap = model.layer4(model.layer3(model.layer2(model.layer1(model.stem(x)))))
    return fmap.mean(dim=(2, 3, 4)) if pooling == "mean" else model.avgpool(fmap).flatten(1)
