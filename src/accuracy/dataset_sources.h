#pragma once
/// What the dataset sources share (dataset.cpp, npy_source.cpp, onnx_test_data.cpp,
/// image_folder.cpp): the per-source open functions OpenDataset dispatches to, and the checks
/// every source applies. Private to src/accuracy; callers use dataset.h's OpenDataset.

#include <optional>
#include <string>
#include <vector>

#include "accuracy/dataset.h"

namespace plaster::accuracy {

namespace detail {
// Shared by the sources (dataset.cpp, npy_source.cpp, onnx_test_data.cpp, image_folder.cpp);
// not for callers, who use OpenDataset.

/// The sources, as OpenDataset dispatches to them (path already known to be of their kind).
std::unique_ptr<Dataset> OpenNpy(const std::filesystem::path& path,
                                 const std::vector<engine::TensorSpec>& inputs,
                                 const std::vector<engine::TensorSpec>& outputs,
                                 const DatasetOptions& options);
std::unique_ptr<Dataset> OpenNpz(const std::filesystem::path& path,
                                 const std::vector<engine::TensorSpec>& inputs,
                                 const std::vector<engine::TensorSpec>& outputs,
                                 const DatasetOptions& options);
std::unique_ptr<Dataset> OpenOnnxTestData(const std::filesystem::path& path,
                                          const std::vector<engine::TensorSpec>& inputs,
                                          const std::vector<engine::TensorSpec>& outputs,
                                          const DatasetOptions& options);
std::unique_ptr<Dataset> OpenImageFolder(const std::filesystem::path& path,
                                         const std::vector<engine::TensorSpec>& inputs,
                                         const std::vector<engine::TensorSpec>& outputs,
                                         const DatasetOptions& options);

/// Checks the shape of stored samples against a model input or output spec: `shape` (axis 0
/// counting samples) must have the spec's rank, and shape[1:] must equal spec.shape[1:] (a spec
/// dim < 0, value-dependent, matches anything). `what` names the data ("val.npz: array 'x'"),
/// `role` the spec ("model input", "model output"). plaster::Error otherwise.
void CheckSampleShape(const std::string& what, const std::vector<int64_t>& shape, const char* role,
                      const engine::TensorSpec& spec);
/// CheckSampleShape, and `dtype` must equal the spec's.
void CheckSamples(const std::string& what, int32_t dtype, const std::vector<int64_t>& shape,
                  const char* role, const engine::TensorSpec& spec);

/// The number of classes when the first output is a row of scores [B, C] with C ≥ 2; nullopt
/// otherwise (no outputs, another rank, C unknown, or a single logit).
std::optional<int64_t> ClassCount(const std::vector<engine::TensorSpec>& outputs);

/// "500 samples", "100 of 5000 samples (the first)", "100 of 5000 samples (seed 7)", with `noun`
/// in place of "samples".
std::string CountPhrase(int64_t kept, int64_t total, const DatasetOptions& options,
                        const char* noun);

}  // namespace detail

}  // namespace plaster::accuracy
