#!/usr/bin/env bash
# The torch engine against ONNX Runtime (the fastest peer in ../shared/peers/results.md), side by
# side in one sitting on the same model files: ResNet-50, MobileNetV2, SqueezeNet 1.1 (batch 1
# and 8) and the BERT-like encoder (batch 1 and 4), FP32, 2 threads. Ratios are plaster / ORT
# medians (below 1.0: plaster is faster). Run it on a quiet machine; it takes about 10 minutes.
#   bench/engine_vs_peers.sh            (needs a release build: cmake --build --preset release)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/build/peers"
peers="$root/../shared/peers"
lat="$root/build/release/bench/engine_latency"
[ -x "$lat" ] || { echo "build first: cmake --build --preset release" >&2; exit 2; }
mkdir -p "$out"
# ONNX Runtime through the peers' own script (it exports the models into $out/scratch/models).
# Its closing report step needs the other stages' results and fails alone; the ORT results are
# written before it. REUSE_ORT=1 keeps the ORT results of an earlier run of this sitting.
models="$out/scratch/models"
results="$out/scratch/results"
if [ -z "${REUSE_ORT:-}" ]; then
  PEERS_OUT="$out" ONLY=ort "$peers/run.sh" > "$out/ort.log" 2>&1 || true
fi
for m in resnet50 mobilenet_v2 squeezenet1_1 bert_base_encoder; do
  [ -f "$results/ort_$m.json" ] || { echo "no ORT result for $m; see $out/ort.log" >&2; exit 1; }
done
: > "$out/plaster.jsonl"
for spec in resnet50:1,8 mobilenet_v2:1,8 squeezenet1_1:1,8 bert_base_encoder:1,4; do
  m=${spec%%:*}
  batches=${spec#*:}
  for b in ${batches//,/ }; do
    "$lat" "$models/$m.onnx" --batch "$b" --threads 2 --runs 30 --warmup 5 >> "$out/plaster.jsonl"
  done
done
/usr/bin/python3 - "$out/plaster.jsonl" "$results" <<'PY'
import json, os, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
seen = set()
print("| model | batch | plaster torch median ms | p90 | ORT fp32 median ms | p90 | ratio plaster/ORT | plaster GFLOP/s |")
print("|---|---|---|---|---|---|---|---|")
for r in ours:
    name = os.path.basename(r["model"])[:-5]
    if (name, r["batch"]) in seen:
        continue
    seen.add((name, r["batch"]))
    ort = json.load(open(os.path.join(sys.argv[2], f"ort_{name}.json")))["results"]
    o = next((x for x in ort if x["batch"] == r["batch"] and x.get("median_ms")), None)
    om = o["median_ms"] if o else float("nan")
    print(f"| {name} | {r['batch']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | {om:.2f} | "
          f"{o['p90_ms'] if o else float('nan'):.2f} | {r['median_ms'] / om:.2f} | {r['gflop_per_s']:.0f} |")
print("\nplaster settings:", ours[0]["settings"])
PY
