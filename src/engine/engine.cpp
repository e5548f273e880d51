#include "engine/engine.h"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <chrono>
#include <functional>
#include <random>

#include "core/error.h"
#include "model/dtype.h"

namespace plaster::engine {
namespace {

// Inputs must be fully known; outputs need a known rank (their dims may depend on the data).
std::vector<TensorSpec> Specs(const model::Model& m, const std::vector<int>& ids, bool outputs) {
  std::vector<TensorSpec> specs;
  for (int id : ids) {
    const auto& t = m.graph().tensor(id);
    if (outputs) {
      PLASTER_CHECK(t.shape.rank_known, "output '{}' has no known rank", t.name);
    } else {
      PLASTER_CHECK(t.shape.IsFullyKnown(), "input '{}' has shape {}, which is not fully known",
                    t.name, t.shape.ToString());
    }
    specs.push_back({t.name, t.dtype, t.shape.dims});
  }
  return specs;
}

}  // namespace

const char* DeviceName(Device device) {
  switch (device) {
    case Device::kCpu:
      return "cpu";
    case Device::kCuda:
      return "cuda";
  }
  return "cpu";
}

const char* PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kInt8:
      return "int8";
  }
  return "fp32";
}

std::string PrecisionReport::Summary() const {
  const int lowered = compute_nodes - static_cast<int>(kept.size());
  std::string text =
      fmt::format("{}: {} of {} compute nodes", PrecisionName(requested), lowered, compute_nodes);
  if (!kept.empty()) text += fmt::format(" ({} kept in fp32)", kept.size());
  return text;
}

Precision ParsePrecision(const std::string& name) {
  for (auto p : {Precision::kFp32, Precision::kBf16, Precision::kFp16, Precision::kInt8}) {
    if (name == PrecisionName(p)) return p;
  }
  Fail("--precision '{}': not a precision (fp32, bf16, fp16, int8)", name);
}

const char* CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kEntropy:
      return "entropy";
  }
  return "entropy";
}

CalibrationMethod ParseCalibrationMethod(const std::string& name) {
  for (auto m : {CalibrationMethod::kMinMax, CalibrationMethod::kPercentile,
                 CalibrationMethod::kEntropy}) {
    if (name == CalibrationMethodName(m)) return m;
  }
  Fail("--calibration-method '{}': not a method (minmax, percentile, entropy)", name);
}

int SupportReport::SupportedCount() const {
  int n = 0;
  for (const auto& node : nodes) n += node.supported ? 1 : 0;
  return n;
}

std::vector<StepTime> Session::Profile(const std::vector<HostTensor>& inputs) {
  const auto start = std::chrono::steady_clock::now();
  Run(inputs);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - start);
  return {{"the whole model", {}, ns.count(), "", ""}};
}

HostTensor GenerateInput(const TensorSpec& spec, uint64_t seed) {
  HostTensor t(spec.dtype, spec.shape);
  if (spec.dtype == onnx::TensorProto::FLOAT) {
    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(spec.name));
    std::normal_distribution<float> normal(0.0f, 1.0f);
    float* data = t.mutable_data_as<float>();
    for (int64_t k = 0; k < t.NumElements(); ++k) data[k] = normal(rng);
  }
  return t;
}

void CheckInputs(const std::vector<TensorSpec>& specs, const std::vector<HostTensor>& inputs) {
  PLASTER_CHECK(specs.size() == inputs.size(), "the model takes {} inputs; {} were given",
                specs.size(), inputs.size());
  for (size_t k = 0; k < specs.size(); ++k) {
    const auto& spec = specs[k];
    const auto& in = inputs[k];
    PLASTER_CHECK(in.dtype() == spec.dtype, "input '{}' must be {}; it is {}", spec.name,
                  model::DtypeName(spec.dtype), model::DtypeName(in.dtype()));
    PLASTER_CHECK(in.shape() == spec.shape, "input '{}' must have shape {}; it has {}", spec.name,
                  model::Shape::Of(spec.shape).ToString(), model::Shape::Of(in.shape()).ToString());
  }
}

std::vector<TensorSpec> InputSpecs(const model::Model& m) {
  return Specs(m, m.graph().inputs(), false);
}

std::vector<TensorSpec> OutputSpecs(const model::Model& m) {
  return Specs(m, m.graph().outputs(), true);
}

}  // namespace plaster::engine
