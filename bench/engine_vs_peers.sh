#!/usr/bin/env bash
# The torch engine against ONNX Runtime (the fastest peer in ../shared/peers/results.md), side by
# side in one sitting on the same model files: ResNet-50, MobileNetV2, SqueezeNet 1.1 (batch 1
# and 8) and the BERT-like encoder (batch 1 and 4), FP32, 2 threads. Ratios are plaster / ORT
# medians (below 1.0: plaster is faster).
#
# Shared machines are noisy, so the two runtimes alternate: for each model, ORT then plaster,
# ROUNDS times (default 2), and each round gives its own ratio. The table shows the median of
# the rounds' medians for each runtime and the rounds' ratios, so a disturbance that hit one
# runtime only shows up as ratios that disagree.
#   bench/engine_vs_peers.sh            (needs a release build: cmake --build --preset release)
#   ROUNDS=3 bench/engine_vs_peers.sh   more rounds
# The first run installs onnxruntime-node and exports the models through the peers' own script
# (../shared/peers/run.sh, ONLY=ort); later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/build/peers"
peers="$root/../shared/peers"
lat="$root/build/release/bench/engine_latency"
rounds=${ROUNDS:-2}
[ -x "$lat" ] || { echo "build first: cmake --build --preset release" >&2; exit 2; }
mkdir -p "$out"
models="$out/scratch/models"
node_modules="$out/scratch/node/node_modules"
if [ ! -d "$node_modules/onnxruntime-node" ] || [ ! -f "$models/bert_base_encoder.onnx" ]; then
  # Installs ORT (npm) and exports the models; its closing report step needs the other stages'
  # results and fails alone, after the parts used here are done.
  PEERS_OUT="$out" ONLY=ort "$peers/run.sh" > "$out/ort_setup.log" 2>&1 || true
fi
[ -d "$node_modules/onnxruntime-node" ] || { echo "no onnxruntime-node; see $out/ort_setup.log" >&2; exit 1; }
runs="$out/rounds"
rm -rf "$runs" && mkdir -p "$runs"
for r in $(seq 1 "$rounds"); do
  for spec in resnet50:1,8 mobilenet_v2:1,8 squeezenet1_1:1,8 bert_base_encoder:1,4; do
    m=${spec%%:*}
    batches=${spec#*:}
    echo "round $r/$rounds: $m" >&2
    (cd "$peers" && node ort_bench.js --model "$m" --onnx "$models/$m.onnx" --models-dir "$models" \
      --batches "$batches" --out "$runs/ort_${m}_$r.json" --node-modules "$node_modules" \
      > "$runs/ort_${m}_$r.log" 2>&1) || echo "  ort_bench failed: $runs/ort_${m}_$r.log" >&2
    for b in ${batches//,/ }; do
      "$lat" "$models/$m.onnx" --batch "$b" --threads 2 --runs 30 --warmup 5 \
        | sed "s/^{/{\"round\": $r, /" >> "$runs/plaster.jsonl"
    done
  done
done
/usr/bin/python3 bench/engine_vs_peers_table.py "$runs" "$rounds"
