// Datasets: every source built in a temporary folder by the test (.npy by WriteNpy, .npz by
// NumPy's own np.savez / np.savez_compressed, ONNX test data by TensorProto, images by a tiny PNG
// writer), read back sample by sample and in any order; the preprocessing of images checked
// against values computed here by hand; and each kind of bad input refused with its name.
#include "accuracy/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
// This target does not get ONNX's compile definitions; ONNX_ML picks the onnx-ml.pb.h that the
// installed library is built from.
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include <array>
#include <functional>

#include "engine/tensor_file.h"
#include "support/fixtures.h"

namespace plaster::accuracy {
namespace {

using engine::HostTensor;
using engine::TensorSpec;
using onnx::TensorProto;
using plaster::testing::ErrorOf;
using plaster::testing::TempDir;
using plaster::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace fs = std::filesystem;

constexpr int32_t kF32 = TensorProto::FLOAT;
constexpr int32_t kI64 = TensorProto::INT64;

std::vector<float> Floats(const HostTensor& t) {
  return {t.data_as<float>(), t.data_as<float>() + t.NumElements()};
}

// Runs a Python snippet with numpy as np, zipfile and `out` (the folder) defined.
bool RunPython(const TempDir& dir, const std::string& body) {
  WriteFile(dir / "make.py", "import sys, zipfile\nimport numpy as np\nout = sys.argv[1]\n" + body);
  const auto r = plaster::testing::RunCommand(
      std::string(PLASTER_PYTHON) + " " + (dir / "make.py").string() + " " + dir.path().string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0;
}

// ---------------------------------------------------------------------------------------------
// Selection, presets, names

TEST(SelectSamples, KeepsAllOrTheFirstLimit) {
  EXPECT_THAT(SelectSamples(4, {}), ElementsAre(0, 1, 2, 3));
  DatasetOptions options;
  options.limit = 2;
  EXPECT_THAT(SelectSamples(4, options), ElementsAre(0, 1));
  options.limit = 10;
  EXPECT_THAT(SelectSamples(4, options), ElementsAre(0, 1, 2, 3));
  options.limit = 0;
  EXPECT_THAT(SelectSamples(4, options), IsEmpty());
  options.subset_seed = 5;  // a seed without a limit changes nothing
  options.limit.reset();
  EXPECT_THAT(SelectSamples(3, options), ElementsAre(0, 1, 2));
  options.limit = -1;
  EXPECT_THAT(ErrorOf([&] { SelectSamples(4, options); }), HasSubstr("must not be negative"));
}

TEST(SelectSamples, SeededSubsetIsDeterministicSortedAndUniform) {
  DatasetOptions options;
  options.limit = 10;
  options.subset_seed = 7;
  const std::vector<int64_t> a = SelectSamples(1000, options);
  EXPECT_EQ(a, SelectSamples(1000, options));
  ASSERT_EQ(a.size(), 10u);
  for (size_t k = 1; k < a.size(); ++k) EXPECT_LT(a[k - 1], a[k]);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 1000);
  EXPECT_NE(a.back(), 9);  // not the first ten
  options.subset_seed = 8;
  EXPECT_NE(SelectSamples(1000, options), a);
  // Each of 10 indices is kept with probability 3/10: 900 of 3000 draws, σ ≈ 25.
  options.limit = 3;
  std::vector<int> kept(10);
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    options.subset_seed = seed;
    for (int64_t i : SelectSamples(10, options)) ++kept[static_cast<size_t>(i)];
  }
  for (int count : kept) {
    EXPECT_GT(count, 800);
    EXPECT_LT(count, 1000);
  }
}

TEST(ImagePresets, KnownAndUnknown) {
  const ImagePreset imagenet = FindImagePreset("imagenet");
  EXPECT_FLOAT_EQ(imagenet.mean[0], 0.485f);
  EXPECT_FLOAT_EQ(imagenet.stddev[2], 0.225f);
  EXPECT_FLOAT_EQ(FindImagePreset("inception").stddev[1], 0.5f);
  EXPECT_FLOAT_EQ(FindImagePreset("raw").stddev[0], 1.0f / 255);
  EXPECT_FLOAT_EQ(FindImagePreset("unit").mean[1], 0.0f);
  EXPECT_EQ(ErrorOf([] { FindImagePreset("vgg"); }),
            "unknown image preset 'vgg' (known: imagenet, inception, unit, raw)");
  EXPECT_STREQ(LabelKindName(LabelKind::kNone), "none");
  EXPECT_STREQ(LabelKindName(LabelKind::kClass), "class");
  EXPECT_STREQ(LabelKindName(LabelKind::kTargets), "targets");
}

TEST(OpenDataset, SaysWhatItExpectedOfAPath) {
  TempDir dir;
  const std::vector<TensorSpec> in = {{"x", kF32, {1, 2}}};
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir / "nothing", in, {}, {}); }),
              HasSubstr("nothing: no such file or folder (expected a .npz or .npy file, a "
                        "folder of ONNX test_data_set_* folders, or an image folder"));
  WriteFile(dir / "notes.txt", "hello");
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir / "notes.txt", in, {}, {}); }),
              HasSubstr("notes.txt: not a dataset (expected"));
  fs::create_directories(dir / "empty");
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir / "empty", in, {}, {}); }),
              HasSubstr("empty: a folder with no subfolders (expected"));
}

// ---------------------------------------------------------------------------------------------
// .npy

HostTensor Iota(const std::vector<int64_t>& shape) {
  HostTensor t(kF32, shape);
  for (int64_t k = 0; k < t.NumElements(); ++k) t.mutable_data_as<float>()[k] = float(k);
  return t;
}

TEST(NpyDataset, ReadsOneSampleAtATimeInAnyOrder) {
  TempDir dir;
  engine::WriteNpy(dir / "x.npy", Iota({5, 2, 3}));
  auto ds = OpenDataset(dir / "x.npy", {{"input", kF32, {4, 2, 3}}}, {{"y", kF32, {4, 10}}}, {});
  EXPECT_EQ(ds->size(), 5);
  EXPECT_EQ(ds->label_kind(), LabelKind::kNone);
  EXPECT_THAT(ds->class_names(), IsEmpty());
  EXPECT_THAT(ds->Describe(), HasSubstr("x.npy: 5 samples, no labels"));
  for (int64_t i : {4, 0, 3, 3, 1}) {
    const Sample s = ds->Read(i);
    ASSERT_EQ(s.inputs.size(), 1u);
    EXPECT_EQ(s.inputs[0].shape(), (std::vector<int64_t>{1, 2, 3}));
    const float f = float(6 * i);
    EXPECT_THAT(Floats(s.inputs[0]), ElementsAre(f, f + 1, f + 2, f + 3, f + 4, f + 5));
    EXPECT_EQ(s.source, "x.npy[" + std::to_string(i) + "]");
    EXPECT_EQ(s.label, -1);
    EXPECT_THAT(s.targets, IsEmpty());
  }
  DatasetOptions options;
  options.limit = 2;
  auto first = OpenDataset(dir / "x.npy", {{"input", kF32, {1, 2, 3}}}, {}, options);
  EXPECT_EQ(first->size(), 2);
  EXPECT_EQ(first->Read(1).source, "x.npy[1]");
  EXPECT_THAT(first->Describe(), HasSubstr("the first 2 of 5 samples"));
}

TEST(NpyDataset, RefusesWhatDoesNotFitTheModel) {
  TempDir dir;
  const fs::path x = dir / "x.npy";
  engine::WriteNpy(x, Iota({5, 2, 3}));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(x, {{"input", kI64, {1, 2, 3}}}, {}, {});
              }),
              HasSubstr("x.npy is float32, but model input 'input' is int64"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(x, {{"input", kF32, {1, 3, 2}}}, {}, {});
              }),
              HasSubstr("x.npy holds samples of shape 2x3, but model input 'input' takes 3x2"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(x, {{"input", kF32, {1, 6}}}, {}, {});
              }),
              HasSubstr("holds samples of shape 2x3, but model input 'input' takes 6"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(x, {{"a", kF32, {1, 2, 3}}, {"b", kF32, {1, 2, 3}}}, {}, {});
              }),
              HasSubstr("a .npy file holds one array, but the model has 2 inputs ('a', 'b')"));
  const std::string bytes = plaster::testing::Slurp(x);
  WriteFile(dir / "cut.npy", bytes.substr(0, bytes.size() - 4));
  EXPECT_THAT(
      ErrorOf([&] {
        OpenDataset(dir / "cut.npy", {{"input", kF32, {1, 2, 3}}}, {}, {});
      }),
      HasSubstr("cut.npy: .npy data holds 116 bytes, but shape 5x2x3 of float32 needs 120"));
  WriteFile(dir / "zero.npy", engine::SerializeNpy(Iota({0, 2, 3})));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir / "zero.npy", {{"input", kF32, {1, 2, 3}}}, {}, {});
              }),
              HasSubstr("zero.npy holds no samples"));
}

// ---------------------------------------------------------------------------------------------
// .npz, as NumPy writes them

// 300 samples of 4x32x32 floats (16 KiB each, so skipping through a deflated entry crosses many
// buffers), written stored (np.savez) and deflated (np.savez_compressed).
class NpzFormats : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    made_ = RunPython(*dir_, R"(
x = np.arange(300 * 4096, dtype=np.float32).reshape(300, 4, 32, 32)
labels = (np.arange(300) % 3).astype(np.int32)
extra = np.zeros(3)
np.savez(out + '/stored.npz', x=x, labels=labels, extra=extra)
np.savez_compressed(out + '/deflated.npz', x=x, labels=labels, extra=extra)
for name, method in (('stored', zipfile.ZIP_STORED), ('deflated', zipfile.ZIP_DEFLATED)):
    assert all(i.compress_type == method for i in zipfile.ZipFile(f'{out}/{name}.npz').infolist())
)");
  }
  static void TearDownTestSuite() { delete dir_; }

  fs::path File() const { return *dir_ / GetParam(); }
  static std::unique_ptr<Dataset> Open(const fs::path& file, const DatasetOptions& options) {
    return OpenDataset(file, {{"x", kF32, {8, 4, 32, 32}}}, {{"logits", kF32, {8, 3}}}, options);
  }
  static void ExpectRow(const Sample& s, int64_t row) {
    ASSERT_EQ(s.inputs.size(), 1u);
    ASSERT_EQ(s.inputs[0].shape(), (std::vector<int64_t>{1, 4, 32, 32}));
    const float* v = s.inputs[0].data_as<float>();
    EXPECT_EQ(v[0], float(row * 4096));
    EXPECT_EQ(v[4095], float(row * 4096 + 4095));
    EXPECT_EQ(s.label, row % 3);
  }

  static TempDir* dir_;
  static bool made_;
};
TempDir* NpzFormats::dir_ = nullptr;
bool NpzFormats::made_ = false;

TEST_P(NpzFormats, ReadsForwardsAndBackwards) {
  ASSERT_TRUE(made_);
  auto ds = Open(File(), {});
  EXPECT_EQ(ds->size(), 300);
  EXPECT_EQ(ds->label_kind(), LabelKind::kClass);
  EXPECT_THAT(ds->Describe(), HasSubstr(std::string(GetParam()) + ": 300 samples, class labels"));
  EXPECT_THAT(ds->Describe(), HasSubstr("ignored 'extra'"));
  for (int64_t i = 0; i < 300; ++i) ExpectRow(ds->Read(i), i);
  for (int64_t i : {299, 150, 0, 1, 298, 7, 7}) ExpectRow(ds->Read(i), i);
  EXPECT_EQ(ds->Read(17).source, std::string(GetParam()) + "[17]");
}

TEST_P(NpzFormats, SeededSubsetKeepsTheFileOrder) {
  ASSERT_TRUE(made_);
  DatasetOptions options;
  options.limit = 5;
  options.subset_seed = 1;
  auto ds = Open(File(), options);
  const std::vector<int64_t> rows = SelectSamples(300, options);
  ASSERT_EQ(ds->size(), 5);
  for (int64_t i = 4; i >= 0; --i) {
    const Sample s = ds->Read(i);
    ExpectRow(s, rows[static_cast<size_t>(i)]);
    EXPECT_EQ(s.source, std::string(GetParam()) + "[" + std::to_string(rows[i]) + "]");
  }
  EXPECT_THAT(ds->Describe(), HasSubstr("5 of 300 samples (a random subset, seed 1)"));
}

INSTANTIATE_TEST_SUITE_P(StoredAndDeflated, NpzFormats,
                         ::testing::Values("stored.npz", "deflated.npz"));

// Small archives, one per rule.
class Npz : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    made_ = RunPython(*dir_, R"(
x = np.arange(7 * 6, dtype=np.float32).reshape(7, 2, 3)
np.savez(out + '/positional.npz', x, labels=np.array([0, 1, 2, 0, 1, 2, 0], dtype=np.uint8))
np.savez(out + '/two_inputs.npz', a=x, b=np.arange(7, dtype=np.int64).reshape(7, 1))
np.savez(out + '/short_labels.npz', x=x, labels=np.arange(6))
np.savez(out + '/bad_labels.npz', x=x, labels=np.array([0, 1, 5, 0, -1, 2, 1]))
np.savez(out + '/float_labels.npz', x=x, labels=np.zeros(7))
np.savez(out + '/targets.npz', x=x, targets=np.arange(7 * 4).reshape(7, 4) / 4.0)
np.savez(out + '/f64.npz', x=x.astype(np.float64))
np.savez(out + '/ambiguous.npz', p=x, q=x)
np.savez(out + '/both.npz', x=x, labels=np.zeros(7, dtype=np.int64), targets=np.zeros((7, 4)))
open(out + '/garbage.npz', 'wb').write(b'not a zip archive at all')
)");
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override { ASSERT_TRUE(made_); }

  static std::unique_ptr<Dataset> Open(const std::string& name,
                                       const std::vector<TensorSpec>& inputs,
                                       const std::vector<TensorSpec>& outputs = {}) {
    return OpenDataset(*dir_ / name, inputs, outputs, {});
  }
  static std::string OpenError(const std::string& name, const std::vector<TensorSpec>& inputs,
                               const std::vector<TensorSpec>& outputs = {}) {
    return ErrorOf([&] { Open(name, inputs, outputs); });
  }

  static TempDir* dir_;
  static bool made_;
  const std::vector<TensorSpec> x_ = {{"x", kF32, {1, 2, 3}}};
};
TempDir* Npz::dir_ = nullptr;
bool Npz::made_ = false;

TEST_F(Npz, SingleInputTakesTheOnlyOtherArray) {
  auto ds = Open("positional.npz", {{"image", kF32, {1, 2, 3}}});
  EXPECT_THAT(ds->Describe(), HasSubstr("array 'arr_0' is input 'image'"));
  EXPECT_EQ(ds->label_kind(), LabelKind::kClass);
  const Sample s = ds->Read(5);
  EXPECT_THAT(Floats(s.inputs[0]), ElementsAre(30, 31, 32, 33, 34, 35));
  EXPECT_EQ(s.label, 2);  // stored as uint8
  EXPECT_THAT(OpenError("ambiguous.npz", {{"image", kF32, {1, 2, 3}}}),
              HasSubstr("ambiguous.npz: no array named 'image' for the model's input, and "
                        "several others to choose from ('p', 'q')"));
}

TEST_F(Npz, ArraysAreMatchedToInputsByName) {
  auto ds = Open("two_inputs.npz", {{"b", kI64, {1, 1}}, {"a", kF32, {1, 2, 3}}});
  EXPECT_EQ(ds->label_kind(), LabelKind::kNone);
  const Sample s = ds->Read(3);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].shape(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(s.inputs[0].data_as<int64_t>()[0], 3);
  EXPECT_THAT(Floats(s.inputs[1]), ElementsAre(18, 19, 20, 21, 22, 23));
  EXPECT_THAT(OpenError("two_inputs.npz", {{"a", kF32, {1, 2, 3}}, {"c", kF32, {1, 1}}}),
              HasSubstr("two_inputs.npz: no array named 'c' for model input 'c' (the file holds "
                        "'a', 'b'"));
}

TEST_F(Npz, LabelsAreCheckedWhenRead) {
  auto ds = Open("bad_labels.npz", x_, {{"logits", kF32, {1, 3}}});
  EXPECT_EQ(ds->Read(0).label, 0);
  EXPECT_EQ(ds->Read(1).label, 1);
  EXPECT_THAT(ErrorOf([&] { ds->Read(2); }),
              HasSubstr("bad_labels.npz: labels[2] is 5, out of range for the model's 3 classes "
                        "(0..2)"));
  EXPECT_THAT(ErrorOf([&] { ds->Read(4); }),
              HasSubstr("bad_labels.npz: labels[4] is -1; class indices start at 0"));
  // Without a row of scores to index there is no upper bound.
  EXPECT_EQ(Open("bad_labels.npz", x_, {{"y", kF32, {1}}})->Read(2).label, 5);
  EXPECT_THAT(OpenError("float_labels.npz", x_),
              HasSubstr("float_labels.npz: array 'labels' is float64; class labels must be "
                        "integers"));
  EXPECT_THAT(OpenError("both.npz", x_), HasSubstr("holds both 'labels' and 'targets'"));
}

TEST_F(Npz, TargetsAreFloat32SlicesOfTheFirstOutput) {
  auto ds = Open("targets.npz", x_, {{"y", kF32, {1, 4}}, {"z", kF32, {1, 9}}});
  EXPECT_EQ(ds->label_kind(), LabelKind::kTargets);
  const Sample s = ds->Read(2);
  ASSERT_EQ(s.targets.size(), 1u);
  EXPECT_EQ(s.targets[0].dtype(), kF32);  // saved as float64
  EXPECT_EQ(s.targets[0].shape(), (std::vector<int64_t>{1, 4}));
  EXPECT_THAT(Floats(s.targets[0]), ElementsAre(2, 2.25, 2.5, 2.75));
  EXPECT_EQ(s.label, -1);
  EXPECT_THAT(OpenError("targets.npz", x_, {{"y", kF32, {1, 5}}}),
              HasSubstr("targets.npz: array 'targets' holds samples of shape 4, but model "
                        "output 'y' takes 5"));
}

TEST_F(Npz, RefusesArraysThatDoNotFit) {
  EXPECT_THAT(OpenError("f64.npz", x_),
              HasSubstr("f64.npz: array 'x' is float64, but model input 'x' is float32"));
  EXPECT_THAT(OpenError("short_labels.npz", x_),
              HasSubstr("short_labels.npz: array 'labels' holds 6 samples, but array 'x' holds 7"));
  EXPECT_THAT(OpenError("two_inputs.npz", {{"a", kF32, {1, 3, 2}}, {"b", kI64, {1, 1}}}),
              HasSubstr("array 'a' holds samples of shape 2x3, but model input 'a' takes 3x2"));
  EXPECT_THAT(OpenError("garbage.npz", x_), HasSubstr("garbage.npz: not a readable .npz"));
}

// ---------------------------------------------------------------------------------------------
// ONNX test data

// A float tensor whose element [r, c] is base + 10 r + c.
void WriteTensor(const fs::path& path, int32_t dtype, std::vector<int64_t> dims, float base) {
  TensorProto proto;
  proto.set_data_type(dtype);
  for (int64_t d : dims) proto.add_dims(d);
  int64_t rows = dims[0], cols = 1;
  for (size_t k = 1; k < dims.size(); ++k) cols *= dims[k];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float v = base + float(10 * r + c);
      if (dtype == kF32) proto.add_float_data(v);
      if (dtype == kI64) proto.add_int64_data(static_cast<int64_t>(v));
    }
  }
  WriteFile(path, proto.SerializeAsString());
}

TEST(OnnxTestData, SplitsSetsIntoSamplesInNumericOrder) {
  TempDir dir;
  // Sets 0, 2 and 10 with 2, 1 and 3 samples: lexicographic order would put 10 before 2.
  for (auto [set, rows] : std::vector<std::pair<int, int64_t>>{{0, 2}, {2, 1}, {10, 3}}) {
    const fs::path d = dir / ("test_data_set_" + std::to_string(set));
    WriteTensor(d / "input_0.pb", kF32, {rows, 3}, float(100 * set));
    WriteTensor(d / "output_0.pb", kF32, {rows, 2}, float(-100 * set));
  }
  fs::create_directories(dir / "test_data_set_x");  // not a set
  const std::vector<TensorSpec> in = {{"in", kF32, {4, 3}}}, out = {{"out", kF32, {4, 2}}};
  auto ds = OpenDataset(dir.path(), in, out, {});
  EXPECT_EQ(ds->size(), 6);
  EXPECT_EQ(ds->label_kind(), LabelKind::kTargets);
  EXPECT_THAT(ds->Describe(), HasSubstr("6 samples in 3 sets, expected outputs as targets"));
  const std::vector<std::string> sources = {"test_data_set_0[0]",  "test_data_set_0[1]",
                                            "test_data_set_2[0]",  "test_data_set_10[0]",
                                            "test_data_set_10[1]", "test_data_set_10[2]"};
  for (int64_t i : {5, 0, 3, 2, 1, 4}) {
    const Sample s = ds->Read(i);
    EXPECT_EQ(s.source, sources[static_cast<size_t>(i)]);
  }
  const Sample s = ds->Read(5);
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].shape(), (std::vector<int64_t>{1, 3}));
  EXPECT_THAT(Floats(s.inputs[0]), ElementsAre(1020, 1021, 1022));
  ASSERT_EQ(s.targets.size(), 1u);
  EXPECT_THAT(Floats(s.targets[0]), ElementsAre(-980, -979));
  EXPECT_THAT(Floats(ds->Read(1).inputs[0]), ElementsAre(10, 11, 12));

  DatasetOptions options;
  options.limit = 2;
  options.subset_seed = 3;
  auto subset = OpenDataset(dir.path(), in, out, options);
  const std::vector<int64_t> rows = SelectSamples(6, options);
  EXPECT_EQ(subset->Read(1).source, sources[static_cast<size_t>(rows[1])]);
}

TEST(OnnxTestData, InputsOnlyAndSeveralInputs) {
  TempDir dir;
  WriteTensor(dir / "test_data_set_0" / "input_0.pb", kF32, {2, 3}, 0);
  WriteTensor(dir / "test_data_set_0" / "input_1.pb", kI64, {2, 1}, 5);
  auto ds = OpenDataset(dir.path(), {{"a", kF32, {1, 3}}, {"b", kI64, {1, 1}}}, {}, {});
  EXPECT_EQ(ds->label_kind(), LabelKind::kNone);
  const Sample s = ds->Read(1);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[1].data_as<int64_t>()[0], 15);
  EXPECT_THAT(s.targets, IsEmpty());
}

TEST(OnnxTestData, RefusesInconsistentSets) {
  TempDir dir;
  const fs::path set0 = dir / "test_data_set_0", set1 = dir / "test_data_set_1";
  WriteTensor(set0 / "input_0.pb", kF32, {2, 3}, 0);
  WriteTensor(set0 / "output_0.pb", kF32, {2, 2}, 0);
  WriteTensor(set1 / "input_0.pb", kF32, {2, 3}, 0);
  const std::vector<TensorSpec> in = {{"in", kF32, {1, 3}}}, out = {{"out", kF32, {1, 2}}};
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir.path(), in, out, {}); }),
              HasSubstr("test_data_set_1: has no expected outputs, but test_data_set_0 does"));
  fs::remove(set0 / "output_0.pb");
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {{"in", kI64, {1, 3}}}, out, {});
              }),
              HasSubstr("input_0.pb is float32, but model input 'in' is int64"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {in[0], {"mask", kF32, {1, 3}}}, out, {});
              }),
              HasSubstr("input_1.pb: missing, for model input 'mask'"));
  WriteTensor(set0 / "input_1.pb", kF32, {3, 3}, 0);
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {in[0], {"mask", kF32, {1, 3}}}, out, {});
              }),
              HasSubstr("input_1.pb holds 3 samples (axis 0), but input_0.pb holds 2"));
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir.path(), in, out, {}); }),
              HasSubstr("holds input_1.pb, but the model has only 1 inputs"));
}

// ---------------------------------------------------------------------------------------------
// Image folders

// A PNG (8-bit RGB) with stored, uncompressed deflate blocks: enough for OpenCV to decode.
uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
std::string BigEndian(uint32_t v) {
  return {char(v >> 24), char(v >> 16 & 0xFF), char(v >> 8 & 0xFF), char(v & 0xFF)};
}
using Rgb = std::array<uint8_t, 3>;
void WritePng(const fs::path& path, int height, int width, const std::function<Rgb(int, int)>& px) {
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < width; ++x) {
      for (uint8_t v : px(y, x)) raw += char(v);
    }
  }
  std::string zlib = "\x78\x01";
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  for (size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    zlib += char(at + n == raw.size() ? 1 : 0);
    zlib += {char(n & 0xFF), char(n >> 8), char(~n & 0xFF), char(~n >> 8 & 0xFF)};
    zlib += raw.substr(at, n);
  }
  zlib += BigEndian(b << 16 | a);
  auto chunk = [](const std::string& type, const std::string& data) {
    return BigEndian(uint32_t(data.size())) + type + data + BigEndian(Crc32(type + data));
  };
  const std::string header =
      BigEndian(uint32_t(width)) + BigEndian(uint32_t(height)) + std::string("\x08\x02\0\0\0", 5);
  WriteFile(path, std::string("\x89PNG\r\n\x1a\n") + chunk("IHDR", header) + chunk("IDAT", zlib) +
                      chunk("IEND", ""));
}

// Pixel (y, x) of the 4x6 test image, RGB: every value names its position and channel.
Rgb Known(int y, int x) {
  return {uint8_t(200 + 10 * y + x), uint8_t(100 + 10 * y + x), uint8_t(10 * y + x)};
}

TEST(ImageFolder, PreprocessesAKnownImageExactly) {
  TempDir dir;
  WritePng(dir / "only" / "img.png", 4, 6, Known);
  DatasetOptions options;
  options.resize = 4;  // already the shorter side: no resampling
  // A 2x2 centre crop of 4x6 starts at row 1, column 2.
  auto ds = OpenDataset(dir.path(), {{"x", kF32, {1, 3, 2, 2}}}, {}, options);
  const Sample s = ds->Read(0);
  ASSERT_EQ(s.inputs[0].shape(), (std::vector<int64_t>{1, 3, 2, 2}));
  const std::vector<float> v = Floats(s.inputs[0]);
  const double mean[3] = {0.485, 0.456, 0.406}, stddev[3] = {0.229, 0.224, 0.225};
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 2; ++y) {
      for (int x = 0; x < 2; ++x) {
        const double want = (Known(1 + y, 2 + x)[c] / 255.0 - mean[c]) / stddev[c];
        EXPECT_NEAR(v[size_t((c * 2 + y) * 2 + x)], want, 1e-5) << c << y << x;
      }
    }
  }
  EXPECT_NEAR(v[0], (212 / 255.0 - 0.485) / 0.229, 1e-5);  // R of source pixel (1, 2)

  options.image_preset = "unit";  // channels last, values in [0,1]
  auto nhwc = OpenDataset(dir.path(), {{"x", kF32, {1, 2, 2, 3}}}, {}, options);
  const std::vector<float> u = Floats(nhwc->Read(0).inputs[0]);
  EXPECT_THAT(
      u, ElementsAre(212 / 255.f, 112 / 255.f, 12 / 255.f, 213 / 255.f, 113 / 255.f, 13 / 255.f,
                     222 / 255.f, 122 / 255.f, 22 / 255.f, 223 / 255.f, 123 / 255.f, 23 / 255.f));
}

TEST(ImageFolder, ResizesTheShorterSideKeepingTheAspect) {
  TempDir dir;
  // 4x8, uniform in 2x2 blocks: halving it (shorter side 4 → 2) gives 2x4 of the block values,
  // exactly, whatever the bilinear weights; the 2x2 crop then starts at column 1.
  const auto block = [](int y, int x) { return Rgb{uint8_t(100 * (y / 2) + 20 * (x / 2)), 7, 9}; };
  WritePng(dir / "c" / "wide.png", 4, 8, block);
  DatasetOptions options;
  options.resize = 2;
  options.image_preset = "raw";
  auto ds = OpenDataset(dir.path(), {{"x", kF32, {1, 3, 2, 2}}}, {}, options);
  const std::vector<float> v = Floats(ds->Read(0).inputs[0]);
  const float want[4] = {20, 40, 120, 140};  // blocks (0,1) (0,2) (1,1) (1,2), red
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(v[size_t(k)], want[k], 1e-3);
  for (int k = 4; k < 8; ++k) EXPECT_NEAR(v[size_t(k)], 7, 1e-3);
  for (int k = 8; k < 12; ++k) EXPECT_NEAR(v[size_t(k)], 9, 1e-3);
  // An odd margin is split as torchvision's round() does, half to even: 3 → 2 crops at 0.
  WritePng(dir / "c" / "wide.png", 3, 3, Known);
  options.resize = 0;
  auto crop = OpenDataset(dir.path(), {{"x", kF32, {1, 2, 2, 3}}}, {}, options);
  EXPECT_NEAR(Floats(crop->Read(0).inputs[0])[0], 200, 1e-3);
}

TEST(ImageFolder, ClassesAreSortedSubfoldersAndOnlyImagesCount) {
  TempDir dir;
  WritePng(dir / "dog" / "c.PNG", 2, 2, Known);
  WritePng(dir / "cat" / "sub" / "b.png", 2, 2, Known);
  WritePng(dir / "cat" / "a.png", 2, 2, Known);
  WritePng(dir / "cat" / "z.jpeg", 2, 2, Known);  // PNG bytes: OpenCV goes by content
  WriteFile(dir / "dog" / "readme.txt", "not an image");
  WriteFile(dir / "dog" / "._c.png", "macOS metadata");
  WritePng(dir / ".git" / "x.png", 2, 2, Known);
  DatasetOptions options;
  options.resize = 0;
  auto ds = OpenDataset(dir.path(), {{"x", kF32, {1, 3, 2, 2}}}, {{"y", kF32, {1, 1000}}}, options);
  EXPECT_EQ(ds->label_kind(), LabelKind::kClass);
  EXPECT_THAT(ds->class_names(), ElementsAre("cat", "dog"));
  ASSERT_EQ(ds->size(), 4);
  EXPECT_THAT(ds->Describe(), HasSubstr(": 4 images, 2 classes (imagenet preset"));
  // torchvision's order: a folder's own images by name, then its subfolders'.
  const std::vector<std::pair<std::string, int64_t>> want = {
      {"cat/a.png", 0}, {"cat/z.jpeg", 0}, {"cat/sub/b.png", 0}, {"dog/c.PNG", 1}};
  for (int64_t i : {3, 0, 2, 1}) {
    const Sample s = ds->Read(i);
    EXPECT_EQ(s.source, want[size_t(i)].first);
    EXPECT_EQ(s.label, want[size_t(i)].second);
  }
}

TEST(ImageFolder, RefusesWhatItCannotUse) {
  TempDir dir;
  WritePng(dir / "a" / "img.png", 4, 4, Known);
  WritePng(dir / "b" / "img.png", 4, 4, Known);
  WriteFile(dir / "c" / "x.png", "garbage, not a PNG");
  const std::vector<TensorSpec> in = {{"x", kF32, {1, 3, 4, 4}}};
  DatasetOptions options;
  options.resize = 0;
  auto ds = OpenDataset(dir.path(), in, {}, options);
  EXPECT_EQ(ds->Read(0).label, 0);
  EXPECT_THAT(ErrorOf([&] { ds->Read(2); }), HasSubstr("c/x.png: cannot be decoded as an image"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), in, {{"y", kF32, {1, 2}}}, options);
              }),
              HasSubstr("3 class folders, but the model's output 'y' scores 2 classes"));
  const std::string needs = "image folders feed a model with one float32 input of shape";
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {{"x", kI64, {1, 3, 4, 4}}}, {}, options);
              }),
              HasSubstr(needs + " [B,3,H,W] or [B,H,W,3], but input 'x' is int64[1x3x4x4]"));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {{"x", kF32, {1, 4, 4, 4}}}, {}, options);
              }),
              HasSubstr(needs));
  EXPECT_THAT(ErrorOf([&] {
                OpenDataset(dir.path(), {in[0], in[0]}, {}, options);
              }),
              HasSubstr("but the model has 2 inputs"));
  auto big = OpenDataset(dir.path(), {{"x", kF32, {1, 3, 5, 5}}}, {}, options);
  EXPECT_THAT(ErrorOf([&] { big->Read(0); }),
              HasSubstr("a/img.png: the image is 4x4, smaller than the 5x5 crop"));
  options.resize = 3;
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir.path(), in, {}, options); }),
              HasSubstr("resizing the shorter side to 3 leaves it smaller than the 4x4 crop"));
  options.image_preset = "vgg";
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir.path(), in, {}, options); }),
              HasSubstr("unknown image preset 'vgg'"));
  fs::remove(dir / "c" / "x.png");
  WriteFile(dir / "c" / "notes.txt", "no images here");
  EXPECT_THAT(ErrorOf([&] { OpenDataset(dir.path(), in, {}, {}); }),
              HasSubstr("class folder 'c' holds no images (.jpg .jpeg .png"));
}

// The whole transform on images that need real resampling, against Python's OpenCV (the same
// library) with torchvision's size and crop arithmetic written out independently. Skipped where
// the python3-opencv bindings are absent.
TEST(ImageFolder, MatchesTorchvisionArithmeticOnOddSizes) {
  TempDir dir;
  if (plaster::testing::RunCommand(std::string(PLASTER_PYTHON) + " -c 'import cv2'").exit_code !=
      0) {
    GTEST_SKIP() << "no cv2 in " << PLASTER_PYTHON;
  }
  ASSERT_TRUE(RunPython(dir, R"(
import cv2, os
rng = np.random.default_rng(5)
for name, h, w in (('wide', 37, 53), ('tall', 41, 29)):
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    os.makedirs(f'{out}/images/{name}')
    cv2.imwrite(f'{out}/images/{name}/img.png', img)
    size = 20
    nh, nw = (size, int(size * w / h)) if h <= w else (int(size * h / w), size)
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = int(round((nh - 16) / 2.0)), int(round((nw - 16) / 2.0))
    rgb = small[top:top + 16, left:left + 16, ::-1].astype(np.float32) / 255
    x = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.save(f'{out}/{name}.npy', x.transpose(2, 0, 1)[None].astype(np.float32))
)"));
  DatasetOptions options;
  options.resize = 20;
  auto ds = OpenDataset(dir / "images", {{"x", kF32, {1, 3, 16, 16}}}, {}, options);
  ASSERT_EQ(ds->size(), 2);
  for (int64_t i = 0; i < 2; ++i) {
    const std::vector<float> got = Floats(ds->Read(i).inputs[0]);
    const std::vector<float> want =
        Floats(engine::ReadNpy(dir / (ds->class_names()[size_t(i)] + ".npy")));
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) ASSERT_NEAR(got[k], want[k], 1e-5) << i << " " << k;
  }
}

}  // namespace
}  // namespace plaster::accuracy
