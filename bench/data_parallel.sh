#!/usr/bin/env bash
# Data-parallel training against one process, side by side (issue 7): the classifiers fixture's
# untrained CNN (BatchNormalization) and MLP, the same global batch and epochs, three ways:
#   - one process, all THREADS threads (what a user would run without --nproc);
#   - one process, THREADS/2 threads, batch BATCH/2 (one rank's share of cores and batch, alone);
#   - --nproc 2 (two ranks of THREADS/2 threads each, c10d Gloo on the loopback).
# Rounds alternate the three, ROUNDS times; prints each one's median steady-state samples/s, then
# the weak-scaling efficiency (two ranks ÷ 2 × one rank alone) and the speed-up over one process
# on the same cores. Needs the fixture: ctest -R train_classifiers.
#   ROUNDS=3 EPOCHS=2 BATCH=64 THREADS=2 bench/data_parallel.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-3}"
epochs="${EPOCHS:-2}"
batch="${BATCH:-64}"
threads="${THREADS:-2}"
half=$(( threads / 2 > 0 ? threads / 2 : 1 ))
plaster="$build/plaster"
dir="$build/classifiers"
[ -f "$dir/cnn_init.onnx" ] || { echo "data_parallel: run 'ctest -R train_classifiers' first" >&2; exit 2; }
rate() {  # model, batch, extra args → steady-state samples/s
  "$plaster" learn "$dir/$1_init.onnx" --data "$dir/$1_train.npz" --val "$dir/$1_val.npz" \
    --batch "$2" --epochs "$epochs" --val-limit 200 --json "${@:3}" 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_s"])'
}
for model in cnn mlp; do
  one=(); alone=(); ranks=()
  for ((r = 0; r < rounds; ++r)); do
    one+=("$(rate "$model" "$batch" --threads "$threads")")
    alone+=("$(rate "$model" $(( batch / 2 )) --threads "$half")")
    ranks+=("$(rate "$model" "$batch" --nproc 2 --threads "$half")")
  done
  /usr/bin/python3 - "$model" "$threads" "$half" "${one[*]}" "${alone[*]}" "${ranks[*]}" <<'PY'
import statistics, sys
model, threads, half = sys.argv[1:4]
one, alone, ranks = (statistics.median(map(float, a.split())) for a in sys.argv[4:7])
print(f"{model}: one process {threads} threads {one:.0f}/s · one rank alone ({half} threads, half batch) "
      f"{alone:.0f}/s · --nproc 2 ({half} each) {ranks:.0f}/s")
print(f"  weak-scaling efficiency {ranks / (2 * alone):.2f} · speed-up over one process on the "
      f"same cores {ranks / one:.2f}x")
PY
done
