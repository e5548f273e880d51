#!/usr/bin/env python3
"""Writes tests/data/compare_a.json and compare_b.json: two small evaluation records
(docs/json-evaluation.md) of one model, for plaster compare's tests and the example in docs/cli.md.
Case b1 is the same configuration measured twice; case b8 is 10% slower in B. Seeded: running it
again writes the same files."""
import json
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def percentile(values, p):
    s = sorted(values)
    k = min(len(s), max(1, math.ceil(p * len(s) - 1e-12 * max(1.0, p * len(s)))))
    return s[k - 1]


def lognormal(rng, n, median, cv):
    sigma = math.sqrt(math.log(1 + cv * cv))
    return [round(median * math.exp(rng.gauss(0, sigma)), 4) for _ in range(n)]


def metric(name, letter, label, value, unit, better, samples=None, how="single-stream"):
    m = {"name": name, "letter": letter, "label": label, "value": value, "unit": unit,
         "better": better, "source": "measured", "how": how, "reason": None}
    if samples:
        m["samples"] = samples
    return m


def case(rng, batch, latency_scale):
    latency = lognormal(rng, 120, 4.0 * batch ** 0.8 * latency_scale, 0.05)
    offline = lognormal(rng, 24, 250.0 * batch ** 0.2 / latency_scale, 0.04)
    mean = sum(latency) / len(latency)
    sd = math.sqrt(sum((x - mean) ** 2 for x in latency) / (len(latency) - 1))
    metrics = [
        metric("p.cold_start", "P", "cold start", round(310.0 * latency_scale, 1), "ms", "lower",
               how="load + compile + first inference, once"),
        metric("latency.mean", "L", "mean latency", round(mean, 4), "ms", "lower", "latency_ms"),
    ]
    for p, name in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")]:
        metrics.append(metric("latency." + name, "L", name + " latency", percentile(latency, p),
                              "ms", "lower", "latency_ms"))
    metrics.append(metric("latency.max", "L", "max latency", max(latency), "ms", "lower",
                          "latency_ms"))
    metrics.append(metric("latency.cv", "L", "latency CV", round(sd / mean, 4), "ratio", None))
    metrics.append(metric("s.parameters", "S", "parameters", 78042, "count", "lower",
                          how="size analysis"))
    metrics.append(metric("t.offline", "T", "offline throughput",
                          round(sum(offline) / len(offline), 2), "samples/s", "higher",
                          "offline_samples_per_s", how="offline, 24 batches"))
    metrics.append({"name": "e.energy", "letter": "E", "label": "energy per inference",
                    "value": None, "unit": "J", "better": "lower", "source": "unavailable",
                    "reason": "energy lands with issue 7"})
    letters = {k: {"status": "measured"} for k in "PLST"}
    for k in "AER":
        letters[k] = {"status": "unavailable", "reason": "not measured yet"}
    return {
        "id": f"torch/cpu/fp32/b{batch}/t2", "engine": "torch", "device": "cpu",
        "precision": "fp32", "batch": batch, "threads": 2, "status": "passed", "reason": None,
        "budget_s": 30, "elapsed_s": 12.5, "letters": letters, "metrics": metrics,
        "samples": {"latency_ms": latency, "offline_samples_per_s": offline},
        "curves": {"server": [], "offline": []}, "size_by_op": [], "roofline": None,
        "warnings": [],
    }


def record(seed, started, scale_b8):
    rng = random.Random(seed)
    context = {
        "schema": "plaster.evaluation", "schema_version": 1,
        "plaster": {"version": "0.1.0", "git": "d932e57"},
        "command_line": ["plaster", "evaluate", "builtin:resnet8", "--batch", "1,8"],
        "started_utc": started, "seed": 1,
        "model": {"name": "builtin:resnet8", "file_bytes": None, "opset": 13},
        "machine": {"cpu_model": "Example CPU", "cpu_flags": ["avx2"], "logical_cores": 2,
                    "memory_bytes": 8589934592, "governor": None,
                    "governor_reason": "fixture"},
        "os": {"name": "Debian GNU/Linux 12 (bookworm)", "kernel": "Linux 6.1.0"},
        "libraries": {"LibTorch": "1.13.1"},
        "sweep": {"engines": ["torch"], "devices": ["cpu"], "precisions": ["fp32"],
                  "batches": [1, 8], "threads": [2], "budget_s": 60, "latency_bound_ms": None},
        "peak": None, "peak_reason": "fixture",
    }
    cases = [case(rng, 1, 1.0), case(rng, 8, scale_b8)]
    return {"schema": "plaster.evaluation", "schema_version": 1, "context": context,
            "cases": cases,
            "recommendation": {"case": cases[0]["id"], "reason": "fixture"}}


def write(name, doc):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


write("compare_a.json", record(1, "2026-01-05T10:00:00Z", 1.0))
write("compare_b.json", record(2, "2026-01-06T10:00:00Z", 1.1))
