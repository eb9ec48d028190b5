#!/usr/bin/env python3
"""convert_checkpoint.py -- vididi checkpoint (.vdck) <-> PyTorch state_dict (.pt).

Moves model weights between this engine and PyTorch/torchvision. Names are
already torchvision's (`stem.0.weight`, `layer1.0.conv1.0.weight`, ...); what
changes is the layout of conv weights and the dtype of num_batches_tracked:

    vididi  [Cout, kT, kH, kW, Cin]  (every rank-5 tensor is a Conv3d weight)
    torch   [Cout, Cin, kT, kH, kW]
    num_batches_tracked: f64 rank 0 here, int64 in torch

Usage:
    python3 tools/convert_checkpoint.py to-torch RUN/ck.vdck encoder.pt [--prefix encoder.]
    python3 tools/convert_checkpoint.py from-torch encoder.pt ck.vdck [--prefix encoder.]
    python3 tools/convert_checkpoint.py verify encoder.pt --arch r3d_18 [--divisor 8]
    python3 tools/convert_checkpoint.py roundtrip ck.vdck out.pt back.vdck [verify options]

to-torch keeps the `model/` entries only (optimizer state and metadata are
dropped). --prefix selects the entries under a sub-module and strips it (a
pretraining checkpoint holds `encoder.`, `projector.`, ...); by default
`encoder.` is used when the file has no top-level encoder names. from-torch
accepts a bare state_dict or a dict holding one under "state_dict" or "model",
and writes a checkpoint with step 0, seed 0, empty config and
meta/extra/converted_from. verify loads a .pt strictly into torchvision's
model (divisor 1; the head is built when fc/classifier entries exist) or into
tests/golden/video_models.py's width-divided copy, and with --features-out
writes eval-mode pooled features (mean over T,H,W) of the golden input
fill("input", --input-shape) to a VDG1 file. roundtrip = to-torch, optional
verify, from-torch in one process (the C++ test uses it; importing torch is
the slow part). The checkpoint format is docs/CHECKPOINT.md; this file is
test-independent tooling except for verify's use of tests/golden/.
Needs numpy; torch for everything that touches a .pt.
"""

import argparse
import os
import struct
import sys
import zlib
from collections import OrderedDict

import numpy as np

MAGIC = b"VIDIDICK"
VERSION = 1
HEADER_BYTES = 48
F32, F64, BF16, I64, TEXT = range(5)
ELEM_SIZE = {F32: 4, F64: 8, BF16: 2, I64: 8, TEXT: 1}
NP_DTYPES = {F32: np.dtype("<f4"), F64: np.dtype("<f8"), BF16: np.dtype("<u2"), I64: np.dtype("<i8")}
TO_TORCH_AXES = (0, 4, 1, 2, 3)    # [Cout, kT, kH, kW, Cin] -> [Cout, Cin, kT, kH, kW]
FROM_TORCH_AXES = (0, 2, 3, 4, 1)  # the inverse
ENCODER_ROOTS = ("stem.", "layer1.", "features.")


class CheckpointError(Exception):
    pass


# ------------------------------------------------------------------ .vdck I/O

class Entry:
    """One table entry: code, shape and the value (numpy array, bytes or int)."""

    def __init__(self, code, shape, value):
        self.code, self.shape, self.value = code, tuple(shape), value


def read_vdck(path):
    """OrderedDict name -> Entry of a vididi checkpoint, with every CRC checked."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER_BYTES or data[:8] != MAGIC:
        raise CheckpointError(f"{path}: expected a vididi checkpoint (magic VIDIDICK)")
    version, count, table_bytes, payload_bytes, table_crc, payload_crc, _, header_crc = struct.unpack_from(
        "<IIQQIIII", data, 8)
    if zlib.crc32(data[:HEADER_BYTES - 4]) != header_crc:
        raise CheckpointError(f"{path}: corrupt header (CRC mismatch)")
    if version != VERSION:
        raise CheckpointError(f"{path}: expected format version {VERSION}, got {version}")
    if HEADER_BYTES + table_bytes + payload_bytes != len(data):
        raise CheckpointError(f"{path}: expected {HEADER_BYTES + table_bytes + payload_bytes} bytes, "
                              f"the file has {len(data)} (truncated?)")
    table = data[HEADER_BYTES:HEADER_BYTES + table_bytes]
    payload = data[HEADER_BYTES + table_bytes:]
    if zlib.crc32(table) != table_crc or zlib.crc32(payload) != payload_crc:
        raise CheckpointError(f"{path}: corrupt table or payload (CRC mismatch)")
    out, pos = OrderedDict(), 0
    for _ in range(count):
        (n,) = struct.unpack_from("<H", table, pos)
        name = table[pos + 2:pos + 2 + n].decode("utf-8")
        pos += 2 + n
        code, rank = struct.unpack_from("<BB", table, pos)
        pos += 2
        shape = struct.unpack_from(f"<{rank}Q", table, pos)
        pos += 8 * rank
        offset, nbytes = struct.unpack_from("<QQ", table, pos)
        pos += 16
        raw = payload[offset:offset + nbytes]
        if code not in ELEM_SIZE or len(raw) != nbytes or nbytes != int(np.prod(shape, dtype=np.int64)) * ELEM_SIZE[code]:
            raise CheckpointError(f"{path}: corrupt entry '{name}' (code {code}, shape {shape})")
        if code == TEXT:
            value = raw
        else:
            value = np.frombuffer(raw, dtype=NP_DTYPES[code]).reshape(shape).copy()
        out[name] = Entry(code, shape, value)
    return out


def write_vdck(path, entries):
    """Writes OrderedDict name -> Entry atomically (temporary file, fsync, rename)."""
    table, chunks, offset = bytearray(), [], 0
    for name, e in entries.items():
        raw = e.value if e.code == TEXT else np.asarray(e.value, dtype=NP_DTYPES[e.code]).tobytes(order="C")
        encoded = name.encode("utf-8")
        table += struct.pack("<H", len(encoded)) + encoded + struct.pack("<BB", e.code, len(e.shape))
        table += struct.pack(f"<{len(e.shape)}Q", *e.shape) + struct.pack("<QQ", offset, len(raw))
        pad = (8 - len(raw) % 8) % 8
        chunks.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    payload = b"".join(chunks)
    header = MAGIC + struct.pack("<IIQQIII", VERSION, len(entries), len(table), len(payload),
                                 zlib.crc32(bytes(table)), zlib.crc32(payload), 0)
    header += struct.pack("<I", zlib.crc32(header))
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(header + bytes(table) + payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ------------------------------------------------------------- conversions

def _pick_prefix(names, prefix):
    if prefix is not None:
        return prefix
    if not any(n.startswith(ENCODER_ROOTS) for n in names) and any(n.startswith("encoder.") for n in names):
        return "encoder."
    return ""


def vdck_to_state_dict(path, prefix=None):
    """torch state_dict (OrderedDict of tensors) of a checkpoint's model entries."""
    import torch

    entries = read_vdck(path)
    model = OrderedDict((k[len("model/"):], e) for k, e in entries.items() if k.startswith("model/"))
    prefix = _pick_prefix(model.keys(), prefix)
    out = OrderedDict()
    for name, e in model.items():
        if not name.startswith(prefix):
            continue
        key = name[len(prefix):]
        arr = e.value
        if arr.ndim == 5:
            arr = np.ascontiguousarray(arr.transpose(TO_TORCH_AXES))
        if e.code == BF16:
            t = torch.from_numpy(np.ascontiguousarray(arr).view(np.int16)).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.array(arr))
        if key.endswith("num_batches_tracked"):
            t = t.to(torch.int64)
        out[key] = t
    if not out:
        raise CheckpointError(f"{path}: no model entries under prefix '{prefix}'")
    return out


def load_torch_state_dict(path):
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    return obj


def state_dict_to_vdck(state, path, prefix="", source=""):
    """Writes a checkpoint whose model entries are `state` in the engine's layout."""
    import torch

    entries = OrderedDict()
    for name, t in state.items():
        if not torch.is_tensor(t):
            raise CheckpointError(f"entry '{name}' is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu()
        if name.endswith("num_batches_tracked") or not t.is_floating_point():
            code, arr = F64, t.to(torch.float64).numpy()
        elif t.dtype == torch.bfloat16:
            code, arr = BF16, t.contiguous().view(torch.int16).numpy().view(np.uint16)
        elif t.dtype == torch.float64:
            code, arr = F64, t.numpy()
        else:  # float32, float16
            code, arr = F32, t.to(torch.float32).numpy()
        if arr.ndim == 5:
            arr = arr.transpose(FROM_TORCH_AXES)
        arr = np.array(arr, order="C", copy=True)  # ascontiguousarray would make 0-d arrays 1-d
        entries[f"model/{prefix}{name}"] = Entry(code, arr.shape, arr)
    entries["meta/step"] = Entry(I64, (), np.array(0, dtype="<i8"))
    entries["meta/seed"] = Entry(I64, (), np.array(0, dtype="<i8"))
    entries["meta/config"] = Entry(TEXT, (0,), b"")
    if source:
        src = source.encode("utf-8")
        entries["meta/extra/converted_from"] = Entry(TEXT, (len(src),), src)
    write_vdck(path, entries)


# ------------------------------------------------------------------- verify

def _repo_golden_dir():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "golden")


def build_torch_model(arch, divisor, state):
    """A torch module whose state_dict has exactly `state`'s names (strict load)."""
    from torch import nn

    head = [k for k in state if k.startswith(("fc.", "classifier."))]
    if divisor == 1:
        import torchvision.models.video as tvv

        ctor = {"r3d_18": tvv.r3d_18, "r2plus1d_18": tvv.r2plus1d_18, "s3d": tvv.s3d}[arch]
        if head:
            return ctor(num_classes=int(state["fc.weight" if arch != "s3d" else "classifier.1.weight"].shape[0]))
        model = ctor()
        if arch == "s3d":
            model.classifier = nn.Identity()
        else:
            model.fc = nn.Identity()
        return model
    if head:
        raise CheckpointError("verify: width-divided models are checked without a head")
    sys.path.insert(0, _repo_golden_dir())
    import video_models

    return video_models.build(arch, divisor)


def verify(state, arch, divisor, features_out=None, input_shape=None):
    import torch

    model = build_torch_model(arch, divisor, state).double()
    model.load_state_dict(state, strict=True)  # raises on any missing/unexpected name or shape
    print(f"verify: {len(state)} entries load strictly into {arch} (width / {divisor})")
    if features_out:
        sys.path.insert(0, _repo_golden_dir())
        import golden_io

        x = torch.from_numpy(golden_io.fill("input", input_shape, golden_io.UNIFORM, bound=1.0))
        model.eval()
        with torch.no_grad():
            if arch == "s3d":
                fmap = model.features(x)
            else:
                fmap = model.layer4(model.layer3(model.layer2(model.layer1(model.stem(x)))))
            feats = fmap.mean(dim=(2, 3, 4))
        golden_io.write(features_out, [("features", feats.numpy())])
        print(f"verify: eval features {tuple(feats.shape)} written to {features_out}")


# --------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add_verify_args(p, required):
        p.add_argument("--arch", choices=("r3d_18", "r2plus1d_18", "s3d"), required=required)
        p.add_argument("--divisor", type=int, default=1, help="width divisor of the model (default 1)")
        p.add_argument("--features-out", help="write eval features of the golden input to this VDG1 file")
        p.add_argument("--input-shape", default="2,3,8,32,32", help="N,C,T,H,W of the golden input")

    p = sub.add_parser("to-torch", help="vididi checkpoint -> torch state_dict .pt")
    p.add_argument("src"), p.add_argument("dst")
    p.add_argument("--prefix", default=None, help="sub-module to export, stripped from names")
    p = sub.add_parser("from-torch", help="torch state_dict .pt -> vididi checkpoint")
    p.add_argument("src"), p.add_argument("dst")
    p.add_argument("--prefix", default="", help="prepended to every name (e.g. encoder.)")
    p = sub.add_parser("verify", help="strict load of a .pt into torchvision's model")
    p.add_argument("src")
    add_verify_args(p, True)
    p = sub.add_parser("roundtrip", help="to-torch, optional verify, from-torch (self-check)")
    p.add_argument("src"), p.add_argument("pt"), p.add_argument("back")
    p.add_argument("--prefix", default=None)
    add_verify_args(p, False)
    args = ap.parse_args(argv)

    try:
        import torch

        if args.cmd in ("to-torch", "roundtrip"):
            state = vdck_to_state_dict(args.src, args.prefix)
            dst = args.dst if args.cmd == "to-torch" else args.pt
            torch.save(state, dst)
            print(f"to-torch: {len(state)} tensors -> {dst}")
            if args.cmd == "roundtrip":
                if args.arch:
                    verify(state, args.arch, args.divisor, args.features_out,
                           [int(s) for s in args.input_shape.split(",")])
                state = load_torch_state_dict(args.pt)
                state_dict_to_vdck(state, args.back, "", args.pt)
                print(f"from-torch: {len(state)} tensors -> {args.back}")
        elif args.cmd == "from-torch":
            state = load_torch_state_dict(args.src)
            state_dict_to_vdck(state, args.dst, args.prefix, args.src)
            print(f"from-torch: {len(state)} tensors -> {args.dst}")
        else:
            verify(load_torch_state_dict(args.src), args.arch, args.divisor, args.features_out,
                   [int(s) for s in args.input_shape.split(",")])
    except (CheckpointError, RuntimeError, KeyError, OSError) as e:
        print(f"convert_checkpoint: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
