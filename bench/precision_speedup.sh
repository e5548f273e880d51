#!/usr/bin/env bash
# BF16 and INT8 against FP32 on the torch engine, side by side: for each model and batch, ROUNDS
# rounds of `plaster latency` (single-stream, BUDGET each) cycling through the precisions, so all
# see the same machine load. Prints each case's median latency per precision (the median of the
# rounds' medians) and the speed-ups. Models come from tools/export_models.py (the build's
# `export_models` fixture); their weights are random, so INT8 here measures speed only: the
# convolutional models are calibrated statically (min-max) on CALIBRATION generated samples, and
# the BERT-like encoder is quantized dynamically (its MatMuls; no calibration data), as ONNX
# Runtime's quantizer recommends for transformers. Accuracy is measured on the trained
# classifiers instead (plaster accuracy; tests/integration/classifiers_accuracy_test.cpp).
#   ROUNDS=3 BUDGET=10s PRECISIONS="fp32 bf16 int8" bench/precision_speedup.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-3}"
budget="${BUDGET:-10s}"
threads="${THREADS:-2}"
precisions="${PRECISIONS:-fp32 bf16 int8}"
calibration="${CALIBRATION:-16}"
models="$build/models"
plaster="$build/plaster"
cases=("resnet50 1" "resnet50 8" "mobilenet_v2 8" "bert_like 1" "bert_like 4")
out=$(mktemp -d)
# Calibration samples for the image models: standard normal, like their generated inputs.
/usr/bin/python3 -c "
import numpy as np, sys
np.save(sys.argv[1], np.random.default_rng(1).standard_normal((int(sys.argv[2]), 3, 224, 224)).astype(np.float32))
" "$out/images.npy" "$calibration"
for c in "${cases[@]}"; do
  read -r model batch <<<"$c"
  for ((r = 1; r <= rounds; r++)); do
    for p in $precisions; do
      extra=()
      if [[ $p == int8 && $model != bert_like ]]; then
        extra=(--calibration "$out/images.npy" --calibration-method minmax)
      fi
      "$plaster" latency "$models/$model.onnx" --batch "$batch" --threads "$threads" \
        --precision "$p" --budget "$budget" "${extra[@]}" --json >"$out/$model.$batch.$p.$r.json"
    done
  done
done
/usr/bin/python3 - "$out" "$rounds" "$precisions" "${cases[@]}" <<'PY'
import json, statistics, sys
out, rounds, precisions, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4:]
def p50(path):
    j = json.load(open(path))
    return next(p["value_ns"] for p in j["result"]["latency"]["percentiles"] if p["name"] == "p50") / 1e6
low = [p for p in precisions if p != "fp32"]
head = ["model", "batch"] + [f"{p} median ms" for p in precisions]
head += [f"{p} speed-up" for p in low] + [f"{p} samples/s" for p in low]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for c in cases:
    model, batch = c.split()
    m = {p: statistics.median(p50(f"{out}/{model}.{batch}.{p}.{r}.json") for r in range(1, rounds + 1))
         for p in precisions}
    row = [model, batch] + [f"{m[p]:.2f}" for p in precisions]
    row += [f"{m['fp32'] / m[p]:.2f}" if "fp32" in m else "-" for p in low]
    row += [f"{int(batch) * 1000 / m[p]:.1f}" for p in low]
    print("| " + " | ".join(row) + " |")
PY
