// Note [Paired accuracy]: two precisions of one model are evaluated on the very same samples, so
// their difference is tested as paired data. For classification only the samples on which they
// disagree about correctness carry information (McNemar): "INT8 is 0.3 points worse" over 2,000
// samples may be 6 samples one way and 0 the other (p = 0.03, real) or 40 one way and 34 the
// other (p = 0.56, noise), and the two unpaired intervals would overlap in both cases.

#include "accuracy/measure_accuracy.h"

#include <onnx/onnx_pb.h>

#include <chrono>
#include <cstring>
#include <span>

#include "core/error.h"
#include "model/dtype.h"

namespace plaster::accuracy {
namespace {

// Row b of output t as floats (float32 outputs only).
std::span<const float> Row(const engine::HostTensor& t, int64_t b, const std::string& what) {
  PLASTER_CHECK(t.dtype() == onnx::TensorProto::FLOAT && !t.shape().empty(),
                "the model's first output is {}; accuracy needs float32 with a batch axis ({})",
                t.Describe(), what);
  const int64_t per = t.NumElements() / t.shape()[0];
  return {t.data_as<float>() + b * per, static_cast<size_t>(per)};
}

}  // namespace

engine::HostTensor MakeBatch(const std::vector<Sample>& samples, size_t input,
                             const engine::TensorSpec& spec) {
  std::vector<int64_t> shape = spec.shape;
  const int64_t batch = shape.at(0);
  engine::HostTensor out(spec.dtype, shape);
  const size_t per = out.size_bytes() / static_cast<size_t>(batch);
  for (int64_t b = 0; b < batch; ++b) {
    const Sample& s = samples[std::min<size_t>(static_cast<size_t>(b), samples.size() - 1)];
    const engine::HostTensor& t = s.inputs.at(input);
    PLASTER_CHECK(t.size_bytes() == per, "{}: input '{}' is {}, a batch of {} wants {} bytes each",
                  s.source, spec.name, t.Describe(), batch, per);
    std::memcpy(out.mutable_data() + static_cast<size_t>(b) * per, t.data(), per);
  }
  return out;
}


AccuracyResult MeasureAccuracy(engine::Session& session, Dataset& data,
                               engine::Session* reference) {
  const auto start = std::chrono::steady_clock::now();
  const auto& specs = session.inputs();
  PLASTER_CHECK(!specs.empty() && !specs[0].shape.empty(), "the model has no batched input");
  const int64_t batch = specs[0].shape[0];
  AccuracyResult r;
  r.kind = data.label_kind();
  ClassificationAccuracy classes;
  RegressionError regression;
  Agreement agreement;
  std::vector<Sample> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    std::vector<engine::HostTensor> inputs;
    for (size_t k = 0; k < specs.size(); ++k) {
      inputs.push_back(MakeBatch(pending, k, specs[k]));
    }
    const std::vector<engine::HostTensor> out = session.Run(inputs);
    std::vector<engine::HostTensor> ref;
    if (reference) ref = reference->Run(inputs);
    for (size_t b = 0; b < pending.size(); ++b) {
      const Sample& s = pending[b];
      const auto row = Row(out.at(0), static_cast<int64_t>(b), s.source);
      if (r.kind == LabelKind::kClass) classes.Add(row, s.label, s.source);
      if (r.kind == LabelKind::kTargets) {
        const engine::HostTensor& t = s.targets.at(0);
        regression.Add(row, {t.data_as<float>(), static_cast<size_t>(t.NumElements())}, s.source);
      }
      if (reference)
        agreement.Add(row, Row(ref.at(0), static_cast<int64_t>(b), s.source), s.source);
    }
    pending.clear();
  };
  for (int64_t i = 0; i < data.size(); ++i) {
    pending.push_back(data.Read(i));
    if (static_cast<int64_t>(pending.size()) == batch) flush();
  }
  flush();
  r.samples = data.size();
  if (r.kind == LabelKind::kClass) {
    r.top1 = classes.Top1();
    r.top5 = classes.Top5();
    r.top1_correct = classes.top1_correct();
    r.predictions = classes.predictions();
  } else if (r.kind == LabelKind::kTargets) {
    r.mse = regression.Mse();
    r.mae = regression.Mae();
    r.squared_error = regression.per_sample_squared();
  }
  if (reference) r.agreement = agreement;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::optional<AccuracyDelta> CompareAccuracy(const AccuracyResult& base,
                                             const AccuracyResult& result, double max_drop) {
  if (base.samples != result.samples || base.kind != result.kind) return std::nullopt;
  AccuracyDelta d;
  d.max_drop = max_drop;
  if (base.kind == LabelKind::kClass && base.top1 && result.top1) {
    const McNemarResult m = McNemar(base.top1_correct, result.top1_correct);
    d.metric = "top-1";
    d.baseline = base.top1->value;
    d.value = result.top1->value;
    d.difference = m.difference;
    d.difference_ci = m.difference_ci;
    d.p_value = m.p_value;
    d.test = "McNemar exact";
    d.meets_target = d.value >= (1 - max_drop) * d.baseline;
    return d;
  }
  if (base.kind == LabelKind::kTargets && base.mse && result.mse) {
    const PairedDifference p = PairedT(base.squared_error, result.squared_error);
    d.metric = "MSE";
    d.baseline = base.mse->mean;
    d.value = result.mse->mean;
    d.difference = p.difference.mean;
    d.difference_ci = p.difference.ci;
    d.p_value = p.p_value;
    d.test = "paired t";
    d.meets_target = d.value <= (1 + max_drop) * d.baseline;
    return d;
  }
  return std::nullopt;
}

}  // namespace plaster::accuracy
