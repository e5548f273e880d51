#!/usr/bin/env bash
# A model that arrives quantized (QDQ) against the model it came from, side by side: the trained
# CNN (the build's `classifiers` fixture) is exported as a QDQ int8 model by `plaster optimize
# --export`, then ROUNDS rounds of `plaster throughput` (offline, BATCH, BUDGET each) cycle
# through: the original in fp32, the original in int8 calibrated on its calibration set, the QDQ
# file in an int8 session (ranges from the file, no calibration: Note [Models that arrive
# quantized]), and the QDQ file run as written in fp32 (fake quantization). Prints each one's
# median samples/s over the rounds.
#   ROUNDS=3 BUDGET=5s BATCH=64 bench/quantized_model.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-3}"
budget="${BUDGET:-5s}"
batch="${BATCH:-64}"
plaster="$build/plaster"
data="$build/classifiers"
out=$(mktemp -d)
"$plaster" optimize "$data/cnn.onnx" --data "$data/cnn_val.npz" --calibration "$data/cnn_calib.npz" \
  --precision fp32,int8 --batch "$batch" --budget 30s --jsonl "$out/o.jsonl" --json "$out/o.json" \
  --export "$out/cnn.qdq.onnx" >/dev/null 2>&1
if [[ $(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['export']['precision'])" "$out/o.json") != int8 ]]; then
  echo "plaster optimize recommended fp32 at batch $batch on this machine: no int8 file to measure" >&2
  exit 1
fi
configs=("original fp32|$data/cnn.onnx --precision fp32"
         "original int8, calibrated|$data/cnn.onnx --precision int8 --calibration $data/cnn_calib.npz"
         "QDQ file, int8 session|$out/cnn.qdq.onnx --precision int8"
         "QDQ file as written, fp32|$out/cnn.qdq.onnx --precision fp32")
for ((r = 1; r <= rounds; r++)); do
  for k in "${!configs[@]}"; do
    # shellcheck disable=SC2086  # the options are words
    "$plaster" throughput ${configs[$k]#*|} --batch "$batch" --budget "$budget" --json >"$out/$k.$r.json"
  done
done
/usr/bin/python3 - "$out" "$rounds" "${configs[@]}" <<'PY'
import json, statistics, sys
out, rounds, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| model | median samples/s | rounds |")
print("|---|---|---|")
for k, c in enumerate(configs):
    rates = [json.load(open(f"{out}/{k}.{r}.json"))["result"]["samples_per_s"] for r in range(1, rounds + 1)]
    print(f"| {c.split('|')[0]} | {statistics.median(rates):.0f} | {', '.join(f'{x:.0f}' for x in rates)} |")
PY
