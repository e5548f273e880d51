#!/usr/bin/env python3
"""Writes tests/data/evaluation_sample.json: a hand-made but realistic evaluation record
(docs/json-evaluation.md) of ResNet-50 on a 2-core machine, for the report tests.

The figures are invented to be plausible (they resemble what the torch engine measures on this
project's 2-core AVX-512 machine), and consistent with each other: the percentiles are the nearest
ranks of the samples written beside them, achieved FLOP/s is offline samples/s times FLOPs per
sample. Deterministic (seeded); run it again only to change the fixture:

    python3 tools/make_evaluation_sample.py tests/data/evaluation_sample.json
"""
import json
import math
import random
import sys

FLOPS_PER_SAMPLE = 8_205_130_752  # ResNet-50, 224x224, 1 MAC = 2 FLOPs
PARAMETERS = 25_530_472           # BatchNorm folded into the convolutions at export
WEIGHT_BYTES = 102_121_888
PEAK_FLOPS = 2.2e11               # 2 cores, AVX-512 FMA, fp32 (plaster peak)
PEAK_BYTES = 1.8e10               # STREAM-like triad on 2 cores


def nearest_rank(sorted_values, p):
    rank = max(1, math.ceil(p * len(sorted_values) - 1e-9))
    return sorted_values[rank - 1]


def metric(name, letter, label, value, unit, better, source="measured", how=None, reason=None,
           interval=None, samples=None):
    m = {"name": name, "letter": letter, "label": label, "value": value, "unit": unit,
         "better": better, "source": source}
    if how is not None:
        m["how"] = how
    m["reason"] = reason
    if interval is not None:
        m["interval"] = interval
    if samples is not None:
        m["samples"] = samples
    return m


UNAVAILABLE = {
    "A": "accuracy needs --data (issue 6)",
    "E": "energy is not measured yet (issue 7)",
    "R": "rate of learning is not measured yet (issue 8)",
}


def letters(status_of_measured="measured"):
    out = {k: {"status": status_of_measured} for k in "PLST"}
    for k, reason in UNAVAILABLE.items():
        out[k] = {"status": "unavailable", "reason": reason}
    return {k: out[k] for k in "PLASTER"}


def latency_samples(rng, n, median_ms, spread):
    """Single-stream latencies: log-normal body, a few slow outliers (a busy 2-core machine)."""
    values = []
    for _ in range(n):
        v = median_ms * math.exp(rng.gauss(0, spread))
        if rng.random() < 0.02:
            v *= 1.15 + 0.25 * rng.random()
        values.append(round(v, 3))
    return values


def percentile_interval(sorted_values, p):
    """A distribution-free interval for the p-quantile from order statistics (normal approx)."""
    n = len(sorted_values)
    half = 1.96 * math.sqrt(n * p * (1 - p))
    lo = max(1, math.floor(n * p - half))
    hi = min(n, math.ceil(n * p + half) + 1)
    upper = sorted_values[hi - 1] if hi <= n else None
    return {"lower": sorted_values[lo - 1], "upper": upper, "coverage": 0.95}


def passed_case(rng, batch, median_ms, offline_sps, server):
    lat = latency_samples(rng, 300 if batch == 1 else 280, median_ms, 0.035)
    s = sorted(lat)
    mean = sum(lat) / len(lat)
    sd = math.sqrt(sum((x - mean) ** 2 for x in lat) / (len(lat) - 1))
    offline_samples = [round(offline_sps * (1 + rng.gauss(0, 0.02)), 3) for _ in range(60)]
    offline = round(sum(offline_samples) / len(offline_samples), 3)
    flops = FLOPS_PER_SAMPLE * batch
    achieved = offline * FLOPS_PER_SAMPLE
    intensity = 31.7 if batch == 1 else 88.4
    q = len(lat)
    how = f"single-stream, {q} queries"
    metrics = [
        metric("p.imports", "P", "imports", True, "bool", None),
        metric("p.node_coverage", "P", "nodes run natively", 100.0, "%", "higher",
               how="122 of 122 nodes"),
        metric("p.cold_start", "P", "cold start", 1840.2 if batch == 1 else 2311.5, "ms", "lower",
               how="load + compile + first inference"),
        metric("p.load", "P", "load", 412.8, "ms", "lower"),
        metric("p.compile", "P", "compile", 978.1, "ms", "lower"),
        metric("p.first_inference", "P", "first inference", 449.3 if batch == 1 else 920.6, "ms",
               "lower"),
        metric("latency.mean", "L", "mean latency", round(mean, 3), "ms", "lower", how=how,
               samples="latency_ms"),
    ]
    for key, p in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999)]:
        metrics.append(metric(f"latency.{key}", "L", f"{key} latency", nearest_rank(s, p), "ms",
                              "lower", how=how, interval=percentile_interval(s, p),
                              samples="latency_ms"))
    metrics += [
        metric("latency.max", "L", "max latency", s[-1], "ms", "lower", how=how,
               samples="latency_ms"),
        metric("latency.cv", "L", "coefficient of variation", round(sd / mean, 4), "ratio",
               "lower", how=how),
        metric("a.top1", "A", "top-1 accuracy", None, "%", "higher", source="unavailable",
               reason=UNAVAILABLE["A"]),
        metric("s.parameters", "S", "parameters", PARAMETERS, "count", None, how="size analysis"),
        metric("s.weight_bytes", "S", "weights", WEIGHT_BYTES, "B", "lower", how="size analysis"),
        metric("s.file_bytes", "S", "file", 102_146_362, "B", "lower"),
        metric("s.flops", "S", "FLOPs per batch", flops, "FLOP", "lower", how="1 MAC = 2 FLOPs"),
        metric("s.macs", "S", "MACs per batch", flops // 2, "MAC", "lower"),
        metric("s.peak_activation_bytes", "S", "peak activations", 12_845_056 * batch, "B",
               "lower"),
        metric("s.intensity", "S", "arithmetic intensity", intensity, "FLOP/B", None),
        metric("s.peak_rss_bytes", "S", "peak RSS", 327_155_712 if batch == 1 else 498_073_600,
               "B", "lower", how="VmHWM of the case process"),
        metric("s.cold_start_rss_bytes", "S", "RSS after first inference",
               301_989_888 if batch == 1 else 471_859_200, "B", "lower"),
        metric("t.offline", "T", "offline throughput", offline, "samples/s", "higher",
               how=f"offline, {len(offline_samples)} batches of {batch}",
               samples="offline_samples_per_s"),
        metric("t.server_peak", "T", "server peak", server["peak"], "samples/s", "higher",
               how=f"Poisson arrivals, p99 under 250 ms, {len(server['points'])} probes")
        if server["peak"] is not None else
        metric("t.server_peak", "T", "server peak", None, "samples/s", "higher",
               source="unavailable",
               reason=f"no Poisson rate kept p99 under 250 ms ({len(server['points'])} probes)"),
        metric("t.achieved_flops", "T", "achieved FLOP/s", round(achieved), "FLOP/s", "higher"),
        metric("t.peak_fraction", "T", "share of peak", round(100 * achieved / PEAK_FLOPS, 2), "%",
               "higher"),
        metric("e.joules_per_inference", "E", "energy per inference", None, "J", "lower",
               source="unavailable", reason=UNAVAILABLE["E"]),
        metric("r.train_samples_per_s", "R", "training throughput", None, "samples/s", "higher",
               source="unavailable", reason=UNAVAILABLE["R"]),
    ]
    offline_curve = [
        {"rate_qps": 0, "batch": batch, "sessions": sessions,
         "samples_per_s": round(offline_sps * f, 2), "latency_ms": round(median_ms * l, 2),
         "passed": True}
        for sessions, f, l in [(1, 0.93, 1.0), (2, 1.0, 1.95)]
    ]
    return {
        "kind": "case",
        "id": f"torch/cpu/fp32/b{batch}/t2",
        "engine": "torch", "device": "cpu", "precision": "fp32", "batch": batch, "threads": 2,
        "status": "passed", "reason": None,
        "budget_s": 57.1, "elapsed_s": 55.8 if batch == 1 else 56.9,
        "letters": letters(),
        "metrics": metrics,
        "samples": {"latency_ms": lat, "offline_samples_per_s": offline_samples},
        "curves": {"server": server["points"], "offline": offline_curve},
        "size_by_op": size_by_op(batch),
        "roofline": {
            "precision": "fp32", "peak_flops": PEAK_FLOPS, "peak_bytes_per_s": PEAK_BYTES,
            "balance": round(PEAK_FLOPS / PEAK_BYTES, 3), "intensity": intensity,
            "achieved_flops": round(achieved), "fraction": round(achieved / PEAK_FLOPS, 4),
            "bound": "compute" if intensity > PEAK_FLOPS / PEAK_BYTES else "memory",
        },
        "warnings": [] if batch == 1 else
        ["only 280 single-stream queries fit the budget: p99.9 rests on the largest of them"],
    }


def size_by_op(batch):
    rows = [("Conv", 53, 8_174_272_512, 23_454_912), ("Gemm", 1, 4_097_000, 2_049_000),
            ("Relu", 49, 9_032_704, 0), ("Add", 16, 5_419_008, 0), ("MaxPool", 1, 1_806_336, 0),
            ("GlobalAveragePool", 1, 100_352, 0), ("Flatten", 1, None, 0)]
    return [{"op_type": op, "nodes": n, "flops": None if f is None else f * batch,
             "parameters": p} for op, n, f, p in rows]


def server_points(median_ms, batch, rates, bound_ms):
    """A peak search: rates probed (doubling, then bisecting), p99 rising towards saturation."""
    capacity = 1000.0 / median_ms  # queries/s one session can serve
    points = []
    for rate in rates:
        rho = min(rate / capacity, 0.985)
        p99 = median_ms * (1.08 + 2.2 * rho / (1 - rho) ** 0.55)
        points.append({"rate_qps": rate, "batch": batch, "sessions": 1,
                       "samples_per_s": round(min(rate, capacity * 0.985) * batch, 2),
                       "latency_ms": round(p99, 2), "passed": p99 <= bound_ms})
    peak = max((p["samples_per_s"] for p in points if p["passed"]), default=None)
    return {"points": points, "peak": peak}


def main():
    rng = random.Random(1)
    bound = 250.0
    b1 = passed_case(rng, 1, 64.0, 15.4,
                     server_points(64.0, 1, [2.0, 4.0, 8.0, 16.0, 12.0, 10.0, 11.0], bound))
    b8 = passed_case(rng, 8, 452.0, 17.9,
                     server_points(452.0, 8, [0.5, 0.25, 0.125], bound))
    oom = {
        "kind": "case", "id": "torch/cpu/fp32/b64/t2", "engine": "torch", "device": "cpu",
        "precision": "fp32", "batch": 64, "threads": 2, "status": "failed",
        "reason": "killed by signal 9 (SIGKILL) after 41.2 s: out of memory (peak RSS 23.1 GiB)",
        "budget_s": 57.1, "elapsed_s": 41.2,
        "letters": {k: {"status": "failed", "reason": "the case process was killed"}
                    for k in "PLASTER"},
        "metrics": [], "samples": {}, "curves": {}, "size_by_op": size_by_op(64),
        "roofline": None, "warnings": [],
    }
    bf16 = {
        "kind": "case", "id": "torch/cpu/bf16/b1/t2", "engine": "torch", "device": "cpu",
        "precision": "bf16", "batch": 1, "threads": 2, "status": "unsupported",
        "reason": "the torch engine runs fp32 only; bf16 arrives with issue 6",
        "budget_s": 0, "elapsed_s": 0,
        "letters": {k: {"status": "unavailable", "reason": "bf16 is not supported"}
                    for k in "PLASTER"},
        "metrics": [], "samples": {}, "curves": {}, "size_by_op": [], "roofline": None,
        "warnings": [],
    }
    context = {
        "kind": "context", "schema": "plaster.evaluation", "schema_version": 1,
        "plaster": {"version": "0.1.0", "git": "e8e74d0abc12"},
        "command_line": ["plaster", "evaluate", "resnet50.onnx", "--batch", "1,8,64",
                         "--precision", "fp32,bf16", "--latency-bound", "250ms"],
        "started_utc": "2026-11-26T10:04:05Z",
        "seed": 1,
        "model": {"name": "resnet50.onnx", "file_bytes": 102_146_362, "opset": 14,
                  "producer": "pytorch 1.13.0"},
        "machine": {
            "cpu_model": "Intel(R) Xeon(R) Processor",
            "cpu_flags": ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni",
                          "avx512_bf16", "amx_bf16", "amx_int8"],
            "logical_cores": 2, "memory_bytes": 25_769_803_776,
            "governor": None, "governor_reason": "no cpufreq in /sys (a virtual machine?)",
        },
        "os": {"name": "Debian GNU/Linux 12 (bookworm)",
               "kernel": "Linux 6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC x86_64"},
        "libraries": {"ONNX": "1.13.0", "protobuf": "3.21.12", "LibTorch": "1.13.1",
                      "oneDNN": "2.6.3", "OpenBLAS": "0.3.21", "fmt": "9.1.0",
                      "nlohmann_json": "3.11.2"},
        "sweep": {"engines": ["torch"], "devices": ["cpu"], "precisions": ["fp32", "bf16"],
                  "batches": [1, 8, 64], "threads": [2], "budget_s": 240,
                  "latency_bound_ms": bound},
        "peak": {"fp32_flops": PEAK_FLOPS, "bytes_per_s": PEAK_BYTES},
    }
    record = {
        "schema": "plaster.evaluation", "schema_version": 1, "context": context,
        "cases": [b1, b8, oom, bf16],
        "recommendation": {
            "case": b1["id"],
            "reason": "the highest offline throughput whose p99 meets the latency bound 250 ms "
                      "(batch 8 delivers more samples/s, but its p99 is over the bound)",
        },
    }
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
