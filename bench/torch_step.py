#!/usr/bin/env python3
# Copied unchanged below this line from the project's shared/bench/torch_step.py (read-only there) so that it travels with the tree to the GPU machine; scripts/gpu_step_compare.sh runs it.
"""The peer to beat: PyTorch eager running one ViDiDi-style VICReg pretraining
step (view A = frames, view B = first temporal difference, one shared encoder,
3-layer projector, VICReg loss 25/25/1, SGD momentum step).

Run it on the same GPU, in the same script as the project's own benchmark, so
that both numbers come from the same card:

    python3 ../shared/bench/torch_step.py --model r3d_18 --batch 32 --mode bf16_cl

Modes: fp32 (TF32 off), tf32, bf16 (autocast, NCDHW), bf16_cl (autocast,
channels_last_3d: the fastest eager setting measured). Prints one JSON line per
configuration: median step time in ms, clips/s (clips per step / step time,
each clip is encoded twice), peak GPU memory in GiB.
"""
import argparse, json, time
import torch, torch.nn as nn, torch.nn.functional as F
import torchvision


def encoder(name):
    if name == "r3d_18":
        m = torchvision.models.video.r3d_18(weights=None); m.fc = nn.Identity(); return m, 512
    if name == "r2plus1d_18":
        m = torchvision.models.video.r2plus1d_18(weights=None); m.fc = nn.Identity(); return m, 512
    if name == "s3d":
        m = torchvision.models.video.s3d(weights=None)
        m.avgpool = nn.AdaptiveAvgPool3d(1); m.classifier = nn.Identity(); return m, 1024
    raise SystemExit(f"unknown model {name}")


def projector(dim, hid):
    return nn.Sequential(nn.Linear(dim, hid), nn.BatchNorm1d(hid), nn.ReLU(True),
                         nn.Linear(hid, hid), nn.BatchNorm1d(hid), nn.ReLU(True),
                         nn.Linear(hid, hid))


def vicreg(z1, z2):
    z1, z2 = z1.float(), z2.float()
    n, d = z1.shape
    inv = F.mse_loss(z1, z2)
    z1 = z1 - z1.mean(0); z2 = z2 - z2.mean(0)
    s1 = torch.sqrt(z1.var(0) + 1e-4); s2 = torch.sqrt(z2.var(0) + 1e-4)
    var = torch.mean(F.relu(1 - s1)) / 2 + torch.mean(F.relu(1 - s2)) / 2
    c1 = (z1.T @ z1) / (n - 1); c2 = (z2.T @ z2) / (n - 1)
    off = lambda c: c.pow(2).sum() - c.diagonal().pow(2).sum()
    return 25 * inv + 25 * var + (off(c1) + off(c2)) / d


def bench(model_name, N, T, S, mode, hid, iters, warm):
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    tf32 = mode != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    enc, dim = encoder(model_name)
    model = nn.ModuleDict({"enc": enc, "proj": projector(dim, hid)}).cuda()
    cl = mode == "bf16_cl"
    if cl:
        model = model.to(memory_format=torch.channels_last_3d)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-6)
    xs = [torch.randn(N, 3, T + 1, S, S, device="cuda") for _ in range(2)]

    def step(x):
        a, b = x[:, :, :T], x[:, :, 1:] - x[:, :, :-1]
        if cl:
            a = a.contiguous(memory_format=torch.channels_last_3d)
            b = b.contiguous(memory_format=torch.channels_last_3d)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode.startswith("bf16")):
            loss = vicreg(model["proj"](model["enc"](a)), model["proj"](model["enc"](b)))
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return loss

    for i in range(warm):
        step(xs[i % 2])
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    ts = []
    for i in range(iters):
        e0.record(); step(xs[i % 2]); e1.record(); torch.cuda.synchronize()
        ts.append(e0.elapsed_time(e1))
    ts.sort(); med = ts[len(ts) // 2]
    return dict(peer="pytorch-eager", torch=torch.__version__, gpu=torch.cuda.get_device_name(0),
                model=model_name, batch=N, frames=T, size=S, mode=mode, projector=hid,
                step_ms=round(med, 2), clips_per_s=round(N * 1000 / med, 1),
                peak_mem_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="r3d_18", choices=["r3d_18", "s3d", "r2plus1d_18"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--mode", default="bf16_cl", help="comma list of fp32,tf32,bf16,bf16_cl")
    p.add_argument("--projector", type=int, default=2048)
    p.add_argument("--iters", type=int, default=15)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    for m in a.mode.split(","):
        print(json.dumps(bench(a.model, a.batch, a.frames, a.size, m, a.projector, a.iters, a.warmup)), flush=True)
