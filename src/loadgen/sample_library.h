#pragma once
/// The samples a run draws its queries from, staged in memory before any clock starts (MLPerf
/// LoadGen's query sample library). A sample is one item of a batch: every session input with its
/// first (batch) dimension set to 1. Immutable after construction; read from any thread.

#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace plaster::loadgen {

class SampleLibrary {
 public:
  /// `count` samples for sessions whose inputs are `batch_specs` (each input's first dimension
  /// is the batch, the same for every input). Floats: a seeded normal distribution (the seed and
  /// the input's name decide them); integers and bools: zero (safe as indices). Throws
  /// plaster::Error when an input has no batch dimension.
  SampleLibrary(const std::vector<engine::TensorSpec>& batch_specs, int64_t count, uint64_t seed);

  /// The batch size of sessions with these inputs (the first dimension of the first input).
  /// Throws plaster::Error for a session without inputs, or inputs that disagree.
  static int64_t BatchOf(const std::vector<engine::TensorSpec>& specs);

  int64_t size() const { return static_cast<int64_t>(samples_.size()); }
  /// Sample i modulo size(): one HostTensor per input, batch dimension 1.
  const std::vector<engine::HostTensor>& sample(int64_t i) const {
    return samples_[static_cast<size_t>(i % size())];
  }
  int64_t batch_size() const { return batch_size_; }
  /// Bytes of one sample (all inputs).
  int64_t sample_bytes() const { return sample_bytes_; }

 private:
  int64_t batch_size_ = 1;
  int64_t sample_bytes_ = 0;
  std::vector<std::vector<engine::HostTensor>> samples_;
};

}  // namespace plaster::loadgen
