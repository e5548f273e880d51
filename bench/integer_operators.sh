#!/usr/bin/env bash
# Models that arrive quantized in the operator form (QLinearConv, QLinearMatMul: what ONNX
# Runtime's QOperator quantizer writes), side by side: each stack is generated three ways, then
# ROUNDS rounds of `plaster throughput` (offline, BATCH, BUDGET each) cycle through them:
#   - int8, constant weights: the integer sums on oneDNN's int8 kernels (Note [Integer kernels]);
#   - int8, exact path: the same nodes with uint8 weights over 0..255 (no int8 holds them once
#     their zero point is off, so they stay on the exact double path, Note [Exact quantized
#     arithmetic], which is what every quantized operator ran on before);
#   - fp32: the same stack with float Conv/MatMul, for scale.
# The stacks: 3 × (3×3 convolution, 64 → 64 channels, 56×56, pad 1: ResNet-50's first stage),
# and 3 × (768 × 768 product on 128 rows per sample: a BERT-base projection).
# Prints each one's median samples/s over the rounds.
#   ROUNDS=3 BUDGET=4s BATCH=8 bench/integer_operators.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-3}"
budget="${BUDGET:-4s}"
batch="${BATCH:-8}"
plaster="$build/plaster"
out=$(mktemp -d)
/usr/bin/python3 - "$out" <<'PY'
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)

def save(name, nodes, inputs, output, inits):
    graph = helper.make_graph(nodes, name, inputs, [output], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, f"{out}/{name}.onnx")

def stack(name, op, x_shape, w_shapes, attrs, wide_weights, fp32):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, x_shape)
    inits, nodes = [], []
    scalar = lambda n, v, t: inits.append(helper.make_tensor(n, t, [], [v]))
    if fp32:
        prev = "x"
        for k, shape in enumerate(w_shapes):
            w = (rng.standard_normal(shape) * 0.05).astype(np.float32)
            inits.append(numpy_helper.from_array(w, f"w{k}"))
            nodes.append(helper.make_node("Conv" if op == "QLinearConv" else "MatMul",
                                          [prev, f"w{k}"], [f"h{k}"], **attrs))
            prev = f"h{k}"
        nodes.append(helper.make_node("Identity", [prev], ["y"]))
        return save(name, nodes, [x], y, inits)
    scalar("s", 0.05, TensorProto.FLOAT)
    scalar("z", 128, TensorProto.UINT8)
    nodes.append(helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q0"]))
    for k, shape in enumerate(w_shapes):
        wtype = np.uint8 if wide_weights else np.int8
        w = rng.integers(0, 256, size=shape).astype(np.uint8) if wide_weights else \
            rng.integers(-127, 128, size=shape, dtype=np.int8)
        channels = shape[0] if op == "QLinearConv" else shape[1]
        inits.append(numpy_helper.from_array(np.full(channels, 0.002, np.float32), f"ws{k}"))
        inits.append(numpy_helper.from_array(np.zeros(channels, wtype), f"wz{k}"))
        inits.append(numpy_helper.from_array(w, f"w{k}"))
        nodes.append(helper.make_node(op, [f"q{k}", "s", "z", f"w{k}", f"ws{k}", f"wz{k}", "s", "z"],
                                      [f"q{k + 1}"], **attrs))
    nodes.append(helper.make_node("DequantizeLinear", [f"q{len(w_shapes)}", "s", "z"], ["y"]))
    save(name, nodes, [x], y, inits)

for wide_weights, fp32, suffix in [(False, False, "int8"), (True, False, "int8_exact"),
                                        (False, True, "fp32")]:
    stack(f"conv_{suffix}", "QLinearConv", ["N", 64, 56, 56], [(64, 64, 3, 3)] * 3,
          {"pads": [1, 1, 1, 1]}, wide_weights, fp32)
    stack(f"matmul_{suffix}", "QLinearMatMul", ["N", 128, 768], [(768, 768)] * 3, {},
          wide_weights, fp32)
PY
configs=()
for s in conv matmul; do
  for v in int8 int8_exact fp32; do configs+=("$s $v|$out/${s}_$v.onnx"); done
done
for ((r = 1; r <= rounds; r++)); do
  for k in "${!configs[@]}"; do
    "$plaster" throughput "${configs[$k]#*|}" --batch "$batch" --budget "$budget" --json \
      >"$out/$k.$r.json"
  done
done
/usr/bin/python3 - "$out" "$rounds" "${configs[@]}" <<'PY'
import json, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| stack | median samples/s | rounds |")
print("|---|---|---|")
for k, c in enumerate(configs):
    rates = [json.load(open(f"{out}/{k}.{r}.json"))["result"]["samples_per_s"] for r in range(1, rounds + 1)]
    print(f"| {c.split('|')[0]} | {statistics.median(rates):.1f} | {', '.join(f'{x:.1f}' for x in rates)} |")
PY
