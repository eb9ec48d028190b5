#!/usr/bin/env python3
# estimate_tolerances.py -- measures how far a float32 PyTorch run lands from
# the float64 goldens of encoders_*.vdg, to justify the tolerances stated in
# docs/GOLDEN.md. Prints, per case, the worst |f32 - golden| / max|golden| over
# features and over each parameter gradient.
#
# Informational only: it writes nothing, and the C++ tests do not run it.
#   python3 tests/golden/estimate_tolerances.py

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_io as gio  # noqa: E402
import make_golden as mg  # noqa: E402
import video_models as vm  # noqa: E402


def scaled_error(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))


def f32_model(name, divisor):
    model = vm.build(name, divisor)
    gio.fill_module(model)
    return model


def full_cases(golden):
    for name, case, shape, pooling in mg.FULL_CASES:
        if shape == mg.S3D_TV_INPUT:
            continue  # same arithmetic as full_gap, and slow
        model, x = f32_model(name, 1), mg.fill_input(shape).float()
        with torch.no_grad():
            for mode in ("eval", "train"):
                getattr(model, mode)()
                err = scaled_error(vm.features(model, x, pooling), golden[f"{name}/{case}/features_{mode}"])
                print(f"{name}/{case} features_{mode}: {err:.2e}")


def narrow_cases(golden):
    for name in mg.ENCODERS:
        prefix = f"{name}/narrow{mg.NARROW_DIVISOR}"
        model = f32_model(name, mg.NARROW_DIVISOR).train()
        x = mg.fill_input(tuple(golden[f"{prefix}/input_shape"])).float()
        feats = vm.features(model, x, "mean")
        (feats * torch.from_numpy(golden[f"{prefix}/r"])).sum().backward()
        grad_errs = {k: scaled_error(p.grad, golden[f"{prefix}/grad/{k}"]) for k, p in model.named_parameters()}
        worst = max(grad_errs, key=grad_errs.get)
        median = float(np.median(list(grad_errs.values())))
        print(f"{prefix}: features {scaled_error(feats.detach(), golden[f'{prefix}/features']):.2e}, "
              f"grads median {median:.2e}, worst {grad_errs[worst]:.2e} ({worst})")


def main():
    torch.use_deterministic_algorithms(True)
    full_cases(gio.read(os.path.join(HERE, "encoders_full.vdg")))
    narrow_cases(gio.read(os.path.join(HERE, "encoders_narrow.vdg")))


if __name__ == "__main__":
    main()
