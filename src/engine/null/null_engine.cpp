#include "engine/null/null_engine.h"

#include <algorithm>

#include "core/error.h"

namespace plaster::engine {
namespace {

class NullSession final : public Session {
 public:
  NullSession(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs)
      : inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
    // Outputs are allocated once, here: Run copies nothing it need not. A dim that depends on
    // the data (-1) is 0 here: an empty tensor of the right rank.
    for (const auto& spec : outputs_) {
      std::vector<int64_t> shape = spec.shape;
      for (auto& d : shape) d = std::max<int64_t>(d, 0);
      zeros_.emplace_back(spec.dtype, shape);
    }
  }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) override {
    CheckInputs(inputs_, inputs);
    return zeros_;
  }

 private:
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::vector<HostTensor> zeros_;
};

}  // namespace

std::vector<Precision> NullEngine::precisions(Device device) const {
  if (device != Device::kCpu) return {};
  return {Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kInt8};
}

SupportReport NullEngine::Support(const model::Model& model) const {
  SupportReport report;
  for (const auto& node : model.graph().nodes())
    report.nodes.push_back({node.name, node.op_type, true, ""});
  return report;
}

std::unique_ptr<Session> NullEngine::Compile(const model::Model& model,
                                             const SessionOptions& options) const {
  PLASTER_CHECK(options.device == Device::kCpu, "engine 'null' runs on cpu only, not {}",
                DeviceName(options.device));
  return std::make_unique<NullSession>(InputSpecs(model), OutputSpecs(model));
}

}  // namespace plaster::engine
