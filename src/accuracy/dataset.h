#pragma once
/// Datasets for the A letter: the samples a model is evaluated on, read one at a time so memory
/// stays bounded whatever the dataset's size. Three sources, chosen by what the path is:
///
///  - a NumPy file: `.npz` with one array per model input (named after the input; a single-input
///    model may instead use the only array not named `labels` or `targets`, whatever its name)
///    and optionally `labels` (integer class indices, shape [N]) or `targets` (float32/float64
///    regression targets for the first output, shape [N, ...], handed out as float32); other
///    arrays are ignored (Describe names them). Or `.npy` holding the single input's samples (no
///    labels). Axis 0 counts samples; every array used must have the same N.
///  - an ONNX test-data folder: `test_data_set_*/input_K.pb` (+ `output_K.pb`, the expected
///    outputs, used as regression targets / reference outputs), as ONNX's model zoo ships them;
///    each set's tensors are split along axis 0 into samples.
///  - an image folder: one subfolder per class (class index = the subfolder's rank in sorted
///    order, as torchvision's ImageFolder), images decoded with OpenCV's imgcodecs, resized so the
///    shorter side is `resize` (bilinear), centre-cropped to the model input's H×W, converted to
///    RGB, scaled to [0,1] and normalised with the preset's mean/std, laid out as the model's
///    input (NCHW or NHWC, detected from where the 3 channels are).
///
/// Every problem (unreadable file, wrong shape or dtype, a label out of range, an empty class
/// folder, an image that does not decode) is a plaster::Error naming the file and the sample.
///
/// Threading: a Dataset is used from one thread.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/host_tensor.h"

namespace plaster::accuracy {

/// What a dataset's samples carry besides their inputs.
enum class LabelKind {
  kNone,     ///< inputs only: accuracy is agreement with the FP32 reference outputs
  kClass,    ///< an int64 class index per sample (classification)
  kTargets,  ///< float tensors per sample: regression targets or expected outputs
};
/// "none", "class", "targets": for reports.
const char* LabelKindName(LabelKind kind);

/// One sample: one tensor per model input, each with a leading batch axis of 1 (so a batch is
/// the samples concatenated along axis 0).
struct Sample {
  std::vector<engine::HostTensor> inputs;
  int64_t label = -1;  ///< kClass only
  /// kTargets only: per model output, batch axis 1 (a .npz's `targets`: the first output only).
  std::vector<engine::HostTensor> targets;
  std::string source;  ///< where it came from, for messages: "val.npz[17]", "cats/003.jpg"
};

/// An image preprocessing preset: the per-channel mean and standard deviation applied after
/// scaling pixels to [0,1], in RGB order.
struct ImagePreset {
  std::string name;
  float mean[3];
  float stddev[3];
};
/// "imagenet" (0.485,0.456,0.406 / 0.229,0.224,0.225), "inception" (0.5 / 0.5: [-1,1]),
/// "unit" (0 / 1: [0,1]), "raw" (0 / 1/255: 0..255 floats). plaster::Error for another name,
/// listing these.
ImagePreset FindImagePreset(const std::string& name);

struct DatasetOptions {
  /// At most this many samples (all when unset).
  std::optional<int64_t> limit;
  /// With limit: a uniformly random subset of that size drawn with this seed (kept in the
  /// dataset's order) instead of the first `limit` samples.
  std::optional<uint64_t> subset_seed;
  std::string image_preset = "imagenet";
  int64_t resize = 256;  ///< image folders: the shorter side before the centre crop (0: no resize,
                         ///< crop only; an image smaller than the crop is an error)
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  /// One line for reports: "image folder data/val: 500 images, 10 classes (imagenet preset)".
  virtual std::string Describe() const = 0;
  /// Samples after limit/subset.
  virtual int64_t size() const = 0;
  virtual LabelKind label_kind() const = 0;
  /// Class names when the source names them (image folders: the subfolder names); else empty.
  virtual const std::vector<std::string>& class_names() const = 0;
  /// The i-th sample (0 ≤ i < size()), read now. Reading in increasing order is the fast path;
  /// any order works.
  virtual Sample Read(int64_t i) = 0;
};

/// Opens the dataset at path for a model whose inputs are `inputs` and outputs are `outputs`
/// (the bound specs; shape[0] is the batch axis and is not checked, the rest must match each
/// sample exactly, and so must the dtype). Checks every file's header and shape now; pixel data
/// and array contents are read by Read.
std::unique_ptr<Dataset> OpenDataset(const std::filesystem::path& path,
                                     const std::vector<engine::TensorSpec>& inputs,
                                     const std::vector<engine::TensorSpec>& outputs,
                                     const DatasetOptions& options);

/// The indices kept by limit/subset out of n samples, increasing. Deterministic for a seed, on
/// every platform. plaster::Error for a negative limit.
std::vector<int64_t> SelectSamples(int64_t n, const DatasetOptions& options);

}  // namespace plaster::accuracy
