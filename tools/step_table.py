#!/usr/bin/env python3
"""tools/step_table.py: the markdown table of scripts/gpu_step_compare.sh's
results.jsonl (vididi bench and bench/torch_step.py JSON lines), for
docs/RESULTS.md. One row per (model, N, precision, variant): vididi's step
ms, clips/s and peak GiB beside PyTorch eager's for the same model, N and
precision (fp32 <-> fp32, tf32 <-> tf32, bf16 <-> bf16_cl, else bf16), and
the ratio vididi step ms / PyTorch step ms (below 1: vididi is faster). A
run that failed shows its error. Not a plotting or averaging tool: each
line is one run's median as the run printed it.

Usage: python3 tools/step_table.py results.jsonl [more.jsonl ...]  (- = stdin)
"""
import json
import sys


def precision(mode):
    return mode[:-3] if mode.endswith("_cl") else mode


def variant(r):
    v = []
    if r.get("cuda_graphs"):
        v.append("cuda_graphs")
    if r.get("conv_deterministic") is False:
        v.append("any cuDNN algorithm")
    if "profile_ops_per_step" in r:
        v.append("profiler on")
    return ", ".join(v)


def fmt(x, digits):
    return "-" if x is None else f"{x:.{digits}f}"


def read(paths):
    rows = []
    for p in paths:
        f = sys.stdin if p == "-" else open(p)
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{p}:{n}: not a JSON line ({e})")
    return rows


def table(rows):
    torch = {}  # (model, batch, precision) -> row; bf16_cl wins over bf16
    for r in rows:
        if r.get("peer") != "pytorch-eager" or "error" in r:
            continue
        key = (r["model"], r["batch"], precision(r["mode"]))
        if key not in torch or r["mode"] == "bf16_cl":
            torch[key] = r
    out = ["| model | N | precision | variant | vididi step ms | vididi clips/s | vididi peak GiB "
           "| PyTorch step ms | PyTorch clips/s | PyTorch peak GiB | vididi / PyTorch time |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("peer") != "vididi":
            continue
        prec = precision(r.get("mode", "?"))
        t = torch.get((r.get("model"), r.get("batch"), prec))
        head = f"| {r.get('model', '?')} | {r.get('batch', '?')} | {prec} | {variant(r) or r.get('extra', '') or '-'} |"
        if "error" in r:
            out.append(head + f" {r['error']} | | | | | | |")
            continue
        tv = (fmt(t["step_ms"], 2), fmt(t["clips_per_s"], 1), fmt(t["peak_mem_gib"], 2)) if t else ("-", "-", "-")
        ratio = fmt(r["step_ms"] / t["step_ms"], 2) if t and t["step_ms"] > 0 else "-"
        out.append(head + f" {fmt(r['step_ms'], 2)} | {fmt(r['clips_per_s'], 1)} | {fmt(r['peak_mem_gib'], 2)} |"
                   f" {tv[0]} | {tv[1]} | {tv[2]} | {ratio} |")
    errors = [r for r in rows if r.get("peer") == "pytorch-eager" and "error" in r]
    for r in errors:
        out.append(f"\nPyTorch {r.get('model')} N={r.get('batch')} {r.get('mode')}: {r['error']}")
    gpus = sorted({r.get("device") or r.get("gpu") for r in rows if r.get("device") or r.get("gpu")})
    if gpus:
        out.append("\nDevice: " + ", ".join(gpus) + ".")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    sys.stdout.write(table(read(sys.argv[1:])))
