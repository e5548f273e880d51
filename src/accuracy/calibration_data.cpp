#include "accuracy/calibration_data.h"

#include <fmt/format.h>

#include <algorithm>

#include "accuracy/measure_accuracy.h"
#include "core/error.h"

namespace plaster::accuracy {
namespace {

class DatasetCalibration final : public engine::CalibrationData {
 public:
  DatasetCalibration(std::unique_ptr<Dataset> data, std::vector<engine::TensorSpec> inputs,
                     std::string name)
      : data_(std::move(data)), inputs_(std::move(inputs)), name_(std::move(name)) {
    batch_ = inputs_.empty() || inputs_[0].shape.empty() ? 1 : inputs_[0].shape[0];
  }

  int64_t batches() const override { return (data_->size() + batch_ - 1) / batch_; }

  std::vector<engine::HostTensor> Batch(int64_t index) override {
    PLASTER_CHECK(index >= 0 && index < batches(), "calibration batch {} of {}", index,
                  batches());
    std::vector<Sample> samples;
    const int64_t first = index * batch_;
    for (int64_t i = first; i < std::min(first + batch_, data_->size()); ++i) {
      samples.push_back(data_->Read(i));
    }
    std::vector<engine::HostTensor> batch;
    for (size_t k = 0; k < inputs_.size(); ++k) batch.push_back(MakeBatch(samples, k, inputs_[k]));
    return batch;
  }

  std::string Describe() const override {
    return fmt::format("{}: {} samples in {} batch{} of {}", name_, data_->size(), batches(),
                       batches() == 1 ? "" : "es", batch_);
  }

 private:
  std::unique_ptr<Dataset> data_;
  std::vector<engine::TensorSpec> inputs_;
  std::string name_;
  int64_t batch_ = 1;
};

}  // namespace

std::shared_ptr<engine::CalibrationData> OpenCalibrationData(
    const std::filesystem::path& path, const std::vector<engine::TensorSpec>& inputs,
    const std::vector<engine::TensorSpec>& outputs, int64_t limit,
    const std::string& image_preset, int64_t resize) {
  PLASTER_CHECK(limit > 0, "--calibration-limit {}: must be at least 1", limit);
  DatasetOptions options;
  options.limit = limit;
  options.subset_seed = 1;
  options.image_preset = image_preset;
  options.resize = resize;
  std::unique_ptr<Dataset> data;
  try {
    data = OpenDataset(path, inputs, outputs, options);
  } catch (const Error& e) {
    throw e.WithContext("--calibration");
  }
  PLASTER_CHECK(data->size() > 0, "--calibration {}: no samples", path.string());
  return std::make_shared<DatasetCalibration>(std::move(data), inputs,
                                              path.filename().string());
}

}  // namespace plaster::accuracy
