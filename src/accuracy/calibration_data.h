#pragma once
/// Calibration data for static int8 sessions (engine::CalibrationData) read from a dataset:
/// the samples in batches of the session's batch size, the last batch filled by repeating its
/// last sample. Read again from the dataset on every pass, so memory stays one batch.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "accuracy/dataset.h"
#include "engine/engine.h"

namespace plaster::accuracy {

/// The samples of `path` (any dataset OpenDataset reads; labels, if any, are ignored) at most
/// `limit` of them: a seeded random subset when there are more, since a folder's first samples
/// are often all of one class. plaster::Error naming the file when the data does not fit the
/// model's inputs.
std::shared_ptr<engine::CalibrationData> OpenCalibrationData(
    const std::filesystem::path& path, const std::vector<engine::TensorSpec>& inputs,
    const std::vector<engine::TensorSpec>& outputs, int64_t limit,
    const std::string& image_preset = "imagenet", int64_t resize = 256);

}  // namespace plaster::accuracy
