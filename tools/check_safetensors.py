#!/usr/bin/env python3
"""check_safetensors.py -- checks a vididi safetensors export with the real `safetensors` package.

For each --case EXPORT DUMP [BACK]:
  EXPORT  a file written by vd::models::export_encoder_safetensors
  DUMP    the same encoder saved as a vididi checkpoint (.vdck, the engine's
          own layout), read with tools/convert_checkpoint.py's numpy reader
  BACK    (optional) written here by safetensors.numpy.save_file from what was
          loaded, for the C++ test to import (our reader on the reference
          writer's output)

Checks, independently of the C++ code: the header by hand (json + struct:
8-byte LE length, every dtype/shape/data_offsets, the data region exactly
covered, metadata "format" = "pt" and vididi.layout = "torchvision"), then
safetensors.numpy.load_file: the same names as the dump's model/ entries,
torchvision's layout computed here in numpy (rank 5: einsum 'othwi->oithw',
i.e. ours [Cout, kT, kH, kW, Cin] -> torch [Cout, Cin, kT, kH, kW]),
dtype float32 (int64 rank 0 for num_batches_tracked) and bit-identical values.
Needs numpy and safetensors only (no torch). Used by
tests/test_safetensors_encoders.cpp; also a tool for hand checks.
Exit status 0 when every case passes, 1 otherwise.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_checkpoint import read_vdck  # noqa: E402  (pure numpy reader)

SIZES = {"F32": 4, "F64": 8, "BF16": 2, "I64": 8}


class Mismatch(Exception):
    pass


def check_header(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    if 8 + n > len(data):
        raise Mismatch(f"{path}: header length {n} past the end ({len(data)} bytes)")
    if (8 + n) % 8:
        raise Mismatch(f"{path}: data starts at byte {8 + n}, expected a multiple of 8")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    if meta.get("format") != "pt" or meta.get("vididi.layout") != "torchvision":
        raise Mismatch(f"{path}: metadata {meta} lacks format=pt / vididi.layout=torchvision")
    spans = []
    for name, e in header.items():
        if set(e) != {"dtype", "shape", "data_offsets"}:
            raise Mismatch(f"{path}: '{name}' has fields {sorted(e)}")
        begin, end = e["data_offsets"]
        if end - begin != int(np.prod(e["shape"], dtype=np.int64)) * SIZES[e["dtype"]]:
            raise Mismatch(f"{path}: '{name}' spans {end - begin} bytes for {e['dtype']} {e['shape']}")
        spans.append((begin, end))
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise Mismatch(f"{path}: data byte {pos} is not where the next tensor starts ({begin})")
        pos = end
    if pos != len(data) - 8 - n:
        raise Mismatch(f"{path}: tensors cover {pos} of {len(data) - 8 - n} data bytes")
    return header, meta


def reference(dump):
    """name -> numpy array in torchvision's layout, from the vididi checkpoint."""
    out = {}
    for key, e in read_vdck(dump).items():
        if not key.startswith("model/"):
            continue
        name, arr = key[len("model/"):], e.value
        if arr.ndim == 5:
            arr = np.ascontiguousarray(np.einsum("othwi->oithw", arr))
        if name.endswith("num_batches_tracked"):
            if arr.shape != () or arr != np.round(arr):
                raise Mismatch(f"{dump}: '{name}' is {arr!r}, expected an integral scalar")
            arr = np.array(int(arr), dtype=np.int64)
        out[name] = arr
    return out


def check_case(export, dump, back):
    header, meta = check_header(export)
    got = load_file(export)
    with safe_open(export, framework="np") as f:
        if f.metadata() != meta:
            raise Mismatch(f"{export}: safe_open metadata {f.metadata()} != header's {meta}")
    want = reference(dump)
    if list(header) != list(want):
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing or extra:
            raise Mismatch(f"{export}: missing {missing[:3]}, unexpected {extra[:3]}")
        raise Mismatch(f"{export}: names in another order than the state dict")
    for name, ref in want.items():
        arr = got[name]
        if arr.dtype != ref.dtype or arr.shape != ref.shape:
            raise Mismatch(f"{export}: '{name}' is {arr.dtype} {arr.shape}, expected {ref.dtype} {ref.shape}")
        if arr.tobytes() != ref.tobytes():
            raise Mismatch(f"{export}: '{name}' values differ from the numpy permutation of {dump}")
    convs = sum(1 for a in want.values() if a.ndim == 5)
    print(f"check_safetensors: {export}: {len(want)} tensors ({convs} conv weights permuted) "
          f"match {os.path.basename(dump)}; metadata {sorted(meta)}")
    if back:
        save_file(got, back, metadata=meta)
        print(f"check_safetensors: wrote {back} with safetensors.numpy.save_file")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", nargs="+", action="append", required=True, metavar="FILE",
                    help="EXPORT DUMP [BACK]")
    args = ap.parse_args(argv)
    try:
        for case in args.case:
            if len(case) not in (2, 3):
                ap.error(f"--case takes EXPORT DUMP [BACK], got {case}")
            check_case(case[0], case[1], case[2] if len(case) == 3 else None)
    except (Mismatch, OSError, ValueError, KeyError) as e:
        print(f"check_safetensors: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
