#include "accuracy/dataset.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <numeric>
#include <random>

#include "accuracy/dataset_sources.h"
#include "core/error.h"
#include "model/dtype.h"
#include "model/shape.h"

namespace plaster::accuracy {
namespace {

namespace fs = std::filesystem;

constexpr char kExpected[] =
    "expected a .npz or .npy file, a folder of ONNX test_data_set_* folders, or an image folder "
    "with one subfolder per class";

const ImagePreset kPresets[] = {
    {"imagenet", {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}},
    {"inception", {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}},
    {"unit", {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}},
    {"raw", {0.0f, 0.0f, 0.0f}, {1.0f / 255, 1.0f / 255, 1.0f / 255}},
};

// A uniform integer in [0, bound), bound > 0. Not std::uniform_int_distribution: its algorithm
// is left to the standard library, so a seed would pick different samples under libc++ and
// libstdc++. mt19937_64's output is fully specified; rejecting the top partial block of 2^64
// removes the modulo bias.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  while (true) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

bool IsOnnxTestSetName(const std::string& name) {
  constexpr std::string_view kPrefix = "test_data_set_";
  return name.size() > kPrefix.size() && name.compare(0, kPrefix.size(), kPrefix) == 0 &&
         std::all_of(name.begin() + kPrefix.size(), name.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

std::string PerSample(const std::vector<int64_t>& shape) {
  return model::Shape::Of({shape.begin() + 1, shape.end()}).ToString();
}

}  // namespace

const char* LabelKindName(LabelKind kind) {
  switch (kind) {
    case LabelKind::kNone:
      return "none";
    case LabelKind::kClass:
      return "class";
    case LabelKind::kTargets:
      return "targets";
  }
  return "?";
}

ImagePreset FindImagePreset(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& preset : kPresets) {
    if (preset.name == name) return preset;
    names.push_back(preset.name);
  }
  Fail("unknown image preset '{}' (known: {})", name, fmt::join(names, ", "));
}

std::vector<int64_t> SelectSamples(int64_t n, const DatasetOptions& options) {
  PLASTER_ASSERT(n >= 0);
  if (options.limit) {
    PLASTER_CHECK(*options.limit >= 0, "the sample limit must not be negative (got {})",
                  *options.limit);
  }
  const int64_t k = options.limit ? std::min(*options.limit, n) : n;
  std::vector<int64_t> indices(static_cast<size_t>(n));
  std::iota(indices.begin(), indices.end(), int64_t{0});
  if (k < n && options.subset_seed) {
    // A partial Fisher–Yates shuffle: the first k positions become a uniform k-subset.
    std::mt19937_64 rng(*options.subset_seed);
    for (int64_t i = 0; i < k; ++i) {
      const auto j = i + static_cast<int64_t>(UniformBelow(rng, static_cast<uint64_t>(n - i)));
      std::swap(indices[static_cast<size_t>(i)], indices[static_cast<size_t>(j)]);
    }
  }
  indices.resize(static_cast<size_t>(k));
  std::sort(indices.begin(), indices.end());
  return indices;
}

std::unique_ptr<Dataset> OpenDataset(const fs::path& path,
                                     const std::vector<engine::TensorSpec>& inputs,
                                     const std::vector<engine::TensorSpec>& outputs,
                                     const DatasetOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::is_regular_file(status)) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".npz") return detail::OpenNpz(path, inputs, outputs, options);
    if (ext == ".npy") return detail::OpenNpy(path, inputs, outputs, options);
    Fail("{}: not a dataset ({})", path.string(), kExpected);
  }
  PLASTER_CHECK(fs::is_directory(status), "{}: no such file or folder ({})", path.string(),
                kExpected);
  // ONNX test data wins over class folders: a model zoo folder holds only test_data_set_*.
  bool has_test_sets = false, has_subfolders = false;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code unreadable;  // a broken link is no folder, not a reason to fail
    if (!it->is_directory(unreadable)) continue;
    const std::string name = it->path().filename().string();
    if (IsOnnxTestSetName(name)) has_test_sets = true;
    if (!name.empty() && name[0] != '.') has_subfolders = true;
  }
  PLASTER_CHECK(!ec, "{}: cannot be listed: {}", path.string(), ec.message());
  if (has_test_sets) return detail::OpenOnnxTestData(path, inputs, outputs, options);
  if (has_subfolders) return detail::OpenImageFolder(path, inputs, outputs, options);
  Fail("{}: a folder with no subfolders ({})", path.string(), kExpected);
}

namespace detail {

void CheckSampleShape(const std::string& what, const std::vector<int64_t>& shape, const char* role,
                      const engine::TensorSpec& spec) {
  PLASTER_CHECK(!spec.shape.empty(), "{}: {} '{}' is a scalar, with no batch axis for samples",
                what, role, spec.name);
  PLASTER_CHECK(!shape.empty(), "{} is a scalar, with no axis 0 counting samples", what);
  bool same = shape.size() == spec.shape.size();
  for (size_t k = 1; same && k < shape.size(); ++k) {
    same = spec.shape[k] < 0 || spec.shape[k] == shape[k];
  }
  PLASTER_CHECK(same, "{} holds samples of shape {}, but {} '{}' takes {} (shape {})", what,
                PerSample(shape), role, spec.name, PerSample(spec.shape),
                model::Shape::Of(spec.shape).ToString());
}

void CheckSamples(const std::string& what, int32_t dtype, const std::vector<int64_t>& shape,
                  const char* role, const engine::TensorSpec& spec) {
  PLASTER_CHECK(dtype == spec.dtype, "{} is {}, but {} '{}' is {}", what, model::DtypeName(dtype),
                role, spec.name, model::DtypeName(spec.dtype));
  CheckSampleShape(what, shape, role, spec);
}

std::optional<int64_t> ClassCount(const std::vector<engine::TensorSpec>& outputs) {
  // One logit ([B, 1]) is a binary classifier whose labels are 0 and 1: not a score per class.
  if (outputs.empty() || outputs[0].shape.size() != 2 || outputs[0].shape[1] < 2) {
    return std::nullopt;
  }
  return outputs[0].shape[1];
}

std::string CountPhrase(int64_t kept, int64_t total, const DatasetOptions& options,
                        const char* noun) {
  if (kept == total) return fmt::format("{} {}", total, noun);
  if (options.subset_seed) {
    return fmt::format("{} of {} {} (a random subset, seed {})", kept, total, noun,
                       *options.subset_seed);
  }
  return fmt::format("the first {} of {} {}", kept, total, noun);
}

}  // namespace detail
}  // namespace plaster::accuracy
