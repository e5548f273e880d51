#include "loadgen/sample_library.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <random>

#include "core/error.h"

namespace plaster::loadgen {

int64_t SampleLibrary::BatchOf(const std::vector<engine::TensorSpec>& specs) {
  PLASTER_CHECK(!specs.empty(), "the model has no inputs; the load generator needs one");
  int64_t batch = -1;
  for (const auto& spec : specs) {
    PLASTER_CHECK(!spec.shape.empty() && spec.shape[0] >= 1,
                  "input '{}' has no batch dimension (its first dimension); the load generator "
                  "batches along it",
                  spec.name);
    if (batch < 0) batch = spec.shape[0];
    PLASTER_CHECK(spec.shape[0] == batch,
                  "input '{}' has batch {} but input '{}' has {}; the load generator needs one "
                  "batch size",
                  spec.name, spec.shape[0], specs[0].name, batch);
  }
  return batch;
}

SampleLibrary::SampleLibrary(const std::vector<engine::TensorSpec>& batch_specs, int64_t count,
                             uint64_t seed)
    : batch_size_(BatchOf(batch_specs)) {
  PLASTER_ASSERT(count >= 1);
  samples_.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::vector<engine::HostTensor> sample;
    for (const auto& spec : batch_specs) {
      std::vector<int64_t> shape = spec.shape;
      shape[0] = 1;
      engine::HostTensor t(spec.dtype, shape);
      if (spec.dtype == onnx::TensorProto::FLOAT) {
        std::mt19937_64 rng(seed ^ std::hash<std::string>{}(spec.name) ^
                            (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 1)));
        std::normal_distribution<float> normal(0.0f, 1.0f);
        float* data = t.mutable_data_as<float>();
        for (int64_t k = 0; k < t.NumElements(); ++k) data[k] = normal(rng);
      }
      sample.push_back(std::move(t));
    }
    samples_.push_back(std::move(sample));
  }
  for (const auto& t : samples_[0]) sample_bytes_ += static_cast<int64_t>(t.size_bytes());
}

}  // namespace plaster::loadgen
