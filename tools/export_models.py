#!/usr/bin/python3
"""Export plaster's reference models to ONNX, with reference I/O and PyTorch-side counts.

usage: /usr/bin/python3 tools/export_models.py [--if-missing] OUT_DIR [MODEL ...]   (no MODEL = all;
       --if-missing keeps models already exported there)

For each model writes OUT_DIR/<name>.onnx, <name>.input.npy / <name>.output.npy (batch 2,
float32, PyTorch eval-mode output) and <name>.json (parameter and MAC counts taken in PyTorch,
which plaster's own ONNX analysis can be checked against).

Needs Debian's python3-torch 1.13 / python3-torchvision 0.14 / python3-onnx; there is no network,
so all weights are random from a fixed seed.
"""
import collections
import hashlib
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from torch.utils._python_dispatch import TorchDispatchMode

OPSET = 14
RESNET50_MACS = 4_089_184_256  # well-known figure for torchvision resnet50, 224x224, batch 1

# name -> per-sample input shape (batch axis excluded)
SHAPES = {
    "resnet50": (3, 224, 224),
    "mobilenet_v2": (3, 224, 224),
    "squeezenet1_1": (3, 224, 224),
    "densenet121": (3, 224, 224),
    "inception_v3": (3, 299, 299),
    "efficientnet_b0": (3, 224, 224),
    "vit_b_16": (3, 224, 224),
    "bert_like": (128, 768),
    "lstm": (32, 64),
}


class SeqLSTM(nn.Module):
    """Small sequence classifier: 2-layer LSTM, then a linear head on the last time step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=64, hidden_size=128, num_layers=2, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


def build(name):
    torch.manual_seed(0)
    if name == "bert_like":
        layer = nn.TransformerEncoderLayer(d_model=768, nhead=12, dim_feedforward=3072,
                                           dropout=0.0, activation="gelu", batch_first=True)
        m = nn.TransformerEncoder(layer, num_layers=12, enable_nested_tensor=False)
    elif name == "lstm":
        m = SeqLSTM()
    elif name == "inception_v3":
        m = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    else:
        m = getattr(torchvision.models, name)(weights=None)
    randomise(m, name)
    return m.eval()


@torch.no_grad()
def randomise(m, name):
    """Make every weight tensor distinct.

    Default inits leave biases at 0, BN at (1, 0, 0, 1), LayerNorm at (1, 0), and
    nn.TransformerEncoder deep-copies one layer 12 times. torch.onnx de-duplicates bit-identical
    initializers (shared tensors / Identity nodes), which would make the ONNX weight set
    unrepresentative and break the parameter-count bookkeeping below.
    """
    if name == "bert_like":
        for pname, p in m.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.02)
            elif "norm" in pname and pname.endswith("weight"):
                p.uniform_(0.9, 1.1)
            else:
                p.uniform_(-0.02, 0.02)
        return
    for mod in m.modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            mod.weight.uniform_(0.5, 1.0)
            mod.bias.uniform_(-0.1, 0.1)
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            continue
        for p in mod.parameters(recurse=False):
            # Zero-initialised by design (vit_b_16's head weight and class token): with a zero head
            # the output would be the head bias alone, useless as a numerical reference.
            if p.dim() >= 2 and not p.any():
                p.normal_(0.0, 0.02)
        if isinstance(mod, (nn.LayerNorm, nn.GroupNorm)) and mod.weight is not None:
            mod.weight.uniform_(0.9, 1.1)  # vit_b_16's 25 LayerNorms would otherwise be all-ones
        # Any direct bias parameter: Conv/Linear .bias, LayerNorm .bias, LSTM bias_ih_l0/bias_hh_l0,
        # MultiheadAttention in_proj_bias.
        for pname, p in mod.named_parameters(recurse=False):
            if "bias" in pname:
                p.uniform_(-0.05, 0.05)


def assert_distinct(m, name):
    seen = {}
    for tname, t in list(m.named_parameters()) + list(m.named_buffers()):
        if not t.is_floating_point():
            continue  # e.g. BN num_batches_tracked, not exported in eval mode
        h = hashlib.sha1(t.detach().contiguous().numpy().tobytes()).hexdigest()
        if h in seen:
            raise SystemExit(f"{name}: {tname} is bit-identical to {seen[h]}")
        seen[h] = tname


def _prod(xs):
    return int(math.prod(int(v) for v in xs))


class MacCounter(TorchDispatchMode):
    """Counts multiply-accumulates of the aten ops that reach the dispatcher.

    Working at dispatch level (below autograd) sees what composite modules really run:
    nn.MultiheadAttention's packed in-projection and its QK^T / attn*V bmm's, F.linear lowered to
    addmm, and nn.LSTM, which on CPU in torch 1.13 decomposes into one addmm for each layer's
    input projection (all steps at once) plus one addmm per step for the recurrent projection.
    """

    # ops that hide large matmuls inside one fused kernel; seeing one means the count is wrong
    FUSED = ("_transformer_encoder_layer_fwd", "_native_multi_head_attention", "lstm", "gru",
             "rnn_tanh", "rnn_relu", "mkldnn_rnn", "scaled_dot_product")

    def __init__(self):
        super().__init__()
        self.macs = collections.Counter()
        self.fused = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op = func.overloadpacket.__name__
        n = None
        if op in ("convolution", "_convolution"):
            x, w, transposed = args[0], args[1], args[6]
            # non-transposed weight is [Cout, Cin/groups, k...]: each output element costs
            # Cin/groups * prod(k) MACs. Transposed weight is [Cin, Cout/groups, k...]: each
            # input element is scattered into Cout/groups * prod(k) outputs.
            n = (x.numel() if transposed else out.numel()) * _prod(w.shape[1:])
        elif op in ("mm", "addmm", "bmm", "baddbmm"):
            a, b = (args[0], args[1]) if op in ("mm", "bmm") else (args[1], args[2])
            n = a.numel() * b.shape[-1]  # [(B,) n, k] x [(B,) k, m]
        elif op in ("mv", "addmv", "matmul"):
            a = args[0] if op != "addmv" else args[1]
            n = out.numel() * a.shape[-1]
        elif op == "linear":
            n = out.numel() * args[1].shape[1]
        elif op in self.FUSED:
            self.fused.add(op)
        if n:
            self.macs[op] += int(n)
        return out


def count_macs(m, x1):
    # Grad mode on, like the export: in eval/no-grad mode torch 1.13 sends nn.TransformerEncoder
    # and nn.MultiheadAttention to fused kernels whose internal matmuls would be invisible here.
    with torch.enable_grad(), MacCounter() as c:
        m(x1)
    if c.fused:
        raise SystemExit(f"fused op(s) {sorted(c.fused)} reached dispatch; MACs would be undercounted")
    return sum(c.macs.values()), dict(c.macs)


def lstm_macs_analytic(lstm):
    """Per sample: per layer and time step, 4 gates * hidden * (input + hidden)."""
    steps, total, inp = SHAPES["lstm"][0], 0, lstm.input_size
    for _ in range(lstm.num_layers):
        total += steps * 4 * lstm.hidden_size * (inp + lstm.hidden_size)
        inp = lstm.hidden_size
    return total


FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE,
               onnx.TensorProto.BFLOAT16}


def onnx_stats(path):
    mp = onnx.load(path)
    onnx.checker.check_model(mp)
    g = mp.graph
    fl = sum(_prod(t.dims) for t in g.initializer if t.data_type in FLOAT_TYPES)
    ints = sum(_prod(t.dims) for t in g.initializer if t.data_type not in FLOAT_TYPES)
    inits = {t.name for t in g.initializer}
    # de-duplicated weights show up as Identity nodes fed by an initializer
    n_dup = sum(1 for nd in g.node if nd.op_type == "Identity" and nd.input[0] in inits)
    if n_dup:
        raise SystemExit(f"{path}: {n_dup} Identity(initializer) nodes: weights were de-duplicated")
    ops = collections.Counter(nd.op_type for nd in g.node)
    return fl, ints, len(g.node), dict(sorted(ops.items()))


def export_one(name, out_dir):
    t0 = time.time()
    m = build(name)
    assert_distinct(m, name)
    shape = SHAPES[name]
    x = torch.randn((2,) + shape, generator=torch.Generator().manual_seed(1))

    with torch.no_grad():
        y = m(x)
    # the reference output must depend on the input and be finite to be worth comparing against
    if not torch.isfinite(y).all() or torch.equal(y[0], y[1]):
        raise SystemExit(f"{name}: degenerate reference output")
    np.save(os.path.join(out_dir, f"{name}.input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out_dir, f"{name}.output.npy"), y.numpy().astype(np.float32))

    macs, breakdown = count_macs(m, x[:1])
    method = ("TorchDispatchMode over aten ops, batch 1, grad mode on (unfused path): "
              "convolution = out_elems*Cin/groups*prod(k); mm/addmm/bmm/baddbmm = B*n*k*m "
              "(includes attention QK^T/AV bmm and packed QKV projection); "
              "BN/activations/pooling/softmax/adds not counted")
    if name == "lstm":
        # nn.LSTM did decompose into addmm at dispatch level; cross-check against the formula.
        ana = lstm_macs_analytic(m.lstm) + m.fc.in_features * m.fc.out_features
        if ana != macs:
            raise SystemExit(f"lstm: dispatch count {macs} != analytic {ana}")
        method += ("; nn.LSTM lowers to addmm (input projection per layer + one recurrent addmm "
                   "per step), equal to analytic 4*H*(I+H) per layer per step")
    if name == "resnet50":
        print(f"resnet50 MACs check: {macs:,} (expected {RESNET50_MACS:,})", flush=True)
        if macs != RESNET50_MACS:
            raise SystemExit("resnet50 MAC count mismatch")

    path = os.path.join(out_dir, f"{name}.onnx")
    t1 = time.time()
    # Grad mode on: torch 1.13's eval fast path (aten::_transformer_encoder_layer_fwd,
    # _native_multi_head_attention) has no ONNX symbolic; with grad enabled the standard,
    # numerically equivalent path is traced. Modules stay in eval mode (dropout off, BN stats).
    with torch.enable_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # Benign here: the LSTM's zero h0/c0 are built from Shape(input), so batch stays dynamic,
        # and the prim::Constant shape-inference notice does not affect the exported graph.
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM")
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(m, (x,), path, opset_version=OPSET, input_names=["input"],
                          output_names=["output"], do_constant_folding=True,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    export_s = time.time() - t1
    fl, ints, nodes, ops = onnx_stats(path)

    info = {
        "model": name,
        "opset": OPSET,
        "input_shape": list(shape),
        "onnx_file_bytes": os.path.getsize(path),
        "torch_params": int(sum(p.numel() for p in m.parameters())),
        "bn_channels": int(sum(b.num_features for b in m.modules()
                               if isinstance(b, nn.modules.batchnorm._BatchNorm))),
        "onnx_params": fl,
        "onnx_int_initializer_elements": ints,
        "onnx_nodes": nodes,
        "onnx_op_counts": ops,
        "torch_macs_per_sample": int(macs),
        "torch_macs_breakdown": breakdown,
        "mac_method": method,
        "export_seconds": round(export_s, 3),
    }
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"{name:16s} params={info['torch_params']:>12,}  onnx_params={fl:>12,}  "
          f"MACs={macs:>15,}  onnx_nodes={nodes:>5}  {time.time() - t0:6.1f}s", flush=True)


def main(argv):
    args = argv[1:]
    # --if-missing: keep models already exported (the test fixture caches them in the build).
    if_missing = "--if-missing" in args
    args = [a for a in args if a != "--if-missing"]
    if not args or args[0] in ("-h", "--help"):
        sys.exit(__doc__)
    out_dir, names = args[0], args[1:] or list(SHAPES)
    bad = [n for n in names if n not in SHAPES]
    if bad:
        sys.exit(f"unknown model(s) {bad}; known: {', '.join(SHAPES)}")
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    for n in names:
        done = all(os.path.exists(os.path.join(out_dir, f"{n}{ext}"))
                   for ext in (".onnx", ".json", ".input.npy", ".output.npy"))
        if if_missing and done:
            print(f"{n:16s} already exported in {out_dir}", flush=True)
            continue
        export_one(n, out_dir)
    print(f"total {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main(sys.argv)
