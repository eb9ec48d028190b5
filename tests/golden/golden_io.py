# golden_io.py -- writer/reader for VDG1 golden files and the deterministic
# parameter fill rule shared with the C++ side (tests/golden/golden_io.h).
#
# This is test tooling only: it needs numpy (and torch only in fill_module);
# it is not part of the engine, and the C++ build never runs it.
# Format and fill rule are specified byte by byte in docs/GOLDEN.md; any change
# here must be mirrored in golden_io.h and bump VERSION.

import math
import struct
from collections import OrderedDict

import numpy as np

MAGIC = b"VDG1"
VERSION = 1

DTYPE_CODES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.int64): 2}
CODE_DTYPES = {code: dt for dt, code in DTYPE_CODES.items()}


# ---------------------------------------------------------------- file format

def _as_array(value):
    """Numpy array in one of the three stored dtypes (ints -> i64)."""
    if hasattr(value, "detach"):  # torch tensor, without importing torch here
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.int64)
    if arr.dtype not in DTYPE_CODES:
        raise TypeError(f"unsupported dtype {arr.dtype}; use float32, float64 or int64")
    return np.array(arr, order="C", copy=True)  # ascontiguousarray would make 0-d arrays 1-d


def write(path, entries):
    """Write entries (a dict or a list of (name, array)) to path, in order."""
    items = list(entries.items()) if isinstance(entries, dict) else list(entries)
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate entry names")
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<II", VERSION, len(items)))
        for name, value in items:
            arr = _as_array(value)
            raw_name = name.encode("utf-8")
            f.write(struct.pack("<H", len(raw_name)))
            f.write(raw_name)
            f.write(struct.pack("<BB", DTYPE_CODES[arr.dtype], arr.ndim))
            f.write(struct.pack(f"<{arr.ndim}q", *arr.shape))
            f.write(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes(order="C"))


def read(path):
    """Read a VDG1 file into an OrderedDict name -> numpy array (file order)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: expected magic {MAGIC!r}")
    version, count = struct.unpack_from("<II", data, 4)
    if version != VERSION:
        raise ValueError(f"{path}: expected version {VERSION}, got {version}")
    pos, out = 12, OrderedDict()
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos:pos + name_len].decode("utf-8")
        pos += name_len
        code, ndim = struct.unpack_from("<BB", data, pos)
        pos += 2
        shape = struct.unpack_from(f"<{ndim}q", data, pos)
        pos += 8 * ndim
        dtype = np.dtype(CODE_DTYPES[code]).newbyteorder("<")
        n = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(data, dtype=dtype, count=n, offset=pos).reshape(shape).astype(dtype.newbyteorder("="))
        pos += n * dtype.itemsize
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes after {count} entries")
    return out


# ------------------------------------------------------------------ fill rule

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def fnv1a64(name):
    """64-bit FNV-1a of the UTF-8 bytes of name."""
    h = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def splitmix64(x):
    """splitmix64 finaliser of state x (vectorised over a uint64 array).

    z = x + 0x9E3779B97F4A7C15; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
    z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31  (all mod 2^64).
    """
    with np.errstate(over="ignore"):
        z = x + np.uint64(GOLDEN_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def fill_u(name, count, start=0):
    """u_i in [0,1) for flat indices start..start+count-1 of parameter `name`."""
    i = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        key = np.uint64(fnv1a64(name)) ^ (i * np.uint64(GOLDEN_GAMMA))
    return (splitmix64(key) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


# Kinds of fill, same names and meaning as vd::golden::FillKind in golden_io.h.
WEIGHT, BIAS, BN_WEIGHT, BN_BIAS, RUNNING_MEAN, RUNNING_VAR, UNIFORM, ZERO = (
    "weight", "bias", "bn_weight", "bn_bias", "running_mean", "running_var", "uniform", "zero")


def fill(name, shape, kind, fan_in=None, bound=None):
    """Deterministic float64 array of `shape` (PyTorch layout) for parameter `name`.

    weight/bias: bound*(2u-1) with bound = 1/sqrt(fan_in) (fan_in defaults to
    prod(shape[1:]) for weights; biases need the layer's fan_in);
    bn_weight: 1 + 0.1*(2u-1); bn_bias: 0.1*(2u-1); running_mean: 0;
    running_var: 1; uniform: bound*(2u-1) with an explicit bound; zero: 0.
    """
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape, dtype=np.int64))
    if kind == RUNNING_MEAN or kind == ZERO:
        return np.zeros(shape)
    if kind == RUNNING_VAR:
        return np.ones(shape)
    centred = 2.0 * fill_u(name, n) - 1.0
    if kind == WEIGHT:
        fan_in = fan_in if fan_in is not None else int(np.prod(shape[1:], dtype=np.int64))
        values = (1.0 / math.sqrt(fan_in)) * centred
    elif kind == BIAS:
        if fan_in is None:
            raise ValueError(f"{name}: a bias fill needs the layer's fan_in")
        values = (1.0 / math.sqrt(fan_in)) * centred
    elif kind == BN_WEIGHT:
        values = 1.0 + 0.1 * centred
    elif kind == BN_BIAS:
        values = 0.1 * centred
    elif kind == UNIFORM:
        values = bound * centred
    else:
        raise ValueError(f"unknown fill kind {kind!r}")
    return values.reshape(shape)


def kind_for_name(name, shape):
    """Kind implied by a state-dict name alone (the rule golden_io.h also has).

    Valid for models whose only 1-D weights/biases belong to BatchNorm (true of
    the three encoders); conv/linear biases must be filled with kind BIAS.
    """
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "running_mean" or leaf == "num_batches_tracked":
        return RUNNING_MEAN if leaf == "running_mean" else ZERO
    if leaf == "running_var":
        return RUNNING_VAR
    if leaf == "weight":
        return WEIGHT if len(shape) >= 2 else BN_WEIGHT
    if leaf == "bias":
        return BN_BIAS
    raise ValueError(f"{name}: no fill kind for this name")


def fill_module(module):
    """Overwrite every parameter and buffer of a torch module by the fill rule.

    Kinds come from the owning module's type (Conv/Linear weight and bias,
    BatchNorm weight/bias/running stats), so this is exact for any model.
    """
    import torch

    with torch.no_grad():
        for mod_name, mod in module.named_modules():
            is_bn = isinstance(mod, torch.nn.modules.batchnorm._BatchNorm)
            weight = getattr(mod, "weight", None)
            fan_in = int(np.prod(weight.shape[1:])) if (weight is not None and not is_bn) else None
            for leaf, tensor in list(mod.named_parameters(recurse=False)) + list(mod.named_buffers(recurse=False)):
                full = f"{mod_name}.{leaf}" if mod_name else leaf
                if is_bn:
                    kind = {"weight": BN_WEIGHT, "bias": BN_BIAS, "running_mean": RUNNING_MEAN,
                            "running_var": RUNNING_VAR, "num_batches_tracked": ZERO}[leaf]
                else:
                    kind = {"weight": WEIGHT, "bias": BIAS}[leaf]
                tensor.copy_(torch.from_numpy(fill(full, tensor.shape, kind, fan_in=fan_in)))
