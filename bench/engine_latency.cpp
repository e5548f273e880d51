// engine_latency: the latency of one engine on one model, timed around Session::Run exactly as a
// caller would see it (inputs staged before the clock; outputs returned as host tensors).
//   engine_latency MODEL.onnx [--engine torch] [--batch N] [--runs N] [--warmup N] [--threads N]
//                  [--optimize 0|1] [--ab]
// Prints one JSON line: median, p90 (nearest rank), mean, samples/s and achieved GFLOP/s.
// --ab compiles the model twice, with the engine's graph optimizations and without, and
// alternates the two run by run, so both see the same machine (a shared machine's noise hits
// both alike); the line then holds both and their ratio.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "engine/registry.h"
#include "model/size_analysis.h"

int main(int argc, char** argv) {
  using namespace plaster;
  if (argc < 2) {
    std::cerr << "usage: engine_latency MODEL.onnx [--engine E] [--batch N] [--runs N] "
                 "[--warmup N] [--threads N] [--optimize 0|1] [--ab]\n";
    return 2;
  }
  std::string engine_name = "torch";
  int64_t batch = 1;
  int runs = 30, warmup = 5, threads = 0;
  bool optimize = true, ab = false;
  for (int k = 2; k < argc; k += 2) {
    const std::string flag = argv[k];
    if (flag == "--ab") {
      ab = true;
      --k;
      continue;
    }
    if (k + 1 >= argc) {
      std::cerr << "engine_latency: " << flag << " needs a value\n";
      return 2;
    }
    const std::string value = argv[k + 1];
    if (flag == "--engine")
      engine_name = value;
    else if (flag == "--optimize")
      optimize = value != "0";
    else if (flag == "--batch")
      batch = std::stoll(value);
    else if (flag == "--runs")
      runs = std::stoi(value);
    else if (flag == "--warmup")
      warmup = std::stoi(value);
    else if (flag == "--threads")
      threads = std::stoi(value);
    else {
      std::cerr << "engine_latency: unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    model::LoadOptions load;
    load.batch = batch;
    const model::Model m = model::Model::FromFile(argv[1], load);
    const model::SizeReport size = model::AnalyzeSize(m);
    const engine::Engine& eng = engine::FindEngine(engine_name);
    engine::SessionOptions options;
    options.threads = threads;
    options.optimize = optimize;
    auto session = eng.Compile(m, options);
    std::unique_ptr<engine::Session> other;  // --ab: the same model, unoptimized
    if (ab) {
      options.optimize = false;
      other = eng.Compile(m, options);
    }
    std::vector<engine::HostTensor> inputs;
    for (const auto& spec : session->inputs()) {
      engine::HostTensor t(spec.dtype, spec.shape);
      if (spec.dtype == 1) {  // float32: a fixed, non-zero pattern (zeros can take fast paths)
        float* d = t.mutable_data_as<float>();
        for (int64_t i = 0; i < t.NumElements(); ++i)
          d[i] = std::sin(0.001f * static_cast<float>(i));
      }
      inputs.push_back(std::move(t));
    }
    for (int k = 0; k < warmup; ++k) {
      session->Run(inputs);
      if (other) other->Run(inputs);
    }
    std::vector<double> ms, other_ms;
    auto time = [&](engine::Session& s, std::vector<double>* into) {
      const auto start = std::chrono::steady_clock::now();
      s.Run(inputs);
      into->push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    };
    for (int k = 0; k < runs; ++k) {
      if (other && k % 2) time(*other, &other_ms);  // alternate which goes first
      time(*session, &ms);
      if (other && !(k % 2)) time(*other, &other_ms);
    }
    auto summary = [&](std::vector<double> sorted) {
      std::sort(sorted.begin(), sorted.end());
      auto rank = [&](double p) {  // nearest rank: the smallest sample with ≥ p·n at or below it
        const auto i = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
        return sorted[std::max<size_t>(i, 1) - 1];
      };
      double mean = 0;
      for (double v : sorted) mean += v / static_cast<double>(sorted.size());
      const double median = rank(0.5);
      return nlohmann::ordered_json{
          {"median_ms", median},
          {"p90_ms", rank(0.9)},
          {"mean_ms", mean},
          {"min_ms", sorted.front()},
          {"samples_per_s", 1000.0 * static_cast<double>(batch) / median},
          {"gflop_per_s", static_cast<double>(size.flops) / median / 1e6}};
    };
    nlohmann::ordered_json j = {{"model", argv[1]},
                                {"engine", eng.name()},
                                {"batch", batch},
                                {"runs", runs},
                                {"optimize", optimize}};
    j.update(summary(ms));
    if (other) {
      j["unoptimized"] = summary(other_ms);
      j["speedup"] = j["unoptimized"]["median_ms"].get<double>() / j["median_ms"].get<double>();
    }
    j["settings"] = engine::EngineSettings();
    std::cout << j.dump() << std::endl;
  } catch (const Error& e) {
    std::cerr << "engine_latency: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
