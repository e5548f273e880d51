// ONNX test-data folders, as the ONNX model zoo ships them next to a model:
//   test_data_set_0/input_0.pb input_1.pb ... [output_0.pb ...], test_data_set_1/ ...
// Each set's tensors hold one or more samples along axis 0. A TensorProto can only be parsed
// whole, so memory is bounded by holding one set at a time.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "accuracy/dataset.h"
#include "accuracy/dataset_sources.h"
#include "core/error.h"
#include "engine/tensor_file.h"

namespace plaster::accuracy::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSetPrefix = "test_data_set_";

struct TestSet {
  fs::path dir;
  uint64_t number = 0;  // the name's suffix, which orders the sets
  int64_t first = 0;    // the dataset row of its first sample
  int64_t count = 0;
};

// The sets under path, in numeric order (test_data_set_10 after test_data_set_9).
std::vector<TestSet> ListSets(const fs::path& path) {
  std::vector<TestSet> sets;
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code unreadable;  // a broken link is no set
    if (!it->is_directory(unreadable) || name.compare(0, kSetPrefix.size(), kSetPrefix) != 0) {
      continue;
    }
    TestSet set;
    set.dir = it->path();
    const char* digits = name.data() + kSetPrefix.size();
    const char* last = name.data() + name.size();
    const auto [stop, error] = std::from_chars(digits, last, set.number);
    if (digits == last || stop != last) continue;  // test_data_set_x is not a set
    PLASTER_CHECK(error == std::errc(), "{}: the set number is too large", set.dir.string());
    sets.push_back(set);
  }
  PLASTER_CHECK(!ec, "{}: cannot be listed: {}", path.string(), ec.message());
  std::sort(sets.begin(), sets.end(), [](const TestSet& a, const TestSet& b) {
    return a.number != b.number ? a.number < b.number : a.dir < b.dir;  // _1 and _01
  });
  return sets;
}

// One sample: row j of t along axis 0.
engine::HostTensor Row(const engine::HostTensor& t, int64_t j) {
  std::vector<int64_t> shape = t.shape();
  const int64_t rows = shape[0];
  shape[0] = 1;
  if (t.is_string()) {
    const auto per_row = static_cast<int64_t>(t.strings().size()) / rows;
    const auto begin = t.strings().begin() + j * per_row;
    return engine::HostTensor::Strings(shape, {begin, begin + per_row});
  }
  const size_t row_bytes = t.size_bytes() / static_cast<size_t>(rows);
  return engine::HostTensor(t.dtype(), shape,
                            t.bytes().substr(static_cast<size_t>(j) * row_bytes, row_bytes));
}

class OnnxTestData final : public Dataset {
 public:
  OnnxTestData(const fs::path& path, const std::vector<engine::TensorSpec>& inputs,
               const std::vector<engine::TensorSpec>& outputs, const DatasetOptions& options)
      : path_(path), input_specs_(inputs), output_specs_(outputs) {
    PLASTER_CHECK(!inputs.empty(), "{}: the model has no inputs to feed", path.string());
    sets_ = ListSets(path);
    PLASTER_ASSERT(!sets_.empty());  // OpenDataset saw one
    with_outputs_ = fs::exists(sets_[0].dir / "output_0.pb");
    // Every set is read once now, to check it and count its samples; only the last one stays.
    for (size_t s = 0; s < sets_.size(); ++s) {
      sets_[s].first = total_;
      sets_[s].count = Load(s);
      total_ += sets_[s].count;
    }
    PLASTER_CHECK(total_ > 0, "{}: the test data sets hold no samples", path.string());
    selected_ = SelectSamples(total_, options);
    describe_ = fmt::format("ONNX test data {}: {} in {} set{}, {}", path.string(),
                            CountPhrase(size(), total_, options, "samples"), sets_.size(),
                            sets_.size() == 1 ? "" : "s",
                            with_outputs_ ? "expected outputs as targets" : "no expected outputs");
  }

  std::string Describe() const override { return describe_; }
  int64_t size() const override { return static_cast<int64_t>(selected_.size()); }
  LabelKind label_kind() const override {
    return with_outputs_ ? LabelKind::kTargets : LabelKind::kNone;
  }
  const std::vector<std::string>& class_names() const override { return class_names_; }

  Sample Read(int64_t i) override {
    PLASTER_ASSERT(i >= 0 && i < size());
    const int64_t row = selected_[static_cast<size_t>(i)];
    const auto after = std::upper_bound(sets_.begin(), sets_.end(), row,
                                        [](int64_t r, const TestSet& s) { return r < s.first; });
    const auto s = static_cast<size_t>(after - sets_.begin()) - 1;
    if (s != loaded_) Load(s);
    const int64_t j = row - sets_[s].first;
    Sample sample;
    sample.source = fmt::format("{}[{}]", sets_[s].dir.filename().string(), j);
    for (const auto& t : inputs_) sample.inputs.push_back(Row(t, j));
    for (const auto& t : outputs_) sample.targets.push_back(Row(t, j));
    return sample;
  }

 private:
  // Reads set s's tensors into inputs_ and outputs_, checks them against the model, and returns
  // the number of samples they hold.
  int64_t Load(size_t s) {
    const fs::path& dir = sets_[s].dir;
    loaded_ = static_cast<size_t>(-1);  // until it has loaded and passed every check
    inputs_.clear();
    outputs_.clear();
    int64_t count = -1;
    std::string counted_by;
    auto read = [&](const std::string& file, const char* role, const engine::TensorSpec& spec) {
      const fs::path tensor_path = dir / file;
      PLASTER_CHECK(fs::exists(tensor_path), "{}: missing, for {} '{}'", tensor_path.string(), role,
                    spec.name);
      engine::HostTensor t = engine::ReadTensorProto(tensor_path);
      CheckSamples(tensor_path.string(), t.dtype(), t.shape(), role, spec);
      if (count < 0) {
        count = t.shape()[0];
        counted_by = file;
      }
      PLASTER_CHECK(t.shape()[0] == count, "{}: {} holds {} samples (axis 0), but {} holds {}",
                    dir.string(), file, t.shape()[0], counted_by, count);
      return t;
    };
    for (size_t k = 0; k < input_specs_.size(); ++k) {
      inputs_.push_back(read(fmt::format("input_{}.pb", k), "model input", input_specs_[k]));
    }
    PLASTER_CHECK(!fs::exists(dir / fmt::format("input_{}.pb", input_specs_.size())),
                  "{}: holds input_{}.pb, but the model has only {} inputs", dir.string(),
                  input_specs_.size(), input_specs_.size());
    const bool with_outputs = fs::exists(dir / "output_0.pb");
    PLASTER_CHECK(with_outputs == with_outputs_, "{}: {} expected outputs, but {} {}", dir.string(),
                  with_outputs ? "holds" : "has no", sets_[0].dir.filename().string(),
                  with_outputs_ ? "does" : "does not");
    if (with_outputs) {
      for (size_t k = 0; k < output_specs_.size(); ++k) {
        outputs_.push_back(read(fmt::format("output_{}.pb", k), "model output", output_specs_[k]));
      }
      PLASTER_CHECK(!fs::exists(dir / fmt::format("output_{}.pb", output_specs_.size())),
                    "{}: holds output_{}.pb, but the model has only {} outputs", dir.string(),
                    output_specs_.size(), output_specs_.size());
    }
    loaded_ = s;
    return count;
  }

  fs::path path_;
  std::vector<engine::TensorSpec> input_specs_, output_specs_;
  std::vector<TestSet> sets_;
  bool with_outputs_ = false;
  int64_t total_ = 0;
  std::vector<int64_t> selected_;
  std::string describe_;
  std::vector<std::string> class_names_;
  size_t loaded_ = static_cast<size_t>(-1);
  std::vector<engine::HostTensor> inputs_, outputs_;  // set loaded_'s tensors
};

}  // namespace

std::unique_ptr<Dataset> OpenOnnxTestData(const fs::path& path,
                                          const std::vector<engine::TensorSpec>& inputs,
                                          const std::vector<engine::TensorSpec>& outputs,
                                          const DatasetOptions& options) {
  return std::make_unique<OnnxTestData>(path, inputs, outputs, options);
}

}  // namespace plaster::accuracy::detail
