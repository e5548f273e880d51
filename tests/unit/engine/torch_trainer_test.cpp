// Note [Training] in src/engine/torch/trainer.cpp: the torch engine trains a model's weights
// with PyTorch's own update rules, names the float initializers that do not train, and saves
// the same graph with the trained weights.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>

#include "engine/registry.h"
#include "engine/trainer.h"
#include "model/builder.h"
#include "support/engine_fixtures.h"
#include "support/fixtures.h"

namespace plaster::engine {
namespace {

using plaster::testing::ErrorOf;
using plaster::testing::TempDir;

// y [2,2] = x [2,3] · Wᵀ + b, W [2,3], b [2] (Gemm, transB).
model::Model Linear(const std::vector<float>& w, const std::vector<float>& b) {
  model::ModelBuilder mb("linear", 13);
  mb.Input("x", onnx::TensorProto::FLOAT, {2, 3});
  mb.Initializer("W", {2, 3}, w);
  mb.Initializer("b", {2}, b);
  mb.Node("Gemm", {"x", "W", "b"}, {"y"}, "fc").Int("transB", 1);
  mb.Output("y", onnx::TensorProto::FLOAT, {2, 2});
  return model::Model::FromBytes(mb.Serialize(), "linear.onnx");
}

HostTensor Floats(std::vector<int64_t> shape, const std::vector<float>& v) {
  HostTensor t(onnx::TensorProto::FLOAT, shape);
  std::memcpy(t.mutable_data(), v.data(), v.size() * sizeof(float));
  return t;
}

std::vector<float> Initializer(const model::Model& m, const std::string& name) {
  for (const auto& t : m.proto().graph().initializer()) {
    if (t.name() != name) continue;
    const std::string bytes = t.raw_data();
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  }
  return {};
}

TEST(TorchTrainer, OneSgdStepIsTheGradientStep) {
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.5f};
  const std::vector<float> b = {0.1f, -0.2f};
  const std::vector<float> x = {1, 2, 3, -1, 0.5f, 2};
  const std::vector<float> t = {1, 0, -1, 2};
  const model::Model m = Linear(w, b);
  TrainingOptions options;
  options.momentum = 0;
  options.weight_decay = 0;
  auto trainer = FindEngine("torch").Train(m, options);
  EXPECT_EQ(trainer->trainable().tensors, 2);
  EXPECT_EQ(trainer->trainable().values, 8);
  EXPECT_TRUE(trainer->trainable().frozen.empty());
  const double lr = 0.1;
  const double loss = trainer->Step({Floats({2, 3}, x)}, Floats({2, 2}, t), lr, false).loss;
  EXPECT_EQ(trainer->loss_name(), "mse");

  // By hand: y = x·Wᵀ + b, L = mean((y − t)²) over 4 values, dL/dy = (y − t)/2,
  // dL/dW = (dL/dy)ᵀ · x, dL/db = Σ_rows dL/dy.
  double y[2][2], g[2][2], want_loss = 0;
  for (int r = 0; r < 2; ++r) {
    for (int o = 0; o < 2; ++o) {
      y[r][o] = b[o];
      for (int k = 0; k < 3; ++k) y[r][o] += double{x[r * 3 + k]} * w[o * 3 + k];
      const double d = y[r][o] - t[r * 2 + o];
      want_loss += d * d / 4;
      g[r][o] = d / 2;
    }
  }
  EXPECT_NEAR(loss, want_loss, 1e-5);
  TempDir dir;
  const std::string path = (dir.path() / "trained.onnx").string();
  trainer->Save(path);
  const model::Model saved = model::Model::FromFile(path);
  const std::vector<float> w1 = Initializer(saved, "W");
  const std::vector<float> b1 = Initializer(saved, "b");
  ASSERT_EQ(w1.size(), 6u);
  ASSERT_EQ(b1.size(), 2u);
  for (int o = 0; o < 2; ++o) {
    double gb = 0;
    for (int r = 0; r < 2; ++r) gb += g[r][o];
    EXPECT_NEAR(b1[o], b[o] - lr * gb, 1e-6) << o;
    for (int k = 0; k < 3; ++k) {
      double gw = 0;
      for (int r = 0; r < 2; ++r) gw += g[r][o] * x[r * 3 + k];
      EXPECT_NEAR(w1[o * 3 + k], w[o * 3 + k] - lr * gw, 1e-6) << o << "," << k;
    }
  }
  // The same graph: one Gemm, its inputs, outputs and batch as declared.
  ASSERT_EQ(saved.proto().graph().node_size(), 1);
  EXPECT_EQ(saved.proto().graph().node(0).op_type(), "Gemm");
}

TEST(TorchTrainer, CrossEntropyLowersTheLossAndChecksTheLabels) {
  const model::Model m = Linear({0.1f, 0.2f, 0.3f, -0.1f, 0.0f, 0.2f}, {0, 0});
  TrainingOptions options;
  options.optimizer = OptimizerKind::kAdamW;
  options.weight_decay = 0.01;
  auto trainer = FindEngine("torch").Train(m, options);
  HostTensor labels(onnx::TensorProto::INT64, {2});
  labels.mutable_data_as<int64_t>()[0] = 1;
  labels.mutable_data_as<int64_t>()[1] = 0;
  const HostTensor x = Floats({2, 3}, {1, 2, 3, -1, 0.5f, 2});
  const double first = trainer->Step({x}, labels, 0.05, false).loss;
  double last = first;
  for (int k = 0; k < 20; ++k) last = trainer->Step({x}, labels, 0.05, false).loss;
  EXPECT_EQ(trainer->loss_name(), "cross-entropy");
  EXPECT_LT(last, first);
  labels.mutable_data_as<int64_t>()[0] = 2;  // the model has 2 classes
  EXPECT_NE(ErrorOf([&] { trainer->Step({x}, labels, 0.05, false); }).find("out of range"),
            std::string::npos);
}

TEST(TorchTrainer, BatchNormStatisticsAreNamedAndUpdatedFromTheBatch) {
  model::ModelBuilder mb("bn", 13);
  mb.Input("x", onnx::TensorProto::FLOAT, {2, 2, 3, 3});
  mb.Initializer("w", {2, 2, 1, 1}, {1, 0, 0, 1});
  mb.Initializer("scale", {2}, {1, 1});
  mb.Initializer("shift", {2}, {0, 0});
  mb.Initializer("mean", {2}, {0.5f, -0.5f});
  mb.Initializer("var", {2}, {2, 3});
  mb.Node("Conv", {"x", "w"}, {"c"}, "conv");
  mb.Node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"}, "bn");
  mb.Output("y", onnx::TensorProto::FLOAT, {2, 2, 3, 3});
  const model::Model m = model::Model::FromBytes(mb.Serialize(), "bn.onnx");
  auto trainer = FindEngine("torch").Train(m, {});
  const TrainableReport& r = trainer->trainable();
  EXPECT_EQ(r.tensors, 3);  // w, scale, shift
  ASSERT_EQ(r.frozen.size(), 2u);
  EXPECT_NE(r.frozen[0].find("running mean: statistics, not weights"), std::string::npos)
      << r.frozen[0];
  EXPECT_NE(r.frozen[1].find("running variance"), std::string::npos) << r.frozen[1];
  HostTensor x(onnx::TensorProto::FLOAT, {2, 2, 3, 3});
  const auto v = plaster::testing::Pattern(x.NumElements(), 1);
  std::memcpy(x.mutable_data(), v.data(), v.size() * sizeof(float));
  trainer->Step({x}, HostTensor(onnx::TensorProto::FLOAT, {2, 2, 3, 3}), 0.01, false);
  TempDir dir;
  const std::string path = (dir.path() / "bn.onnx").string();
  trainer->Save(path);
  const model::Model saved = model::Model::FromFile(path);
  EXPECT_NE(Initializer(saved, "w"), std::vector<float>({1, 0, 0, 1}));  // trained
  // Training mode: the running mean moves a tenth of the way (ONNX's momentum 0.9) to the
  // batch's mean of the Conv's output, which the identity weights make x's own.
  const std::vector<float> mean = Initializer(saved, "mean");
  ASSERT_EQ(mean.size(), 2u);
  for (int c = 0; c < 2; ++c) {
    double sum = 0;
    for (int n = 0; n < 2; ++n) {
      for (int k = 0; k < 9; ++k) sum += v[static_cast<size_t>((n * 2 + c) * 9 + k)];
    }
    const double initial = c == 0 ? 0.5 : -0.5;
    EXPECT_NEAR(mean[static_cast<size_t>(c)], 0.9 * initial + 0.1 * sum / 18, 1e-6) << c;
  }
}

// PyTorch's exporter stores equal initializers once: an untrained BatchNormalization's running
// variance (ones) comes out as Identity(its weight). Training the weight must not move the
// statistic; the saved model gives the statistic an initializer of its own.
TEST(TorchTrainer, AStatisticSharedWithAWeightIsSeparated) {
  model::ModelBuilder mb("shared", 13);
  mb.Input("x", onnx::TensorProto::FLOAT, {4, 2});
  mb.Initializer("scale", {2}, {1, 1});
  mb.Initializer("shift", {2}, {0, 0});
  mb.Node("Identity", {"scale"}, {"var"}, "dedup_var");
  mb.Node("Identity", {"shift"}, {"mean"}, "dedup_mean");
  mb.Node("BatchNormalization", {"x", "scale", "shift", "mean", "var"}, {"y"}, "bn");
  mb.Output("y", onnx::TensorProto::FLOAT, {4, 2});
  const model::Model m = model::Model::FromBytes(mb.Serialize(), "shared.onnx");
  auto trainer = FindEngine("torch").Train(m, {});
  const HostTensor x = Floats({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  trainer->Step({x}, Floats({4, 2}, {0, 1, 0, 1, 0, 1, 0, 1}), 0.5, false);
  TempDir dir;
  const std::string path = (dir.path() / "separated.onnx").string();
  trainer->Save(path);
  const model::Model saved = model::Model::FromFile(path);
  for (const auto& n : saved.proto().graph().node()) EXPECT_NE(n.op_type(), "Identity");
  // x's columns have means 4 and 5 and (unbiased) variance 20/3: the statistics move a tenth of
  // the way there from 0 and 1, whatever the weights did.
  const std::vector<float> mean = Initializer(saved, "mean"), var = Initializer(saved, "var");
  ASSERT_EQ(mean.size(), 2u);
  ASSERT_EQ(var.size(), 2u);
  EXPECT_NEAR(mean[0], 0.4, 1e-6);
  EXPECT_NEAR(mean[1], 0.5, 1e-6);
  EXPECT_NEAR(var[0], 0.9 + 0.1 * 20.0 / 3, 1e-5);
  EXPECT_NE(Initializer(saved, "scale"), std::vector<float>({1, 1}));  // trained
  // The saved model runs: BatchNormalization reads its own statistics now.
  EXPECT_EQ(FindEngine("torch").Compile(saved, {})->Run({x}).size(), 1u);
}

// An Identity of an initializer is a copy that trains on its own: y = x·a + b with b = Identity(a)
// gets two weights, whose gradients differ (Σ x·g and Σ g), not one weight tied to itself.
TEST(TorchTrainer, ACopyOfAnInitializerTrainsOnItsOwn) {
  model::ModelBuilder mb("copy", 13);
  mb.Input("x", onnx::TensorProto::FLOAT, {3, 2});
  mb.Initializer("a", {2}, {1, 1});
  mb.Node("Identity", {"a"}, {"b"}, "copy_of_a");
  mb.Node("Mul", {"x", "a"}, {"m"}, "scale");
  mb.Node("Add", {"m", "b"}, {"y"}, "shift");
  mb.Output("y", onnx::TensorProto::FLOAT, {3, 2});
  const model::Model m = model::Model::FromBytes(mb.Serialize(), "copy.onnx");
  TrainingOptions sgd;
  sgd.momentum = 0;
  sgd.weight_decay = 0;
  auto trainer = FindEngine("torch").Train(m, sgd);
  EXPECT_EQ(trainer->trainable().tensors, 2);
  const HostTensor x = Floats({3, 2}, {1, 2, 3, 4, 5, 6});
  trainer->Step({x}, Floats({3, 2}, {0, 0, 0, 0, 0, 0}), 0.1, false);
  TempDir dir;
  const std::string path = (dir.path() / "copy.onnx").string();
  trainer->Save(path);
  const model::Model saved = model::Model::FromFile(path);
  for (const auto& n : saved.proto().graph().node()) EXPECT_NE(n.op_type(), "Identity");
  // y = x + 1, L = mean(y²) over 6 values: dL/dy = y/3. Column 0: y = 2, 4, 6.
  const std::vector<float> a = Initializer(saved, "a"), b = Initializer(saved, "b");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_NEAR(a[0], 1 - 0.1 * (2 * 1 + 4 * 3 + 6 * 5) / 3.0, 1e-5);
  EXPECT_NEAR(b[0], 1 - 0.1 * (2 + 4 + 6) / 3.0, 1e-5);
}

TEST(TorchTrainer, Bf16ComputesTheProductsInBfloat16AndKeepsFloat32Weights) {
  if (!plaster::testing::TorchOffers(Precision::kBf16)) {
    GTEST_SKIP() << "this CPU has no bf16 kernels in oneDNN";
  }
  const std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.5f};
  const HostTensor x = Floats({2, 3}, {1.001f, 2, 3, -1, 0.5f, 2});
  const HostTensor t = Floats({2, 2}, {1, 0, -1, 2});
  TrainingOptions fp32, bf16;
  fp32.momentum = bf16.momentum = 0;
  bf16.precision = Precision::kBf16;
  auto a = FindEngine("torch").Train(Linear(w, {0.1f, -0.2f}), fp32);
  auto b = FindEngine("torch").Train(Linear(w, {0.1f, -0.2f}), bf16);
  const double la = a->Step({x}, t, 0.1, false).loss, lb = b->Step({x}, t, 0.1, false).loss;
  EXPECT_NEAR(lb, la, 2e-2 * la);  // bfloat16 keeps 8 bits of the product
  EXPECT_NE(lb, la);               // and it did compute in bfloat16
  const auto ya = a->Run({x}), yb = b->Run({x});
  EXPECT_EQ(yb[0].dtype(), onnx::TensorProto::FLOAT);  // the model's type
  double first = lb, last = lb;
  for (int k = 0; k < 20; ++k) last = b->Step({x}, t, 0.05, false).loss;
  EXPECT_LT(last, first);
}

TEST(TorchTrainer, RefusesWhatItCannotTrainByName) {
  TrainingOptions fp16;
  fp16.precision = Precision::kFp16;
  const model::Model m = Linear({0, 0, 0, 0, 0, 0}, {0, 0});
  EXPECT_NE(ErrorOf([&] { FindEngine("torch").Train(m, fp16); }).find("--precision fp16"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { FindEngine("null").Train(m, {}); }).find("cannot train"),
            std::string::npos);
}

}  // namespace
}  // namespace plaster::engine
