#pragma once
// A Session with a known service time, for testing the load generator: Run waits on the core
// clock until `service_ns` have passed since it began (WaitUntilNs: it sleeps while the end is far
// and spins the last 200 µs, so it ends on time without holding a core the whole while, which on
// a busy machine would get it preempted), and checks its own contract (never re-entered, inputs as
// declared).
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cstdlib>

#include "core/clock.h"
#include "core/error.h"
#include "engine/engine.h"

namespace plaster::loadgen::testing {

class FakeSession final : public engine::Session {
 public:
  FakeSession(int64_t batch, int64_t service_ns, int64_t fail_after = -1)
      : service_ns_(service_ns), fail_after_(fail_after) {
    inputs_.push_back({"x", onnx::TensorProto::FLOAT, {batch, 3}});
    outputs_.push_back({"y", onnx::TensorProto::FLOAT, {batch, 2}});
  }
  const std::vector<engine::TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<engine::TensorSpec>& outputs() const override { return outputs_; }
  std::vector<engine::HostTensor> Run(const std::vector<engine::HostTensor>& in) override {
    const int64_t start = NowNs();
    if (in_run_.exchange(true)) std::abort();  // a Session is never re-entered
    engine::CheckInputs(inputs_, in);
    const int64_t n = runs_.fetch_add(1);
    if (fail_after_ >= 0 && n >= fail_after_) {
      in_run_ = false;
      Fail("engine 'fake' failed on run {}", n);
    }
    std::vector<engine::HostTensor> out;
    out.emplace_back(outputs_[0].dtype, outputs_[0].shape);
    // Output row j echoes the first value of input row j, so tests can follow samples through.
    const float* x = in[0].data_as<float>();
    float* y = out[0].mutable_data_as<float>();
    for (int64_t j = 0; j < outputs_[0].shape[0]; ++j) y[2 * j] = x[3 * j];
    WaitUntilNs(start + service_ns_);
    in_run_ = false;
    return out;
  }
  int64_t runs() const { return runs_.load(); }

 private:
  std::vector<engine::TensorSpec> inputs_, outputs_;
  int64_t service_ns_;
  int64_t fail_after_;
  std::atomic<bool> in_run_{false};
  std::atomic<int64_t> runs_{0};
};

}  // namespace plaster::loadgen::testing
