// Image folders, laid out as torchvision's ImageFolder reads them: root/<class>/<image>, the
// class index being the folder's rank in sorted order. Preprocessing follows torchvision's
// classic evaluation transform (Resize(shorter side), CenterCrop, ToTensor, Normalize) with
// OpenCV's decoders and bilinear resize, so pixel values can differ from PIL's slightly: PIL
// antialiases when it shrinks, OpenCV's INTER_LINEAR does not.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "accuracy/dataset.h"
#include "accuracy/dataset_sources.h"
#include "core/error.h"
#include "model/dtype.h"
#include "model/shape.h"

namespace plaster::accuracy::detail {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kFloat = 1;  // onnx::TensorProto::FLOAT

constexpr std::string_view kImageExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".ppm",
                                                 ".pgm", ".webp", ".tif", ".tiff"};

bool IsImage(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(std::begin(kImageExtensions), std::end(kImageExtensions), ext) !=
         std::end(kImageExtensions);
}

// Hidden entries are skipped: ".git" is no class, and macOS's "._x.jpg" companions are no images.
bool IsHidden(const fs::path& entry) {
  const std::string name = entry.filename().string();
  return !name.empty() && name[0] == '.';
}

struct ImageFile {
  std::string relative;  // "cats/003.jpg", from the root
  int64_t label = 0;
};

// Where the model wants the pixels: [B,3,H,W] or [B,H,W,3].
struct Layout {
  bool channels_first = true;
  int height = 0;
  int width = 0;
};

[[noreturn]] void NotAnImageModel(const fs::path& path, const std::string& why) {
  Fail(
      "{}: image folders feed a model with one float32 input of shape [B,3,H,W] or [B,H,W,3], "
      "but {}",
      path.string(), why);
}

Layout LayoutOf(const fs::path& path, const std::vector<engine::TensorSpec>& inputs) {
  if (inputs.size() != 1)
    NotAnImageModel(path, fmt::format("the model has {} inputs", inputs.size()));
  const engine::TensorSpec& spec = inputs[0];
  const std::string found =
      fmt::format("input '{}' is {}[{}]", spec.name, model::DtypeName(spec.dtype),
                  model::Shape::Of(spec.shape).ToString());
  if (spec.dtype != kFloat || spec.shape.size() != 4) NotAnImageModel(path, found);
  // [B,3,3,3] could be either; channels first is what PyTorch exports.
  const bool channels_first = spec.shape[1] == 3;
  if (!channels_first && spec.shape[3] != 3) NotAnImageModel(path, found);
  const int64_t h = spec.shape[channels_first ? 2 : 1], w = spec.shape[channels_first ? 3 : 2];
  if (h <= 0 || w <= 0 || h > (1 << 16) || w > (1 << 16)) NotAnImageModel(path, found);
  return {channels_first, static_cast<int>(h), static_cast<int>(w)};
}

class ImageFolder final : public Dataset {
 public:
  ImageFolder(const fs::path& path, const std::vector<engine::TensorSpec>& inputs,
              const std::vector<engine::TensorSpec>& outputs, const DatasetOptions& options)
      : path_(path),
        preset_(FindImagePreset(options.image_preset)),
        resize_(options.resize),
        layout_(LayoutOf(path, inputs)) {
    PLASTER_CHECK(resize_ >= 0, "the resize size must not be negative (got {})", resize_);
    PLASTER_CHECK(resize_ == 0 || resize_ >= std::min(layout_.height, layout_.width),
                  "{}: resizing the shorter side to {} leaves it smaller than the {}x{} crop",
                  path.string(), resize_, layout_.height, layout_.width);
    ListImages();
    if (const auto classes = ClassCount(outputs)) {
      PLASTER_CHECK(static_cast<int64_t>(class_names_.size()) <= *classes,
                    "{}: {} class folders, but the model's output '{}' scores {} classes",
                    path.string(), class_names_.size(), outputs[0].name, *classes);
    }
    selected_ = SelectSamples(static_cast<int64_t>(images_.size()), options);
    describe_ = fmt::format(
        "image folder {}: {}, {} classes ({} preset, shorter side {}, {}x{} centre crop, {})",
        path.string(), CountPhrase(size(), static_cast<int64_t>(images_.size()), options, "images"),
        class_names_.size(), preset_.name, resize_ == 0 ? "kept" : fmt::to_string(resize_),
        layout_.height, layout_.width, layout_.channels_first ? "NCHW" : "NHWC");
  }

  std::string Describe() const override { return describe_; }
  int64_t size() const override { return static_cast<int64_t>(selected_.size()); }
  LabelKind label_kind() const override { return LabelKind::kClass; }
  const std::vector<std::string>& class_names() const override { return class_names_; }

  Sample Read(int64_t i) override {
    PLASTER_ASSERT(i >= 0 && i < size());
    const ImageFile& image = images_[static_cast<size_t>(selected_[static_cast<size_t>(i)])];
    Sample sample;
    sample.source = image.relative;
    sample.label = image.label;
    sample.inputs.push_back(Preprocess((path_ / image.relative).string()));
    return sample;
  }

 private:
  void ListImages() {
    std::vector<fs::path> folders;
    std::error_code ec;
    std::error_code unreadable;  // a broken link is neither a folder nor an image: skipped
    for (fs::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory(unreadable) && !IsHidden(it->path())) folders.push_back(it->path());
    }
    PLASTER_CHECK(!ec, "{}: cannot be listed: {}", path_.string(), ec.message());
    std::sort(folders.begin(), folders.end());
    for (const fs::path& folder : folders) {
      const auto label = static_cast<int64_t>(class_names_.size());
      class_names_.push_back(folder.filename().string());
      // Images in nested folders belong to the class too, ordered as torchvision orders them
      // (sorted(os.walk(...)): by folder, then by name within it), so sample i is the same image.
      std::vector<std::pair<std::string, std::string>> files;  // (folder, name) from the root
      auto it = fs::recursive_directory_iterator(
          folder, fs::directory_options::follow_directory_symlink, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (IsHidden(it->path())) {
          if (it->is_directory(unreadable)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(unreadable) && IsImage(it->path())) {
          const fs::path relative = it->path().lexically_relative(path_);
          files.emplace_back(relative.parent_path().generic_string(), relative.filename().string());
        }
      }
      PLASTER_CHECK(!ec, "{}: cannot be listed: {}", folder.string(), ec.message());
      PLASTER_CHECK(!files.empty(), "{}: class folder '{}' holds no images ({})", folder.string(),
                    class_names_.back(), fmt::join(kImageExtensions, " "));
      std::sort(files.begin(), files.end());
      for (const auto& [dir, name] : files) images_.push_back({dir + "/" + name, label});
    }
  }

  engine::HostTensor Preprocess(const std::string& file) const {
    cv::Mat image;
    try {
      image = cv::imread(file, cv::IMREAD_COLOR);  // 8-bit BGR, whatever was stored
      PLASTER_CHECK(!image.empty(), "{}: cannot be decoded as an image", file);
      if (resize_ > 0) {
        // torchvision's Resize(int): the shorter side becomes resize_, the longer one keeps the
        // aspect ratio, truncated.
        const int64_t rows = image.rows, cols = image.cols;
        const int64_t r = resize_;
        const cv::Size size =
            cols <= rows ? cv::Size(static_cast<int>(r), static_cast<int>(r * rows / cols))
                         : cv::Size(static_cast<int>(r * cols / rows), static_cast<int>(r));
        cv::Mat resized;
        cv::resize(image, resized, size, 0, 0, cv::INTER_LINEAR);
        image = resized;
      }
    } catch (const cv::Exception& e) {
      Fail("{}: OpenCV could not read it: {}", file, OneLine(e.what()));
    }
    const int h = layout_.height, w = layout_.width;
    PLASTER_CHECK(image.rows >= h && image.cols >= w,
                  "{}: the image is {}x{}{}, smaller than the {}x{} crop", file, image.rows,
                  image.cols, resize_ > 0 ? " after resizing" : "", h, w);
    // torchvision's CenterCrop rounds the offset with Python's round(): half to even.
    const int top = static_cast<int>(std::nearbyint((image.rows - h) / 2.0));
    const int left = static_cast<int>(std::nearbyint((image.cols - w) / 2.0));
    const cv::Mat crop = image(cv::Rect(left, top, w, h));

    engine::HostTensor out(kFloat, layout_.channels_first ? std::vector<int64_t>{1, 3, h, w}
                                                          : std::vector<int64_t>{1, h, w, 3});
    float* data = out.mutable_data_as<float>();
    for (int y = 0; y < h; ++y) {
      const auto* row = crop.ptr<cv::Vec3b>(y);
      for (int x = 0; x < w; ++x) {
        for (int c = 0; c < 3; ++c) {  // c in RGB order; OpenCV holds BGR
          const float unit = static_cast<float>(row[x][2 - c]) / 255.0f;
          const float value = (unit - preset_.mean[c]) / preset_.stddev[c];
          const size_t at = layout_.channels_first ? (static_cast<size_t>(c) * h + y) * w + x
                                                   : (static_cast<size_t>(y) * w + x) * 3 + c;
          data[at] = value;
        }
      }
    }
    return out;
  }

  fs::path path_;
  ImagePreset preset_;
  int64_t resize_;
  Layout layout_;
  std::vector<std::string> class_names_;
  std::vector<ImageFile> images_;
  std::vector<int64_t> selected_;
  std::string describe_;
};

}  // namespace

std::unique_ptr<Dataset> OpenImageFolder(const fs::path& path,
                                         const std::vector<engine::TensorSpec>& inputs,
                                         const std::vector<engine::TensorSpec>& outputs,
                                         const DatasetOptions& options) {
  return std::make_unique<ImageFolder>(path, inputs, outputs, options);
}

}  // namespace plaster::accuracy::detail
