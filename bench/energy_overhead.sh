#!/usr/bin/env bash
# The E sampler's cost to what it measures (issue 8's target: under 1% of latency), side by side:
# `plaster evaluate` of one case with E (every source read every SAMPLE, 10 ms by default) and
# with --no-energy, alternated ROUNDS times. Prints each side's median single-stream p50 and mean
# latency and offline samples/s, and the ratios with/without. Then the sampler's own cost, which
# bounds what it can take from a measurement: the CPU time of `plaster power --duration 22s` less
# that of `--duration 2s` (start-up and discovery cancel), over the 20 s between, as a share of
# one core (each source read every SAMPLE, or its own slower period). On a machine without RAPL a
# fake powercap tree stands in (--sysfs-root, this machine's /proc linked in), so that a counter is
# read every SAMPLE as RAPL would be (a file read: cheaper than RAPL's MSR read, by microseconds).
#   ROUNDS=6 BUDGET=12s MODEL=builtin:resnet8 BATCH=1 SAMPLE=10ms bench/energy_overhead.sh [build/release]
set -euo pipefail
build="${1:-build/release}"
rounds="${ROUNDS:-6}"
budget="${BUDGET:-12s}"
model="${MODEL:-builtin:resnet8}"
batch="${BATCH:-1}"
sample="${SAMPLE:-10ms}"
plaster="$build/plaster"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=()
if [ ! -r /sys/class/powercap/intel-rapl:0/energy_uj ]; then
  zone="$tmp/root/sys/class/powercap/intel-rapl:0"
  mkdir -p "$zone"
  echo package-0 >"$zone/name"; echo 1000 >"$zone/energy_uj"; echo 262143328850 >"$zone/max_energy_range_uj"
  ln -s /proc "$tmp/root/proc"
  root=(--sysfs-root "$tmp/root")
  echo "no RAPL here: a fake counter file stands in, read every $sample"
fi
figures() {  # extra args → "p50_ms mean_ms offline_per_s"
  "$plaster" evaluate "$model" --batch "$batch" --budget "$budget" --idle 200ms "${root[@]}" \
    --sample-interval "$sample" --jsonl "$tmp/r.jsonl" --json "$tmp/r.json" "$@" >/dev/null 2>&1
  /usr/bin/python3 - "$tmp/r.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["cases"][0]
m = {x["name"]: x["value"] for x in c["metrics"]}
print(m["latency.p50"], m["latency.mean"], m["t.offline"])
PY
}
with=(); without=()
for ((r = 0; r < rounds; ++r)); do
  with+=("$(figures)")
  without+=("$(figures --no-energy)")
done
cpu=$( { /usr/bin/time -f "%U %S" "$plaster" power --duration 22s "${root[@]}" --sample-interval "$sample" \
          >/dev/null; } 2>&1 | tail -1 )
base=$( { /usr/bin/time -f "%U %S" "$plaster" power --duration 2s "${root[@]}" --sample-interval "$sample" \
          >/dev/null; } 2>&1 | tail -1 )
/usr/bin/python3 - "$rounds" "$sample" "$cpu $base" "$(printf '%s;' "${with[@]}")" "$(printf '%s;' "${without[@]}")" <<'PY'
import statistics, sys
rounds, sample, cpu = sys.argv[1:4]
def cols(text):
    rows = [list(map(float, r.split())) for r in text.split(";") if r.strip()]
    return [statistics.median(c) for c in zip(*rows)]
w, wo = cols(sys.argv[4]), cols(sys.argv[5])
names = ["single-stream p50 (ms)", "single-stream mean (ms)", "offline samples/s"]
print(f"E sampler every {sample}, median of {rounds} alternated rounds:")
for n, a, b in zip(names, w, wo):
    print(f"  {n:<24} with {a:.4g} · without {b:.4g} · ratio {a / b:.4f}")
user, system, user0, system0 = map(float, cpu.split())
used = max(user + system - user0 - system0, 0.0)
print(f"  the sampler alone: {used:.2f} s of CPU in 20 s of sampling = {used / 20 * 100:.2f}% of "
      f"one core (/usr/bin/time counts in 10 ms)")
PY
