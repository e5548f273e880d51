// Note [Training]: the torch engine trains an ONNX model's weights on the same ATen kernels it
// runs the model with (kernel.h: kernels are pure functions of their inputs, so autograd records
// them). The program is built without fusion (the fused oneDNN kernels have no backward), and:
// - The weights are the float32 initializers that a node reads as a weight (Trainable): a Conv's,
//   ConvTranspose's or Gemm's W and B, either side of MatMul, an Add/Sub/Mul/Div operand (a bias,
//   a scale), BatchNormalization's, LayerNormalization's and InstanceNormalization's scale and
//   shift, PRelu's slope, and data that Gather (an embedding), Concat (a class token), Expand,
//   Tile and the layout ops pass on. The others do not train, each named with the reason
//   (TrainableReport::frozen): a Clip bound, a Resize scale, and BatchNormalization's running
//   mean and variance, which are statistics, not weights. No node reading a weight is folded
//   into a constant.
// - BatchNormalization normalizes a training step's batch by its own statistics and updates the
//   running ones (ATen's batch_norm in training mode, with the node's epsilon and momentum:
//   ONNX's running = running·m + batch·(1 − m) is PyTorch's momentum 1 − m), as PyTorch's
//   module.train() does; evaluation and the saved model use the running statistics.
// - The loss is computed on the first output: softmax cross-entropy of its logits against class
//   indices (ATen's cross_entropy, mean over the batch), or mean squared error against float
//   targets (mse_loss).
// - The optimizer is LibTorch's (torch::optim::SGD, AdamW: PyTorch's own update rules), its
//   learning rate set before every step by the caller's schedule.
// - An Identity of a float initializer is a copy with a value of its own. PyTorch's exporter
//   stores equal initializers once and makes the others such Identity nodes: in an untrained
//   ResNet-50 every BatchNormalization's scale is Identity(the first one's), and a running
//   variance can be Identity(a scale). Trained through the Identity, they would be tied into one
//   weight, and the weight would drag the statistic along. So each copy starts from the
//   initializer's value and trains (or updates) on its own, and the saved model holds it as an
//   initializer in place of the Identity.
// - A weight that receives no gradient after the first step (a kernel that used a copy made at
//   compile time) would silently stay at its initial value; the first step checks, and names
//   every such weight in `frozen` with the reason.
// The batch is the model's bound first dimension. bf16: Autocast below.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <onnx/onnx_pb.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

#include "core/error.h"
#include "engine/torch/data_parallel.h"
#include "engine/torch/host_allocator.h"
#include "engine/torch/kernel.h"
#include "engine/torch/program.h"
#include "engine/torch/torch_engine.h"
#include "engine/trainer.h"

namespace plaster::engine::torch_engine {
namespace {

// Why an initializer does not train; empty when it does.
std::string WhyFrozen(const model::Graph& g, int id) {
  static const std::map<std::string, std::set<size_t>> kWeightInputs = {
      {"Conv", {1, 2}},
      {"ConvTranspose", {1, 2}},
      {"Gemm", {0, 1, 2}},
      {"MatMul", {0, 1}},
      {"BatchNormalization", {1, 2}},
      {"LayerNormalization", {1, 2}},
      {"InstanceNormalization", {1, 2}},
      {"PRelu", {1}},
      {"Gather", {0}},
      {"Expand", {0}},
      {"Tile", {0}},
      {"Reshape", {0}},
      {"Transpose", {0}},
      {"Unsqueeze", {0}},
      {"Squeeze", {0}},
      {"Flatten", {0}},
      {"Identity", {0}}};
  static const std::set<std::string> kEveryInput = {"Add", "Sub", "Mul", "Div", "Concat"};
  const model::TensorInfo& t = g.tensor(id);
  if (t.consumers.empty()) return "no node reads it";
  for (int c : t.consumers) {
    const model::NodeInfo& node = g.nodes()[static_cast<size_t>(c)];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node.inputs[k] != id) continue;
      if (!node.domain.empty()) return fmt::format("{} reads it (a custom domain)", node.Label());
      if (kEveryInput.count(node.op_type)) continue;
      auto it = kWeightInputs.find(node.op_type);
      if (it != kWeightInputs.end() && it->second.count(k)) continue;
      if (node.op_type == "BatchNormalization" && (k == 3 || k == 4)) {
        return fmt::format("{}'s running {}: statistics, not weights (updated from each "
                           "training batch)",
                           node.Label(), k == 3 ? "mean" : "variance");
      }
      return fmt::format("{} reads it as input {}, not a weight", node.Label(), k);
    }
  }
  return "";
}

at::Tensor FromHost(const HostTensor& t) {
  return at::from_blob(const_cast<char*>(t.data()), t.shape(),
                       at::TensorOptions().dtype(ScalarTypeOf(t.dtype())));
}

HostTensor ToHost(const at::Tensor& t0, int32_t dtype) {
  const at::Tensor t = t0.detach().to(ScalarTypeOf(dtype)).contiguous();
  return HostTensor(dtype, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()),
                    std::string(static_cast<const char*>(t.data_ptr()), t.nbytes()));
}

// Note [Training]: bf16 training is ATen's CPU autocast, PyTorch's torch.autocast("cpu",
// torch.bfloat16): the ops on its list (convolutions, matrix products) compute in bfloat16
// while the weights, their gradients and the optimizer stay float32, and the loss is computed
// in float32.
class Autocast {
 public:
  explicit Autocast(bool on) : on_(on) {
    if (!on_) return;
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  ~Autocast() {
    if (!on_) return;
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  bool on_;
};

class TorchTrainer final : public Trainer {
 public:
  TorchTrainer(const model::Model& m, const TrainingOptions& options)
      : model_(m), inputs_(InputSpecs(m)), outputs_(OutputSpecs(m)), options_(options) {
    PLASTER_CHECK(options.device == Device::kCpu, "engine 'torch' trains on cpu only in this build");
    PLASTER_CHECK(options.precision == Precision::kFp32 ||
                      (options.precision == Precision::kBf16 && !Bf16Hardware().empty()),
                  "--precision {}: engine 'torch' trains in fp32{} only",
                  PrecisionName(options.precision),
                  Bf16Hardware().empty() ? "" : " and bf16");
    PLASTER_CHECK(!outputs_.empty(), "{}: the model has no outputs to compute a loss on",
                  m.display_name());
    // All cores by default, as a session (at::get_num_threads() may say otherwise before the
    // first session sets it).
    threads_ = options.threads > 0
                   ? options.threads
                   : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads_);
    InstallCachingHostAllocator();
    const model::Graph& g = m.graph();
    // Note [Training]: an Identity of a float initializer is a copy of it, with a value of its
    // own (untied_).
    std::unordered_set<int> copied;  // initializers read only by such Identity nodes
    for (int id : g.initializers()) {
      const model::TensorInfo& t = g.tensor(id);
      if (t.dtype != onnx::TensorProto::FLOAT || t.consumers.empty()) continue;
      bool only_copied = !t.is_graph_output;
      for (int c : t.consumers) {
        const model::NodeInfo& n = g.nodes()[static_cast<size_t>(c)];
        const bool copy = n.op_type == "Identity" && n.domain.empty() && n.outputs.size() == 1 &&
                          n.outputs[0] >= 0 && !g.tensor(n.outputs[0]).is_graph_output;
        if (copy) untied_.insert(n.outputs[0]);
        only_copied = only_copied && copy;
      }
      if (only_copied) copied.insert(id);
    }
    std::unordered_set<int> trainable;
    std::vector<int> candidates(g.initializers().begin(), g.initializers().end());
    candidates.insert(candidates.end(), untied_.begin(), untied_.end());
    for (int id : candidates) {
      if (g.tensor(id).dtype != onnx::TensorProto::FLOAT || copied.count(id)) continue;
      const std::string why = WhyFrozen(g, id);
      if (why.empty()) {
        trainable.insert(id);
      } else {
        report_.frozen.push_back(g.tensor(id).name + ": " + why);
      }
    }
    program_ = BuildProgram(m, nullptr, /*optimize=*/false, at::kFloat, {}, &trainable);
    for (int id : untied_) {
      const model::TensorInfo& source =
          g.tensor(g.nodes()[static_cast<size_t>(g.tensor(id).producer)].inputs[0]);
      program_.constants[static_cast<size_t>(id)] =
          TensorFromBytes(source.dtype, source.shape.dims, m.ReadTensorData(*source.initializer));
    }
    std::erase_if(program_.steps, [&](const torch_engine::Step& step) {
      return step.outputs.size() == 1 && untied_.count(step.outputs[0]) > 0;
    });
    PLASTER_CHECK(!program_.has_values,
                  "{}: the model takes or makes sequences or strings, which training does not "
                  "support",
                  m.display_name());
    // Note [Training]: BatchNormalization in training mode while a step runs.
    for (torch_engine::Step& step : program_.steps) {
      if (step.nodes.size() != 1) continue;
      for (const auto& node : g.nodes()) {
        if (node.name != step.nodes[0] || node.op_type != "BatchNormalization" ||
            !node.domain.empty() || node.inputs.size() < 5) {
          continue;
        }
        const NodeView view(g, node, 0, program_.constants);
        const double epsilon = view.Float("epsilon", 1e-5f);
        const double momentum = view.Float("momentum", 0.9f);
        for (int k : {3, 4}) {
          const int id = node.inputs[static_cast<size_t>(k)];
          auto& stat = program_.constants[static_cast<size_t>(id)];
          PLASTER_CHECK(stat.has_value() && stat->scalar_type() == at::kFloat,
                        "node {}: its running statistics must be float32 initializers to train "
                        "it",
                        node.Label());
          *stat = stat->contiguous().clone();
          statistics_.emplace_back(id, *stat);
        }
        step.kernel = [this, epsilon, momentum](const Tensors& in) -> Tensors {
          return {at::batch_norm(in.at(0), in.at(1), in.at(2), in.at(3), in.at(4), training_,
                                 1 - momentum, epsilon, false)};
        };
      }
    }
    std::vector<at::Tensor> parameters;
    std::vector<int> ordered(trainable.begin(), trainable.end());  // the same order on every rank
    std::sort(ordered.begin(), ordered.end());
    for (int id : ordered) {
      auto& constant = program_.constants[static_cast<size_t>(id)];
      if (!constant) continue;
      // The same tensor the kernels were built with (Note [Training]): made a leaf that
      // records gradients, in place.
      *constant = constant->contiguous();
      constant->requires_grad_(true);
      weights_.emplace_back(id, *constant);
      parameters.push_back(*constant);
      ++report_.tensors;
      report_.values += constant->numel();
    }
    PLASTER_CHECK(!parameters.empty(), "{}: no float initializer is a weight a node reads, so "
                                       "there is nothing to train",
                  m.display_name());
    if (options.optimizer == OptimizerKind::kSgd) {
      optimizer_ = std::make_unique<torch::optim::SGD>(
          parameters, torch::optim::SGDOptions(0.1)
                          .momentum(options.momentum)
                          .weight_decay(options.weight_decay));
    } else {
      optimizer_ = std::make_unique<torch::optim::AdamW>(
          parameters, torch::optim::AdamWOptions(1e-3)
                          .betas({options.momentum, 0.999})
                          .weight_decay(options.weight_decay));
    }
    for (int id : g.inputs()) input_ids_.push_back(id);
    for (int id : g.outputs()) output_ids_.push_back(id);
    if (options.parallel.world > 1) {  // Note [Data parallelism] in data_parallel.cpp
      parallel_ = std::make_unique<DataParallel>(options.parallel);
      std::vector<at::Tensor> state = parameters;
      for (const auto& [id, stat] : statistics_) state.push_back(stat);
      parallel_->Broadcast(state);
      parallel_->Attach(parameters);
    }
  }

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  const TrainableReport& trainable() const override { return report_; }
  std::string loss_name() const override { return LossName(loss_); }

  StepResult Step(const std::vector<HostTensor>& inputs, const HostTensor& target, double lr,
                  bool stop) override {
    if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
    training_ = true;
    at::Tensor y;
    try {
      const Autocast bf16(options_.precision == Precision::kBf16);
      y = Forward(inputs);
    } catch (...) {
      training_ = false;
      throw;
    }
    training_ = false;
    const at::Tensor goal = FromHost(target);
    if (loss_ == LossKind::kAuto) {
      loss_ = options_.loss != LossKind::kAuto ? options_.loss
              : target.dtype() == onnx::TensorProto::INT64 ? LossKind::kCrossEntropy
                                                           : LossKind::kMse;
    }
    at::Tensor loss;
    if (loss_ == LossKind::kCrossEntropy) {
      PLASTER_CHECK(target.dtype() == onnx::TensorProto::INT64 && goal.dim() == 1 &&
                        y.dim() >= 2 && goal.size(0) == y.size(0),
                    "cross-entropy needs one int64 class index per sample ([{}]) for output '{}' "
                    "of shape {}; the targets have shape {}",
                    y.size(0), outputs_[0].name, model::Shape::Of(y.sizes().vec()).ToString(),
                    model::Shape::Of(target.shape()).ToString());
      const int64_t classes = y.size(1);
      const auto [lo, hi] = at::aminmax(goal);
      PLASTER_CHECK(lo.item<int64_t>() >= 0 && hi.item<int64_t>() < classes,
                    "a class label in [{}, {}] is out of range for output '{}' with {} classes",
                    lo.item<int64_t>(), hi.item<int64_t>(), outputs_[0].name, classes);
      loss = at::cross_entropy_loss(y.to(at::kFloat), goal);
    } else {
      PLASTER_CHECK(goal.sizes() == y.sizes() && at::isFloatingType(goal.scalar_type()),
                    "mse needs float targets of output '{}''s shape {}; they have shape {}",
                    outputs_[0].name, model::Shape::Of(y.sizes().vec()).ToString(),
                    model::Shape::Of(target.shape()).ToString());
      loss = at::mse_loss(y.to(at::kFloat), goal.to(at::kFloat));
    }
    StepResult result{loss.item<double>(), stop};
    if (parallel_) {
      std::vector<at::Tensor> statistics;
      for (const auto& [id, stat] : statistics_) statistics.push_back(stat);
      parallel_->BeginStep(statistics, result.loss, stop);
    }
    optimizer_->zero_grad();
    loss.backward();
    if (parallel_) result = parallel_->EndStep();  // every rank's mean gradients, loss, stop
    PLASTER_CHECK(std::isfinite(result.loss),
                  "the {} loss is {} at learning rate {:g}: training diverged (lower --lr)",
                  LossName(loss_), result.loss, lr);
    if (!checked_) {  // Note [Training]: every weight must get a gradient
      checked_ = true;
      for (const auto& [id, w] : weights_) {
        if (!w.grad().defined()) {
          report_.frozen.push_back(model_.graph().tensor(id).name +
                                   ": its kernel received it as a compile-time copy, so no "
                                   "gradient reaches it");
          --report_.tensors;
          report_.values -= w.numel();
        }
      }
    }
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
    optimizer_->step();
    return result;
  }

  uint64_t Digest() const override {
    uint64_t h = 14695981039346656037ull;  // FNV-1a
    auto add = [&h](const at::Tensor& t0) {
      const at::Tensor t = t0.detach().contiguous();
      const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
      for (size_t k = 0; k < t.nbytes(); ++k) h = (h ^ bytes[k]) * 1099511628211ull;
    };
    for (const auto& [id, w] : weights_) add(w);
    for (const auto& [id, stat] : statistics_) add(stat);
    return h;
  }

  std::vector<double> AllGather(double value) override {
    return parallel_ ? parallel_->AllGather(value) : std::vector<double>{value};
  }

  double communication_seconds() const override {
    return parallel_ ? parallel_->wait_seconds() : 0;
  }

  std::vector<HostTensor> Run(const std::vector<HostTensor>& inputs) override {
    if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
    at::NoGradGuard no_grad;
    const Autocast bf16(options_.precision == Precision::kBf16);
    const at::Tensor first = Forward(inputs);
    std::vector<HostTensor> out;
    out.push_back(ToHost(first, outputs_[0].dtype));
    return out;
  }

  void Save(const std::string& path) const override {
    onnx::ModelProto proto = model_.DeclaredCopy();
    std::map<std::string, const at::Tensor*> by_name;
    for (const auto& [id, w] : weights_) by_name[model_.graph().tensor(id).name] = &w;
    for (const auto& [id, w] : statistics_) by_name[model_.graph().tensor(id).name] = &w;
    for (auto& t : *proto.mutable_graph()->mutable_initializer()) {
      auto it = by_name.find(t.name());
      if (it == by_name.end()) continue;
      const at::Tensor v = it->second->detach().contiguous();
      t.clear_float_data();
      t.clear_external_data();
      t.clear_data_location();
      t.set_raw_data(std::string(static_cast<const char*>(v.data_ptr()), v.nbytes()));
    }
    // Copies of an initializer (untied_) become initializers of their own, and their Identity
    // nodes go.
    std::set<std::string> separated;
    for (int id : untied_) {
      const std::string& name = model_.graph().tensor(id).name;
      auto it = by_name.find(name);
      const at::Tensor v = (it != by_name.end() ? *it->second
                                                : *program_.constants[static_cast<size_t>(id)])
                               .detach()
                               .contiguous();
      onnx::TensorProto* t = proto.mutable_graph()->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::FLOAT);
      for (int64_t d : v.sizes()) t->add_dims(d);
      t->set_raw_data(std::string(static_cast<const char*>(v.data_ptr()), v.nbytes()));
      separated.insert(name);
    }
    auto* nodes = proto.mutable_graph()->mutable_node();
    for (int k = nodes->size() - 1; k >= 0; --k) {
      const onnx::NodeProto& n = nodes->Get(k);
      if (n.op_type() == "Identity" && n.output_size() == 1 && separated.count(n.output(0))) {
        nodes->DeleteSubrange(k, 1);
      }
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    PLASTER_CHECK(out && proto.SerializeToOstream(&out) && out.flush(),
                  "--save {}: cannot write the trained model", path);
  }

 private:
  // The first output of the forward pass, recorded by autograd unless a NoGradGuard is active.
  at::Tensor Forward(const std::vector<HostTensor>& inputs) {
    CheckInputs(inputs_, inputs);
    std::vector<at::Tensor> env(program_.constants.size());
    for (size_t id = 0; id < env.size(); ++id) {
      if (program_.constants[id]) env[id] = *program_.constants[id];
    }
    for (size_t k = 0; k < inputs.size(); ++k) {
      env[static_cast<size_t>(input_ids_[k])] = FromHost(inputs[k]);
    }
    Tensors args;
    for (const torch_engine::Step& step : program_.steps) {
      args.clear();
      for (int id : step.inputs) {
        args.push_back(id < 0 ? at::Tensor() : env[static_cast<size_t>(id)]);
      }
      Tensors outs;
      RunNamingTheNode(step, [&] { outs = step.kernel(args); });
      for (size_t k = 0; k < step.outputs.size() && k < outs.size(); ++k) {
        if (step.outputs[k] >= 0) env[static_cast<size_t>(step.outputs[k])] = std::move(outs[k]);
      }
      for (int id : step.release) env[static_cast<size_t>(id)].reset();
    }
    const at::Tensor y = env[static_cast<size_t>(output_ids_[0])];
    PLASTER_CHECK(y.defined(), "output '{}' was not produced", outputs_[0].name);
    return y;
  }

  const model::Model& model_;
  std::vector<TensorSpec> inputs_, outputs_;
  TrainingOptions options_;
  int threads_ = 1;
  Program program_;
  std::vector<std::pair<int, at::Tensor>> weights_;     // by tensor id
  std::vector<std::pair<int, at::Tensor>> statistics_;  // BatchNormalization's running ones
  std::set<int> untied_;  // outputs of an Identity of a float initializer: copies of their own
  bool training_ = false;  // a Step's forward pass is running (Note [Training])
  TrainableReport report_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  LossKind loss_ = LossKind::kAuto;
  bool checked_ = false;
  std::vector<int> input_ids_, output_ids_;
  std::unique_ptr<DataParallel> parallel_;  // data parallelism, when options.parallel.world > 1
};

}  // namespace

std::unique_ptr<Trainer> MakeTorchTrainer(const model::Model& m, const TrainingOptions& options) {
  return std::make_unique<TorchTrainer>(m, options);
}

}  // namespace plaster::engine::torch_engine
