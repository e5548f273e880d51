#!/usr/bin/env bash
# BF16 against FP32 on the torch engine, side by side: for each model and batch, ROUNDS rounds of
# `plaster latency` (single-stream, BUDGET each) alternating fp32 and bf16, so both see the same
# machine load. Prints each round's median latency and the ratio of the medians of the rounds.
# Models come from tools/export_models.py (the build's `export_models` fixture).
#   ROUNDS=3 BUDGET=10s bench/precision_speedup.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-3}"
budget="${BUDGET:-10s}"
threads="${THREADS:-2}"
models="$build/models"
plaster="$build/plaster"
cases=("resnet50 1" "resnet50 8" "mobilenet_v2 8" "bert_like 1" "bert_like 4")
out=$(mktemp -d)
for c in "${cases[@]}"; do
  read -r model batch <<<"$c"
  for ((r = 1; r <= rounds; r++)); do
    for p in fp32 bf16; do
      "$plaster" latency "$models/$model.onnx" --batch "$batch" --threads "$threads" \
        --precision "$p" --budget "$budget" --json >"$out/$model.$batch.$p.$r.json"
    done
  done
done
/usr/bin/python3 - "$out" "$rounds" "${cases[@]}" <<'PY'
import json, statistics, sys
out, rounds, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def p50(path):
    j = json.load(open(path))
    return next(p["value_ns"] for p in j["result"]["latency"]["percentiles"] if p["name"] == "p50") / 1e6
print("| model | batch | fp32 median ms | bf16 median ms | speed-up (fp32/bf16) | bf16 samples/s |")
print("|---|---|---|---|---|---|")
for c in cases:
    model, batch = c.split()
    f = [p50(f"{out}/{model}.{batch}.fp32.{r}.json") for r in range(1, rounds + 1)]
    b = [p50(f"{out}/{model}.{batch}.bf16.{r}.json") for r in range(1, rounds + 1)]
    fm, bm = statistics.median(f), statistics.median(b)
    print(f"| {model} | {batch} | {fm:.2f} | {bm:.2f} | {fm / bm:.2f} | {int(batch) * 1000 / bm:.1f} |")
PY
