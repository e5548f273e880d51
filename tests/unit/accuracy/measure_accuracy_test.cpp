// MeasureAccuracy and CompareAccuracy on a fake session (its scores are its inputs) and an
// in-memory dataset: batching with a partial last batch, the metrics per label kind, agreement
// with a reference session, and the paired verdict.
#include "accuracy/measure_accuracy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fixtures.h"

namespace plaster::accuracy {
namespace {

using plaster::testing::ErrorOf;
using ::testing::HasSubstr;

constexpr int32_t kFloat = 1;  // onnx::TensorProto::FLOAT

// Returns its input [B, C] as the scores, times `scale`; counts its runs.
class EchoSession final : public engine::Session {
 public:
  EchoSession(int64_t batch, int64_t classes, float scale = 1)
      : inputs_{{"x", kFloat, {batch, classes}}},
        outputs_{{"y", kFloat, {batch, classes}}},
        scale_(scale) {}
  const std::vector<engine::TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<engine::TensorSpec>& outputs() const override { return outputs_; }
  std::vector<engine::HostTensor> Run(const std::vector<engine::HostTensor>& in) override {
    ++runs;
    engine::CheckInputs(inputs_, in);
    engine::HostTensor out = in[0];
    for (int64_t k = 0; k < out.NumElements(); ++k) out.mutable_data_as<float>()[k] *= scale_;
    return {out};
  }
  int runs = 0;

 private:
  std::vector<engine::TensorSpec> inputs_, outputs_;
  float scale_;
};

// Samples given as score rows with labels (or targets).
class RowsDataset final : public Dataset {
 public:
  RowsDataset(std::vector<std::vector<float>> rows, std::vector<int64_t> labels, LabelKind kind)
      : rows_(std::move(rows)), labels_(std::move(labels)), kind_(kind) {}
  std::string Describe() const override { return "rows"; }
  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  LabelKind label_kind() const override { return kind_; }
  const std::vector<std::string>& class_names() const override { return names_; }
  Sample Read(int64_t i) override {
    const auto& row = rows_.at(static_cast<size_t>(i));
    engine::HostTensor t(kFloat, {1, static_cast<int64_t>(row.size())});
    std::copy(row.begin(), row.end(), t.mutable_data_as<float>());
    Sample s;
    s.inputs = {t};
    s.source = "rows[" + std::to_string(i) + "]";
    if (kind_ == LabelKind::kClass) s.label = labels_.at(static_cast<size_t>(i));
    if (kind_ == LabelKind::kTargets) {
      engine::HostTensor target(kFloat, {1, static_cast<int64_t>(row.size())});  // all zero
      s.targets = {target};
    }
    return s;
  }

 private:
  std::vector<std::vector<float>> rows_;
  std::vector<int64_t> labels_;
  LabelKind kind_;
  std::vector<std::string> names_;
};

// Five samples of three classes; the argmax is the class index in `argmax`.
RowsDataset Five(LabelKind kind, std::vector<int64_t> labels = {0, 1, 2, 0, 1}) {
  return RowsDataset({{3, 1, 0}, {0, 2, 1}, {0, 1, 5}, {1, 2, 0}, {0, 4, 1}}, std::move(labels),
                     kind);
}

TEST(MeasureAccuracy, ScoresEverySampleOnceThroughAPartialLastBatch) {
  EchoSession session(2, 3);
  RowsDataset data = Five(LabelKind::kClass);
  const AccuracyResult r = MeasureAccuracy(session, data);
  EXPECT_EQ(session.runs, 3);  // 2 + 2 + 1 (filled up)
  EXPECT_EQ(r.samples, 5);
  EXPECT_EQ(r.predictions, (std::vector<int64_t>{0, 1, 2, 1, 1}));
  EXPECT_EQ(r.top1_correct, (std::vector<bool>{true, true, true, false, true}));
  ASSERT_TRUE(r.top1);
  EXPECT_EQ(r.top1->successes, 4);
  EXPECT_EQ(r.top1->trials, 5);
  EXPECT_EQ(r.top5->successes, 5);
  EXPECT_FALSE(r.agreement);
  EXPECT_FALSE(r.mse);
}

TEST(MeasureAccuracy, RegressionTargetsGiveMseAndMae) {
  EchoSession session(4, 3);
  RowsDataset data = Five(LabelKind::kTargets);
  const AccuracyResult r = MeasureAccuracy(session, data);
  ASSERT_TRUE(r.mse && r.mae);
  // Targets are zero: sample 0's squared error is (9 + 1 + 0) / 3.
  EXPECT_DOUBLE_EQ(r.squared_error.at(0), 10.0 / 3);
  EXPECT_EQ(r.squared_error.size(), 5u);
  EXPECT_FALSE(r.top1);
}

TEST(MeasureAccuracy, WithoutLabelsComparesWithTheReferenceSession) {
  EchoSession session(2, 3, 1.01f), reference(2, 3);
  RowsDataset data = Five(LabelKind::kNone);
  const AccuracyResult r = MeasureAccuracy(session, data, &reference);
  ASSERT_TRUE(r.agreement);
  EXPECT_EQ(r.agreement->count(), 5);
  EXPECT_EQ(r.agreement->Top1Agreement().successes, 5);   // scaling keeps every argmax
  EXPECT_NEAR(r.agreement->max_abs_error(), 0.05, 1e-6);  // 5 × 0.01
  EXPECT_NEAR(r.agreement->min_cosine(), 1.0, 1e-9);
}

TEST(MeasureAccuracy, ASampleOfTheWrongSizeIsAnErrorNamingIt) {
  EchoSession session(2, 4);  // the model wants 4 scores per sample; the data has 3
  RowsDataset data = Five(LabelKind::kClass);
  EXPECT_THAT(ErrorOf([&] { MeasureAccuracy(session, data); }), HasSubstr("rows[0]"));
}

TEST(CompareAccuracy, PairsTheSamplesAndAppliesTheNinetyNinePercentRule) {
  AccuracyResult base, low;
  base.kind = low.kind = LabelKind::kClass;
  base.samples = low.samples = 100;
  for (int i = 0; i < 100; ++i) {
    base.top1_correct.push_back(i < 90);  // 90%
    low.top1_correct.push_back(i < 84);   // 84%: six samples lost, none gained
  }
  base.top1 = WilsonProportion(90, 100);
  low.top1 = WilsonProportion(84, 100);
  const auto d = CompareAccuracy(base, low, 0.01);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->metric, "top-1");
  EXPECT_DOUBLE_EQ(d->difference, -0.06);
  EXPECT_DOUBLE_EQ(d->p_value, 2.0 / 64);  // McNemar: 6 discordant pairs, all one way
  EXPECT_FALSE(d->meets_target);           // 84 < 0.99 × 90
  const auto same = CompareAccuracy(base, base, 0.01);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->meets_target);
  EXPECT_DOUBLE_EQ(same->p_value, 1.0);
  AccuracyResult other = low;
  other.samples = 99;
  EXPECT_FALSE(CompareAccuracy(base, other, 0.01));  // not the same samples
}

}  // namespace
}  // namespace plaster::accuracy
