#!/usr/bin/python3
"""Train small classifiers on generated data and export them, for plaster's accuracy tests.

usage: /usr/bin/python3 tools/train_classifiers.py [--if-missing] OUT_DIR
       (--if-missing: exit at once when OUT_DIR/classifiers.json already exists)

Why: the tests of the A letter (accuracy) need models that really classify something, on data
whose labels are known, hard enough that validation accuracy is well below 100% so that numeric
precision matters. plaster's FP32 predictions must equal PyTorch's exactly, and the accuracy lost
at BF16 and INT8 is measured against PyTorch's FP32 figures. There is no network and no dataset
to download, so the data is generated here, deterministically, from seeded numpy Generators.

Models (NAME):
  cnn  images 3x32x32, 10 classes: each class is an oriented sinusoidal grating (orientation and
       frequency per class) plus a coloured blob at a class-dependent position, with random phase,
       orientation/position jitter, contrast and heavy Gaussian noise. Conv-BN-ReLU blocks
       (16 channels stride 2, 32, 64 stride 2), global average pool, Linear. BatchNorm is
       folded into the convolutions in PyTorch before export, so the exported weights are
       exactly the ones PyTorch's reference outputs were computed with.
  mlp  64 features, 8 classes: an overlapping Gaussian mixture (several components per class)
       in an 8-dimensional latent space, mapped to 64 features through a fixed random nonlinear
       map, plus noise. MLP 64 -> 256 -> 256 -> 8 with GELU (Gemm-heavy).

For each NAME writes, in OUT_DIR:
  NAME.onnx        opset 13; input "input" / output "logits", axis 0 dynamic and named "batch"
  NAME_val.npz     input float32 [N, ...], labels int64 [N]   (the validation set)
  NAME_calib.npz   input float32 [K, ...]                     (training samples, INT8 calibration)
  NAME_torch.npz   logits float32 [N, C], predictions int64 [N]: PyTorch's FP32 eval-mode outputs
                   on NAME_val.npz's inputs, from the very module (and weights) that was exported
  NAME_init.onnx   the same model with its initial (untrained) weights and its BatchNormalization
                   nodes (not folded): what `plaster learn` trains (the R letter)
  NAME_train.npz   input float32 [T, ...], labels int64 [T]: the first T training samples
                   (TRAIN_SAVED: all of the MLP's, 4000 of the CNN's, to keep the file small)
  cnn_shift_train.npz, cnn_shift_val.npz
                   2000 and 1000 new CNN samples under other lighting (0.7x contrast and a colour
                   cast per channel): the "new data" that `plaster learn --init` re-learns on
and classifiers.json, listing each model's shapes, sizes, PyTorch FP32 validation top-1 accuracy,
training time and seeds. The data is the same on every run; the trained weights may differ
between CPUs (thread scheduling, vector units), which does not matter: the tests compare plaster
against PyTorch's outputs for the same exported file.

Needs Debian's python3-torch 1.13 / python3-onnx / python3-numpy. About 45 s on 2 CPU cores
that a parallel build was also using (CNN training is most of it).
"""
import copy
import json
import math
import os
import sys
import time
import warnings

# Before torch loads libgomp: with the default (spinning) wait policy, 2 OpenMP threads on a
# busy 2-core machine (ctest -j, a parallel build) make small training steps 10-40x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

OPSET = 13
THREADS = 2
CALIB_SIZE = 512
TRAIN_SAVED = {"cnn": 4000, "mlp": 10000}


# ----------------------------------------------------------------------------------------------
# data


def balanced_labels(rng, n, classes):
    return rng.permutation(np.arange(n) % classes).astype(np.int64)


class GratingBlobs:
    """3x32x32 images, 10 classes: oriented grating + coloured blob, under heavy noise."""

    CLASSES = 10
    SHAPE = (3, 32, 32)

    def __init__(self, seed):
        # class prototypes, fixed by the seed
        r = np.random.default_rng(seed)
        c = np.arange(self.CLASSES)
        self.theta = c * math.pi / self.CLASSES          # 18 degrees apart
        self.freq = np.where(c % 2 == 0, 2.0, 3.0)       # cycles across the image
        pos_ang = r.permutation(c) * 2 * math.pi / self.CLASSES
        self.blob_xy = 0.5 * np.stack([np.cos(pos_ang), np.sin(pos_ang)], 1)
        palette = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]], np.float64)
        self.blob_rgb = palette[r.permutation(c) % len(palette)] - 0.4
        self.grating_rgb = 0.6 + 0.4 * r.random((self.CLASSES, 3))
        g = np.linspace(-1.0, 1.0, 32)
        self.yy, self.xx = np.meshgrid(g, g, indexing="ij")

    def sample(self, rng, n, noise=2.0):
        y = balanced_labels(rng, n, self.CLASSES)
        theta = self.theta[y] + rng.normal(0.0, 0.12, n)           # ~7 degrees jitter
        freq = self.freq[y] * rng.uniform(0.85, 1.15, n)
        phase = rng.uniform(0.0, 2 * math.pi, n)
        g_amp = rng.uniform(0.2, 0.8, n)
        proj = (np.cos(theta)[:, None, None] * self.xx + np.sin(theta)[:, None, None] * self.yy)
        grating = np.sin(math.pi * freq[:, None, None] * proj + phase[:, None, None])
        grating = g_amp[:, None, None] * grating
        img = grating[:, None] * self.grating_rgb[y][:, :, None, None]

        bxy = self.blob_xy[y] + rng.normal(0.0, 0.18, (n, 2))
        sigma = rng.uniform(0.15, 0.3, n)
        b_amp = rng.uniform(0.3, 1.0, n)
        d2 = (self.xx - bxy[:, 0, None, None]) ** 2 + (self.yy - bxy[:, 1, None, None]) ** 2
        blob = b_amp[:, None, None] * np.exp(-d2 / (2 * sigma[:, None, None] ** 2))
        img += blob[:, None] * self.blob_rgb[y][:, :, None, None]

        img += rng.normal(0.0, noise, img.shape)
        return img.astype(np.float32), y


class MixtureFeatures:
    """64 features, 8 classes: a Gaussian mixture in 8-d latent space, through a nonlinear map."""

    CLASSES = 8
    SHAPE = (64,)
    LATENT = 8
    COMPONENTS = 3

    def __init__(self, seed, spread=1.3):
        r = np.random.default_rng(seed)
        k, d = self.CLASSES * self.COMPONENTS, self.LATENT
        self.means = spread * r.normal(0.0, 1.0, (k, d))
        self.scales = r.uniform(0.7, 1.2, (k, d))
        self.w1 = r.normal(0.0, 1.0 / math.sqrt(d), (d, 64))
        self.w2 = r.normal(0.0, 1.5 / math.sqrt(d), (d, 64))
        self.b2 = r.uniform(0.0, 2 * math.pi, 64)

    def sample(self, rng, n, noise=0.3):
        y = balanced_labels(rng, n, self.CLASSES)
        comp = y * self.COMPONENTS + rng.integers(0, self.COMPONENTS, n)
        z = self.means[comp] + self.scales[comp] * rng.normal(0.0, 1.0, (n, self.LATENT))
        x = z @ self.w1 + np.sin(z @ self.w2 + self.b2) + 0.3 * np.tanh(z @ self.w1) ** 2
        x += rng.normal(0.0, noise, x.shape)
        return x.astype(np.float32), y


# ----------------------------------------------------------------------------------------------
# models


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(conv_bn(3, 16, 2), conv_bn(16, 32, 1), conv_bn(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.features(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def fold_bn(self):
        """Conv+BN -> Conv with bias (eval mode), so the exported weights are what PyTorch runs."""
        for i, blk in enumerate(self.features):
            conv = torch.nn.utils.fusion.fuse_conv_bn_eval(blk[0], blk[1])
            self.features[i] = nn.Sequential(conv, nn.ReLU(inplace=True))
        return self


class MLP(nn.Module):
    def __init__(self, features, classes, hidden=256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.GELU(),
                                 nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, classes))

    def forward(self, x):
        return self.net(x)


# name -> how to make it. seed: data prototypes and samples; torch_seed: init and shuffling.
SPECS = {
    "cnn": dict(data=GratingBlobs, model=SmallCNN, seed=1001, torch_seed=11,
                train=8000, val=2000, epochs=6, batch=128, lr=3e-3, wd=1e-4),
    "mlp": dict(data=MixtureFeatures, model=MLP, seed=2002, torch_seed=22,
                train=10000, val=2000, epochs=15, batch=128, lr=2e-3, wd=1e-4),
}


# ----------------------------------------------------------------------------------------------
# training, export, checks


def train(m, x, y, spec):
    g = torch.Generator().manual_seed(spec["torch_seed"])
    opt = torch.optim.AdamW(m.parameters(), lr=spec["lr"], weight_decay=spec["wd"])
    steps = spec["epochs"] * math.ceil(len(x) / spec["batch"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec["lr"], total_steps=steps)
    m.train()
    for _ in range(spec["epochs"]):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), spec["batch"]):
            idx = perm[i:i + spec["batch"]]
            loss = F.cross_entropy(m(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return m.eval()


@torch.no_grad()
def predict(m, x):
    m.eval()
    return torch.cat([m(x[i:i + 500]) for i in range(0, len(x), 500)])


def export(m, sample, path, keep_batchnorm=False):
    # keep_batchnorm: TrainingMode.PRESERVE skips the exporter's eval-mode peephole that folds
    # BatchNorm into the Conv, so the file keeps its BatchNormalization nodes (inference form)
    mode = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(m, (sample,), path, opset_version=OPSET, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True, training=mode,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if keep_batchnorm:
        separate_initializers(path)


def separate_initializers(path):
    """The exporter stores equal initializers once and makes the others Identity nodes of it:
    an untrained BatchNorm's running variance (ones) became an Identity of its weight (ones), so
    training the weight would move the statistic. Each gets its own initializer again."""
    mp = onnx.load(path)
    g = mp.graph
    inits = {t.name: t for t in g.initializer}
    kept = []
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            g.initializer.append(t)
        else:
            kept.append(n)
    del g.node[:]
    g.node.extend(kept)
    onnx.save(mp, path)


def check_onnx(m, path, shape, classes):
    """The file is valid, has the promised interface, and carries exactly m's weights."""
    mp = onnx.load(path)
    onnx.checker.check_model(mp, full_check=True)
    g = mp.graph

    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    if [i.name for i in g.input] != ["input"] or [o.name for o in g.output] != ["logits"]:
        raise SystemExit(f"{path}: unexpected graph inputs/outputs")
    if dims(g.input[0]) != ["batch", *shape] or dims(g.output[0]) != ["batch", classes]:
        raise SystemExit(f"{path}: shapes {dims(g.input[0])} -> {dims(g.output[0])}")
    if mp.opset_import[0].version != OPSET:
        raise SystemExit(f"{path}: opset {mp.opset_import[0].version}")
    # every float initializer is bit-identical to one of the module's tensors, and every
    # module parameter is in the file (none was transformed by constant folding)
    params = {n: p.detach().numpy() for n, p in m.state_dict().items()
              if p.is_floating_point()}
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n, p in params.items():
        a = inits.get(n)
        if a is None or a.shape != p.shape or a.tobytes() != p.tobytes():
            raise SystemExit(f"{path}: initializer {n} missing or differs from the module's")
    extra = [n for n, a in inits.items() if n not in params and a.dtype.kind == "f"]
    if extra:
        raise SystemExit(f"{path}: float initializers not in the module: {extra}")
    return mp


def run_one(name, spec, out_dir):
    t0 = time.time()
    torch.manual_seed(spec["torch_seed"])
    data = spec["data"](spec["seed"])
    rng = np.random.default_rng(spec["seed"] + 1)
    x_tr, y_tr = data.sample(rng, spec["train"])
    x_va, y_va = data.sample(np.random.default_rng(spec["seed"] + 2), spec["val"])
    if name == "mlp":  # standardise with training statistics; the stored data is model input
        mu, sd = x_tr.mean(0), x_tr.std(0)
        x_tr = ((x_tr - mu) / sd).astype(np.float32)
        x_va = ((x_va - mu) / sd).astype(np.float32)
    t_data = time.time() - t0

    m = spec["model"](*(([] if name == "cnn" else [x_tr.shape[1]]) + [data.CLASSES]))
    # the untrained model, for `plaster learn`, with its BatchNormalization nodes: a CNN without
    # normalization barely learns from this initialization (SGD or AdamW alike, in PyTorch too)
    init = copy.deepcopy(m).eval()
    init_path = os.path.join(out_dir, f"{name}_init.onnx")
    export(init, torch.from_numpy(x_va[:2]), init_path, keep_batchnorm=True)
    check_onnx(init, init_path, data.SHAPE, data.CLASSES)
    t1 = time.time()
    train(m, torch.from_numpy(x_tr), torch.from_numpy(y_tr), spec)
    t_train = time.time() - t1
    if name == "cnn":
        m.fold_bn()
    m.eval()

    path = os.path.join(out_dir, f"{name}.onnx")
    export(m, torch.from_numpy(x_va[:2]), path)
    mp = check_onnx(m, path, data.SHAPE, data.CLASSES)

    # PyTorch's reference: the exported module itself, eval mode, FP32, on the validation inputs
    logits = predict(m, torch.from_numpy(x_va)).numpy().astype(np.float32)
    pred = logits.argmax(1).astype(np.int64)
    acc = float((pred == y_va).mean())
    top2 = np.sort(logits, 1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    if not np.isfinite(logits).all():
        raise SystemExit(f"{name}: non-finite logits")

    np.savez(os.path.join(out_dir, f"{name}_val.npz"), input=x_va, labels=y_va)
    np.savez(os.path.join(out_dir, f"{name}_calib.npz"), input=x_tr[:CALIB_SIZE])
    np.savez(os.path.join(out_dir, f"{name}_train.npz"), input=x_tr[:TRAIN_SAVED[name]],
             labels=y_tr[:TRAIN_SAVED[name]])
    np.savez(os.path.join(out_dir, f"{name}_torch.npz"), logits=logits, predictions=pred)
    if name == "cnn":  # new data under other lighting, for re-learning (plaster learn --init)
        cast = np.array([0.8, -0.5, 0.3], np.float32)[:, None, None]
        for part, seed_offset, n in (("train", 4, 2000), ("val", 5, 1000)):
            x_s, y_s = data.sample(np.random.default_rng(spec["seed"] + seed_offset), n)
            np.savez(os.path.join(out_dir, f"cnn_shift_{part}.npz"),
                     input=(0.7 * x_s + cast).astype(np.float32), labels=y_s)

    # read back what was written: the stored reference equals a fresh eval-mode run
    with np.load(os.path.join(out_dir, f"{name}_val.npz")) as f:
        again = predict(m, torch.from_numpy(f["input"])).numpy()
    if again.tobytes() != logits.tobytes():
        raise SystemExit(f"{name}: logits are not reproducible from the stored inputs")

    info = {
        "model": name,
        "onnx": f"{name}.onnx",
        "val": f"{name}_val.npz",
        "calib": f"{name}_calib.npz",
        "init": f"{name}_init.onnx",
        "train": f"{name}_train.npz",
        "train_saved": TRAIN_SAVED[name],
        "torch_outputs": f"{name}_torch.npz",
        "opset": OPSET,
        "input_name": "input",
        "output_name": "logits",
        "input_shape": list(data.SHAPE),
        "classes": data.CLASSES,
        "train_size": spec["train"],
        "val_size": spec["val"],
        "calib_size": min(CALIB_SIZE, spec["train"]),
        "torch_fp32_top1": acc,
        "torch_fp32_correct": int((pred == y_va).sum()),
        "min_top2_margin": float(margin.min()),
        "val_below_1e-3_margin": int((margin < 1e-3).sum()),
        "params": int(sum(p.numel() for p in m.parameters())),
        "onnx_nodes": len(mp.graph.node),
        "onnx_ops": sorted({n.op_type for n in mp.graph.node}),
        "epochs": spec["epochs"],
        "train_seconds": round(t_train, 2),
        "total_seconds": round(time.time() - t0, 2),
        "data_seed": spec["seed"],
        "torch_seed": spec["torch_seed"],
        "torch_threads": THREADS,
        "torch_version": torch.__version__,
    }
    print(f"{name:4s} val top-1 {acc * 100:5.1f}% ({info['torch_fp32_correct']}/{spec['val']})  "
          f"train {t_train:5.1f}s  total {info['total_seconds']:5.1f}s  "
          f"(data {t_data:.1f}s)", flush=True)
    return info


def main(argv):
    args = argv[1:]
    if_missing = "--if-missing" in args
    args = [a for a in args if a != "--if-missing"]
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.exit(__doc__)
    out_dir = args[0]
    index = os.path.join(out_dir, "classifiers.json")
    if if_missing and os.path.exists(index):
        print(f"classifiers already in {out_dir}", flush=True)
        return
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(THREADS)
    t0 = time.time()
    models = [run_one(n, s, out_dir) for n, s in SPECS.items()]
    # written last: its presence means every other file is complete (--if-missing relies on it)
    tmp = index + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"generator": "tools/train_classifiers.py", "models": models}, f, indent=1)
        f.write("\n")
    os.replace(tmp, index)
    print(f"total {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv)
