// NumPy datasets: a .npy file (one array, the single input's samples) or a .npz archive (one
// array per input, plus labels or targets). Nothing is loaded whole: each array's header is
// parsed at open, and Read fetches one sample's bytes from each array.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zip.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>

#include "accuracy/dataset.h"
#include "accuracy/dataset_sources.h"
#include "core/error.h"
#include "core/units.h"
#include "engine/tensor_file.h"
#include "model/dtype.h"
#include "model/shape.h"

namespace plaster::accuracy::detail {
namespace {

namespace fs = std::filesystem;

// onnx::TensorProto element types (the values HostTensor and TensorSpec carry).
constexpr int32_t kFloat = 1, kUint8 = 2, kInt8 = 3, kUint16 = 4, kInt16 = 5, kInt32 = 6,
                  kInt64 = 7, kDouble = 11, kUint32 = 12, kUint64 = 13;

constexpr char kLabels[] = "labels";
constexpr char kTargets[] = "targets";

// The bytes of one stored array: a .npy file, or one entry of a .npz archive.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads n bytes at offset (offset + n ≤ size()); plaster::Error if the storage fails.
  virtual void ReadAt(uint64_t offset, char* out, size_t n) = 0;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const fs::path& path) : path_(path), in_(path, std::ios::binary) {
    std::error_code ec;
    size_ = fs::file_size(path, ec);
    PLASTER_CHECK(in_.good() && !ec, "{}: cannot be opened for reading", path.string());
  }
  uint64_t size() const override { return size_; }
  void ReadAt(uint64_t offset, char* out, size_t n) override {
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(out, static_cast<std::streamsize>(n));
    PLASTER_CHECK(in_.good(), "{}: reading {} bytes at offset {} failed", path_.string(), n,
                  offset);
  }

 private:
  fs::path path_;
  std::ifstream in_;
  uint64_t size_ = 0;
};

struct ZipDiscard {
  void operator()(zip_t* archive) const { zip_discard(archive); }  // read-only: write nothing
};
using ZipArchive = std::unique_ptr<zip_t, ZipDiscard>;

// One entry of an open archive, read through libzip. Entries np.savez writes are stored and can
// seek; np.savez_compressed deflates them, and a deflate stream only reads forwards, so going
// back means reopening the entry and skipping from its start. Reading samples in increasing
// order (the fast path) therefore decompresses each entry once.
class ZipEntrySource : public ByteSource {
 public:
  ZipEntrySource(zip_t* archive, zip_uint64_t index, std::string what)
      : archive_(archive), index_(index), what_(std::move(what)) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    PLASTER_CHECK(
        zip_stat_index(archive, index, 0, &stat) == 0 && (stat.valid & ZIP_STAT_SIZE) != 0,
        "{}: cannot be read: {}", what_, zip_strerror(archive));
    size_ = stat.size;
    seekable_ =
        (stat.valid & ZIP_STAT_COMP_METHOD) != 0 && stat.comp_method == ZIP_CM_STORE &&
        ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) == 0 || stat.encryption_method == ZIP_EM_NONE);
  }
  ~ZipEntrySource() override { Close(); }
  ZipEntrySource(const ZipEntrySource&) = delete;
  ZipEntrySource& operator=(const ZipEntrySource&) = delete;

  uint64_t size() const override { return size_; }

  void ReadAt(uint64_t offset, char* out, size_t n) override {
    if (file_ == nullptr) Open();
    if (offset != position_ && seekable_) {
      PLASTER_CHECK(zip_fseek(file_, static_cast<zip_int64_t>(offset), SEEK_SET) == 0,
                    "{}: seeking to offset {} failed: {}", what_, offset, zip_file_strerror(file_));
      position_ = offset;
    }
    if (offset < position_) {
      Close();
      Open();
    }
    while (position_ < offset) {
      scratch_.resize(std::min<uint64_t>(offset - position_, 1 << 16));
      ReadExactly(scratch_.data(), scratch_.size());
    }
    ReadExactly(out, n);
  }

 private:
  void Open() {
    file_ = zip_fopen_index(archive_, index_, 0);
    PLASTER_CHECK(file_ != nullptr, "{}: cannot be opened: {}", what_, zip_strerror(archive_));
    position_ = 0;
  }
  void Close() {
    if (file_ != nullptr) zip_fclose(file_);
    file_ = nullptr;
  }
  void ReadExactly(char* out, size_t n) {
    while (n > 0) {
      const zip_int64_t got = zip_fread(file_, out, n);
      PLASTER_CHECK(got > 0, "{}: reading at offset {} failed: {}", what_, position_,
                    got < 0 ? zip_file_strerror(file_) : "unexpected end of data");
      out += got;
      n -= static_cast<size_t>(got);
      position_ += static_cast<uint64_t>(got);
    }
  }

  zip_t* archive_;
  zip_uint64_t index_;
  std::string what_;
  uint64_t size_ = 0;
  bool seekable_ = false;
  zip_file_t* file_ = nullptr;
  uint64_t position_ = 0;  // of file_'s next read
  std::string scratch_;
};

// One stored array bound to a role (an input, the labels or the targets).
struct Array {
  std::string name;  // the .npz key, or the .npy file's name
  std::string what;  // for messages: "val.npz: array 'x'"
  std::unique_ptr<ByteSource> source;
  engine::NpyHeader header;
  std::vector<int64_t> sample_shape;  // {1, shape[1:]}
  uint64_t sample_bytes = 0;

  int64_t count() const { return header.shape.empty() ? 0 : header.shape[0]; }
  void ReadSample(int64_t row, char* out) {
    source->ReadAt(header.data_offset + static_cast<uint64_t>(row) * sample_bytes, out,
                   sample_bytes);
  }
};

// Parses an array's header from its source and checks that the data is all there.
Array ReadArray(std::string name, std::string what, std::unique_ptr<ByteSource> source) {
  Array a{std::move(name), std::move(what), std::move(source), {}, {}, 0};
  const uint64_t size = a.source->size();
  std::string head(std::min<uint64_t>(size, 12), '\0');
  a.source->ReadAt(0, head.data(), head.size());
  const size_t offset = engine::NpyDataOffset(head, a.what);
  PLASTER_CHECK(offset <= size, "{}: truncated .npy header", a.what);
  if (offset > head.size()) {
    const size_t had = head.size();
    head.resize(offset);
    a.source->ReadAt(had, head.data() + had, offset - had);
  }
  a.header = engine::ParseNpyHeader(head, a.what);
  PLASTER_CHECK(!a.header.shape.empty(), "{} is a scalar, with no axis 0 counting samples", a.what);
  a.sample_shape = a.header.shape;
  a.sample_shape[0] = 1;
  // ParseNpyHeader bounded the element count, but not past a 0 on axis 0: check again.
  int64_t per_sample = model::DtypeSize(a.header.dtype);
  for (size_t k = 1; k < a.header.shape.size(); ++k) {
    PLASTER_CHECK(CheckedMul(per_sample, a.header.shape[k], &per_sample),
                  "{}: shape {} is too large", a.what, model::Shape::Of(a.header.shape).ToString());
  }
  a.sample_bytes = static_cast<uint64_t>(per_sample);
  const uint64_t need = a.sample_bytes * static_cast<uint64_t>(a.count());
  PLASTER_CHECK(size - offset == need, "{}: .npy data holds {} bytes, but shape {} of {} needs {}",
                a.what, size - offset, model::Shape::Of(a.header.shape).ToString(),
                model::DtypeName(a.header.dtype), need);
  return a;
}

bool IsIntegerDtype(int32_t dtype) {
  return dtype == kInt8 || dtype == kInt16 || dtype == kInt32 || dtype == kInt64 ||
         dtype == kUint8 || dtype == kUint16 || dtype == kUint32 || dtype == kUint64;
}

// The label stored as `dtype` at `bytes`, widened to int64; what and row name it in messages.
int64_t LabelValue(int32_t dtype, const char* bytes, const std::string& what, int64_t row) {
  auto as = [bytes](auto zero) {
    std::memcpy(&zero, bytes, sizeof zero);
    return zero;
  };
  switch (dtype) {
    case kInt8:
      return as(int8_t{});
    case kInt16:
      return as(int16_t{});
    case kInt32:
      return as(int32_t{});
    case kInt64:
      return as(int64_t{});
    case kUint8:
      return as(uint8_t{});
    case kUint16:
      return as(uint16_t{});
    case kUint32:
      return as(uint32_t{});
    case kUint64: {
      const uint64_t v = as(uint64_t{});
      PLASTER_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                    "{}: labels[{}] is {}, not a class index", what, row, v);
      return static_cast<int64_t>(v);
    }
    default:
      PLASTER_ASSERT(false);
  }
  return -1;
}

// A NumPy dataset: the arrays bound to the model's inputs, and optionally labels or targets,
// all with the same number of rows.
class NumpyDataset final : public Dataset {
 public:
  NumpyDataset(const fs::path& path, ZipArchive archive, std::vector<Array> inputs,
               std::optional<Array> labels, std::optional<Array> targets,
               std::optional<int64_t> classes, std::string notes, const DatasetOptions& options)
      : path_(path),
        archive_(std::move(archive)),
        inputs_(std::move(inputs)),
        labels_(std::move(labels)),
        targets_(std::move(targets)),
        classes_(classes) {
    total_ = inputs_[0].count();
    PLASTER_CHECK(total_ > 0, "{} holds no samples (axis 0 has length 0)", inputs_[0].what);
    selected_ = SelectSamples(total_, options);
    const char* labelled = labels_ ? "class labels" : targets_ ? "targets" : "no labels";
    describe_ = fmt::format("NumPy file {}: {}, {}{}", path.string(),
                            CountPhrase(size(), total_, options, "samples"), labelled, notes);
  }

  std::string Describe() const override { return describe_; }
  int64_t size() const override { return static_cast<int64_t>(selected_.size()); }
  LabelKind label_kind() const override {
    return labels_ ? LabelKind::kClass : targets_ ? LabelKind::kTargets : LabelKind::kNone;
  }
  const std::vector<std::string>& class_names() const override { return class_names_; }

  Sample Read(int64_t i) override {
    PLASTER_ASSERT(i >= 0 && i < size());
    const int64_t row = selected_[static_cast<size_t>(i)];
    Sample sample;
    sample.source = fmt::format("{}[{}]", path_.filename().string(), row);
    for (Array& a : inputs_) {
      engine::HostTensor t(a.header.dtype, a.sample_shape);
      a.ReadSample(row, t.mutable_data());
      sample.inputs.push_back(std::move(t));
    }
    if (labels_) sample.label = ReadLabel(row);
    if (targets_) sample.targets.push_back(ReadTargets(row));
    return sample;
  }

 private:
  int64_t ReadLabel(int64_t row) {
    char bytes[8];
    labels_->ReadSample(row, bytes);
    const int64_t label = LabelValue(labels_->header.dtype, bytes, path_.string(), row);
    PLASTER_CHECK(label >= 0, "{}: labels[{}] is {}; class indices start at 0", path_.string(), row,
                  label);
    PLASTER_CHECK(!classes_ || label < *classes_,
                  "{}: labels[{}] is {}, out of range for the model's {} classes (0..{})",
                  path_.string(), row, label, *classes_, *classes_ - 1);
    return label;
  }

  // Targets are handed out as float32, whatever float type was saved: NumPy's default is float64.
  engine::HostTensor ReadTargets(int64_t row) {
    engine::HostTensor out(kFloat, targets_->sample_shape);
    if (targets_->header.dtype == kFloat) {
      targets_->ReadSample(row, out.mutable_data());
      return out;
    }
    std::vector<double> wide(static_cast<size_t>(out.NumElements()));
    targets_->ReadSample(row, reinterpret_cast<char*>(wide.data()));
    std::transform(wide.begin(), wide.end(), out.mutable_data_as<float>(),
                   [](double v) { return static_cast<float>(v); });
    return out;
  }

  fs::path path_;
  ZipArchive archive_;  // before the arrays: their entries read from it
  std::vector<Array> inputs_;
  std::optional<Array> labels_, targets_;
  std::optional<int64_t> classes_;
  std::vector<std::string> class_names_;
  int64_t total_ = 0;
  std::vector<int64_t> selected_;
  std::string describe_;
};

std::string InputNames(const std::vector<engine::TensorSpec>& inputs) {
  std::vector<std::string> names;
  for (const auto& spec : inputs) names.push_back("'" + spec.name + "'");
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::unique_ptr<Dataset> OpenNpy(const fs::path& path,
                                 const std::vector<engine::TensorSpec>& inputs,
                                 const std::vector<engine::TensorSpec>& outputs,
                                 const DatasetOptions& options) {
  (void)outputs;  // a .npy file holds no labels
  PLASTER_CHECK(inputs.size() == 1,
                "{}: a .npy file holds one array, but the model has {} inputs ({}); save a .npz "
                "with one array named after each input",
                path.string(), inputs.size(), InputNames(inputs));
  std::vector<Array> arrays;
  arrays.push_back(
      ReadArray(path.filename().string(), path.string(), std::make_unique<FileSource>(path)));
  CheckSamples(path.string(), arrays[0].header.dtype, arrays[0].header.shape, "model input",
               inputs[0]);
  return std::make_unique<NumpyDataset>(path, nullptr, std::move(arrays), std::nullopt,
                                        std::nullopt, std::nullopt, "", options);
}

std::unique_ptr<Dataset> OpenNpz(const fs::path& path,
                                 const std::vector<engine::TensorSpec>& inputs,
                                 const std::vector<engine::TensorSpec>& outputs,
                                 const DatasetOptions& options) {
  const std::string file = path.string();
  int code = 0;
  ZipArchive archive(zip_open(file.c_str(), ZIP_RDONLY, &code));
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    Fail("{}: not a readable .npz (zip) archive: {}", file, why);
  }
  // np.savez stores each array as the entry "<key>.npy"; anything else in the archive is ignored.
  std::map<std::string, zip_uint64_t> entries;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t k = 0; k < count; ++k) {
    const char* name = zip_get_name(archive.get(), static_cast<zip_uint64_t>(k), 0);
    const std::string entry = name ? name : "";
    if (entry.size() > 4 && entry.compare(entry.size() - 4, 4, ".npy") == 0) {
      entries[entry.substr(0, entry.size() - 4)] = static_cast<zip_uint64_t>(k);
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, index] : entries) names.push_back("'" + name + "'");
  const std::string listing =
      names.empty() ? "no arrays" : fmt::format("{}", fmt::join(names, ", "));

  auto read = [&](const std::string& name) {
    const std::string what = fmt::format("{}: array '{}'", file, name);
    return ReadArray(name, what,
                     std::make_unique<ZipEntrySource>(archive.get(), entries.at(name), what));
  };
  PLASTER_CHECK(!inputs.empty(), "{}: the model has no inputs to feed", file);
  std::vector<Array> bound;
  std::string notes;
  for (const auto& spec : inputs) {
    std::string name = spec.name;
    if (entries.count(name) == 0 && inputs.size() == 1) {
      // A single-input model takes the one array that is not labels or targets, whatever its
      // key: np.savez(f, images) names it arr_0.
      std::vector<std::string> candidates;
      for (const auto& [key, index] : entries) {
        if (key != kLabels && key != kTargets) candidates.push_back(key);
      }
      PLASTER_CHECK(candidates.size() == 1,
                    "{}: no array named '{}' for the model's input, and {} others to choose from "
                    "({}); name the input's array '{}'",
                    file, name, candidates.empty() ? "no" : "several", listing, name);
      name = candidates[0];
      notes += fmt::format("; array '{}' is input '{}'", name, spec.name);
    }
    PLASTER_CHECK(entries.count(name) != 0,
                  "{}: no array named '{}' for model input '{}' (the file holds {}; the model's "
                  "inputs are {})",
                  file, name, spec.name, listing, InputNames(inputs));
    bound.push_back(read(name));
    CheckSamples(bound.back().what, bound.back().header.dtype, bound.back().header.shape,
                 "model input", spec);
  }

  std::optional<Array> labels, targets;
  PLASTER_CHECK(entries.count(kLabels) == 0 || entries.count(kTargets) == 0,
                "{}: holds both 'labels' and 'targets'; keep the one the model is scored on", file);
  if (entries.count(kLabels) != 0) {
    labels = read(kLabels);
    PLASTER_CHECK(IsIntegerDtype(labels->header.dtype), "{} is {}; class labels must be integers",
                  labels->what, model::DtypeName(labels->header.dtype));
    PLASTER_CHECK(labels->header.shape.size() == 1,
                  "{} has shape {}; class labels are one index per sample, shape [N]", labels->what,
                  model::Shape::Of(labels->header.shape).ToString());
  } else if (entries.count(kTargets) != 0) {
    targets = read(kTargets);
    PLASTER_CHECK(targets->header.dtype == kFloat || targets->header.dtype == kDouble,
                  "{} is {}; targets must be float32 or float64", targets->what,
                  model::DtypeName(targets->header.dtype));
    PLASTER_CHECK(!outputs.empty(), "{}: the model has no outputs to compare targets with",
                  targets->what);
    CheckSampleShape(targets->what, targets->header.shape, "model output", outputs[0]);
  }
  // Every array bound to a role must count the same samples.
  std::vector<const Array*> all;
  for (const Array& a : bound) all.push_back(&a);
  if (labels) all.push_back(&*labels);
  if (targets) all.push_back(&*targets);
  for (const Array* a : all) {
    PLASTER_CHECK(a->count() == all[0]->count(),
                  "{}: array '{}' holds {} samples, but array '{}' holds {}", file, a->name,
                  a->count(), all[0]->name, all[0]->count());
  }

  std::vector<std::string> ignored;
  for (const auto& [key, index] : entries) {
    const bool used =
        key == kLabels || key == kTargets ||
        std::any_of(bound.begin(), bound.end(), [&key](const Array& a) { return a.name == key; });
    if (!used) ignored.push_back("'" + key + "'");
  }
  if (!ignored.empty()) notes += fmt::format("; ignored {}", fmt::join(ignored, ", "));
  return std::make_unique<NumpyDataset>(path, std::move(archive), std::move(bound),
                                        std::move(labels), std::move(targets), ClassCount(outputs),
                                        notes, options);
}

}  // namespace plaster::accuracy::detail
