#!/usr/bin/env python3
"""The table of bench/engine_vs_peers.sh, from the folder of its rounds (build/peers/rounds):
   python3 bench/engine_vs_peers_table.py build/peers/rounds ROUNDS
Per model and batch: plaster's and ORT's median latency (the median over rounds of each round's
median), plaster's p90 and samples/s, the ratio plaster/ORT (the median of the rounds' ratios,
each round's pair measured back to back), every round's ratio, the ratio of minima (the fastest
run of each runtime, the median over rounds: the figure least moved by other work on a shared
machine) and plaster's achieved GFLOP/s."""
import json
import os
import statistics
import sys

runs, rounds = sys.argv[1], int(sys.argv[2])
ours = [json.loads(line) for line in open(os.path.join(runs, "plaster.jsonl"))]
rows = {}
for r in ours:
    name = os.path.basename(r["model"])[:-5]
    row = rows.setdefault((name, r["batch"]), {k: [] for k in (
        "plaster", "p90", "sps", "ort", "ratios", "min_ratios", "gflops")})
    path = os.path.join(runs, f"ort_{name}_{r['round']}.json")
    ort = json.load(open(path))["results"] if os.path.exists(path) else []
    o = next((x for x in ort if x["batch"] == r["batch"] and x.get("median_ms")), None)
    row["plaster"].append(r["median_ms"])
    row["p90"].append(r["p90_ms"])
    row["sps"].append(r["samples_per_s"])
    row["gflops"].append(r["gflop_per_s"])
    if o:
        row["ort"].append(o["median_ms"])
        row["ratios"].append(r["median_ms"] / o["median_ms"])
        if o.get("min_ms") and r.get("min_ms"):
            row["min_ratios"].append(r["min_ms"] / o["min_ms"])


def med(v):
    return statistics.median(v) if v else float("nan")


print("| model | batch | plaster median ms | plaster p90 ms | plaster samples/s | ORT median ms | "
      "ratio plaster/ORT | ratio per round | ratio of minima | plaster GFLOP/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for (name, batch), row in rows.items():
    per_round = ", ".join(f"{x:.2f}" for x in row["ratios"])
    print(f"| {name} | {batch} | {med(row['plaster']):.2f} | {med(row['p90']):.2f} | "
          f"{med(row['sps']):.1f} | {med(row['ort']):.2f} | {med(row['ratios']):.2f} | "
          f"{per_round} | {med(row['min_ratios']):.2f} | {med(row['gflops']):.0f} |")
ratios = [med(row["ratios"]) for row in rows.values() if row["ratios"]]
if ratios:
    print(f"\ngeometric mean of the ratios: {statistics.geometric_mean(ratios):.2f}")
print(f"\n{rounds} rounds, ORT then plaster per model; medians over the rounds.")
print("plaster settings:", ours[0]["settings"])
