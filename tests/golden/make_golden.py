#!/usr/bin/env python3
# make_golden.py -- regenerates every tests/golden/*.vdg reference file from
# PyTorch/torchvision on the CPU:  python3 tests/golden/make_golden.py
#
# Test tooling only: the engine never imports torch; C++ tests read the .vdg
# files through tests/golden/golden_io.h. Entry names, layouts and tolerances
# are documented in docs/GOLDEN.md, which must change with this script.
# Sections: fill.vdg (fill-rule samples), ops.vdg, optim.vdg, losses.vdg,
# encoders_full.vdg, encoders_narrow.vdg. Runs in a few minutes on 2 cores.

import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_io as gio  # noqa: E402
import video_models as vm  # noqa: E402

SEED = 20240904


class Golden:
    """Ordered entries of one .vdg file; names are 'prefix/.../leaf'."""

    def __init__(self, filename):
        self.path = os.path.join(HERE, filename)
        self.entries = []

    def add(self, name, value, dtype=None):
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        self.entries.append((name, arr))

    def add_all(self, prefix, mapping, dtype=None):
        for key, value in mapping.items():
            self.add(f"{prefix}/{key}", value, dtype)

    def save(self):
        gio.write(self.path, self.entries)
        size = os.path.getsize(self.path)
        print(f"{os.path.basename(self.path)}: {len(self.entries)} entries, {size / 1e6:.3f} MB")
        return size


def randn(*shape, scale=1.0):
    return torch.randn(*shape, dtype=torch.float64) * scale


def weighted_sum_grads(fn, inputs, r=None):
    """y = fn(**inputs); backward of sum(y * r) with r random (or given).

    Returns {'y', 'r', 'd<name>' for each input that requires grad}.
    """
    leaves = {k: v.detach().clone().requires_grad_(v.is_floating_point()) for k, v in inputs.items()}
    y = fn(**leaves)
    r = randn(*y.shape) if r is None else r
    (y * r).sum().backward()
    out = {"y": y, "r": r}
    out.update({f"d{k}": v.grad for k, v in leaves.items() if v.grad is not None})
    return out


def i64(values):
    return np.asarray(values, dtype=np.int64)


# ------------------------------------------------------------------- fill.vdg

def make_fill():
    g = Golden("fill.vdg")
    samples = [
        ("stem.0.weight", (4, 3, 1, 7, 7), gio.WEIGHT, None, None),
        ("layer1.0.conv1.0.weight", (4, 2, 3, 3, 3), gio.WEIGHT, None, None),
        ("fc.weight", (5, 6), gio.WEIGHT, None, None),
        ("fc.bias", (5,), gio.BIAS, 6, None),
        ("stem.1.weight", (8,), gio.BN_WEIGHT, None, None),
        ("stem.1.bias", (8,), gio.BN_BIAS, None, None),
        ("stem.1.running_mean", (8,), gio.RUNNING_MEAN, None, None),
        ("stem.1.running_var", (8,), gio.RUNNING_VAR, None, None),
        ("input", (2, 3, 2, 4, 4), gio.UNIFORM, None, 1.0),
        ("Δ·名前", (7,), gio.UNIFORM, None, 2.5),
    ]
    for name, shape, kind, fan_in, bound in samples:
        g.add(f"fill/{kind}/{name}", gio.fill(name, shape, kind, fan_in=fan_in, bound=bound))
    for name in ("input", "stem.0.weight", ""):
        h = gio.fnv1a64(name)
        g.add(f"fnv1a64_hi_lo/{name}", i64([h >> 32, h & 0xFFFFFFFF]))
        g.add(f"u_from_2^40/{name}", gio.fill_u(name, 8, start=1 << 40))
    return g.save()


# -------------------------------------------------------------------- ops.vdg

CONV_CASES = [  # name, x shape, w shape, stride, padding, dilation, bias
    ("k333_s1_p1_bias", (2, 2, 3, 4, 4), (3, 2, 3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), True),
    ("k333_s2_p1", (1, 3, 5, 5, 5), (2, 3, 3, 3, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), False),
    ("k177_s122_p033", (1, 3, 2, 9, 9), (2, 3, 1, 7, 7), (1, 2, 2), (0, 3, 3), (1, 1, 1), False),
    ("k311_s211_p100", (1, 4, 6, 3, 3), (3, 4, 3, 1, 1), (2, 1, 1), (1, 0, 0), (1, 1, 1), False),
    ("k111_s2_p0", (1, 4, 5, 4, 4), (3, 4, 1, 1, 1), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
    ("k233_d122_p022_bias", (1, 2, 4, 6, 6), (2, 2, 2, 3, 3), (1, 1, 1), (0, 2, 2), (1, 2, 2), True),
    ("k323_s123_p102_bias", (1, 2, 5, 6, 7), (3, 2, 3, 2, 3), (1, 2, 3), (1, 0, 2), (1, 1, 1), True),
]

POOL_CASES = [  # op, name, x shape, kernel, stride, padding
    ("max_pool3d", "k133_s122_p011", (1, 2, 3, 7, 7), (1, 3, 3), (1, 2, 2), (0, 1, 1)),
    ("max_pool3d", "k333_s222_p111", (1, 2, 5, 6, 6), (3, 3, 3), (2, 2, 2), (1, 1, 1)),
    ("max_pool3d", "k222_s222_p0", (1, 2, 4, 6, 6), (2, 2, 2), (2, 2, 2), (0, 0, 0)),
    ("max_pool3d", "k333_s1_p1", (1, 2, 3, 5, 5), (3, 3, 3), (1, 1, 1), (1, 1, 1)),
    ("avg_pool3d", "k222_s222_p0", (1, 2, 4, 6, 6), (2, 2, 2), (2, 2, 2), (0, 0, 0)),
    ("avg_pool3d", "k333_s1_p1", (1, 2, 3, 5, 5), (3, 3, 3), (1, 1, 1), (1, 1, 1)),
    ("avg_pool3d", "k277_s1_p0", (1, 2, 3, 8, 7), (2, 7, 7), (1, 1, 1), (0, 0, 0)),
    ("avg_pool3d", "k333_s222_p111", (1, 2, 5, 6, 6), (3, 3, 3), (2, 2, 2), (1, 1, 1)),
]


def conv3d_cases(g):
    for name, xs, ws, stride, padding, dilation, bias in CONV_CASES:
        inputs = {"x": randn(*xs), "w": randn(*ws, scale=0.3)}
        if bias:
            inputs["b"] = randn(ws[0])
        res = weighted_sum_grads(
            lambda x, w, b=None: F.conv3d(x, w, b, stride=stride, padding=padding, dilation=dilation), inputs)
        prefix = f"conv3d/{name}"
        g.add_all(prefix, inputs)
        g.add_all(prefix, res)
        g.add_all(prefix, {"stride": i64(stride), "padding": i64(padding), "dilation": i64(dilation)})


def pool_cases(g):
    for op, name, xs, kernel, stride, padding in POOL_CASES:
        fn = getattr(F, op)
        # avg_pool3d keeps PyTorch's default count_include_pad=True; ceil_mode=False for both.
        x = randn(*xs)
        res = weighted_sum_grads(lambda x: fn(x, kernel, stride, padding), {"x": x})
        prefix = f"{op}/{name}"
        g.add(f"{prefix}/x", x)
        g.add_all(prefix, {"kernel": i64(kernel), "stride": i64(stride), "padding": i64(padding)})
        if op == "avg_pool3d":
            g.add(f"{prefix}/count_include_pad", i64(1))
        g.add_all(prefix, res)


def batch_norm_cases(g, momentum=0.1, eps=1e-5):
    for name, xs in (("nc", (8, 5)), ("ncthw", (2, 3, 3, 4, 4))):
        c = xs[1]
        x = randn(*xs, scale=2.0) + 0.5
        state = {"running_mean": randn(c, scale=0.1), "running_var": 1.0 + torch.rand(c, dtype=torch.float64)}
        running = {k: v.clone() for k, v in state.items()}
        inputs = {"x": x, "weight": 1.0 + randn(c, scale=0.2), "bias": randn(c, scale=0.2)}
        res = weighted_sum_grads(
            lambda x, weight, bias: F.batch_norm(x, running["running_mean"], running["running_var"], weight, bias,
                                                 training=True, momentum=momentum, eps=eps), inputs)
        y_eval = F.batch_norm(x, state["running_mean"], state["running_var"], inputs["weight"], inputs["bias"],
                              training=False, eps=eps)
        prefix = f"batch_norm/{name}"
        g.add_all(prefix, inputs)
        g.add_all(prefix, {"running_mean_in": state["running_mean"], "running_var_in": state["running_var"]})
        g.add_all(prefix, res)
        g.add_all(prefix, {"running_mean_out": running["running_mean"], "running_var_out": running["running_var"],
                           "y_eval": y_eval, "momentum": np.float64(momentum), "eps": np.float64(eps)})


def classification_cases(g):
    for op in ("softmax", "log_softmax"):
        x = randn(4, 7, scale=2.0)
        res = weighted_sum_grads(lambda x: getattr(F, op)(x, dim=1), {"x": x})
        g.add_all(op, {"x": x, **res})
    logits, labels = randn(6, 5, scale=2.0), torch.tensor([0, 4, 2, 2, 1, 3])
    leaf = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(leaf, labels)  # mean over the batch
    loss.backward()
    g.add_all("cross_entropy", {"logits": logits, "labels": i64(labels), "loss": loss, "dlogits": leaf.grad})


def similarity_cases(g):
    x = randn(5, 8)
    x[2] *= 1e-3  # a short row
    res = weighted_sum_grads(lambda x: F.normalize(x, p=2.0, dim=1, eps=1e-12), {"x": x})
    g.add_all("normalize", {"x": x, "eps": np.float64(1e-12), **res})
    inputs = {"a": randn(5, 8), "b": randn(6, 8)}
    res = weighted_sum_grads(lambda a, b: F.normalize(a, dim=1) @ F.normalize(b, dim=1).T, inputs)
    g.add_all("cosine_matrix", {**inputs, **res})


def dense_cases(g):
    inputs = {"x": randn(4, 6), "w": randn(5, 6, scale=0.4), "b": randn(5)}
    g.add_all("linear", {**inputs, **weighted_sum_grads(lambda x, w, b: F.linear(x, w, b), inputs)})
    x = randn(2, 3, 2, 3, 4)
    g.add_all("mean_thw", {"x": x, **weighted_sum_grads(lambda x: x.mean(dim=(2, 3, 4)), {"x": x})})


def make_ops():
    torch.manual_seed(SEED + 1)
    g = Golden("ops.vdg")
    conv3d_cases(g)
    pool_cases(g)
    batch_norm_cases(g)
    classification_cases(g)
    similarity_cases(g)
    dense_cases(g)
    return g.save()


# ------------------------------------------------------------------ optim.vdg

OPT_STEPS = 5
SGD_CASES = [  # name, lr, momentum, nesterov, weight_decay
    ("momentum", 0.1, 0.9, False, 0.0),
    ("nesterov_wd", 0.1, 0.9, True, 0.01),
    ("plain_wd", 0.05, 0.0, False, 0.05),
]
ADAMW_CASES = [  # name, lr, beta1, beta2, eps, weight_decay
    ("default", 1e-2, 0.9, 0.999, 1e-8, 0.01),
    ("strong_wd", 5e-2, 0.8, 0.99, 1e-6, 0.1),
]
LARS_CASES = [  # name, lr, momentum, weight_decay, eta
    ("vicreg", 0.5, 0.9, 1e-6, 0.001),
    ("strong_wd", 2.0, 0.9, 0.05, 0.001),
]
SCHEDULE_CASES = [  # name, base_lr, warmup_steps, total_steps, end_lr
    ("vicreg_like", 0.6, 10, 100, 0.6 * 0.001),
    ("no_warmup", 1.0, 0, 50, 0.0),
    ("short", 0.3, 5, 20, 0.0),
]
EMA_CASES = [("byol", 0.996, 40), ("coarse", 0.99, 10)]  # name, base momentum, total steps


def optimizer_trajectory(make_optimizer, start, grads):
    """Apply make_optimizer(params) for len(grads) steps with the stored gradients.

    start: {name: tensor}; grads: {name: [steps, *shape]}. Returns {name: [steps, *shape]}.
    """
    params = {k: v.clone().requires_grad_(True) for k, v in start.items()}
    opt = make_optimizer(list(params.values()))
    history = {k: [] for k in params}
    for step in range(OPT_STEPS):
        for k, p in params.items():
            p.grad = grads[k][step].clone()
        opt.step()
        for k, p in params.items():
            history[k].append(p.detach().clone())
    return {k: torch.stack(v) for k, v in history.items()}


class NumpyLARS:
    """LARS exactly as the VICReg reference (main_vicreg.py) applies it.

    Per parameter p with gradient g: if p is not 1-D, g += wd * p and
    g *= eta * ||p|| / ||g|| (when both norms are > 0, else 1); 1-D parameters
    (biases, BN) skip both. Then mu = momentum * mu + g; p -= lr * mu.
    """

    def __init__(self, params, lr, momentum, weight_decay, eta):
        self.params, self.lr, self.momentum, self.wd, self.eta = params, lr, momentum, weight_decay, eta
        self.mu = [np.zeros_like(p) for p in params]

    def step(self, grads):
        for p, g, mu in zip(self.params, grads, self.mu):
            if p.ndim != 1:
                g = g + self.wd * p
                p_norm, g_norm = np.linalg.norm(p), np.linalg.norm(g)
                if p_norm > 0.0 and g_norm > 0.0:
                    g = g * (self.eta * p_norm / g_norm)
            mu *= self.momentum
            mu += g
            p -= self.lr * mu


def warmup_cosine(step, base_lr, warmup, total, end_lr):
    """Linear warm-up from 0, then half-cosine from base_lr to end_lr (VICReg's adjust_learning_rate)."""
    if step < warmup:
        return base_lr * step / warmup
    q = 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))
    return base_lr * q + end_lr * (1.0 - q)


def ema_momentum(step, base, total):
    """BYOL target momentum: 1 - (1 - base) * (cos(pi * step / total) + 1) / 2."""
    return 1.0 - (1.0 - base) * (math.cos(math.pi * step / total) + 1.0) / 2.0


def make_optim():
    torch.manual_seed(SEED + 2)
    g = Golden("optim.vdg")
    start = {"w": randn(4, 3), "b": randn(3)}
    grads = {"w": randn(OPT_STEPS, 4, 3), "b": randn(OPT_STEPS, 3, scale=0.5)}
    g.add_all("start", start)
    g.add_all("grads", grads)
    for name, lr, momentum, nesterov, wd in SGD_CASES:
        traj = optimizer_trajectory(
            lambda ps: torch.optim.SGD(ps, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd), start, grads)
        g.add_all(f"sgd/{name}", {"lr": np.float64(lr), "momentum": np.float64(momentum), "nesterov": i64(nesterov),
                                  "weight_decay": np.float64(wd), "dampening": np.float64(0.0), **traj})
    for name, lr, b1, b2, eps, wd in ADAMW_CASES:
        traj = optimizer_trajectory(
            lambda ps: torch.optim.AdamW(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), start, grads)
        g.add_all(f"adamw/{name}", {"lr": np.float64(lr), "beta1": np.float64(b1), "beta2": np.float64(b2),
                                    "eps": np.float64(eps), "weight_decay": np.float64(wd), **traj})
    for name, lr, momentum, wd, eta in LARS_CASES:
        params = [start["w"].numpy().copy(), start["b"].numpy().copy()]
        lars, traj = NumpyLARS(params, lr, momentum, wd, eta), {"w": [], "b": []}
        for step in range(OPT_STEPS):
            lars.step([grads["w"][step].numpy(), grads["b"][step].numpy()])
            traj["w"].append(params[0].copy())
            traj["b"].append(params[1].copy())
        g.add_all(f"lars/{name}", {"lr": np.float64(lr), "momentum": np.float64(momentum),
                                   "weight_decay": np.float64(wd), "eta": np.float64(eta),
                                   "w": np.stack(traj["w"]), "b": np.stack(traj["b"])})
    for name, base_lr, warmup, total, end_lr in SCHEDULE_CASES:
        lrs = [warmup_cosine(s, base_lr, warmup, total, end_lr) for s in range(total + 1)]
        g.add_all(f"schedule/{name}", {"base_lr": np.float64(base_lr), "warmup_steps": i64(warmup),
                                       "total_steps": i64(total), "end_lr": np.float64(end_lr), "lr": np.array(lrs)})
    for name, base, total in EMA_CASES:
        taus = [ema_momentum(s, base, total) for s in range(total + 1)]
        g.add_all(f"ema_momentum/{name}", {"base": np.float64(base), "total_steps": i64(total), "tau": np.array(taus)})
    return g.save()


# ----------------------------------------------------------------- losses.vdg

LOSS_N, LOSS_D = 8, 16


def vicreg_terms(x, y, sim_coeff=25.0, std_coeff=25.0, cov_coeff=1.0):
    """VICReg reference loss (main_vicreg.py), returning its unweighted terms too."""
    n, d = x.shape
    invariance = F.mse_loss(x, y)
    xc, yc = x - x.mean(dim=0), y - y.mean(dim=0)
    std_x, std_y = torch.sqrt(xc.var(dim=0) + 1e-4), torch.sqrt(yc.var(dim=0) + 1e-4)
    variance = torch.mean(F.relu(1 - std_x)) / 2 + torch.mean(F.relu(1 - std_y)) / 2
    off = ~torch.eye(d, dtype=torch.bool)
    cov_x, cov_y = (xc.T @ xc) / (n - 1), (yc.T @ yc) / (n - 1)
    covariance = cov_x[off].pow(2).sum() / d + cov_y[off].pow(2).sum() / d
    loss = sim_coeff * invariance + std_coeff * variance + cov_coeff * covariance
    return loss, {"invariance": invariance, "variance": variance, "covariance": covariance}


def byol_direction(p, z):
    """mean over the batch of 2 - 2 cos(p_i, z_i); z is a stop-gradient target."""
    return (2 - 2 * F.cosine_similarity(p, z.detach(), dim=1, eps=1e-12)).mean()


def nt_xent(z1, z2, temperature=0.1):
    """SimCLR NT-Xent over 2N anchors: positive = the other view, 2N-2 negatives, mean."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T) / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(logits, targets)


def loss_with_grads(fn, inputs):
    """fn(**leaves) -> (loss, extras); returns loss, extras and d<name> of every input reached."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    loss, extras = fn(**leaves)
    loss.backward()
    return {"loss": loss, **extras, **{f"d{k}": v.grad for k, v in leaves.items() if v.grad is not None}}


def make_losses():
    torch.manual_seed(SEED + 3)
    g = Golden("losses.vdg")
    column_scale = torch.linspace(0.3, 2.0, LOSS_D, dtype=torch.float64)  # some std < 1, some > 1
    inputs = {"x": randn(LOSS_N, LOSS_D) * column_scale, "y": randn(LOSS_N, LOSS_D) * column_scale}
    inputs["y"] = 0.6 * inputs["x"] + 0.4 * inputs["y"]  # correlated views
    g.add_all("vicreg", {**inputs, "sim_coeff": np.float64(25.0), "std_coeff": np.float64(25.0),
                         "cov_coeff": np.float64(1.0), "std_eps": np.float64(1e-4),
                         **loss_with_grads(vicreg_terms, inputs)})
    inputs = {k: randn(LOSS_N, LOSS_D) for k in ("p1", "p2", "z1", "z2")}
    inputs["z2"] = inputs["z2"] + inputs["p1"]  # partly aligned pairs

    def byol(p1, p2, z1, z2):
        l12, l21 = byol_direction(p1, z2), byol_direction(p2, z1)
        return l12 + l21, {"loss_p1_z2": l12, "loss_p2_z1": l21}

    g.add_all("byol", {**inputs, **loss_with_grads(byol, inputs)})  # no dz1/dz2: targets are stop-gradient
    inputs = {"z1": randn(LOSS_N, LOSS_D), "z2": randn(LOSS_N, LOSS_D)}
    inputs["z2"] = inputs["z2"] + 1.5 * inputs["z1"]
    res = loss_with_grads(lambda z1, z2: (nt_xent(z1, z2, 0.1), {}), inputs)
    g.add_all("simclr", {**inputs, "temperature": np.float64(0.1), **res})
    return g.save()


# ------------------------------------------------------- encoders_*.vdg

ENCODERS = ("r3d_18", "r2plus1d_18", "s3d")
SMALL_INPUT = (2, 3, 8, 32, 32)   # works for both VideoResNets
S3D_GAP_INPUT = (2, 3, 16, 112, 112)  # the ViDiDi clip size; torchvision S3D itself fails on it
S3D_TV_INPUT = (1, 3, 13, 209, 209)  # smallest input torchvision's AvgPool3d((2,7,7)) accepts
NARROW_DIVISOR = 8
FULL_CASES = [  # model, case, input shape, pooling (see video_models.features)
    ("r3d_18", "full", SMALL_INPUT, "torchvision"),
    ("r2plus1d_18", "full", SMALL_INPUT, "torchvision"),
    ("s3d", "full", S3D_TV_INPUT, "torchvision"),
    ("s3d", "full_gap", S3D_GAP_INPUT, "mean"),
]


def fill_input(shape):
    """Encoder input: fill('input', shape, uniform, bound 1), float64.

    Not stored (it would take most of the size budget); fill.vdg pins the
    'input' fill bit for bit, and C++ regenerates it with vd::golden::fill.
    """
    return torch.from_numpy(gio.fill("input", shape, gio.UNIFORM, bound=1.0))


def shape_tag(shape):
    return "x".join(str(s) for s in shape)


def filled_model(name, divisor):
    model = vm.build(name, divisor).double()
    gio.fill_module(model)
    return model


def check_module_trees():
    """Our builders with divisor 1 must equal torchvision's own state_dict layout."""
    for name in ENCODERS:
        ours = [(k, tuple(v.shape)) for k, v in vm.build(name).state_dict().items()]
        theirs = [(k, tuple(v.shape)) for k, v in vm.torchvision_reference(name).state_dict().items()]
        if ours != theirs:
            raise SystemExit(f"{name}: module tree differs from torchvision's")


def make_encoders_full():
    g = Golden("encoders_full.vdg")
    for name, case, shape, pooling in FULL_CASES:
        model, x = filled_model(name, 1), fill_input(shape)
        with torch.no_grad():
            model.eval()
            feats_eval = vm.features(model, x, pooling)
            model.train()
            feats_train = vm.features(model, x, pooling)
        g.add_all(f"{name}/{case}", {"input_shape": i64(shape), "features_eval": feats_eval,
                                     "features_train": feats_train}, np.float32)
        print(f"  {name}/{case}: input {shape_tag(shape)} -> features {tuple(feats_train.shape)}")
    return g.save()


def make_encoders_narrow():
    torch.manual_seed(SEED + 4)
    g = Golden("encoders_narrow.vdg")
    for name in ENCODERS:
        shape = S3D_GAP_INPUT if name == "s3d" else SMALL_INPUT
        model, x = filled_model(name, NARROW_DIVISOR), fill_input(shape)
        model.train()
        feats = vm.features(model, x, "mean")
        r = randn(*feats.shape).float().double()  # stored as f32 exactly
        (feats * r).sum().backward()
        prefix = f"{name}/narrow{NARROW_DIVISOR}"
        g.add_all(prefix, {"divisor": i64(NARROW_DIVISOR), "input_shape": i64(shape)})
        g.add_all(prefix, {"r": r, "features": feats}, np.float32)
        g.add_all(f"{prefix}/grad", {k: p.grad for k, p in model.named_parameters()}, np.float32)
        for k, b in model.named_buffers():
            g.add(f"{prefix}/state/{k}", b, np.int64 if k.endswith("num_batches_tracked") else np.float32)
        print(f"  {prefix}: {sum(p.numel() for p in model.parameters())} parameters")
    return g.save()


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print(f"torch {torch.__version__}, numpy {np.__version__}")
    total = 0
    check_module_trees()
    for make in (make_fill, make_ops, make_optim, make_losses, make_encoders_full, make_encoders_narrow):
        total += make()
    print(f"total {total / 1e6:.3f} MB")


if __name__ == "__main__":
    main()
