// loadgen_overhead: plaster's own per-query cost, with sessions that do (next to) nothing, as
// MLPerf LoadGen's perftests_null_sut.cc measures LoadGen. Run by hand (bench/README.md):
//   build/release/bench/loadgen_overhead [--benchmark_filter=...]
// Counters: queries_per_s (completed queries ÷ the run's timed phase), ns_per_query (its inverse,
// the harness's per-query overhead when the session costs nothing), and for the server scenario
// the scheduled rate, the achieved rate and the latency from each query's scheduled arrival.
#include <benchmark/benchmark.h>
#include <onnx/onnx_pb.h>

#include "core/clock.h"
#include "engine/registry.h"
#include "loadgen/results.h"
#include "loadgen/runner.h"
#include "model/builtin_model.h"

namespace plaster::loadgen {
namespace {

// A session that does nothing at all: no input check, no outputs. What remains is the harness.
class NoopSession final : public engine::Session {
 public:
  NoopSession() {
    inputs_.push_back({"x", onnx::TensorProto::FLOAT, {1, 1}});
    outputs_.push_back({"y", onnx::TensorProto::FLOAT, {1, 1}});
  }
  const std::vector<engine::TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<engine::TensorSpec>& outputs() const override { return outputs_; }
  std::vector<engine::HostTensor> Run(const std::vector<engine::HostTensor>&) override {
    return {};
  }

 private:
  std::vector<engine::TensorSpec> inputs_, outputs_;
};

// The null engine on the built-in model (inputs float32[1x3x32x32], outputs float32[1x10]): its
// Run checks the inputs and returns a copy of preallocated zeros (three small allocations).
std::unique_ptr<engine::Session> NullSession() {
  model::LoadOptions load;
  load.batch = 1;
  const model::Model m =
      model::Model::FromBytes(model::BuiltinModelBytes(), model::kBuiltinModelName, load);
  return engine::FindEngine("null").Compile(m, {});
}

TestSettings Fixed(Scenario scenario, int64_t queries) {
  TestSettings t;
  t.scenario = scenario;
  t.budget_ns = 600'000'000'000;
  t.warmup_ns = 0;
  t.warmup_queries = 1000;
  t.min_duration_ns = 0;
  t.max_duration_ns = 300'000'000'000;
  t.min_query_count = queries;
  t.max_query_count = queries;
  return t;
}

void Report(benchmark::State& state, const ScenarioSummary& s) {
  state.SetIterationTime(static_cast<double>(s.duration_ns) / 1e9);
  state.SetItemsProcessed(state.items_processed() + s.queries_completed);
  state.counters["queries_per_s"] = s.queries_per_s;
  state.counters["ns_per_query"] = 1e9 / s.queries_per_s;
  state.counters["latency_p50_ns"] = s.latency.Find(0.5)->value;
  state.counters["latency_p99_ns"] = s.latency.Find(0.99)->value;
}

void BM_SingleStreamNoop(benchmark::State& state) {
  NoopSession session;
  for (auto _ : state) {
    Report(state, Summarize(RunScenario({&session}, Fixed(Scenario::kSingleStream, 2'000'000))));
  }
}
BENCHMARK(BM_SingleStreamNoop)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_SingleStreamNullEngine(benchmark::State& state) {
  auto session = NullSession();
  for (auto _ : state) {
    Report(state,
           Summarize(RunScenario({session.get()}, Fixed(Scenario::kSingleStream, 2'000'000))));
  }
}
BENCHMARK(BM_SingleStreamNullEngine)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// The null engine's Run alone, no harness: how much of the above is the engine's own.
void BM_NullEngineRunAlone(benchmark::State& state) {
  auto session = NullSession();
  std::vector<engine::HostTensor> inputs;
  for (const auto& spec : session->inputs()) inputs.emplace_back(spec.dtype, spec.shape);
  for (auto _ : state) benchmark::DoNotOptimize(session->Run(inputs));
}
BENCHMARK(BM_NullEngineRunAlone);

// Server: a Poisson schedule at state.range(0) queries/s, one session, batches of 1. It keeps up
// when the achieved rate matches the scheduled one and the latency stays at the per-query cost.
void BM_ServerNoop(benchmark::State& state) {
  NoopSession session;
  const auto rate = static_cast<double>(state.range(0));
  for (auto _ : state) {
    TestSettings t = Fixed(Scenario::kServer, static_cast<int64_t>(rate * 2));  // 2 s of arrivals
    t.server_rate_qps = rate;
    const ScenarioSummary s = Summarize(RunScenario({&session}, t));
    Report(state, s);
    state.counters["scheduled_per_s"] = rate;
    state.counters["kept_up"] =
        s.end == RunEnd::kCompleted && s.latency.Find(0.99)->value < 1e6;  // p99 under 1 ms
  }
}
BENCHMARK(BM_ServerNoop)
    ->Arg(500'000)
    ->Arg(1'000'000)
    ->Arg(2'000'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

void BM_ServerNullEngine(benchmark::State& state) {
  auto session = NullSession();
  const auto rate = static_cast<double>(state.range(0));
  for (auto _ : state) {
    TestSettings t = Fixed(Scenario::kServer, static_cast<int64_t>(rate * 2));
    t.server_rate_qps = rate;
    const ScenarioSummary s = Summarize(RunScenario({session.get()}, t));
    Report(state, s);
    state.counters["scheduled_per_s"] = rate;
    state.counters["kept_up"] = s.end == RunEnd::kCompleted && s.queries_per_s >= 0.99 * rate;
  }
}
BENCHMARK(BM_ServerNullEngine)
    ->Arg(500'000)
    ->Arg(1'000'000)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

}  // namespace
}  // namespace plaster::loadgen

BENCHMARK_MAIN();
