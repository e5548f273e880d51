#!/usr/bin/env bash
# How long `plaster size` takes, and its peak memory, on the exported reference models.
#   bench/size_speed.sh [RUNS]   (default 7; models from build/release/models, exported by the tests)
# Prints per model: file size, median and min wall time, and max RSS over the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
bin=build/release/plaster
models=build/release/models
[ -x "$bin" ] || { echo "build first: cmake --build --preset release" >&2; exit 2; }
/usr/bin/python3 tools/export_models.py --if-missing "$models" resnet50 mobilenet_v2 bert_like >/dev/null
printf '%-16s %10s %10s %10s %10s\n' model file median_s min_s max_rss
for m in resnet50 mobilenet_v2 bert_like; do
  f="$models/$m.onnx"
  times=(); rss=0
  for _ in $(seq "$runs"); do
    out=$( { /usr/bin/time -f '%e %M' "$bin" size "$f" --json >/dev/null; } 2>&1 )
    times+=("${out% *}")
    r=${out#* }; [ "$r" -gt "$rss" ] && rss=$r
  done
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
  min=$(echo "$sorted" | head -1)
  printf '%-16s %9sM %10s %10s %8sMB\n' "$m" "$(( $(stat -c %s "$f") / 1048576 ))" "$median" "$min" "$(( rss / 1024 ))"
done
