# torchvision_state_dict.py -- copy a torchvision (or any PyTorch) state_dict
# to a VDG1 file and back, tensors in PyTorch layout, names unchanged.
#
# Golden/checkpoint tooling only; it does not permute to the engine's
# channels-last layout (that is the C++ checkpoint converter's job, see
# docs/GOLDEN.md) and it does not load model weights from anywhere.
#
#   python3 tests/golden/torchvision_state_dict.py export r3d_18 out.vdg [--fill] [--divisor 8]
#   python3 tests/golden/torchvision_state_dict.py check out.vdg r3d_18 [--divisor 8]

import argparse
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden_io as gio  # noqa: E402

FLOAT_DTYPES = {"f32": np.float32, "f64": np.float64}


def state_dict_to_vdg(state_dict, path, prefix="", float_dtype="f32"):
    """Write every tensor of state_dict as entry prefix+name (state_dict order).

    Floating tensors become f32 (or f64), integer ones (num_batches_tracked) i64.
    """
    entries = []
    for name, tensor in state_dict.items():
        arr = tensor.detach().cpu().numpy()
        arr = arr.astype(FLOAT_DTYPES[float_dtype]) if arr.dtype.kind == "f" else arr.astype(np.int64)
        entries.append((prefix + name, arr))
    gio.write(path, entries)


def vdg_to_state_dict(path, prefix=""):
    """OrderedDict name -> torch tensor of the entries starting with prefix (prefix stripped)."""
    out = OrderedDict()
    for name, arr in gio.read(path).items():
        if name.startswith(prefix):
            out[name[len(prefix):]] = torch.from_numpy(np.array(arr))
    return out


def load_into(model, path, prefix="", strict=True):
    """Load a VDG state dict into a model, casting each tensor to the model's dtype."""
    target = model.state_dict()
    loaded = vdg_to_state_dict(path, prefix)
    cast = OrderedDict((k, v.to(target[k].dtype) if k in target else v) for k, v in loaded.items())
    return model.load_state_dict(cast, strict=strict)


def _main():
    import video_models as vm

    parser = argparse.ArgumentParser(description="state_dict <-> VDG1 file, PyTorch layout")
    parser.add_argument("action", choices=["export", "check"])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--fill", action="store_true", help="deterministic fill instead of torchvision's init")
    parser.add_argument("--divisor", type=int, default=1, help="channel-width divisor (1 = torchvision)")
    args = parser.parse_args()
    if args.action == "export":
        model = vm.build(args.first, args.divisor)
        if args.fill:
            gio.fill_module(model)
        state_dict_to_vdg(model.state_dict(), args.second)
        print(f"wrote {len(model.state_dict())} tensors to {args.second}")
    else:
        model = vm.build(args.second, args.divisor)
        print(load_into(model, args.first))


if __name__ == "__main__":
    _main()
