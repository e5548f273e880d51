// Note [Reused activation memory] in src/engine/torch/host_allocator.cpp: from the second run
// on, a session's activations reuse the pages of the run before, so a steady-state run touches
// no new memory (no page faults) and the process does not grow run after run. The activation
// here is 32 MiB, above the largest block glibc would keep for reuse (its mmap threshold tops
// out at 32 MiB), so without the cache every run would fault in about 8,000 fresh pages.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "engine/registry.h"
#include "model/builder.h"

namespace plaster::engine {
namespace {

constexpr int64_t kH = 512, kW = 1024;

// x [1,4,512,1024] → Conv 1×1 to 16 channels (a 32 MiB activation) → GlobalAveragePool → y.
model::Model Wide() {
  model::ModelBuilder b("wide");
  b.Input("x", onnx::TensorProto::FLOAT, {1, 4, kH, kW});
  std::vector<float> w(16 * 4);
  for (size_t k = 0; k < w.size(); ++k) w[k] = std::sin(0.3f * static_cast<float>(k));
  b.Initializer("w", {16, 4, 1, 1}, w);
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("GlobalAveragePool", {"c"}, {"y"}, "pool");
  b.Output("y", onnx::TensorProto::FLOAT, {1, 16, 1, 1});
  return model::Model::FromBytes(b.Serialize(), "wide.onnx");
}

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(TorchMemory, SteadyStateRunsReuseTheirActivationMemory) {
  auto session = FindEngine("torch").Compile(Wide(), {});
  HostTensor x(onnx::TensorProto::FLOAT, {1, 4, kH, kW});
  float* v = x.mutable_data_as<float>();
  for (int64_t k = 0; k < x.NumElements(); ++k) v[k] = static_cast<float>(k % 7) - 3.0f;
  const std::vector<HostTensor> inputs = {x};  // copied once, not per run
  for (int warm = 0; warm < 2; ++warm) session->Run(inputs);
  const long faults = MinorFaults();
  const long resident = ResidentBytes();
  const int runs = 5;
  std::vector<HostTensor> out;
  for (int r = 0; r < runs; ++r) out = session->Run(inputs);
  const long faults_per_run = (MinorFaults() - faults) / runs;
  // The 32 MiB activation is 8,192 pages; allow a little for the run's small allocations.
  EXPECT_LT(faults_per_run, 500) << "a steady-state run faulted in fresh pages";
  EXPECT_LT(ResidentBytes() - resident, 8L << 20) << "the process grew run after run";
  // The values are still right: channel c's mean is Σ_i w[c,i]·mean(x[i]).
  const int64_t plane = kH * kW;
  std::vector<double> mean_x(4, 0.0);
  for (int i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < plane; ++j) mean_x[i] += v[i * plane + j];
    mean_x[i] /= static_cast<double>(plane);
  }
  for (int c = 0; c < 16; ++c) {
    double want = 0;
    for (int i = 0; i < 4; ++i) want += std::sin(0.3f * static_cast<float>(c * 4 + i)) * mean_x[i];
    EXPECT_NEAR(out[0].data_as<float>()[c], want, 1e-4) << "channel " << c;
  }
}

}  // namespace
}  // namespace plaster::engine
